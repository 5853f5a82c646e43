from pathlib import Path
from typing import Sequence

import pytest

from harness.command import CommandResult
from harness.labdoc import StepFailed, parse_document, run_document
from harness.labdoc.parser import parse_text
from harness.plan import load_plan


class FakeBackend:
    """A command-channel double: records what ran where, fails the script `false`."""

    def __init__(self) -> None:
        self.plan = load_plan("pcs")
        self.ran: list[tuple[str, str]] = []

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        script = argv[-1] if stdin is None else f"write {argv[-2]}"
        self.ran.append((node, script))
        failed = script.strip() == "false"
        return CommandResult(node, tuple(argv), 1 if failed else 0, "", "boom\n" if failed else "", 0.01)


DOC = """# Lab
## Pages
```html file=/var/www/html/index.html on=node1
node1
```
## Break
```sh on=all
echo first
```
```sh on=node2
false
```
```sh on=all
echo never
```
"""


def test_steps_run_in_order_and_stop_at_the_first_failure() -> None:
    backend = FakeBackend()
    document = parse_text(DOC, Path("lab.md"), ("node1", "node2"))
    with pytest.raises(StepFailed) as failure:
        run_document(document, backend)  # type: ignore[arg-type]
    assert backend.ran[0] == ("node1", "write /var/www/html/index.html")
    assert sorted(backend.ran[1:3]) == [("node1", "echo first\n"), ("node2", "echo first\n")]
    assert backend.ran[3] == ("node2", "false\n") and len(backend.ran) == 4
    message = str(failure.value)
    assert "step 3 (line 10, 'Break')" in message and "on node2" in message and "exit status 1" in message
    assert "false" in message and "boom" in message
    assert len(failure.value.history) == 4


def test_the_pcs_document_runs_every_step_on_a_willing_backend() -> None:
    backend = FakeBackend()
    document = parse_document(backend.plan.document, backend.plan.node_names)
    history = run_document(document, backend)  # type: ignore[arg-type]
    assert len(history) == sum(len(step.nodes) for step in document.steps)
    assert any("pcs resource group add WebCluster" in script for _, script in backend.ran)
