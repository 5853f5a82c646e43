"""The harness's short first election: seeded while the nodes are fresh (again after a step
wipes it), taken out once Pacemaker runs, forced out when the cluster never elects."""

from __future__ import annotations

from typing import Sequence

import pytest

from halab.command import CommandResult
from halab.plan import load_plan
from halab.stacks import first_election
from halab.stacks.first_election import CLEAR, HOLDS, NOT_FRESH, FirstElection

WAITING = 4


class Nodes:
    """Each node answers the step script with the next status of its script; calls are recorded."""

    def __init__(self, variant: str, statuses: dict[str, list[int]]) -> None:
        self.plan, self.statuses = load_plan(variant), statuses
        self.asked: list[tuple[str, str]] = []

    def is_running(self, node: str) -> bool:
        return True

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        self.asked.append((node, argv[-1]))
        status = self.statuses[node].pop(0) if len(self.statuses[node]) > 1 else self.statuses[node][0]
        return CommandResult(node, tuple(argv), status, "", "", 0.01)


def test_a_seed_wiped_before_the_start_is_put_back_and_taken_out_once_pacemaker_runs() -> None:
    # after step 1 the image's nodes are fresh (seeded); `pcs cluster destroy` wipes it;
    # `pcs cluster setup` makes them fresh again; `pcs cluster start` runs Pacemaker
    nodes = Nodes("pcs", {"node1": [HOLDS, NOT_FRESH, HOLDS, CLEAR], "node2": [HOLDS, NOT_FRESH, HOLDS, CLEAR]})
    election = FirstElection(nodes)  # type: ignore[arg-type]
    assert [election.after_step() for _ in range(4)] == [False, False, False, True]
    asked = len(nodes.asked)
    election.after_step()
    election.finish()
    assert len(nodes.asked) == asked  # nothing more is asked once done


def test_the_set_stays_until_every_node_has_taken_it_out() -> None:
    nodes = Nodes("pcs", {"node1": [CLEAR], "node2": [WAITING, HOLDS, CLEAR]})
    election = FirstElection(nodes)  # type: ignore[arg-type]
    assert [election.after_step() for _ in range(3)] == [False, False, True]


def test_a_cluster_that_never_elects_has_the_set_forced_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(first_election, "FINISH_TIMEOUT_S", 0.01)
    nodes = Nodes("pcs", {"node1": [HOLDS, WAITING], "node2": [HOLDS, WAITING]})
    election = FirstElection(nodes)  # type: ignore[arg-type]
    election.after_step()
    election.finish()
    assert nodes.asked[-2:] == [("node1", "now"), ("node2", "now")]


def test_heartbeat_and_unseeded_labs_are_left_alone() -> None:
    nodes = Nodes("heartbeat", {"node1": [HOLDS], "node2": [HOLDS]})
    FirstElection(nodes).after_step()  # type: ignore[arg-type]
    assert nodes.asked == []
    pacemaker = Nodes("pcs", {"node1": [NOT_FRESH], "node2": [NOT_FRESH]})
    election = FirstElection(pacemaker)  # type: ignore[arg-type]
    election.after_step()
    election.finish()  # nothing was seeded: nothing to wait for
    assert len(pacemaker.asked) == 2


def test_at_the_end_a_node_that_never_started_pacemaker_is_cleaned_at_once() -> None:
    # node1 runs Pacemaker; node2's stack was never started (a broken submission): its file is
    # cleaned in the same look, with no wait for an election that will not come
    nodes = Nodes("pcs", {"node1": [HOLDS, CLEAR], "node2": [HOLDS, CLEAR]})
    election = FirstElection(nodes)  # type: ignore[arg-type]
    election.after_step()
    election.finish()
    assert nodes.asked == [("node1", "step"), ("node2", "step"), ("node1", "finish"), ("node2", "finish")]
