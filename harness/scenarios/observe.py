"""What a scenario measures after each step, from one crm_mon and one CIB read: where each
resource runs, the service's fail-count per node, the `cli-` constraints, who is standby."""

from __future__ import annotations

from dataclasses import dataclass

from halab.backends import Backend
from halab.errors import HalabError
from halab.stacks.cib import Cib, parse_cib
from halab.stacks.crm_mon import parse_crm_mon
from halab.stacks.pacemaker import SERVICE_AGENT, VIP_AGENT, PacemakerStack
from halab.stacks.state import pacemaker_state

MOVE_PREFIXES = ("cli-prefer-", "cli-ban-")


@dataclass(frozen=True)
class Snapshot:
    placement: tuple[tuple[str, tuple[str, ...]], ...]  # group (or lone resource) -> nodes
    fail_counts: tuple[tuple[str, str, int], ...]  # (node, resource, count), effective (expired ones are 0)
    constraints: tuple[str, ...]
    online: tuple[str, ...]
    standby: tuple[str, ...]
    failed_actions: tuple[str, ...]  # "WebService monitor on node1: not running"
    cib: Cib

    def where(self, unit: str) -> tuple[str, ...]:
        return dict(self.placement).get(unit, ())

    def fail_count(self, resource: str, node: str) -> int:
        return sum(c for n, r, c in self.fail_counts if n == node and r == resource)

    def move_constraints(self, unit: str) -> tuple[str, ...]:
        """The constraints a `move` or `ban` of this resource leaves (cli-prefer-X, cli-ban-X-on-N)."""
        return tuple(c for c in self.constraints if c == f"cli-prefer-{unit}" or c.startswith(f"cli-ban-{unit}-"))


def snapshot(backend: Backend, stack: PacemakerStack) -> Snapshot:
    status = parse_crm_mon(stack.ask(backend, ["crm_mon", "--output-as=xml", "--include=failcounts"]).stdout)
    cib = parse_cib(stack.ask(backend, ["cibadmin", "--query"]).stdout)
    state = pacemaker_state(status, cib)
    return Snapshot(
        placement=state.placement,
        fail_counts=tuple(sorted((f.node, f.resource, f.fail_count) for f in status.fail_counts)),
        constraints=state.constraints,
        online=status.online_nodes,
        standby=tuple(n.name for n in status.nodes if n.standby),
        failed_actions=tuple(f"{a.resource} {a.operation} on {a.node}: {a.exit_status or a.exit_code}"
                             for a in status.failed_actions),
        cib=cib,
    )


def watched(cib: Cib, resource: str) -> tuple[str, str]:
    """The unit a scenario watches (its `resource`, else the VIP's group) and the service in it
    that kill-apache fails (Apache's primitive)."""
    vip = next((p for p in cib.primitives if p.agent == VIP_AGENT), None)
    unit = resource or (vip.group or vip.id if vip else "")
    service = next((p for p in cib.primitives if p.agent == SERVICE_AGENT), None)
    known = {p.id for p in cib.primitives} | {g for g, _ in cib.groups}
    if not unit or unit not in known:
        raise HalabError(f"no resource called {unit or 'with the VIP'!r} in this cluster's configuration",
                         fix=f"name one of: {', '.join(sorted(known)) or 'none is configured'}")
    if service is None:
        raise HalabError("no Apache resource (ocf:heartbeat:apache) in this cluster's configuration",
                         fix="scenarios kill Apache: configure it as a cluster resource first")
    return unit, service.id
