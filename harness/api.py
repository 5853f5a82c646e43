"""halab from Python: the few calls a teacher's script makes, with the CLI's defaults (halab.toml,
HALAB_*: halab.settings) and its errors (HalabError, one message with the fix). README's
"Python API" shows one example of each.

    from halab import api

    api.bring_up("pcs", "demo")
    run = api.grade_lab("demo")
    api.write_reports(run, "alice.martin")
    api.tear_down("demo")
"""

from __future__ import annotations

from pathlib import Path

from halab.errors import HalabError
from halab.grading.session import GradingRun
from halab.report.student_record import Report, ReportItem, read_report
from halab.run import LabUp, tear_down
from halab.settings import resolve
from halab.submissions import Outcome

__all__ = ["GradingRun", "HalabError", "LabUp", "Outcome", "Report", "ReportItem", "bring_up", "grade_folder",
           "grade_lab", "read_report", "tear_down", "write_reports"]


def bring_up(lab: str | Path, name: str | None = None, *, backend: str | None = None) -> LabUp:
    """Boot fresh nodes of `lab` (a bundled name such as "pcs", or a folder of one's own) and run
    its document until the VIP answers; on failure nothing is left behind. Needs root."""
    from halab.plan import load_plan
    from halab.run import bring_up as up

    plan = load_plan(str(lab))
    return up(plan, name or plan.name, backend or resolve().backend)


def grade_lab(name: str, rubric: str | Path | None = None, *, include_hidden: bool = True) -> GradingRun:
    """Run the rubric's checks (default: the lab's own rubric) on the running lab `name`, faults
    included, and score them; the cluster is put back as it was found. Writes nothing."""
    from halab.grading.session import grade_lab as grade
    from halab.lab import find_lab

    chosen = Path(rubric) if rubric else find_lab(name).open().plan.folder / "rubric.yaml"
    return grade(name, chosen, include_hidden=include_hidden)


def write_reports(run: GradingRun, student: str, out: str | Path | None = None) -> dict[str, Path]:
    """The student's JSON, JUnit and HTML reports and their gradebook row, in `out` (default: the
    reports setting, ./reports); returns the files by kind (json, junit, html, gradebook)."""
    from halab.report.gradebook import checked_id, update_gradebook
    from halab.report.grade_reports import write_grade_reports
    from halab.submissions.submission import checked_student

    settings = resolve()
    folder = Path(out) if out else settings.reports
    checked_id(checked_student(student), settings.id_column)
    paths = write_grade_reports(folder, student, run)
    return {**paths, "gradebook": update_gradebook(folder / "gradebook.csv", student, run, settings.id_column)}


def grade_folder(folder: str | Path, out: str | Path | None = None, *, rubrics: dict[str, Path] | None = None,
                 parallel: int | None = None) -> list[Outcome]:
    """Rebuild every archive of `folder` (written by `halab collect`) on fresh local nodes and grade
    it with its variant's rubric (or `rubrics[variant]`), several at once; each student's reports,
    the gradebook and the class summary go to `out` (default: REPORTS/<folder's name>). Needs root."""
    from halab.backends.local.backend import require_privileges
    from halab.submissions import find_archives, grade_batch

    require_privileges()
    settings = resolve()
    source = Path(folder)
    target = Path(out) if out else settings.reports / (source.name.split(".")[0] or "submissions")
    return grade_batch(find_archives(source), target, rubrics=rubrics, parallel=parallel or settings.parallel,
                       id_column=settings.id_column)

