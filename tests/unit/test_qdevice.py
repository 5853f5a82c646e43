"""The quorum device, on Debian 12's recorded outputs (corosync 3.1.7, corosync-qdevice 3.0.2,
pcs 0.11.5; see recorded/README.md): corosync-quorumtool -s with and without a qdevice, pcs
quorum device status, and the check that reads them."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.facts.model import CommandFact, NodeFacts
from halab.grading.results import CheckFailed
from halab.plan import load_plan
from halab.stacks.admin import admin_for
from halab.stacks.qdevice import parse_qdevice_status
from halab.stacks.quorumtool import parse_quorumtool

RECORDED = Path(__file__).parent / "recorded"
VOTING = (RECORDED / "quorumtool-fencing-qdevice-voting.txt").read_text()
QNETD_STOPPED = (RECORDED / "quorumtool-fencing-qnetd-stopped.txt").read_text()
NO_QDEVICE = (RECORDED / "quorumtool-pcs-two-nodes.txt").read_text()
CONNECTED = (RECORDED / "pcs-quorum-device-status-connected.txt").read_text()
CONNECT_FAILED = (RECORDED / "pcs-quorum-device-status-qnetd-stopped.txt").read_text()
NOT_RUNNING = (RECORDED / "qdevice-tool-not-running.txt").read_text()


def test_the_qdevice_vote_makes_three_and_the_qdevice_row_is_not_a_member() -> None:
    state = parse_quorumtool(VOTING)
    assert state.quorate and state.qdevice and not state.two_node
    assert (state.expected_votes, state.total_votes, state.qdevice_votes) == (3, 3, 1)
    assert state.members == ("node1", "node2")
    assert state.qdevice_states == (("node1", "A,V,NMW"), ("node2", "A,V,NMW"))


def test_qnetd_stopped_the_vote_is_lost_and_two_of_three_keep_quorum() -> None:
    state = parse_quorumtool(QNETD_STOPPED)
    assert state.quorate and state.qdevice
    assert (state.expected_votes, state.total_votes, state.qdevice_votes) == (3, 2, 0)
    assert state.members == ("node1", "node2")
    assert dict(state.qdevice_states) == {"node1": "A,NV,NMW", "node2": "A,NV,NMW"}


def test_without_a_qdevice_nothing_is_read_as_one() -> None:
    state = parse_quorumtool(NO_QDEVICE)
    assert not state.qdevice and state.qdevice_votes is None and state.qdevice_states == ()
    assert state.members == ("node1", "node2") and state.two_node


def test_pcs_quorum_device_status_connected_to_the_router() -> None:
    status = parse_qdevice_status(CONNECTED)
    assert (status.model, status.host, status.algorithm, status.state) == (
        "Net", "router:5403", "Fifty-Fifty split", "Connected")
    assert status.connected


def test_qnetd_stopped_the_device_says_connect_failed() -> None:
    status = parse_qdevice_status(CONNECT_FAILED)
    assert not status.connected and status.describe() == "Net to router:5403: Connect failed"


def test_a_qdevice_that_is_not_running_is_an_error_with_the_output() -> None:
    with pytest.raises(HalabError) as error:
        parse_qdevice_status(NOT_RUNNING)
    assert "is QDevice running?" in error.value.evidence


def facts(quorum: str, qdevice: str) -> LabFacts:
    commands = (CommandFact("quorum", 0, quorum), CommandFact("qdevice", 0, qdevice))
    return LabFacts("qdtest", "fencing", tuple(NodeFacts(name, True, commands=commands) for name in ("node1", "node2")))


def run_check(quorum: str, qdevice: str, tool: str = "pcs") -> None:
    from halab.checks.test_quorum import test_qdevice_connected

    test_qdevice_connected(facts(quorum, qdevice), load_plan("fencing"), admin_for(tool))


def test_the_check_passes_with_the_device_voting_and_connected() -> None:
    run_check(VOTING, CONNECTED)


def test_no_device_fails_with_the_fix_in_pcs_or_crmsh() -> None:
    with pytest.raises(CheckFailed, match="node1 has no quorum device") as failed:
        run_check(NO_QDEVICE, NOT_RUNNING)
    assert "pcs quorum device add model net host=router algorithm=ffsplit" in failed.value.fix
    assert "2Node" in failed.value.evidence
    with pytest.raises(CheckFailed) as failed:
        run_check(NO_QDEVICE, NOT_RUNNING, tool="crmsh")
    assert "crm cluster init qdevice --qnetd-hostname=router" in failed.value.fix


def test_qnetd_stopped_fails_saying_connect_failed_and_where_to_start_it() -> None:
    with pytest.raises(CheckFailed, match="node1's quorum device is not counted: Net to router:5403: Connect failed, "
                                          "its vote 0") as failed:
        run_check(QNETD_STOPPED, CONNECT_FAILED)
    assert "systemctl enable --now corosync-qnetd" in failed.value.fix


def test_a_qdevice_not_running_fails_with_its_own_message() -> None:
    with pytest.raises(CheckFailed, match="corosync-qdevice does not answer") as failed:
        run_check(VOTING, NOT_RUNNING)
    assert "systemctl enable --now corosync-qdevice on node1" in failed.value.fix


QUORUM_WITH_DEVICE = """quorum {
    provider: corosync_votequorum
%s
    device {
        model: net
        votes: 1
        net {
            algorithm: ffsplit
            host: router
        }
    }
}
"""


def test_two_node_is_coherent_with_the_quorum_device() -> None:
    from halab.checks.test_pacemaker import test_corosync_two_node
    from halab.stacks.corosync_conf import parse_corosync_conf

    fencing = load_plan("fencing")
    test_corosync_two_node(parse_corosync_conf(QUORUM_WITH_DEVICE % ""), fencing)  # pcs removed two_node: right
    with pytest.raises(CheckFailed, match="two_node is set beside a quorum device") as failed:
        test_corosync_two_node(parse_corosync_conf(QUORUM_WITH_DEVICE % "    two_node: 1"), fencing)
    assert "remove two_node" in failed.value.fix
