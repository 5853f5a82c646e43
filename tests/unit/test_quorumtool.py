from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.quorumtool import parse_quorumtool

RECORDED = Path(__file__).parent / "recorded"


def test_two_nodes_joined_in_two_node_mode() -> None:
    state = parse_quorumtool((RECORDED / "quorumtool-pcs-two-nodes.txt").read_text())
    assert state.quorate and state.two_node
    assert (state.expected_votes, state.total_votes) == (2, 2)
    assert state.members == ("node1", "node2")
    assert "WaitForAll" in state.flags


def test_a_lone_node_without_two_node_is_not_quorate() -> None:
    state = parse_quorumtool((RECORDED / "quorumtool-one-node-no-two-node.txt").read_text())
    assert not state.quorate and not state.two_node
    assert state.members == ("node1",) and state.total_votes == 1 and state.flags == ()


def test_no_corosync_is_an_error_with_the_output() -> None:
    with pytest.raises(HalabError) as error:
        parse_quorumtool("Cannot initialize QUORUM service\n")
    assert "Cannot initialize" in error.value.evidence
