"""JUnit XML for CI servers: one test suite per lab document, one test case per step and per fault."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from junit_xml import TestCase, TestSuite, to_xml_report_string

from halab.experiment import FaultRun
from halab.labdoc import StepResult
from halab.masking import NONE, secrets_of_lab, write_private


@dataclass
class DocumentOutcome:
    """What `halab doc test` learnt of one document."""

    document: str
    variant: str
    steps: Sequence[StepResult] = ()
    failed_step: StepResult | None = None
    failure: str = ""
    runs: Sequence[FaultRun] = ()
    error: str = ""  # the harness could not run the document at all
    faults_skipped: Sequence[str] = field(default_factory=tuple)


def write_junit(path: Path, outcomes: Sequence[DocumentOutcome]) -> Path:
    """Each document's secrets masked (its steps' results are already), the file 0640."""
    secrets = NONE
    for outcome in outcomes:
        secrets += secrets_of_lab(Path(outcome.document).parent, Path(outcome.document))
    return write_private(path, to_xml_report_string([_suite(outcome) for outcome in outcomes], prettyprint=True),
                         secrets)


def _suite(outcome: DocumentOutcome) -> TestSuite:
    cases = []
    for step in outcome.steps:
        case = TestCase(
            f"step {step.step.number:02d} on {step.node}: {step.step.heading}",
            classname=f"{outcome.variant}.document", elapsed_sec=step.result.duration_s,
            stdout=step.result.stdout, stderr=step.result.stderr,
        )
        if step is outcome.failed_step:
            case.add_failure_info(message=outcome.failure.splitlines()[0], output=outcome.failure)
        cases.append(case)
    for run in outcome.runs:
        case = TestCase(
            f"fault {run.fault}", classname=f"{outcome.variant}.faults",
            elapsed_sec=run.healed_at - run.injected_at,
            stdout=f"{run.description}\noutcome {run.outcome}, downtime "
                   f"{'none' if run.downtime_s is None else f'{run.downtime_s * 1000:.0f} ms'}, "
                   f"budget {'none' if run.budget_s is None else f'{run.budget_s:.1f} s'} ({run.budget_evidence})\n"
                   f"{run.explanation}",
        )
        if run.verdict != "pass":
            case.add_failure_info(message=run.explanation)
        cases.append(case)
    for fault in outcome.faults_skipped:
        case = TestCase(f"fault {fault}", classname=f"{outcome.variant}.faults")
        case.add_skipped_info("the document did not bring the lab up")
        cases.append(case)
    if outcome.error:
        case = TestCase("bring the lab up", classname=f"{outcome.variant}.document")
        case.add_error_info(message=outcome.error.splitlines()[0], output=outcome.error)
        cases.append(case)
    return TestSuite(f"{outcome.variant}: {outcome.document}", cases)
