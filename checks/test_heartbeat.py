"""Configuration checks of the Heartbeat variant (ha.cf, haresources, authkeys)."""

from __future__ import annotations

import pytest

from harness.facts import LabFacts
from harness.grading import fail
from harness.plan import LabPlan
from harness.stacks.ha_cf import parse_ha_cf

HA_CF, HARESOURCES, AUTHKEYS = "/etc/ha.d/ha.cf", "/etc/ha.d/haresources", "/etc/ha.d/authkeys"


@pytest.fixture(autouse=True)
def heartbeat_only(plan: LabPlan) -> None:
    if plan.stack != "heartbeat":
        pytest.skip(f"not a Heartbeat lab ({plan.stack})")


def test_authkeys_private(facts: LabFacts) -> None:
    """authkeys is readable by root only (Heartbeat refuses to start otherwise)"""
    loose = [f"{n.node}: mode {n.file(AUTHKEYS).mode or 'missing'}" for n in facts.reachable
             if n.file(AUTHKEYS).mode not in ("600", "400")]
    if loose:
        fail("authkeys is missing or readable by group or others", evidence="; ".join(loose),
             fix=f"chmod 600 {AUTHKEYS} on every node")


def test_haresources_identical(facts: LabFacts) -> None:
    """haresources is the same on every node (both must agree on the preferred node and resources)"""
    texts = {n.node: n.file(HARESOURCES) for n in facts.reachable}
    missing = [node for node, f in texts.items() if not f.exists]
    if missing:
        fail(f"{HARESOURCES} is missing on {', '.join(missing)}", fix="write the same haresources on every node")
    if len({f.sha256 for f in texts.values()}) > 1:
        fail("haresources differs between the nodes",
             evidence="\n".join(f"{node}: {(f.text or '').strip()}" for node, f in texts.items()),
             fix="copy one node's haresources to the other")


def test_ha_cf_node_names_are_hostnames(facts: LabFacts) -> None:
    """The node names in ha.cf are exactly the nodes' names (uname -n)"""
    hostnames = sorted(n.hostname for n in facts.reachable)
    for node in facts.reachable:
        text = node.file(HA_CF).text
        if text is None:
            fail(f"{HA_CF} is missing on {node.node}", fix="write ha.cf on every node")
        declared = sorted(parse_ha_cf(text, source=f"{node.node}:{HA_CF}").nodes)
        if declared != hostnames:
            fail(f"ha.cf on {node.node} names nodes {declared}, the nodes call themselves {hostnames}",
                 evidence=f"{node.node}:{HA_CF}", fix="`node` lines must match `uname -n` of each node")
