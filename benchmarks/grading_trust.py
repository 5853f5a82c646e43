"""Can a grade be trusted, and what does a broken cluster cost? The mutation suite's planted
mistakes, graded on one real pcs lab, and the grading time of a healthy and of a broken one.

    .venv/bin/python benchmarks/grading_trust.py [--skip-config]

Brings the pcs lab up under its own name (benchtrust), then prints, for every planted mistake
of tests/e2e/test_grading.py: caught (exactly its checks failed, each with a fix), false
deductions (other items that lost points) and the time; then the full rubric (every fault) on
the clean lab, on a lab whose VIP never serves, and on one whose active node does not start its
stack at boot. Issue 12 measured before: healthy 128-147 s, broken 823-1032 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Callable

import yaml

from halab.backends import Backend
from halab.experiment import wait_healthy
from halab.grading.session import GradingRun, grade_lab
from halab.plan import load_plan
from halab.run import lab_up
from halab.stacks import stack_for

LAB = "benchtrust"
SUITE = Path(__file__).parents[1] / "tests" / "e2e" / "test_grading.py"


def _suite():  # type: ignore[no-untyped-def]
    """The mutation suite's own table of mistakes: one list for the tests and this benchmark."""
    spec = importlib.util.spec_from_file_location("mutation_suite", SUITE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def planted(lab: Backend, plant: list[tuple[str, str]], undo: list[tuple[str, str]], grade: Callable[[], GradingRun],
            active: Callable[[str], str]) -> tuple[GradingRun, float]:
    steps = [(active(node), command) for node, command in plant]
    for node, command in steps:
        lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
    started = time.monotonic()
    try:
        run = grade()
    finally:
        took = time.monotonic() - started
        for (node, _), (_, command) in zip(steps, undo):
            lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
        wait_healthy(lab, stack_for("pacemaker"))
    return run, took


def verdict(run: GradingRun, expected: set[str]) -> tuple[bool, list[str]]:
    lost = {s.item.id for s in run.grade.items if s.awarded < s.item.points}
    named = all(s.result is not None and s.result.fix for s in run.grade.items if s.item.id in expected)
    return lost >= expected and named, sorted(lost - expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-config", action="store_true", help="only the full-rubric timings")
    args = parser.parse_args()
    suite = _suite()
    plan = load_plan("pcs")
    full = plan.folder / "rubric.yaml"
    config = Path(tempfile.mkdtemp()) / "config-rubric.yaml"  # the rubric without the faults
    data = yaml.safe_load(full.read_text())
    data["checks"] = [i for i in data["checks"] if not i["id"].startswith("fault-") and i["id"] != "failback-as-configured"]
    config.write_text(yaml.safe_dump(data))
    with lab_up(plan, LAB) as up:
        lab = up.backend
        active = lambda node: suite._on(lab, node)  # noqa: E731
        caught = with_false_deductions = 0
        if not args.skip_config:
            print(f"{'planted mistake':<52} {'caught':>7} {'false deductions':<24} {'time':>6}")
            for name, (plant, undo, expected) in suite.DEFECTS.items():
                run, took = planted(lab, plant, undo, lambda: grade_lab(LAB, config, include_hidden=True), active)
                ok, others = verdict(run, expected)
                caught += ok
                with_false_deductions += bool(others)
                print(f"{name:<52} {'yes' if ok else 'NO':>7} {', '.join(others) or 'none':<24} {took:5.0f}s")
            print(f"caught {caught} / {len(suite.DEFECTS)}; submissions with false deductions: {with_false_deductions}")
        started = time.monotonic()
        clean = grade_lab(LAB, full, include_hidden=True)
        print(f"full rubric, clean lab: {clean.grade.summary} in {time.monotonic() - started:.0f} s")
        for name in ("VIP netmask wrong, every fault", "cluster stack not enabled at boot on the active node"):
            plant, undo, _, expected = suite.FAULT_DEFECTS[name]
            run, took = planted(lab, plant, undo, lambda: grade_lab(LAB, full, include_hidden=True), active)
            print(f"full rubric, {name}: {run.grade.summary} in {took:.0f} s")


if __name__ == "__main__":
    main()
