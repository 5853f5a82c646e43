"""Where a rebuilt submission's time goes: each phase of one student's rebuild and grading, the
way `halab grade FOLDER` does it for every archive of a class.

    .venv/bin/python benchmarks/rebuild_phases.py [--variants pcs] [--runs 3]

For each variant: a lab is brought up from its document under its own name (rbsrc + its first three letters)
and collected into an archive; then, --runs times, that archive is rebuilt as lab rbphase and
graded with the variant's rubric without its fault items (batch_grading.py's), and the time of
each phase is printed: the nodes' boot, the student's files and units put back, the stack
started, Pacemaker's election, the student's CIB loaded, until the VIP serves, the grading, the
tear-down. Medians, with the range.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from batch_grading import config_rubric

from halab.grading.session import grade_lab
from halab.plan import load_plan
from halab.run import bring_up, lab_up, tear_down
from halab.submissions import Submission, collect_lab
from halab.submissions.rebuild import plan_rebuild, rebuild, write_plan

LAB = "rbphase"


def one_rebuild(variant: str, submission: Submission, rubric: Path, folder: Path) -> list[tuple[str, float]]:
    source = load_plan(variant)
    plan = write_plan(plan_rebuild(submission, source), source, folder)
    started = time.monotonic()
    up = bring_up(plan, LAB, provision=False)
    phases = [("boot of fresh nodes", time.monotonic() - started)]
    try:
        rebuilt = rebuild(up.backend, submission)
        phases += list(rebuilt.phases)
        started = time.monotonic()
        grade_lab(LAB, rubric, include_hidden=True)
        phases.append(("grading (rubric without faults)", time.monotonic() - started))
    finally:
        started = time.monotonic()
        tear_down(LAB)
        phases.append(("tear-down", time.monotonic() - started))
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="pcs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for variant in args.variants.split(","):
        with lab_up(load_plan(variant), f"rbsrc{variant[:3]}") as up:
            submission = collect_lab(up.backend, f"bench-{variant}")
        with tempfile.TemporaryDirectory() as tmp:
            rubric = config_rubric(variant, Path(tmp))
            runs = [one_rebuild(variant, submission, rubric, Path(tmp) / f"run{i}") for i in range(args.runs)]
        print(f"\n{variant}: {args.runs} rebuilds of one submission (seconds: median, min-max)")
        for index, (name, _) in enumerate(runs[0]):
            values = [run[index][1] for run in runs]
            print(f"  {name:<34}{statistics.median(values):7.1f}   {min(values):5.1f}-{max(values):5.1f}")
        totals = [sum(value for _, value in run) for run in runs]
        rebuild_only = [sum(value for name, value in run if not name.startswith(("grading", "tear-down")))
                        for run in runs]
        print(f"  {'rebuild (boot until the VIP serves)':<34}{statistics.median(rebuild_only):7.1f}   "
              f"{min(rebuild_only):5.1f}-{max(rebuild_only):5.1f}")
        print(f"  {'whole submission':<34}{statistics.median(totals):7.1f}   {min(totals):5.1f}-{max(totals):5.1f}")


if __name__ == "__main__":
    main()
