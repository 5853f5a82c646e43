"""Failback as the configuration implies it: Pacemaker's location preference against the
group's stickiness, Heartbeat's auto_failback."""

from pathlib import Path

import pytest

from halab.stacks.cib import parse_cib
from halab.stacks.failback import heartbeat_failback, pacemaker_failback
from halab.stacks.ha_cf import parse_ha_cf

CIB = (Path(__file__).parent / "recorded/cib/cib-two-nodes-group-started.xml").read_text()


def cib_with(constraints: str = "", defaults: str = "", group_meta: str = "") -> str:
    text = CIB.replace("<constraints></constraints>", f"<constraints>{constraints}</constraints>")
    if defaults:
        text = text.replace("</constraints>", f"</constraints><rsc_defaults><meta_attributes id='d'>{defaults}"
                                              "</meta_attributes></rsc_defaults>", 1)
    if group_meta:
        text = text.replace('<group id="WebCluster">', f'<group id="WebCluster"><meta_attributes id="g">{group_meta}'
                                                       "</meta_attributes>")
    return text


def prefer(node: str, score: str) -> str:
    return f'<rsc_location id="l-{node}" rsc="WebCluster" node="{node}" score="{score}"/>'


def stick(value: str) -> str:
    return f'<nvpair id="s{value}" name="resource-stickiness" value="{value}"/>'


@pytest.mark.parametrize(("constraints", "defaults", "group_meta", "home"), [
    ("", "", "", "node2"),  # a tie: Pacemaker keeps the group where it runs
    (prefer("node1", "50"), "", "", "node1"),  # a preference and no stickiness: back it goes
    (prefer("node1", "50"), stick("100"), "", "node2"),  # two members x 100 outweigh 50
    (prefer("node1", "250"), stick("100"), "", "node1"),  # 250 beats 2 x 100
    (prefer("node1", "250"), stick("100"), stick("200"), "node2"),  # the group's own beats the default
    (prefer("node1", "INFINITY"), stick("INFINITY"), "", "node2"),  # infinite stickiness holds
    (prefer("node2", "-INFINITY"), "", "", "node1"),  # banned from node2: it must move back
])
def test_pacemaker_failback(constraints: str, defaults: str, group_meta: str, home: str) -> None:
    decided = pacemaker_failback(parse_cib(cib_with(constraints, defaults, group_meta)), "node1", "node2")
    assert decided.node == home, decided.why
    assert "WebCluster" in decided.why


def test_a_preference_for_a_node_named_by_address_counts_for_that_node() -> None:
    cib = parse_cib(cib_with(prefer("192.168.56.11", "50")))
    called = {"192.168.56.11": "node1", "192.168.56.12": "node2"}.get
    assert pacemaker_failback(cib, "node1", "node2", lambda n: called(n) or n).node == "node1"
    assert pacemaker_failback(cib, "node1", "node2").node == "node2"  # unmapped, 192.168.56.11 is no node1


def test_meta_attributes_resolve_member_then_group_then_defaults() -> None:
    cib = parse_cib(cib_with(defaults=stick("7"), group_meta=stick("9")))
    assert cib.meta_attribute("virtual_ip", "resource-stickiness") == "9"
    assert parse_cib(cib_with(defaults=stick("7"))).meta_attribute("virtual_ip", "resource-stickiness") == "7"
    assert parse_cib(CIB).meta_attribute("virtual_ip", "resource-stickiness") is None


@pytest.mark.parametrize(("mode", "home", "expected"), [
    ("on", "srv", "srv"), ("legacy", "srv", "srv"), ("off", "srv", "srv-slave"), ("on", None, "srv-slave"),
])
def test_heartbeat_failback(mode: str, home: str | None, expected: str) -> None:
    conf = parse_ha_cf(f"auto_failback {mode}\nnode srv\nnode srv-slave\n")
    decided = heartbeat_failback(conf, home, "srv", "srv-slave")
    assert decided.node == expected and f"auto_failback {mode}" in decided.why
