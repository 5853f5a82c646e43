"""Corosync's links: a plan with a cluster network apart from the lab subnet wants one knet link
on each, every one connected to every other node, so that one cut cable loses no node. Only
rubrics that name it use it (the fencing lab's)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.grading import fail
from halab.plan import PRIMARY_NETWORK, LabPlan
from halab.stacks.admin import PacemakerAdmin
from halab.stacks.cfgtool import COMMAND, LinkStatus, parse_cfgtool


@pytest.fixture(autouse=True)
def pacemaker_only(plan: LabPlan) -> None:
    if plan.stack != "pacemaker":
        pytest.skip(f"not a Pacemaker lab ({plan.stack})")


def test_corosync_links_connected(facts: LabFacts, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """Corosync has a link on every network of the lab, each connected to every other node (corosync-cfgtool -s)"""
    for node in facts.reachable:
        shown = node.command("links")
        try:
            links = parse_cfgtool(shown.output if shown else "").links
        except HalabError as error:
            fail(f"{node.node}: {error.what}", evidence=error.evidence,
                 fix=f"start the cluster ({admin.enable_at_boot()}), then {COMMAND} on {node.node}")
        evidence = f"{COMMAND} on {node.node}:\n{shown.output.strip() if shown else ''}"
        for network, subnet in [(PRIMARY_NETWORK, plan.subnet), *((n.name, n.subnet) for n in plan.networks)]:
            on = [link for link in links if _in(link, subnet)]
            if not on:
                addresses = {n.name: str((n.interface_on(network).address if network != PRIMARY_NETWORK
                                          else n.address).ip) for n in plan.nodes}
                fail(f"{node.node} has no corosync link on the {network} network ({subnet}): losing one cable "
                     "loses the node", evidence=evidence, fix=admin.add_link(**addresses))
            down = [link for link in on if not link.connected]
            if down:
                fail(f"{node.node}'s corosync link on the {network} network ({subnet}) does not reach every other "
                     f"node: {'; '.join(link.describe() for link in down)}", evidence=evidence,
                     fix=f"on every node, the interface on {subnet} must be up with its planned address "
                         f"(ip -o addr show), and each node's address on that link in "
                         f"/etc/corosync/corosync.conf must be that one")


def _in(link: LinkStatus, subnet: IPv4Network) -> bool:
    try:
        return IPv4Address(link.address) in subnet
    except ValueError:
        return False
