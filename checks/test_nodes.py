"""Checks every variant shares: the nodes as the lab sheet sets them up."""

from __future__ import annotations

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.facts.gather import PAGE
from halab.grading import fail
from halab.plan import LabPlan
from halab.stacks.admin import Admin


def reachable(facts: LabFacts) -> LabFacts:
    missing = [n for n in facts.nodes if not n.reachable]
    if missing:
        raise HalabError(f"{missing[0].node} could not be reached", evidence=missing[0].error)
    return facts


def test_apache_disabled_at_boot(facts: LabFacts) -> None:
    """Apache is left to the cluster, not started at boot"""
    enabled = [f"{n.node}: {n.unit('apache2').enabled}" for n in reachable(facts).nodes
               if n.unit("apache2").enabled not in ("disabled", "masked")]
    if enabled:
        fail("Apache starts at boot on " + ", ".join(e.split(":")[0] for e in enabled)
             + ": after a reboot both nodes serve, and the cluster's agent finds Apache already running",
             evidence="systemctl is-enabled apache2 -> " + "; ".join(enabled),
             fix="systemctl disable apache2 on every node (the cluster starts it where the VIP is)")


def test_cluster_stack_enabled_at_boot(facts: LabFacts, admin: Admin) -> None:
    """The cluster stack starts at boot on every node, so a node that reboots rejoins by itself"""
    off = [f"{n.node}: {unit} {n.unit(unit).enabled}" for n in reachable(facts).nodes for unit in admin.units
           if n.unit(unit).enabled != "enabled"]
    if off:
        fail("the cluster stack does not start at boot on " + ", ".join(dict.fromkeys(o.split(":")[0] for o in off))
             + ": after a reboot or a power cut that node stays out of the cluster until someone starts it",
             evidence="systemctl is-enabled -> " + "; ".join(off), fix=admin.enable_at_boot())


def test_each_node_serves_its_own_page(facts: LabFacts, plan: LabPlan) -> None:
    """Each node's web page names that node, so that a client can tell which node answered"""
    wrong = []
    for node in reachable(facts).nodes:
        page = node.file(PAGE).text
        marker = plan.node(node.node).page_marker
        others = [o.name for o in plan.nodes if o.name != node.node and o.page_marker in (page or "")
                  and o.page_marker not in marker]
        if page is None:
            wrong.append(f"{node.node} has no {PAGE}")
        elif others:
            wrong.append(f"{node.node} serves {others[0]}'s page (it contains {plan.node(others[0]).page_marker!r})")
        elif marker not in page:
            wrong.append(f"{node.node}'s page does not contain {marker!r}")
    if wrong:
        fail("; ".join(wrong), evidence="\n".join(f"{n.node}: {(n.file(PAGE).text or '').strip()[:200]}" for n in facts.reachable),
             fix=f"write on each node its own {PAGE}, naming that node (" + ", ".join(
                 f"{n.name}: {n.page_marker!r}" for n in plan.nodes) + ")")


def test_hostnames_match_the_plan(facts: LabFacts, plan: LabPlan) -> None:
    """Each node's name (uname -n) is the one the cluster configuration uses"""
    wrong = [f"{n.node} says {n.hostname!r}" for n in reachable(facts).nodes if n.hostname != n.node]
    if wrong:
        fail("node names differ from the plan: " + ", ".join(wrong),
             evidence="uname -n on each node", fix="hostnamectl set-hostname NAME, and the same name in /etc/hosts")


def test_names_resolve_to_cluster_addresses(facts: LabFacts, plan: LabPlan) -> None:
    """Every node resolves every node's name to its cluster address (not 127.0.1.1)"""
    wrong = []
    for node in reachable(facts).nodes:
        for other in plan.nodes:
            got = node.resolves(other.name)
            if str(other.address.ip) not in got or any(a.startswith("127.") for a in got):
                wrong.append(f"on {node.node}, {other.name} -> {', '.join(got) or 'nothing'} (want {other.address.ip})")
    if wrong:
        fail("node names do not resolve to the cluster addresses", evidence="\n".join(wrong),
             fix="in /etc/hosts on every node: one line per node with its cluster address, and no 127.0.1.1 line for it")


def test_clocks_agree(facts: LabFacts) -> None:
    """The nodes' clocks agree within 2 seconds (logs and timelines must line up)"""
    clocks = [(n.node, n.clock) for n in reachable(facts).nodes]
    spread = max(c for _, c in clocks) - min(c for _, c in clocks)
    if spread > 2.0:
        fail(f"the clocks differ by {spread:.1f} s", evidence="; ".join(f"{n}: {c:.3f}" for n, c in clocks),
             fix="enable time synchronisation (systemd-timesyncd or chrony) on every node")
