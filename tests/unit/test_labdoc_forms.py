"""The forms of a shell step (stdin, interrupt, paste, reboot) and the expect sentences, run on
doubles: shell semantics on this machine's own bash, the cluster from a recorded view."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Sequence

import pytest

from halab.command import CommandResult, CommandTimeout
from halab.errors import HalabError
from halab.labdoc import StepFailed, StepResult, run_document
from halab.labdoc.checks import Membership
from halab.labdoc.parser import parse_text
from halab.labdoc.shell import BOOT_STATE
from halab.masking import NODE_SECRETS_SCRIPT
from halab.plan import load_plan

NODES = ("node1", "node2")


class HostShell:
    """A backend double that runs each command on this machine: traps and timeout(1) for real."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.plan = load_plan("pcs")
        self.time_scale = time_scale

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        if tuple(argv) == ("/bin/sh", "-c", NODE_SECRETS_SCRIPT):  # the node's keys, for masking: this host's are not
            return CommandResult(node, tuple(argv), 0, "", "", 0.0)
        assert argv[0] in ("/bin/bash", "timeout"), f"only the shell forms run on this machine, not {argv}"
        started = time.monotonic()
        try:
            done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CommandTimeout(f"on {node}: `{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
        return CommandResult(node, tuple(argv), done.returncode, done.stdout, done.stderr, time.monotonic() - started)


class RebootingNode(HostShell):
    """A node whose boot id changes when a script reboots it, unreachable for one look meanwhile."""

    def __init__(self, comes_back: bool = True) -> None:
        super().__init__()
        self.boot, self.down, self.comes_back = 1, 0, comes_back

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        if argv[-1] == BOOT_STATE:
            if self.down or not self.comes_back and self.boot > 1:
                self.down = max(self.down - 1, 0)
                raise HalabError(f"node {node} is not running")
            return CommandResult(node, tuple(argv), 0, f"boot-{self.boot}\nrunning\n", "", 0.01)
        if argv[-1].strip().endswith("reboot"):
            self.boot, self.down = self.boot + 1, 1
            return CommandResult(node, tuple(argv), 137, "", "", 0.01)  # killed as the node went down
        return super().run(node, argv, timeout=timeout, stdin=stdin)


class FakeObserver:
    def __init__(self, membership: Membership, page: str | None = "<h1>node1</h1>") -> None:
        self.members, self.page, self.commands = membership, page, {"pcs status": "Online: [ node1 node2 ]\n"}

    def vip_page(self) -> str:
        if self.page is None:
            raise HalabError("GET http://192.168.56.100/ failed", evidence="ConnectTimeout: timed out")
        return self.page

    def online_nodes(self) -> tuple[str, ...]:
        return tuple(node for node, state in self.members.states if state != "offline")

    def membership(self) -> Membership:
        return self.members

    def run(self, node: str, script: str, timeout: float) -> CommandResult:
        output = self.commands.get(script, "") if node == "node1" else ""
        return CommandResult(node, ("bash", "-c", script), 0, output, "", 0.01)


HEALTHY = Membership((("node1", "online"), ("node2", "online")),
                     (("virtual_ip", ("node1",)), ("WebService", ("node1",)), ("WebCluster", ("node1",))))
DEGRADED = Membership((("node1", "online"), ("node2", "offline")),
                      (("virtual_ip", ("node1",)), ("WebService", ()), ("WebCluster", ("node1",))))


def run(text: str, backend: HostShell | None = None, membership: Membership = HEALTHY, page: str | None = "<h1>node1</h1>"):  # type: ignore[no-untyped-def]
    document = parse_text(text, Path("lab.md"), NODES)
    return run_document(document, backend or HostShell(), FakeObserver(membership, page))  # type: ignore[arg-type]


def test_answers_reach_the_command_on_standard_input() -> None:
    (outcome,) = run('```sh on=node1 stdin="halab-lab"\nread -r password; echo "got $password"\n```\n')
    assert outcome.passed and outcome.result.stdout == "got halab-lab\n"
    (outcome,) = run("```sh on=node1\nread -r a; read -r b; [ \"$a\" = \"$b\" ] && echo same\n```\n```stdin\npw\npw\n```\n")
    assert outcome.passed and outcome.result.stdout == "same\n"


def test_a_command_that_never_ends_passes_once_interrupted_while_still_running() -> None:
    started = time.monotonic()
    (outcome,) = run("```sh on=node1 interrupt=1\necho watching; tail -f /dev/null\n```\n")
    assert outcome.passed and outcome.result.stdout == "watching\n" and "still running after 1 s" in outcome.note
    assert time.monotonic() - started < 5
    (outcome,) = run("```sh on=node1 interrupt=5\necho once\n```\n")
    assert outcome.passed and "ended by itself" in outcome.note
    with pytest.raises(StepFailed, match="exit status 3"):
        run("```sh on=node1 interrupt=5\nexit 3\n```\n")


def test_a_pasted_block_goes_on_after_a_failing_line_and_names_it() -> None:
    (outcome,) = run("# Lab\n\n```sh on=node1 paste\necho one\nfalse\necho two | grep -q three\necho end\n```\n")
    assert outcome.passed and outcome.result.stdout.endswith("end\n")
    assert outcome.note == "pasted as is; line 5 (status 1), line 6 (status 1) failed, and the paste went on"
    (clean,) = run("```sh on=node1 paste\necho fine\n```\n")
    assert clean.passed and clean.note == ""


def test_a_reboot_step_waits_for_the_node_to_come_back() -> None:
    node = RebootingNode()
    (outcome,) = run("```sh on=node2 timeout=20\necho enabling pcsd\nreboot\n```\n", node)
    assert outcome.passed and node.boot == 2 and "node2 rebooted and was back" in outcome.note
    with pytest.raises(StepFailed) as failure:
        run("```sh on=node2 timeout=0.5\nreboot\n```\n", RebootingNode(comes_back=False))
    assert "waiting for node2 to come back from its reboot" in str(failure.value)


def test_expect_sentences_on_a_healthy_cluster() -> None:
    (outcome,) = run("```expect timeout=0.2\nresource virtual_ip runs on node1\nresource WebCluster runs on node1\n"
                     "resources virtual_ip and WebService run on the same node\nnode node2 is online\n"
                     'the output of `pcs status` on node1 contains "Online: [ node1 node2 ]"\n'
                     'the output of `pcs status` on node1 does not contain "OFFLINE"\n```\n')
    assert outcome.passed and outcome.result.stdout.count("ok: ") == 6


@pytest.mark.parametrize(
    ("sentence", "evidence"),
    [
        ("resource WebService runs on node1", "WebService on no node"),
        ("resources virtual_ip and WebService run on different nodes", "node2 offline"),
        ("node node2 is standby", "node2 offline"),
        ("node node1 is offline", "node1 online"),
        ('the output of `pcs status` on node2 contains "Online"', "last seen: exit status 0, output:\n(none)"),
        ("the VIP does not answer", "the VIP answered: <h1>node1</h1>"),
    ],
)
def test_each_sentence_not_met_says_what_was_seen(sentence: str, evidence: str) -> None:
    with pytest.raises(StepFailed) as failure:
        run(f"```expect timeout=0.2\n{sentence}\n```\n", membership=DEGRADED)
    message = str(failure.value)
    assert f"NOT MET: {sentence}" in message and evidence in message and "not met within 0.2 s" in message


def test_the_vip_does_not_answer_holds_when_it_does_not() -> None:
    (outcome,) = run("```expect timeout=0.2\nthe VIP does not answer\nnode node2 is offline\n```\n", membership=DEGRADED, page=None)
    assert outcome.passed and "no answer: ConnectTimeout" in outcome.result.stdout


def test_a_failure_shows_the_whole_command_its_status_and_head_and_tail_of_its_output() -> None:
    script = "```sh on=node1\nfor i in $(seq 1 3000); do echo \"line $i\"; done\necho authkey-free >&2\nexit 4\n```\n"
    with pytest.raises(StepFailed) as failure:
        run(script)
    message = str(failure.value)
    assert "$ for i in $(seq 1 3000)" in message and "> exit 4" in message and "exit status 4, output:" in message
    assert "line 1\n" in message and "line 3000" in message and "characters of output left out" in message


def test_the_hint_comes_from_what_happened_not_from_the_steps_text() -> None:
    with pytest.raises(StepFailed) as failure:  # mentions authkey, fails for another reason
        run("```sh on=node1\ntest -f /etc/corosync/authkey.nowhere\n```\n")
    assert "likely cause" not in str(failure.value)
    with pytest.raises(StepFailed) as failure:
        run("```sh on=node1\necho 'Error: Unable to authenticate against node2' >&2; exit 1\n```\n")
    assert "likely cause: pcsd refused the request" in str(failure.value)
    with pytest.raises(StepFailed) as failure:
        run("```sh on=node1 timeout=0.2\n# corosync-keygen asks nothing, but this waits\nsleep 5\n```\n")
    assert "exit status 124" in str(failure.value) and "likely cause: The step did not finish within its timeout" in str(failure.value)
    assert "did not finish within 0.2 s: stopped" in str(failure.value)


def test_a_timeout_on_slower_machines_says_how_long_it_really_was() -> None:
    with pytest.raises(StepFailed) as failure:
        run("```sh on=node1 timeout=0.2\nsleep 5\n```\n", HostShell(time_scale=4))
    assert "did not finish within 0.2 s (0.8 s on these slower machines: x4)" in str(failure.value)


def test_doc_test_uses_the_name_as_given_and_prints_the_whole_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from halab import cli, run as runs
    from halab.report.junit import DocumentOutcome

    asked = {}

    def test_documents(paths: Sequence[Path], junit: Path, *, name: str) -> tuple[list[DocumentOutcome], Path]:
        asked["name"] = name
        failure = "step 3 failed on node1 with exit status 1\n$ pcs cluster setup\nexit status 1, output:\nError: x\nlikely cause: y"
        (step,) = parse_text("```sh on=node1\npcs cluster setup\n```\n", Path("lab.md"), NODES).steps
        failed = StepResult(step, "node1", CommandResult("node1", ("bash",), 1, "", "Error: x\n", 0.1), False)
        return [DocumentOutcome(str(paths[0]), "pcs", failed_step=failed, failure=failure)], junit

    monkeypatch.setattr(runs, "test_documents", test_documents)
    code = cli.main(["doc", "test", str(tmp_path / "lab.md"), "--name", "hdsheet", "--junit", str(tmp_path / "j.xml")])
    shown = capsys.readouterr().out
    assert code == cli.FAILED and asked["name"] == "hdsheet"
    assert "FAIL" in shown and "\n      $ pcs cluster setup\n" in shown and "likely cause: y" in shown


def test_each_fault_after_a_degraded_document_says_what_was_not_healthy() -> None:
    from halab.experiment import measure_fault
    from halab.faults import fault_named
    from halab.stacks import ClusterView, Timing
    from halab.stacks.pacemaker import PacemakerStack

    class Degraded(PacemakerStack):
        def view(self, backend):  # type: ignore[no-untyped-def]
            return ClusterView("node1", ("node1",), "node1", False, "online: node1; WebCluster Started on node1")

    timing = Timing(6.6, 30.0, "corosync token 3000 ms + consensus 3600 ms")
    for name in ("power-off", "stop-stack"):
        run = measure_fault(fault_named(name), HostShell(), Degraded(), None, timing, None, ready_s=0)  # type: ignore[arg-type]
        assert run.outcome == "not-tested" and run.verdict == "fail"
        assert run.explanation.startswith("not healthy before the fault: online: node1; WebCluster Started on node1")


def test_an_expect_steps_own_words_never_make_the_hint() -> None:
    with pytest.raises(StepFailed) as failure:  # the sentence names authkey; what was seen does not
        run("```expect timeout=0.2\nthe output of `ls /etc/corosync/authkey` on node2 contains \"authkey\"\n```\n")
    assert "what was seen:" in str(failure.value) and "likely cause" not in str(failure.value)


def test_a_reboot_step_on_a_node_that_does_not_answer_fails_with_why() -> None:
    node = RebootingNode()
    node.down = 1
    with pytest.raises(StepFailed, match="before the reboot: node node2 is not running"):
        run("```sh on=node2\nreboot\n```\n", node)
