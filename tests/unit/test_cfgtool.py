"""corosync-cfgtool -s, and the check that a lab with a cluster network has a connected link on
each network, on Debian 12's corosync 3.1.7 output (see recorded/README.md)."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.facts.model import CommandFact, NodeFacts
from halab.grading.results import CheckFailed
from halab.plan import load_plan
from halab.stacks.admin import admin_for
from halab.stacks.cfgtool import parse_cfgtool

RECORDED = Path(__file__).parent / "recorded"
BOTH = (RECORDED / "cfgtool-fencing-two-links-connected.txt").read_text()
CUT = (RECORDED / "cfgtool-fencing-link1-cut.txt").read_text()
ONE = (RECORDED / "cfgtool-pcs-one-link.txt").read_text()


def test_two_links_each_connected_to_the_peer() -> None:
    status = parse_cfgtool(BOTH)
    assert (status.node_id, status.transport) == (1, "knet")
    assert [(link.link, link.address, link.peers) for link in status.links] == [
        (0, "192.168.56.10", ((2, "connected"),)), (1, "192.168.57.10", ((2, "connected"),))]
    assert all(link.connected for link in status.links)


def test_a_cut_cluster_cable_shows_its_link_disconnected_only() -> None:
    links = parse_cfgtool(CUT).links
    assert [link.connected for link in links] == [True, False]
    assert links[1].describe() == "link 1 (192.168.57.10): node 2 disconnected"


def test_no_corosync_is_an_error_with_the_output() -> None:
    with pytest.raises(HalabError) as error:
        parse_cfgtool("Could not initialize corosync configuration API error 2\n")
    assert "Could not initialize" in error.value.evidence


def facts(output: str) -> LabFacts:
    nodes = tuple(NodeFacts(name, True, commands=(CommandFact("links", 0, output),)) for name in ("node1", "node2"))
    return LabFacts("hrtest", "fencing", nodes)


def run_check(output: str, tool: str = "pcs") -> None:
    from halab.checks.test_links import test_corosync_links_connected

    test_corosync_links_connected(facts(output), load_plan("fencing"), admin_for(tool))


def test_the_check_passes_with_both_links_connected() -> None:
    run_check(BOTH)


def test_the_check_names_the_disconnected_link_and_its_network() -> None:
    with pytest.raises(CheckFailed, match=r"node1's corosync link on the cluster network \(192.168.57.0/24\) does not "
                                          "reach every other node: link 1") as failed:
        run_check(CUT)
    assert "LINK ID 1" in failed.value.evidence and "ip -o addr show" in failed.value.fix


@pytest.mark.parametrize(("tool", "fix"), [
    ("pcs", "pcs cluster link add node1=192.168.57.10 node2=192.168.57.20"),
    ("crmsh", "node1: ringN_addr: 192.168.57.10; node2: ringN_addr: 192.168.57.20"),
])
def test_a_single_link_cluster_is_told_how_to_add_the_second(tool: str, fix: str) -> None:
    with pytest.raises(CheckFailed, match=r"node1 has no corosync link on the cluster network") as failed:
        run_check(ONE, tool)
    assert fix in failed.value.fix


def test_corosync_down_fails_with_how_to_start_it() -> None:
    with pytest.raises(CheckFailed, match="node1: corosync-cfgtool printed no link status"):
        run_check("Could not initialize corosync configuration API error 2\n")
