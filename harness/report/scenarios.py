"""A scenario as its report shows it: each step (predicted, observed, fail-counts, downtime)
and the failure timeline of seed 003, measured, in seconds from the scenario's start."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from halab.masking import secrets_of_lab, write_private
from halab.probe import ProbeSample

if TYPE_CHECKING:
    from halab.scenarios import ScenarioRun


@dataclass(frozen=True)
class StepRow:
    number: int
    description: str
    predicted: str
    observed: str
    as_predicted: bool
    fail_counts: str
    downtime: str
    problems: str


@dataclass(frozen=True)
class ScenarioStory:
    settings: str
    steps: tuple[StepRow, ...]
    timeline: tuple[tuple[str, str, str], ...]  # (seconds from the start, kind, what happened)
    mismatches: tuple[str, ...]


def scenario_story(record: dict[str, Any]) -> ScenarioStory:
    start = record["started_at"]
    steps = tuple(
        StepRow(
            number=index, description=step["description"],
            predicted=_nodes(step["predicted_on"]) if step["predicted_on"] is not None else step["prediction_note"],
            observed=_nodes(step["observed_on"]),
            as_predicted=step["predicted_on"] is None or list(step["predicted_on"]) == list(step["observed_on"]),
            fail_counts=", ".join(f"{node} {count}" for node, count in step["fail_counts"]),
            downtime="none" if step["downtime_s"] is None else f"{step['downtime_s']:.1f} s",
            problems="; ".join(step["problems"]) or "as expected",
        )
        for index, step in enumerate(record["steps"], 1)
    )
    return ScenarioStory(
        settings=", ".join(f"{name} {value}" for name, value in record["settings"]),
        steps=steps,
        timeline=tuple((f"{event['at'] - start:.1f}", event["kind"], event["text"]) for event in record["timeline"]),
        mismatches=tuple(record["mismatches"]),
    )


def _nodes(nodes: list[str] | tuple[str, ...]) -> str:
    return ", ".join(nodes) or "stopped"


def scenario_table(runs: Sequence["ScenarioRun"]) -> str:
    """One line per scenario, then its steps: what a teacher reads in the terminal."""
    lines = []
    for run in runs:
        lines.append(f"{run.id:<22} {run.verdict.upper():<5} {run.duration_s:6.1f} s (inherent {run.inherent_s:.1f} s)  "
                     f"{run.explanation}")
        for number, step in enumerate(run.steps, 1):
            predicted = _nodes(step.predicted_on) if step.predicted_on is not None else "?"
            lines.append(f"    {number}. {step.description}: predicted {predicted}, observed {_nodes(step.observed_on)}"
                         + ("" if step.as_predicted else "  NOT AS PREDICTED"))
        lines += [f"    not as predicted: {m}" for m in run.mismatches]
    return "\n".join(lines)


def write_scenario_record(directory: Path, *, lab: str, plan_name: str, runs: Sequence["ScenarioRun"],
                          samples: Sequence[ProbeSample]) -> Path:
    """The scenarios' full record (steps, predictions, timeline) and the probe history, as JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{plan_name}-{lab}-scenarios-{time.strftime('%Y%m%d-%H%M%S')}.json"
    record = {
        "lab": lab, "plan": plan_name, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clock": "time.monotonic() seconds, shared by the probe samples and the timeline events",
        "scenarios": [asdict(run) for run in runs],
        "samples": [sample.to_json() for sample in samples],
    }
    write_private(path, json.dumps(record, indent=1) + "\n", secrets_of_lab(plan_name))
    return path
