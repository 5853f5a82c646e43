"""The real Observer of a lab document's expect blocks: the VIP from the lab's client, the
nodes and resources through Pacemaker's crm_mon, commands through the backend."""

from __future__ import annotations

from typing import Callable

from halab.backends import Backend
from halab.command import CommandResult
from halab.errors import HalabError
from halab.labdoc.checks import Membership
from halab.probe.fetch import fetch
from halab.stacks import stack_for
from halab.stacks.crm_mon import ClusterStatus, parse_crm_mon
from halab.stacks.pacemaker import PacemakerStack


class LabObserver:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def vip_page(self) -> str:
        return fetch(self.backend.plan.vip_url, self.backend.client_netns())

    def online_nodes(self) -> tuple[str, ...]:
        return stack_for(self.backend.plan.stack).view(self.backend).online

    def membership(self) -> Membership:
        if self.backend.plan.stack != "pacemaker":
            raise HalabError(f"this sentence needs Pacemaker's crm_mon; this lab runs {self.backend.plan.stack}",
                             fix="on this lab write `nodes online: ...` or `the output of `COMMAND` on NODE contains ...`")
        status = parse_crm_mon(PacemakerStack().ask(self.backend, ["crm_mon", "--output-as=xml"]).stdout)
        return membership_of(status, self.backend.plan.node_called)

    def run(self, node: str, script: str, timeout: float) -> CommandResult:
        return self.backend.run(node, ["/bin/bash", "-c", script], timeout=timeout)


def membership_of(status: ClusterStatus, node_called: Callable[[str], str] = str) -> Membership:
    """Every node's state, and where each resource and each group is active (a group: where its
    members are), nodes in the plan's names (`node_called`: a cluster may name them by address)."""
    states = tuple((node_called(n.name), "offline" if not n.online else "standby" if n.standby else "online")
                   for n in status.nodes)
    placement: dict[str, list[str]] = {}
    for resource in status.resources:
        for name in filter(None, (resource.id, resource.group, resource.clone)):
            nodes = placement.setdefault(name, [])
            nodes += [node_called(n) for n in resource.nodes if resource.active and node_called(n) not in nodes]
    return Membership(states, tuple((name, tuple(nodes)) for name, nodes in placement.items()))
