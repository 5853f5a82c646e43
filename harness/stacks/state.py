"""The part of a cluster's state that grading may disturb, per stack, and the commands that put
it back: where the resources run, the fail-counts and the constraints. Planning is pure (what
was, what is -> the steps), so it is unit-tested on recorded outputs; the stacks run the steps.

Only what the harness changed is undone: a fail-count or a constraint the student already had
stays, and a resource is never moved where that would overwrite the student's own
`cli-prefer`/`cli-ban` constraint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.stacks.cib import Cib
from halab.stacks.crm_mon import ClusterStatus

WAIT = ("crm_resource", "--wait", "--timeout=120s")
HB_TAKEOVER = "/usr/share/heartbeat/hb_takeover"
VIP_RESOURCES = "VIP and its group"  # Heartbeat v1 moves haresources' group as one
_XML_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True)
class ResourceState:
    placement: tuple[tuple[str, tuple[str, ...]], ...]  # a group (or a lone resource) -> the nodes it runs on
    fail_counts: tuple[tuple[str, str, int], ...]  # (node, resource, count)
    constraints: tuple[str, ...]  # ids

    def where(self, unit: str) -> tuple[str, ...]:
        return dict(self.placement).get(unit, ())


@dataclass(frozen=True)
class RestoreStep:
    node: str | None  # None: any node that answers (a cluster-wide command)
    argv: tuple[str, ...]
    why: str


def pacemaker_state(status: ClusterStatus, cib: Cib) -> ResourceState:
    """Groups and lone primitives with the nodes they are active on; clones run everywhere
    and are left out."""
    placement: dict[str, list[str]] = {}
    for resource in status.resources:
        if resource.clone is not None:
            continue
        nodes = placement.setdefault(resource.group or resource.id, [])
        nodes += [n for n in resource.nodes if resource.active and n not in nodes]
    return ResourceState(
        placement=tuple(sorted((unit, tuple(sorted(nodes))) for unit, nodes in placement.items())),
        fail_counts=tuple(sorted((f.node, f.resource, f.fail_count) for f in status.fail_counts if f.fail_count)),
        constraints=tuple(sorted(c.id for c in cib.constraints)),
    )


def pacemaker_restore(before: ResourceState, now: ResourceState) -> tuple[RestoreStep, ...]:
    """Settle, clean the fail-counts the faults left, remove the constraints that appeared, then
    move each group back where it ran, clearing the constraint the move makes (as
    `pcs resource move` does)."""
    steps: list[RestoreStep] = []
    had_failures = {(node, resource) for node, resource, _ in before.fail_counts}
    for node, resource, count in now.fail_counts:
        if (node, resource) not in had_failures:
            steps.append(RestoreStep(None, ("crm_resource", "--cleanup", "--resource", resource, "--node", node),
                                     f"fail-count {count} of {resource} on {node}, left by the faults"))
    for constraint in sorted(set(now.constraints) - set(before.constraints)):
        if _XML_ID.match(constraint):
            steps.append(RestoreStep(None, ("cibadmin", "--delete", "--xpath", f"//constraints/*[@id='{constraint}']"),
                                     f"constraint {constraint} appeared during grading"))
    for unit, was in before.placement:
        pinned = [c for c in before.constraints if c == f"cli-prefer-{unit}" or c.startswith(f"cli-ban-{unit}-")]
        if len(was) != 1 or now.where(unit) == was or pinned:
            continue
        steps += [
            RestoreStep(None, ("crm_resource", "--move", "--resource", unit, "--node", was[0]),
                        f"{unit} ran on {was[0]}, now on {', '.join(now.where(unit)) or 'no node'}"),
            RestoreStep(None, WAIT, f"{unit} to start on {was[0]}"),
            RestoreStep(None, ("crm_resource", "--clear", "--resource", unit), "the move's own constraint"),
        ]
    if not steps:
        return ()
    return (RestoreStep(None, WAIT, "the cluster to settle first"), *steps, RestoreStep(None, WAIT, "the cluster to settle"))


def heartbeat_state(vip_holders: tuple[str, ...]) -> ResourceState:
    """Heartbeat v1 keeps no fail-counts and no constraints: the VIP's holder is all there is."""
    return ResourceState(((VIP_RESOURCES, tuple(sorted(vip_holders))),), (), ())


def heartbeat_restore(before: ResourceState, now: ResourceState) -> tuple[RestoreStep, ...]:
    """The node that held the group asks for it back (`hb_takeover all`)."""
    was = before.where(VIP_RESOURCES)
    if len(was) != 1 or now.where(VIP_RESOURCES) == was:
        return ()
    return (RestoreStep(was[0], (HB_TAKEOVER, "all"),
                        f"the VIP's group ran on {was[0]}, now on {', '.join(now.where(VIP_RESOURCES)) or 'no node'}"),)
