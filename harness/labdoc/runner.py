"""Run a lab document's steps in order on a backend; keep every step's output; stop at the
first failure with everything a person needs to see why, and the likely cause."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

from halab.backends import Backend, copy_text
from halab.command import CommandResult
from halab.errors import HalabError
from halab.labdoc.checks import Observer, check
from halab.labdoc.hints import likely_cause
from halab.labdoc.parser import LabDocument, Step
from halab.labdoc.shell import Ran, run_shell_step
from halab.masking import MAKES_KEYS, Secrets, secrets_of_document, secrets_on_node
from halab.wait import time_left

LAB = "lab"  # the "node" of a check that looks at the lab as a whole
# What a failure shows of a step's output: its head and its tail, the middle dropped and counted.
SHOWN_CHARS = 6000


@dataclass(frozen=True)
class StepResult:
    step: Step
    node: str
    result: CommandResult
    passed: bool
    note: str = ""  # what happened besides ok/FAILED: pasted lines that failed, an interrupt, a reboot


class StepFailed(HalabError):
    """A step did not do what the document says: the command, its status, its output (head and
    tail) and the likely cause, judged from what happened."""

    def __init__(self, outcome: StepResult, history: tuple[StepResult, ...]) -> None:
        result, step = outcome.result, outcome.step
        output = (result.stdout + result.stderr).strip()
        if step.fails is not None and result.succeeded:
            what = f"{step.title} succeeded on {outcome.node}, but the document says it must fail with {step.fails!r}"
        elif step.fails is not None:
            what = f"{step.title} failed on {outcome.node} as expected, but without {step.fails!r} in its output"
        elif step.kind == "expect":
            what = f"{step.title}: not met within {step.timeout_s:g} s"
        else:
            what = f"{step.title} failed on {outcome.node} with exit status {result.exit_status}"
        # An expect step's stdout repeats its sentences: only what was observed (stderr) may hint.
        cause = likely_cause(result.stderr if step.kind == "expect" else output, result.exit_status)
        super().__init__(
            what,
            evidence=f"{_command(step, result.exit_status)}{shown(output)}"
                     + (f"\nlikely cause: {cause}" if cause else ""),
            fix="correct this step of the document (earlier steps succeeded and were kept)",
        )
        self.outcome = outcome
        self.history = history


def _command(step: Step, exit_status: int) -> str:
    """What the step did, as a terminal shows it, and how it ended (an expect step's sentences
    are in its own output)."""
    if step.kind == "expect":
        return "what was seen:\n"
    if step.kind == "file":
        did = f"(writing {step.path}, mode {step.mode})\n"
    else:
        did = "".join(f"{'$' if i == 0 else '>'} {line}\n" for i, line in enumerate(step.body.strip().splitlines()))
    return f"{did}exit status {exit_status}, output:\n"


def shown(output: str, limit: int = SHOWN_CHARS) -> str:
    """`output` whole when short; else its head and tail, saying how much is left out."""
    if len(output) <= limit:
        return output or "(no output)"
    half = limit // 2
    return f"{output[:half]}\n[... {len(output) - 2 * half} characters of output left out ...]\n{output[-half:]}"


def run_document(
    document: LabDocument,
    backend: Backend,
    observer: Observer,
    *,
    on_step: Callable[[StepResult], None] = lambda _: None,
    between_steps: Callable[[], object] = lambda: None,
) -> tuple[StepResult, ...]:
    """A step for several nodes runs on all of them at once, as a person with one terminal per
    node would; its results are kept in node order; `between_steps` runs after each step that
    passed, before the next. Every result is masked (halab.masking) before
    anyone sees it: the console, the record, JUnit and the failure's message."""
    history: list[StepResult] = []
    secrets = secrets_of_document(document)
    keys_made = False  # a step so far may have made a key on its nodes
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in document.steps:
            if step.kind == "expect":
                outcomes = [_check(step, observer)]
            else:
                ran = pool.map(lambda node: _run_step(step, node, backend), step.nodes)
                outcomes = [StepResult(step, node, r.result, r.passed, r.note) for node, r in zip(step.nodes, ran)]
            makes_keys = step.kind != "expect" and bool(MAKES_KEYS.search(step.body))
            keys_made |= makes_keys
            if makes_keys or (keys_made and step.kind != "expect" and not all(o.passed for o in outcomes)):
                for node in step.nodes:  # the node may hold a key now (or a failure may show one)
                    secrets += secrets_on_node(backend, node)
            outcomes = [_masked(outcome, secrets) for outcome in outcomes]
            for outcome in outcomes:
                history.append(outcome)
                on_step(outcome)
            failed = [outcome for outcome in outcomes if not outcome.passed]
            if failed:
                raise StepFailed(failed[0], tuple(history))
            between_steps()
    return tuple(history)


def _masked(outcome: StepResult, secrets: Secrets) -> StepResult:
    """The step as shown: its command, output, note and the step's own text with secrets masked."""
    if not secrets.values:
        return outcome
    step = outcome.step
    shown_step = replace(step, body=secrets.mask(step.body),
                         stdin=None if step.stdin is None else secrets.mask(step.stdin))
    return replace(outcome, step=shown_step, result=secrets.result(outcome.result), note=secrets.mask(outcome.note))


def _run_step(step: Step, node: str, backend: Backend) -> Ran:
    if step.kind == "file":
        assert step.path is not None
        result = copy_text(backend, node, step.body, step.path, step.mode)
        return Ran(result, result.succeeded)
    return run_shell_step(step, node, backend)


def _check(step: Step, observer: Observer) -> StepResult:
    """Every expectation of the block must hold within the block's timeout; the first that does
    not ends the check, with what was last seen (stderr)."""
    started = time.monotonic()
    lines, evidence = [], ""
    for expectation in step.expectations:
        try:
            seen = check(expectation, observer, time_left(started, step.timeout_s))
            lines.append(f"ok: {expectation.sentence} ({seen})")
        except HalabError as error:  # the sentence stays out of stderr: hints look at what was seen only
            lines.append(f"NOT MET: {expectation.sentence}\n  {error.what}")
            evidence = f"  {error.evidence}\n"
            break
    result = CommandResult(LAB, ("expect", step.body.strip()), 1 if evidence else 0, "\n".join(lines) + "\n",
                           evidence, time.monotonic() - started)
    return StepResult(step, LAB, result, not evidence)
