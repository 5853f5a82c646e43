from pathlib import Path
from typing import Sequence

import pytest

from halab.command import CommandResult
from halab.labdoc import StepFailed, parse_document, run_document
from halab.labdoc.parser import parse_text
from halab.plan import load_plan


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


class FakeObserver:
    def __init__(self, page: str = "<h1>node1 - 192.168.56.10</h1>", online: tuple[str, ...] = ("node1", "node2")) -> None:
        self.page, self.online = page, online

    def vip_page(self) -> str:
        return self.page

    def online_nodes(self) -> tuple[str, ...]:
        return self.online


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
        run_document(document, backend, FakeObserver())  # type: ignore[arg-type]
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
    history = run_document(document, backend, FakeObserver())  # type: ignore[arg-type]
    assert len(history) == sum(len(step.nodes) or 1 for step in document.steps)  # an expect step looks at the lab
    assert any("pcs resource group add WebCluster" in script for _, script in backend.ran)


def test_a_step_that_must_fail_passes_only_when_it_fails_with_the_message() -> None:
    text = '```sh on=node1 fails="boom"\nfalse\n```\n'
    document = parse_text(text, Path("lab.md"), ("node1", "node2"))
    (outcome,) = run_document(document, FakeBackend(), FakeObserver())  # type: ignore[arg-type]
    assert outcome.passed and outcome.result.exit_status == 1
    text = '```sh on=node1 fails="config not valid"\necho fine\n```\n'
    with pytest.raises(StepFailed, match="succeeded on node1, but the document says it must fail"):
        run_document(parse_text(text, Path("lab.md"), ("node1", "node2")), FakeBackend(), FakeObserver())  # type: ignore[arg-type]


def test_expect_blocks_check_the_vip_and_the_members() -> None:
    text = '```expect timeout=1\nthe VIP serves a page containing "node1"\nnodes online: node1 node2\n```\n'
    document = parse_text(text, Path("lab.md"), ("node1", "node2"))
    (outcome,) = run_document(document, FakeBackend(), FakeObserver())  # type: ignore[arg-type]
    assert outcome.passed and "ok: nodes online: node1 node2" in outcome.result.stdout
    with pytest.raises(StepFailed) as failure:
        run_document(document, FakeBackend(), FakeObserver(online=("node1",)))  # type: ignore[arg-type]
    assert "NOT MET: nodes online: node1 node2" in str(failure.value) and "online: node1" in str(failure.value)


def test_a_failure_names_its_likely_cause() -> None:
    class Pcs09(FakeBackend):
        def run(self, node, argv, *, timeout=60, stdin=None):  # type: ignore[no-untyped-def]
            return CommandResult(node, tuple(argv), 1, "", "Error: Specified option '--name' is not supported in this command\n", 0.5)

    text = "```sh on=node1\npcs cluster setup --name webcluster node1 node2\n```\n"
    with pytest.raises(StepFailed) as failure:
        run_document(parse_text(text, Path("lab.md"), ("node1", "node2")), Pcs09(), FakeObserver())  # type: ignore[arg-type]
    assert "likely cause: This is pcs 0.9 syntax" in str(failure.value)
