"""Run a lab document's steps in order on a backend; keep every step's output; stop at the
first failure with everything a person needs to see why."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from harness.backends import Backend, copy_text
from harness.command import CommandResult
from harness.errors import HalabError
from harness.labdoc.parser import LabDocument, Step

SHELL = ("/bin/bash", "-e", "-o", "pipefail", "-c")


@dataclass(frozen=True)
class StepResult:
    step: Step
    node: str
    result: CommandResult


class StepFailed(HalabError):
    def __init__(self, outcome: StepResult, history: tuple[StepResult, ...]) -> None:
        result = outcome.result
        super().__init__(
            f"{outcome.step.title} failed on {outcome.node} with exit status {result.exit_status}",
            evidence=f"$ {outcome.step.body.strip()}\n{(result.stdout + result.stderr).strip()[-3000:]}",
            fix="correct this step of the document (earlier steps succeeded and were kept)",
        )
        self.outcome = outcome
        self.history = history


def run_document(
    document: LabDocument, backend: Backend, *, on_step: Callable[[StepResult], None] = lambda _: None
) -> tuple[StepResult, ...]:
    """A step for several nodes runs on all of them at once, as a person with one terminal per
    node would; its results are kept in node order."""
    history: list[StepResult] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in document.steps:
            results = pool.map(lambda node: _run_step(step, node, backend), step.nodes)
            for node, result in zip(step.nodes, results):
                outcome = StepResult(step, node, result)
                history.append(outcome)
                on_step(outcome)
            failed = [outcome for outcome in history[-len(step.nodes):] if not outcome.result.succeeded]
            if failed:
                raise StepFailed(failed[0], tuple(history))
    return tuple(history)


def _run_step(step: Step, node: str, backend: Backend) -> CommandResult:
    if step.kind == "file":
        assert step.path is not None
        return copy_text(backend, node, step.body, step.path, step.mode)
    return backend.run(node, [*SHELL, step.body], timeout=step.timeout_s)
