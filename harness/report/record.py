"""The full record of a run, as JSON: enough to judge it again later, or to plot it."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from halab.experiment import FaultRun
from halab.labdoc import StepResult
from halab.masking import secrets_of_lab, write_private
from halab.probe import ProbeSample


def write_record(
    directory: Path,
    *,
    lab: str,
    plan_name: str,
    backend: str,
    phases: dict[str, float],
    steps: Sequence[StepResult],
    runs: Sequence[FaultRun],
    samples: Sequence[ProbeSample],
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = directory / f"{plan_name}-{lab}-{stamp}.json"
    record = {
        "lab": lab,
        "plan": plan_name,
        "backend": backend,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clock": "time.monotonic() seconds, shared by the probe samples and the fault events",
        "phases_s": phases,
        "provisioning": [
            {
                "step": s.step.number, "line": s.step.line, "heading": s.step.heading, "node": s.node,
                "exit_status": s.result.exit_status, "duration_s": round(s.result.duration_s, 3),
                "stdout": s.result.stdout, "stderr": s.result.stderr,
            }
            for s in steps
        ],
        "faults": [asdict(run) for run in runs],
        "samples": [sample.to_json() for sample in samples],
    }
    write_private(path, json.dumps(record, indent=1) + "\n", secrets_of_lab(plan_name))
    return path
