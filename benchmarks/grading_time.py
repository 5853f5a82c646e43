"""Where the time of grading one lab goes, against what the cluster itself needs.

    .venv/bin/python benchmarks/grading_time.py [--lab pcs]

Brings the lab up under its own name, grades it with the lab's full rubric (every fault and
scenario), and prints: gathering the facts, each fault (held until the cluster reacted, then
recovery after the heal), each scenario, the rest of the grading run (harness waits and checks),
and writing the reports. The inherent time of a fault is what the cluster needs: clients'
downtime plus the time from the heal until the cluster is whole again; a scenario's is its
steps' own (a monitor interval and a restart per kill, a failover per action:
benchmarks/scenario_time.py). The goal (issue 19): a grading run within 1.3x their sum.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from halab.facts import gather_facts
from halab.grading.session import grade_lab
from halab.plan import load_plan
from halab.report.grade_reports import update_gradebook, write_grade_reports
from halab.run import lab_up

LAB = "benchgrade"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="pcs")
    args = parser.parse_args()
    plan = load_plan(args.lab)
    with lab_up(plan, LAB) as up:
        started = time.monotonic()
        gather_facts(up.backend)
        facts_s = time.monotonic() - started

        started = time.monotonic()
        run = grade_lab(LAB, plan.folder / "rubric.yaml", include_hidden=True)
        grading_s = time.monotonic() - started

        started = time.monotonic()
        with tempfile.TemporaryDirectory() as directory:
            write_grade_reports(Path(directory), "bench", run)
            update_gradebook(Path(directory) / "gradebook.csv", "bench", run)
        reporting_s = time.monotonic() - started

    print(f"lab {plan.name}: {run.grade.summary}")
    print(f"gathering the facts of {len(plan.nodes)} nodes: {facts_s:.1f} s")
    print(f"{'fault':<16} {'downtime':>9} {'held':>7} {'recovery':>9} {'inherent':>9}")
    inherent_total = faults_total = 0.0
    for name, timeline in run.timelines.items():
        fault = timeline["run"]
        downtime = fault["downtime_s"] or 0.0
        held = fault["healed_at"] - fault["injected_at"]
        recovery = fault["recovered_at"] - fault["healed_at"]
        inherent = downtime + recovery
        inherent_total += inherent
        faults_total += held + recovery
        print(f"{name:<16} {downtime:8.1f}s {held:6.1f}s {recovery:8.1f}s {inherent:8.1f}s")
    scenarios_total = scenarios_inherent = 0.0
    for name, scenario in run.scenarios.items():
        measured = scenario["ended_at"] - scenario["started_at"]
        inherent = sum(step["inherent_s"] for step in scenario["steps"])
        scenarios_total += measured
        scenarios_inherent += inherent
        print(f"scenario {name:<22} {measured:6.1f}s measured {inherent:6.1f}s inherent")
    print(f"grading run (pytest, facts, checks, every fault and scenario with its waits): {grading_s:.1f} s")
    print(f"  faults held and recovering: {faults_total:.1f} s (inherent {inherent_total:.1f} s); scenarios: "
          f"{scenarios_total:.1f} s (inherent {scenarios_inherent:.1f} s); the harness's own waits and checks: "
          f"{grading_s - faults_total - scenarios_total:.1f} s")
    print(f"writing the reports (JSON, JUnit, HTML with plots, CSV): {reporting_s * 1000:.0f} ms")
    inherent_all = inherent_total + scenarios_inherent
    print(f"sum of inherent times: {inherent_all:.1f} s; grading took {grading_s / inherent_all:.2f}x that "
          f"(goal: at most 1.3x); the faults alone {faults_total / inherent_total:.2f}x theirs")


if __name__ == "__main__":
    main()
