"""Behaviour checks: each fault of the lab's matrix, probed, healed and judged against the
outcomes the lab allows and a downtime budget computed from the student's own configuration."""

from __future__ import annotations

from typing import Callable

from harness.experiment import FaultRun
from harness.grading import fail


def test_fault(fault_name: str, fault_run: Callable[[str], FaultRun], record_property: Callable[[str, object], None]) -> None:
    """The cluster survives the fault as the lab expects"""
    run = fault_run(fault_name)
    if run.outcome in run.expected and run.downtime_s is not None and run.budget_s:
        record_property("downtime_ratio", run.downtime_s / run.budget_s)
    evidence = (
        f"{run.description}\noutcome {run.outcome}; downtime "
        f"{'none' if run.downtime_s is None else f'{run.downtime_s * 1000:.0f} ms'}; budget "
        f"{'none' if run.budget_s is None else f'{run.budget_s:.1f} s'} ({run.budget_evidence}); "
        f"served {run.served_before} -> {run.served_during} -> {run.served_after}"
    )
    if run.interleaved_answers:
        evidence += f"\nclients got answers from both nodes in turn {run.interleaved_answers} time(s): dual-active"
    if run.verdict != "pass":
        fail(run.explanation, evidence=evidence,
             fix="compare the timeline in the report with your configuration (timeouts, constraints, fencing)")
