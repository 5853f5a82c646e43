"""Run the checks of checks/ on a running lab, in a pytest process of their own, and score them;
the lab is left as it was found (halab.grading.preserve)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halab.errors import NotObserved
from halab.grading.preserve import Preservation, restore, snapshot
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, load_rubric
from halab.grading.score import Grade, score
from halab.lab import find_lab
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


def _pytest(lab: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", str(CHECKS_DIR), "--halab-name", lab, "-q", "-p", "no:cacheprovider",
               "--rootdir", str(CHECKS_DIR), "-o", "addopts=", *extra]
    return subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=3600, cwd=CHECKS_DIR)


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
                           "--halab-checks", ",".join(item.id for item in rubric.items))
            if not out.exists():
                raise NotObserved("the checks did not run", evidence=done.stdout[-3000:])
            record = json.loads(out.read_text())
    finally:
        preservation = restore(backend, stack, before)
    results = tuple(CheckResult(**{**r, "measures": tuple(tuple(m) for m in r["measures"])}) for r in record["results"])
    return GradingRun(lab, rubric, results, score(rubric, results), record["timelines"], preservation,
                      record.get("scenarios", {}))
