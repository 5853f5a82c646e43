"""Scenario checks: each scenario of the lab's scenarios.toml (seed 003's failure policies:
migration-threshold, failure-timeout, failback against stickiness, standby, move then clear),
its steps done one after the other, judged after each against what the lab asks, with
Pacemaker's own prediction (crm_simulate on the live CIB) beside what the cluster did; on
Heartbeat, its equivalents (hb_standby, hb_takeover, auto_failback), predicted by ha.cf's rule."""

from __future__ import annotations

from typing import Callable

from halab.grading import fail
from halab.scenarios import ScenarioRun


def test_scenario(scenario_id: str, scenario_run: Callable[[str], ScenarioRun],
                  record_property: Callable[[str, object], None]) -> None:
    """The cluster follows the failure policy the lab asks for"""
    run = scenario_run(scenario_id)
    record_property("duration_s", run.duration_s)
    if run.verdict != "pass":
        fail(run.explanation, evidence=_evidence(run), fix=run.fix or "see the scenario's timeline in the report")


def _evidence(run: ScenarioRun) -> str:
    """The configuration that decides, then each step: predicted, observed, fail-counts, downtime."""
    lines = [f"{run.title}; {run.unit} started on {run.home or 'no node'}; "
             + ", ".join(f"{name} {value}" for name, value in run.settings)]
    for number, step in enumerate(run.steps, 1):
        predicted = (", ".join(step.predicted_on) or "stopped") if step.predicted_on is not None else step.prediction_note
        counts = ", ".join(f"{node} {count}" for node, count in step.fail_counts)
        downtime = "none" if step.downtime_s is None else f"{step.downtime_s:.1f} s"
        lines.append(f"step {number}: {step.description}: predicted {predicted}, observed "
                     f"{', '.join(step.observed_on) or 'stopped'}; " + (f"fail-count {counts}; " if counts else "")
                     + f"downtime {downtime}"
                     + (f"; constraints {', '.join(step.move_constraints)}" if step.move_constraints else ""))
    lines += [f"not as predicted: {m}" for m in run.mismatches]
    return "\n".join(lines)
