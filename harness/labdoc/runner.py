"""Run a lab document's steps in order on a backend; keep every step's output; stop at the
first failure with everything a person needs to see why, and the likely cause."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Protocol

from halab.backends import Backend, copy_text
from halab.command import CommandResult
from halab.errors import HalabError
from halab.labdoc.hints import likely_cause
from halab.labdoc.parser import Expectation, LabDocument, Step
from halab.wait import wait_until

SHELL = ("/bin/bash", "-e", "-o", "pipefail", "-c")
LAB = "lab"  # the "node" of a check that looks at the lab as a whole


class Observer(Protocol):
    """What expect blocks look at, from where a client stands."""

    def vip_page(self) -> str: ...
    def online_nodes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class StepResult:
    step: Step
    node: str
    result: CommandResult
    passed: bool


class StepFailed(HalabError):
    def __init__(self, outcome: StepResult, history: tuple[StepResult, ...]) -> None:
        result, step = outcome.result, outcome.step
        output = (result.stdout + result.stderr).strip()
        if step.fails is not None and result.succeeded:
            what = f"{step.title} succeeded on {outcome.node}, but the document says it must fail with {step.fails!r}"
        elif step.fails is not None:
            what = f"{step.title} failed on {outcome.node} as expected, but without {step.fails!r} in its output"
        else:
            what = f"{step.title} failed on {outcome.node} with exit status {result.exit_status}"
        cause = likely_cause(f"{step.body}\n{output}")
        super().__init__(
            what,
            evidence=f"$ {step.body.strip()}\n{output[-3000:]}" + (f"\nlikely cause: {cause}" if cause else ""),
            fix="correct this step of the document (earlier steps succeeded and were kept)",
        )
        self.outcome = outcome
        self.history = history


def run_document(
    document: LabDocument,
    backend: Backend,
    observer: Observer,
    *,
    on_step: Callable[[StepResult], None] = lambda _: None,
) -> tuple[StepResult, ...]:
    """A step for several nodes runs on all of them at once, as a person with one terminal per
    node would; its results are kept in node order."""
    history: list[StepResult] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in document.steps:
            if step.kind == "expect":
                outcomes = [_check(step, observer)]
            else:
                results = pool.map(lambda node: _run_step(step, node, backend), step.nodes)
                outcomes = [StepResult(step, node, r, _passed(step, r)) for node, r in zip(step.nodes, results)]
            for outcome in outcomes:
                history.append(outcome)
                on_step(outcome)
            failed = [outcome for outcome in outcomes if not outcome.passed]
            if failed:
                raise StepFailed(failed[0], tuple(history))
    return tuple(history)


def _passed(step: Step, result: CommandResult) -> bool:
    if step.fails is None:
        return result.succeeded
    return not result.succeeded and step.fails in result.stdout + result.stderr


def _run_step(step: Step, node: str, backend: Backend) -> CommandResult:
    if step.kind == "file":
        assert step.path is not None
        return copy_text(backend, node, step.body, step.path, step.mode)
    return backend.run(node, [*SHELL, step.body], timeout=step.timeout_s)


def _check(step: Step, observer: Observer) -> StepResult:
    """Every expectation of the block must hold within the block's timeout."""
    started = time.monotonic()
    lines, passed = [], True
    for expectation in step.expectations:
        remaining = max(step.timeout_s - (time.monotonic() - started), 1.0)
        try:
            seen = wait_until(
                lambda e=expectation: _observe(e, observer), lambda got: got[0],
                what=expectation.sentence, timeout_s=remaining, interval_s=1.0,
            )
            lines.append(f"ok: {expectation.sentence} ({seen[1]})")
        except HalabError as error:
            passed = False
            lines.append(f"NOT MET: {expectation.sentence}\n  {error.evidence}")
            break
    result = CommandResult(LAB, ("expect", step.body.strip()), 0 if passed else 1, "\n".join(lines) + "\n", "",
                           time.monotonic() - started)
    return StepResult(step, LAB, result, passed)


def _observe(expectation: Expectation, observer: Observer) -> tuple[bool, str]:
    if expectation.kind == "vip-serves":
        page = observer.vip_page()
        return expectation.text in page, f"the page: {page.strip()[:200]}"
    online = observer.online_nodes()
    return set(expectation.nodes) <= set(online), f"online: {', '.join(online) or 'none'}"
