"""Configuration checks of the Heartbeat variant (ha.cf, haresources, authkeys)."""

from __future__ import annotations

from typing import Any

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.facts.model import NodeFacts
from halab.grading import fail
from halab.plan import LabPlan
from halab.stacks.ha_cf import HaCf, parse_ha_cf
from halab.stacks.heartbeat import address_interfaces

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
        declared = sorted(_ha_cf(node).nodes)
        if declared != hostnames:
            fail(f"ha.cf on {node.node} names nodes {declared}, the nodes call themselves {hostnames}",
                 evidence=f"{node.node}:{HA_CF}", fix="`node` lines must match `uname -n` of each node")


def test_authkeys_signed(facts: LabFacts) -> None:
    """Heartbeats are signed with a shared key (sha1 or md5), not only checksummed (crc)"""
    for node in facts.reachable:
        shown = node.command("authkeys_methods")
        if shown is None or shown.exit_status != 0:
            fail(f"{AUTHKEYS} cannot be read on {node.node}", evidence=shown.output if shown else "",
                 fix=f"write {AUTHKEYS}: `auth 1` then `1 sha1 SECRET`, mode 600, on every node")
        methods = dict(line.split()[:2] for line in shown.output.splitlines() if len(line.split()) >= 2)
        chosen = methods.get(methods.get("auth", ""), "none")
        if chosen not in ("sha1", "md5"):
            fail(f"on {node.node}, authkeys uses {chosen}: anyone on the network can forge heartbeats",
                 evidence=f"auth {methods.get('auth', '?')}; methods: " + ", ".join(
                     f"{k} {v}" for k, v in methods.items() if k != "auth"),
                 fix="`auth 1` and `1 sha1 SECRET` in authkeys (crc only detects corruption)")


def test_ha_cf_interfaces_present(facts: LabFacts) -> None:
    """Every interface ha.cf sends heartbeats on (bcast, ucast, mcast) exists on that node"""
    wrong = []
    for node in facts.reachable:
        interfaces = node.interfaces()
        for entry in _ha_cf(node).media:
            nic = entry.value.split()[0] if entry.value.split() else ""
            if nic not in interfaces:
                wrong.append(f"{node.node}:{HA_CF} line {entry.line}: `{entry.directive} {entry.value}`, "
                             f"but {node.node} has no {nic} (it has {', '.join(sorted(interfaces)) or 'none'})")
    if wrong:
        fail("heartbeats are sent on an interface that does not exist: the nodes never hear each other",
             evidence="\n".join(wrong), fix="name the node's own interface on the cluster network (ip -br link)")


def test_haresources_interface_present(facts: LabFacts) -> None:
    """The interface haresources puts the VIP on, when it names one, exists on every node"""
    wrong = []
    for node in facts.reachable:
        interfaces = node.interfaces()
        for resource, nic in address_interfaces(node.file(HARESOURCES).text or ""):
            if nic not in interfaces:
                wrong.append(f"{node.node}: {resource} names {nic}, but {node.node} has no {nic} "
                             f"(it has {', '.join(sorted(interfaces)) or 'none'})")
    if wrong:
        fail("haresources puts the VIP on an interface that does not exist: the VIP cannot start there",
             evidence="\n".join(wrong), fix="name the interface on the VIP's subnet (ip -br addr), the same in haresources on every node")


def test_auto_failback_as_the_lab_asks(facts: LabFacts, expected: dict[str, Any]) -> None:
    """auto_failback is as the lab asks (on: the service goes back to its preferred node)"""
    want = expected.get("auto_failback")
    if want is None:
        pytest.skip("the rubric does not say which auto_failback the lab asks for")
    want = {True: "on", False: "off"}.get(want, str(want))
    wrong = []
    for node in facts.reachable:
        try:
            got = _ha_cf(node).auto_failback
        except HalabError as error:
            fail(error.what, evidence=error.evidence, fix=error.fix)
        if got != want:
            wrong.append(f"{node.node}: auto_failback {got}")
    if wrong:
        fail(f"auto_failback is not {want} on every node, as the lab asks", evidence="; ".join(wrong),
             fix=f"`auto_failback {want}` in {HA_CF} on every node, then restart heartbeat")


def _ha_cf(node: NodeFacts) -> HaCf:
    """A node's ha.cf, parsed; its absence is the student's failure."""
    text = node.file(HA_CF).text
    if text is None:
        fail(f"{HA_CF} is missing on {node.node}", fix="write ha.cf on every node")
    return parse_ha_cf(text or "", source=f"{node.node}:{HA_CF}")
