"""Where the service belongs once a node that lost it comes back: the failback a student's
configuration implies. Pacemaker weighs location preferences against stickiness; Heartbeat v1
follows `auto_failback` to the node haresources names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from halab.stacks.cib import Cib
from halab.stacks.ha_cf import HaCf
from halab.stacks.scores import add_scores, parse_score, show_score

VIP_TYPES = ("IPaddr2", "IPaddr")


@dataclass(frozen=True)
class Failback:
    node: str  # where the service should run once both nodes are up again
    why: str  # the configuration that says so, in words


def pacemaker_failback(cib: Cib, victim: str, other: str, node_called: Callable[[str], str] = str) -> Failback:
    """The VIP's resources go back to `victim` only if its location preference over `other`
    beats their stickiness; on a tie Pacemaker keeps them where they run (on `other`). Nodes in
    the plan's names; `node_called` maps the CIB's (a cluster may name them by address)."""
    vips = [p for rsc_type in VIP_TYPES for p in cib.by_type(rsc_type)]
    if not vips:
        return Failback(other, "no VIP resource: nothing to move back")
    group = vips[0].group
    members = dict(cib.groups).get(group, ()) if group else (vips[0].id,) + tuple(p.id for p in cib.by_type("apache"))
    stickiness = add_scores(*(parse_score(cib.meta_attribute(member, "resource-stickiness")) for member in members))

    def preference(node: str) -> int:
        return add_scores(*(parse_score(c.score) for c in cib.constraints if c.kind == "rsc_location"
                            and node_called(c.node) == node and set(c.resources) & {group, *members}), 0)

    gain = add_scores(preference(victim), -preference(other))
    what = f"location preference {victim} {show_score(preference(victim))} vs {other} {show_score(preference(other))}, " \
           f"stickiness {show_score(stickiness)} ({'group ' + group if group else 'the VIP and Apache'})"
    if gain > stickiness:
        return Failback(victim, f"{what}: the preference for {victim} outweighs stickiness, so it moves back")
    return Failback(other, f"{what}: nothing outweighs stickiness, so it stays on {other}")


def heartbeat_failback(ha_cf: HaCf, home: str | None, victim: str, other: str) -> Failback:
    """With auto_failback on (or legacy) the group goes to its haresources owner whenever that
    node is up; with off it stays where it runs."""
    mode = ha_cf.auto_failback
    if mode == "off" or home is None:
        return Failback(other, f"auto_failback {mode}: the group stays on {other}")
    return Failback(home, f"auto_failback {mode}: the group goes to {home}, its owner in haresources, whenever it is up")
