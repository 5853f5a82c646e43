"""Behaviour checks: each fault of the lab's matrix, probed, healed and judged against the
outcomes the lab allows and a downtime budget computed from the student's own configuration."""

from __future__ import annotations

from typing import Callable

import pytest

from halab.backends import Backend
from halab.experiment import NOT_TESTED, FaultRun
from halab.grading import fail
from halab.plan import LabPlan
from halab.run import expected_faults
from halab.stacks import Stack
from halab.stacks.admin import Admin


def test_fault(fault_name: str, fault_run: Callable[[str], FaultRun], record_property: Callable[[str, object], None],
               admin: Admin) -> None:
    """The cluster survives the fault as the lab expects"""
    run = fault_run(fault_name)
    # Partial credit is for an outcome the lab allows, only late: never for one that did not recover.
    if run.outcome in run.expected and not run.recovery_note and run.downtime_s is not None and run.budget_s:
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
        fail(run.explanation, evidence=evidence, fix=_fix(run, admin))


def _fix(run: FaultRun, admin: Admin) -> str:
    if run.outcome == NOT_TESTED:
        return "first make the cluster whole and serving: the checks that failed before the faults, or the fault it did not recover from, say why"
    if run.recovery_note:
        return (f"see why the cluster stayed broken ({admin.status}); a node that does not rejoin after a power cycle "
                f"needs its cluster stack started at boot ({admin.enable_at_boot()})")
    if run.outcome == "no-recovery":
        return f"nothing served again until the fault was healed: see whether the cluster monitors the service ({admin.status})"
    return "compare the timeline in the report with your configuration (timeouts, constraints, fencing)"


def test_failback_as_configured(lab: Backend, stack: Stack, plan: LabPlan, fault_run: Callable[[str], FaultRun]) -> None:
    """Once a stopped node is back, the service runs where the configuration says (stickiness, location, auto_failback)"""
    if "stop-stack" not in expected_faults(plan):
        pytest.skip("the lab's fault matrix has no stop-stack fault")
    run = fault_run("stop-stack")
    if run.served_after is None or run.served_during is None:
        fail(f"no node served {'once the stopped node was back' if run.served_during else 'while it was stopped'}, "
             "so failback cannot be judged", evidence=run.description, fix="see the stop-stack fault first")
    want = stack.failback(lab, run.victim, run.served_during)
    if run.served_after != want.node:
        fail(f"after {run.victim} came back, {run.served_after} served; the configuration says {want.node}",
             evidence=f"{want.why}\nserved {run.served_before} -> {run.served_during} -> {run.served_after}",
             fix="make the configuration say what you mean: resource-stickiness, location constraints "
                 "(and no leftover cli-prefer/cli-ban), or auto_failback")
