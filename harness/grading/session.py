"""Run the checks of checks/ on a running lab, in a pytest process of their own, and score them;
the lab is left as it was found (halab.grading.preserve)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halab.errors import NotObserved
from halab.faults import heal_journal
from halab.grading.preserve import Preservation, restore, snapshot
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, load_rubric
from halab.grading.score import Grade, score
from halab.lab import find_lab, journal_for
from halab.paths import CHECKS_DIR
from halab.progress import say
from halab.stacks import stack_for


@dataclass(frozen=True)
class GradingRun:
    lab: str
    rubric: Rubric
    results: tuple[CheckResult, ...]
    grade: Grade
    timelines: dict[str, dict[str, Any]]
    preservation: Preservation | None = None  # the cluster's state before and after, and what was put back
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario id -> its record (steps, timeline)


# A grading's deadline, from what its rubric asks (seconds on nodes of time scale 1): the
# configuration checks, then each fault (ready, observed, healed, whole and served again: at most
# ~260 s) and each scenario (its steps, each bounded by its own time and 15 s of slack, the
# cluster put back) with room to spare. Past it the checks are stopped and the grade is not given.
DEADLINE_BASE_S = 240.0
DEADLINE_PER_FAULT_S = 300.0
DEADLINE_PER_SCENARIO_S = 300.0
LISTING_S = 300.0
STOP_GRACE_S = 30.0  # after SIGINT, for the checks to heal the fault in flight


def grading_deadline_s(rubric: Rubric, time_scale: float = 1.0) -> float:
    faults = sum(1 for item in rubric.items if item.id.startswith("fault-"))
    scenarios = sum(1 for item in rubric.items if item.id.startswith("scenario-"))
    return (DEADLINE_BASE_S + faults * DEADLINE_PER_FAULT_S + scenarios * DEADLINE_PER_SCENARIO_S) * time_scale


def _pytest(lab: str, *extra: str, deadline_s: float = LISTING_S, what: str = "listing the checks") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", str(CHECKS_DIR), "--halab-name", lab, "-q", "-p", "no:cacheprovider",
               "--rootdir", str(CHECKS_DIR), "-o", "addopts=", *extra]
    return run_bounded(command, deadline_s=deadline_s, cwd=CHECKS_DIR, what=what)


def run_bounded(command: list[str], *, deadline_s: float, cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    """`command` in a process group of its own: past `deadline_s` it is interrupted (the checks
    heal the fault in flight), then killed; either way one clear error, never a hang."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True) as process:
        try:
            stdout, _ = process.communicate(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            try:
                stdout, _ = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                stdout = ""
            raise NotObserved(f"{what} took longer than its deadline of {deadline_s:.0f} s and was stopped",
                              evidence=(stdout or "")[-2000:],
                              fix="halab check --name LAB -v shows which check or fault hangs; a cluster that never "
                                  "settles (a resource that never starts or stops) is the usual cause") from None
        return subprocess.CompletedProcess(command, process.returncode, stdout)


def _stop_group(process: subprocess.Popen[str]) -> None:
    for signum, grace in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, signum)
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


@dataclass(frozen=True)
class CheckInfo:
    id: str
    title: str
    kind: str  # configuration or fault


def list_checks(lab: str) -> tuple[CheckInfo, ...]:
    """Every check that exists for this lab, with its title and kind, without running any."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "checks.json"
        listed = _pytest(lab, "--collect-only", "--halab-results", str(out))
        if listed.returncode not in (0, 5) or not out.exists():
            raise NotObserved("the checks could not be collected", evidence=listed.stdout[-2000:])
        return tuple(CheckInfo(**check) for check in json.loads(out.read_text())["checks"])


def known_checks(lab: str) -> tuple[str, ...]:
    return tuple(check.id for check in list_checks(lab))


def grade_lab(lab: str, rubric_path: Path, *, include_hidden: bool) -> GradingRun:
    """Validate the rubric against the checks that exist, run the ones it names, score them."""
    rubric_path = rubric_path.resolve()  # the checks run from their own folder
    rubric = load_rubric(rubric_path, known_checks(lab))
    if not include_hidden:
        rubric = rubric.visible()
    backend = find_lab(lab).open()
    stack = stack_for(backend.plan.stack)
    say(f"lab {lab}: recording the cluster's state before grading")
    before = snapshot(backend, stack)
    try:
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "results.json"
            done = _pytest(lab, "--halab-rubric", str(rubric_path), "--halab-results", str(out),
                           "--halab-checks", ",".join(item.id for item in rubric.items),
                           deadline_s=grading_deadline_s(rubric, backend.time_scale), what="grading")
            if not out.exists():
                raise NotObserved("the checks did not run", evidence=done.stdout[-3000:])
            record = json.loads(out.read_text())
    finally:
        heal_journal(backend, stack, journal_for(lab))  # what checks stopped mid-fault left applied
        preservation = restore(backend, stack, before)
    results = tuple(CheckResult(**{**r, "measures": tuple(tuple(m) for m in r["measures"])}) for r in record["results"])
    return GradingRun(lab, rubric, results, score(rubric, results), record["timelines"], preservation,
                      record.get("scenarios", {}))
