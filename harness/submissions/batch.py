"""Grade a class: every archive of a folder read safely, each valid one rebuilt on fresh local
nodes and graded with its variant's rubric, several at once, and one summary for the class.
One broken submission never stops the others: it is refused or failed, with the reason, in the
summary.

    outcomes = grade_batch(find_archives(Path("submissions")), Path("reports/class"), parallel=3)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Mapping, Sequence

from halab.backends import Backend
from halab.errors import HalabError
from halab.masking import write_private
from halab.grading.rubric import load_rubric
from halab.grading.session import GradingRun, grade_lab
from halab.lab import check_lab_name, running_labs
from halab.paths import state_root
from halab.plan import LabPlan, available_labs, load_plan
from halab.progress import say
from halab.report.grade_reports import write_grade_reports
from halab.report.gradebook import write_gradebook
from halab.submissions.archive import read_archive
from halab.submissions.ledger import Ledger
from halab.submissions.rebuild import plan_rebuild, rebuild, write_plan
from halab.submissions.submission import Submission, from_members

GRADED, REFUSED, FAILED = "graded", "refused", "failed"
# Memory of one rebuilt node (PSS) by variant, the peak of a class of 30 graded with the fault
# matrix and scenarios (benchmarks/batch_grading.py --with-faults: a pcs node runs pcsd then).
NODE_MIB = {"pcs": 310, "crmsh": 190, "heartbeat": 30}
HOST_RESERVE_MIB = 1024
# Grading mostly waits on the clusters' own timers, and clusters start one per core at a time:
# 8 labs at once on 2 cores graded a class of 30 with every fault at full marks; 10 did not
# (nodes too starved to finish booting in time).
LABS_PER_CORE = 4
MAX_PARALLEL = 8


@dataclass
class Outcome:
    archive: Path
    student: str
    variant: str = ""
    state: str = FAILED
    reason: str = ""
    run: GradingRun | None = None
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0
    reports: dict[str, Path] = field(default_factory=dict)


def find_archives(target: Path) -> list[Path]:
    """An archive, or every file of a folder (hidden files aside): what is not an archive is refused."""
    if target.is_file() or (target.exists() and not target.is_dir()):
        return [target]  # one archive; what is not a regular file is refused by name when read
    if not target.is_dir():
        raise HalabError(f"{target} is neither a submission archive nor a folder of them",
                         fix="halab grade submissions/ (a folder of .tar.gz written by halab collect)")
    found = sorted(p for p in target.iterdir() if not p.name.startswith(".") and not p.is_dir())
    if not found:
        raise HalabError(f"{target} holds no submission: the folder is empty (hidden files and folders aside)",
                         fix="put the archives written by `halab collect` in it, then grade again")
    return found


def default_parallelism(variants: Sequence[str], cores: int | None = None, available_mib: float | None = None) -> int:
    """Labs at once: four per core (grading mostly waits; clusters start one per core at a time),
    and as many as the available memory holds, less a reserve for the host, at two nodes per lab."""
    cores = cores or len(os.sched_getaffinity(0))
    available_mib = available_mib if available_mib is not None else _available_mib()
    lab_mib = 2 * max((NODE_MIB.get(v, max(NODE_MIB.values())) for v in variants), default=max(NODE_MIB.values()))
    by_memory = int((available_mib - HOST_RESERVE_MIB) // lab_mib)
    return max(1, min(int(cores * LABS_PER_CORE), by_memory, MAX_PARALLEL))


def _available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_submissions(archives: Sequence[Path]) -> tuple[list[tuple[Path, Submission]], list[Outcome]]:
    """Valid submissions, and refusals naming the file and the entry; a second archive for the
    same student and variant is refused too (its reports would overwrite the first one's)."""
    variants = tuple(available_labs())
    valid: list[tuple[Path, Submission]] = []
    refused: list[Outcome] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in archives:
        try:
            submission = from_members(path, read_archive(path), variants)
        except HalabError as error:
            refused.append(Outcome(path, path.name.split(".")[0], state=REFUSED, reason=str(error)))
            continue
        key = (submission.student, submission.variant)
        if key in seen:
            refused.append(Outcome(path, submission.student, submission.variant, REFUSED,
                                   f"{path.name}: refused: {submission.student} already handed in {seen[key].name}"))
            continue
        seen[key] = path
        valid.append((path, submission))
    return valid, refused


class _LabNames:
    """Lab names for rebuilt clusters (prefix + number), never one that is up or in use here."""

    def __init__(self, prefix: str) -> None:
        check_lab_name(prefix + "1")
        self.prefix, self.taken, self.lock = prefix, set[str](), threading.Lock()

    def take(self) -> str:
        with self.lock:
            up = {record.name for record in running_labs()}
            for number in range(1, 10**6):
                name = f"{self.prefix}{number}"
                if name not in up and name not in self.taken and not (state_root() / "rebuilt" / name).exists():
                    self.taken.add(check_lab_name(name))
                    return name
        raise HalabError("no free lab name")

    def give_back(self, name: str) -> None:
        with self.lock:
            self.taken.discard(name)


class _Progress:
    """One line per event, with where the class stands: done, running, waiting, and when it
    should end (from the time the graded ones took, at the parallelism seen so far)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.running, self.lock = total, 0, set[Path](), threading.Lock()
        self.durations = list[float]()

    def event(self, outcome: Outcome, message: str, *, started: bool = False, finished: bool = False) -> None:
        with self.lock:
            if started:
                self.running.add(outcome.archive)
            if finished:
                self.running.discard(outcome.archive)
                self.done += 1
                if outcome.duration_s:
                    self.durations.append(outcome.duration_s)
            say(f"[{self.done}/{self.total} done, {len(self.running)} running{self._eta()}] {outcome.student}: {message}")

    def _eta(self) -> str:
        left = self.total - self.done
        if not self.durations or not left:
            return ""
        at_once = max(1, len(self.running))
        return f", about {sum(self.durations) / len(self.durations) * left / at_once / 60:.0f} min left"


def grade_batch(
    archives: Sequence[Path], out: Path, *, rubrics: Mapping[str, Path] | None = None, parallel: int | None = None,
    name_prefix: str = "sub", grade_one: Callable[[Submission, str, Path], tuple[GradingRun, tuple[str, ...]]] | None = None,
    resume: bool = False, id_column: str = "username",
) -> list[Outcome]:
    """Grade every archive. Each student's reports are written as soon as they are graded, and the
    gradebook and class summary after each one, so a batch stopped midway keeps what it did;
    with `resume`, an archive already graded with the same rubric is not graded again."""
    valid, refused = read_submissions(archives)
    progress = _Progress(len(archives))
    chosen_rubrics = {**{v: load_plan(v).folder / "rubric.yaml" for v in available_labs()}, **(rubrics or {})}
    ledger = Ledger(out)
    finished: list[Outcome] = list(refused)
    lock = threading.Lock()

    def record(outcome: Outcome, rubric: Path | None) -> None:
        with lock:
            ledger.keep(outcome, rubric)
            finished.append(outcome)
            write_student_reports(out, outcome)
            write_class_files(out, sorted(finished, key=lambda o: (o.student, o.archive.name)), id_column)

    for outcome in refused:
        progress.event(outcome, outcome.reason.splitlines()[0], finished=True)
    earlier = {path: ledger.find(path, chosen_rubrics[s.variant]) for path, s in valid
               if resume and chosen_rubrics[s.variant].is_file()}
    for path, outcome in earlier.items():
        if outcome is not None:
            progress.event(outcome, "already graded with this rubric (--resume): kept", finished=True)
            record(outcome, chosen_rubrics[outcome.variant])
    valid = [(path, s) for path, s in valid if earlier.get(path) is None]
    workers = parallel or default_parallelism([s.variant for _, s in valid])
    rebuilds = threading.BoundedSemaphore(len(os.sched_getaffinity(0)))  # clusters starting at once: one per core
    names = _LabNames(name_prefix)
    say(f"grading {len(valid)} submissions, {workers} at once ({len(refused)} refused"
        + (f", {len(finished) - len(refused)} kept from an earlier run)" if resume else ")"))
    out.mkdir(parents=True, exist_ok=True)
    write_class_files(out, sorted(finished, key=lambda o: (o.student, o.archive.name)), id_column)

    def one(item: tuple[Path, Submission]) -> Outcome:
        path, submission = item
        outcome = Outcome(path, submission.student, submission.variant)
        started = time.monotonic()
        rubric = chosen_rubrics[submission.variant]
        if not rubric.is_file():
            outcome.reason = f"no rubric for the {submission.variant} lab ({rubric})"
            progress.event(outcome, outcome.reason, finished=True)
            record(outcome, None)
            return outcome
        name = names.take()
        progress.event(outcome, f"rebuilding the {submission.variant} lab as {name}", started=True)
        try:
            outcome.run, outcome.notes = (grade_one or partial(grade_submission, gate=rebuilds))(submission, name, rubric)
            outcome.state = GRADED
        except HalabError as error:
            outcome.reason = str(error)
        except Exception as error:  # noqa: BLE001 - one broken submission never stops the others
            outcome.reason = f"halab broke on this submission: {error!r}"
        finally:
            names.give_back(name)
        outcome.duration_s = time.monotonic() - started
        result = outcome.run.grade.summary if outcome.run else f"not graded: {outcome.reason.splitlines()[0]}"
        record(outcome, rubric)
        progress.event(outcome, f"{result} ({outcome.duration_s:.0f} s)", finished=True)
        return outcome

    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(one, valid))
    return sorted(finished, key=lambda o: (o.student, o.archive.name))


def grade_submission(submission: Submission, name: str, rubric: Path, gate: threading.Semaphore | None = None,
                     ) -> tuple[GradingRun, tuple[str, ...]]:
    """Rebuild one student's cluster as lab `name`, grade it, and remove it whatever happens.
    Holding `gate` while booting and rebuilding: starting a cluster is what loads the CPU, and a
    batch starting many at once starves the clusters already being graded (a node lost from
    the membership for want of CPU would be graded as the student's fault)."""
    from halab.run import bring_up, tear_down

    folder = state_root() / "rebuilt" / name  # the plan lives as long as the lab
    variant = load_plan(submission.variant)
    load_rubric(rubric)
    rebuild_plan = plan_rebuild(submission, variant)
    if folder.exists() or any(record.name == name for record in running_labs()):
        raise HalabError(f"lab {name} is already up or was left behind", fix=f"halab down --name {name}; rm -r {folder}")
    try:
        plan = write_plan(rebuild_plan, variant, folder)
        with gate or contextlib.nullcontext():
            up = bring_up(plan, name, provision=False)
        limits: tuple[str, ...] = ()
        try:
            with gate or contextlib.nullcontext():
                rebuilt = rebuild(up.backend, submission)
            run = grade_lab(name, rubric, include_hidden=True)
        except HalabError as error:
            limits = _limits_hit(up.backend, plan)  # often why it broke: said in the same line
            error.what += "".join(f"; {hit}" for hit in limits)
            raise
        finally:
            # Graded as it stands (rebuilds are local); the summary says which limit a node ran into.
            limits = limits or _limits_hit(up.backend, plan)
            tear_down(name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return run, rebuild_plan.notes + rebuilt.notes + limits


def _limits_hit(backend: Backend, plan: LabPlan) -> tuple[str, ...]:
    return tuple(f"{node} hit {what}" for node in plan.node_names for what in backend.limits_hit(node))  # type: ignore[attr-defined]


def write_student_reports(out: Path, outcome: Outcome) -> None:
    """A graded student's JSON, JUnit and HTML reports, as soon as they are graded."""
    if outcome.run is not None:
        out.mkdir(parents=True, exist_ok=True)
        outcome.reports = write_grade_reports(out, outcome.student, outcome.run, backend="local (rebuilt from the archive)",
                                              started_at=time.time() - outcome.duration_s, duration_s=outcome.duration_s)


def write_class_files(out: Path, outcomes: Sequence[Outcome], id_column: str = "username") -> dict[str, Path]:
    """The gradebook (graded students, importable as is) and the class summary (everyone so far,
    refused and failed included, with the reason), rewritten whole after each submission."""
    from halab.submissions.summary import summary_csv, summary_html

    out.mkdir(parents=True, exist_ok=True)
    gradebook = write_gradebook(out / "gradebook.csv", [(o.student, o.run) for o in outcomes if o.run is not None], id_column)
    paths = {"gradebook": gradebook, "summary_html": out / "class-summary.html", "summary_csv": out / "class-summary.csv"}
    write_private(paths["summary_html"], summary_html(outcomes, out))
    write_private(paths["summary_csv"], summary_csv(outcomes))
    return paths
