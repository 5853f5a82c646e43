"""A three-node pcs lab sheet, run by `halab doc test` as a lab author's CI does: three nodes on a
service network and a cluster network of their own, quorum by majority (no two_node), and its
fault matrix: a clean stop, a cut cable and a power cut of the active node each end in a
failover to one of the two survivors, which keep quorum; the cut node stops its own resources."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from halab.report.junit import DocumentOutcome
from halab.run import test_documents as run_documents

pytestmark = pytest.mark.e2e
SHEET = Path(__file__).with_name("documents") / "pcs-three-nodes" / "lab.md"
LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}3nodes"
SURVIVORS = ("node2", "node3")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> DocumentOutcome:
    """The sheet and its fault matrix, once: the lab is taken down afterwards."""
    [done], _ = run_documents([SHEET], tmp_path_factory.mktemp("junit") / "junit.xml", name=LAB)
    return done


def test_the_sheet_brings_up_three_nodes_with_three_votes_on_the_cluster_network(outcome: DocumentOutcome) -> None:
    assert not outcome.error and outcome.failed_step is None, outcome.error or outcome.failure
    assert {result.node for result in outcome.steps} >= {"node1", "node2", "node3"}
    assert all(result.passed for result in outcome.steps)
    votes = next(r.result.stdout for r in outcome.steps if r.step.body.strip() == "corosync-quorumtool -s")
    assert "Expected votes:   3" in votes and "Quorum:           2" in votes, votes
    assert LAB not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.parametrize("fault", ["stop-stack", "cut-link", "power-off"])
def test_each_fault_of_the_active_node_fails_over_to_a_survivor(outcome: DocumentOutcome, fault: str) -> None:
    run = next(r for r in outcome.runs if r.fault == fault)
    assert (run.outcome, run.verdict) == ("failover", "pass"), run.explanation
    # node1 each time: the location preference brought the group back after each earlier fault.
    assert run.victim == "node1" and run.served_before == "node1", run
    assert run.served_during in SURVIVORS and run.vip_holders == (run.served_during,), run
    assert run.interleaved_answers == 0 and run.downtime_s is not None and run.budget_s is not None
    assert run.downtime_s <= run.budget_s and run.time_to_other_s is not None
