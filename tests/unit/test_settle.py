"""After a heal, the harness waits for what the cluster decided (a failback) before it judges the
fault: Pacemaker is asked, on the first node whose Pacemaker answers, and never waited for twice."""

from __future__ import annotations

from typing import Sequence

from halab.command import CommandResult
from halab.plan import load_plan
from halab.stacks.pacemaker import PacemakerStack

NOT_CONNECTED = 102  # crm_resource on a node whose Pacemaker is stopped


class Nodes:
    """Each node answers `crm_resource --wait` with the exit status given; calls are recorded."""

    def __init__(self, statuses: dict[str, int], off: Sequence[str] = ()) -> None:
        self.plan, self.statuses, self.off = load_plan("pcs"), statuses, off
        self.asked: list[tuple[str, tuple[str, ...], float]] = []

    def is_running(self, node: str) -> bool:
        return node not in self.off

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        self.asked.append((node, tuple(argv), timeout))
        return CommandResult(node, tuple(argv), self.statuses[node], "", "", 0.1)


def test_the_first_node_whose_pacemaker_answers_is_asked_once() -> None:
    nodes = Nodes({"node1": NOT_CONNECTED, "node2": 0})
    PacemakerStack().settle(nodes, 30)  # type: ignore[arg-type]
    assert [(node, argv) for node, argv, _ in nodes.asked] == [
        ("node1", ("crm_resource", "--wait", "--timeout=30s")), ("node2", ("crm_resource", "--wait", "--timeout=30s"))]


def test_a_cluster_still_busy_at_the_timeout_is_not_waited_for_again_elsewhere() -> None:
    nodes = Nodes({"node1": 124, "node2": 0})
    PacemakerStack().settle(nodes, 7.9)  # type: ignore[arg-type]
    assert nodes.asked == [("node1", ("crm_resource", "--wait", "--timeout=7s"), 17)]


def test_a_powered_off_node_is_not_asked_and_the_wait_is_bounded() -> None:
    nodes = Nodes({"node1": 0, "node2": 0}, off=("node1",))
    PacemakerStack().settle(nodes, 10_000)  # type: ignore[arg-type]
    assert nodes.asked == [("node2", ("crm_resource", "--wait", "--timeout=120s"), 130)]
