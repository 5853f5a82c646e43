"""Submissions: `halab collect` packs a student's cluster into an archive; `halab grade FOLDER`
reads archives safely, rebuilds each cluster on fresh local nodes and grades a whole class."""

from halab.submissions.archive import ArchiveRefused, read_archive
from halab.submissions.batch import Outcome, default_parallelism, find_archives, grade_batch
from halab.submissions.collect import collect_here, collect_lab, write_submission
from halab.submissions.submission import Submission

__all__ = ["ArchiveRefused", "Outcome", "Submission", "collect_here", "collect_lab", "default_parallelism",
           "find_archives", "grade_batch", "read_archive", "write_submission"]
