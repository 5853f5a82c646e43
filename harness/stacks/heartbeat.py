"""Heartbeat 3 in v1 mode (haresources): membership from `cl_status`, the VIP holder from the
nodes' own addresses, timings from ha.cf. v1 mode never monitors a resource: a stopped Apache
stays stopped until someone starts it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from halab.backends import Backend
from halab.errors import HalabError
from halab.progress import say
from halab.stacks.base import ClusterView, Timing
from halab.stacks.failback import Failback, heartbeat_failback
from halab.stacks.ha_cf import HaCf, parse_ha_cf
from halab.stacks.state import ResourceState, RestoreStep, heartbeat_restore, heartbeat_state
from halab.wait import wait_until

HA_CF = "/etc/ha.d/ha.cf"
HARESOURCES = "/etc/ha.d/haresources"
SERVICE_UNIT = "apache2"  # what haresources starts, through /etc/init.d/apache2
REJOIN_TIMEOUT_S = 150.0
REJOIN_STEADY_S = 5.0  # healthy this long: no restart left to come
HANDOVER_START_S = 3.0


@dataclass(frozen=True)
class NodeReport:
    """What one running node says: heartbeat's view of every node, and its own resources."""

    node: str
    heartbeat_running: bool
    statuses: dict[str, str]  # node -> active, up, init or dead, as `cl_status nodestatus` says
    resources: str | None  # `cl_status rscstatus`: all, local, foreign, none or transition
    holds_vip: bool


class HeartbeatStack:
    name = "heartbeat"
    daemon = "heartbeat"
    membership_daemon = "heartbeat"

    def view(self, backend: Backend) -> ClusterView:
        """Healthy: every running heartbeat sees every node active and no resource moving,
        exactly one node holds the VIP, Apache answers there, and, with auto_failback, that
        node is the one haresources names (else a failback is still to come)."""
        plan = backend.plan
        reports = [self._report(backend, node) for node in plan.node_names if backend.is_running(node)]
        members = [r for r in reports if r.heartbeat_running]
        if not members:
            raise HalabError(
                "heartbeat is running on no node",
                evidence="; ".join(f"{r.node}: heartbeat stopped" for r in reports) or "every node is powered off",
                fix="systemctl start heartbeat on the nodes (halab heal, if a fault is still applied)",
            )
        observer = members[0]
        online = tuple(n for n in plan.node_names if observer.statuses.get(n) == "active")
        holders = tuple(r.node for r in reports if r.holds_vip)
        answers = len(holders) == 1 and self._service_answers(backend, holders[0])
        agreed = all(r.statuses.get(n) == "active" for r in members for n in plan.node_names)
        conf, owner = self.configuration(backend, observer.node)
        home = None if conf.auto_failback == "off" else owner
        settled = all(r.resources not in (None, "transition") for r in members) and (
            home is None or home not in online or holders == (home,)
        )
        summary = (
            f"online: {', '.join(online) or 'none'}; "
            f"VIP on {', '.join(holders) or 'no node'}"
            + (f" (Apache {'answers' if answers else 'does not answer'})" if len(holders) == 1 else "")
            + "; resources held: "
            + ", ".join(f"{r.node} {r.resources or 'heartbeat stopped'}" for r in reports)
        )
        return ClusterView(
            observer=observer.node,
            online=online,
            active=holders[0] if len(holders) == 1 else None,
            healthy=len(members) == len(plan.nodes) and agreed and settled and answers,
            summary=summary,
        )

    def timing(self, backend: Backend) -> Timing:
        """deadtime from ha.cf; haresources has no monitor, so no service check interval."""
        node = next((n for n in backend.plan.node_names if backend.is_running(n)), None)
        if node is None:
            raise HalabError("no node is running to read ha.cf from", fix="halab status; halab up")
        source = f"{node}:{HA_CF}"
        conf = parse_ha_cf(backend.run(node, ["cat", HA_CF], timeout=10).check().stdout, source=source)
        return Timing(
            membership_loss_s=conf.deadtime_ms / 1000,
            service_monitor_s=None,
            evidence=(
                f"heartbeat deadtime {conf.deadtime_ms} ms, keepalive {conf.keepalive_ms} ms ({source}); "
                "Apache never monitored (haresources)"
            ),
        )

    def stop(self, backend: Backend, node: str) -> None:
        """A clean stop: heartbeat releases its resources and tells the peer before it exits."""
        backend.run(node, ["systemctl", "stop", self.daemon], timeout=120).check()

    def start(self, backend: Backend, node: str) -> None:
        backend.run(node, ["systemctl", "start", self.daemon], timeout=120).check()

    def clear_failures(self, backend: Backend) -> None:
        """Heartbeat v1 keeps no failure history: nothing to clear."""

    def recover_service(self, backend: Backend, node: str) -> None:
        """Start Apache where the VIP is (the node haresources gave the group to), as an
        administrator must: nothing in v1 mode would."""
        holders = [n for n in backend.plan.node_names if backend.is_running(n) and self._holds_vip(backend, n)]
        for holder in holders or [node]:
            if backend.is_running(holder):
                backend.run(holder, ["systemctl", "start", SERVICE_UNIT], timeout=60).check()

    def rejoin(self, backend: Backend, node: str) -> None:
        """When a partition heals, each heartbeat finds the other holding the resources, gives
        them up and restarts itself (an exec, then a fork). Under Debian's unit (Type=simple,
        PIDFile, ExecStop `heartbeat -k`) systemd sometimes takes the restarted daemon for dead
        and stops it, leaving that node out for good. Wait for the restarts to play out,
        starting heartbeat wherever its unit went down, as an administrator would."""
        steady_since: list[float] = []

        def observe() -> ClusterView:
            for member in backend.plan.node_names:
                if not backend.is_running(member):
                    continue
                state = backend.run(member, ["systemctl", "is-active", self.daemon], timeout=10).stdout.strip()
                if state in ("inactive", "failed"):
                    say(f"heartbeat stopped itself on {member} after the partition healed; starting it again")
                    self.start(backend, member)
            view = self.view(backend)
            if not view.healthy:
                steady_since.clear()
            elif not steady_since:
                steady_since.append(time.monotonic())
            return view

        wait_until(
            observe, lambda view: view.healthy and time.monotonic() - steady_since[0] >= REJOIN_STEADY_S,
            what="heartbeat to run on every node again after the partition", timeout_s=REJOIN_TIMEOUT_S,
            interval_s=1.0, fix="journalctl -u heartbeat on each node; systemctl start heartbeat where it is stopped",
        )

    def failback(self, backend: Backend, victim: str, holder: str) -> Failback:
        node = next((n for n in backend.plan.node_names if backend.is_running(n)), victim)
        return heartbeat_failback(*self.configuration(backend, node), victim, holder)

    def resource_state(self, backend: Backend) -> ResourceState:
        return heartbeat_state(tuple(n for n in backend.plan.node_names if backend.is_running(n) and self._holds_vip(backend, n)))

    def restore_steps(self, before: ResourceState, now: ResourceState) -> tuple[RestoreStep, ...]:
        return heartbeat_restore(before, now)

    def settle(self, backend: Backend, timeout_s: float) -> None:
        """Heartbeat has no transition engine to ask: a failback its auto_failback sets off once
        both nodes are up begins within HANDOVER_START_S, and its view then says "transition"."""
        time.sleep(min(HANDOVER_START_S, timeout_s))

    def fences_since(self, backend: Backend, fault_at: float) -> tuple[str, ...]:
        return ()  # haresources clusters here have no STONITH device

    def configuration(self, backend: Backend, node: str) -> tuple[HaCf, str | None]:
        """ha.cf, and the node haresources gives the VIP's group to (None: no line holds it)."""
        conf = parse_ha_cf(backend.run(node, ["cat", HA_CF], timeout=10).check().stdout, source=f"{node}:{HA_CF}")
        return conf, group_owner(backend.run(node, ["cat", HARESOURCES], timeout=10).check().stdout, str(backend.plan.vip))

    def _report(self, backend: Backend, node: str) -> NodeReport:
        resources = backend.run(node, ["cl_status", "rscstatus"], timeout=10)
        running = resources.succeeded
        statuses: dict[str, str] = {}
        if running:
            for other in backend.plan.node_names:
                # exits 1 for a dead node, after printing "dead"
                shown = backend.run(node, ["cl_status", "nodestatus", other], timeout=10)
                statuses[other] = shown.stdout.strip() or "unknown"
        return NodeReport(
            node=node,
            heartbeat_running=running,
            statuses=statuses,
            resources=resources.stdout.strip() if running else None,
            holds_vip=self._holds_vip(backend, node),
        )

    def _holds_vip(self, backend: Backend, node: str) -> bool:
        shown = backend.run(node, ["ip", "-o", "-4", "addr", "show"], timeout=10)
        return f" {backend.plan.vip}/" in shown.stdout

    def _service_answers(self, backend: Backend, node: str) -> bool:
        """Apache answers on the VIP, asked from the node that holds it."""
        url = backend.plan.vip_url
        return backend.run(node, ["curl", "--silent", "--fail", "--max-time", "2", "--output", "/dev/null", url],
                           timeout=10).succeeded


def group_owner(haresources: str, vip: str) -> str | None:
    """The node a haresources line gives the VIP's group to (its first word, lowered as
    heartbeat lowers node names), or None when no line holds the VIP.

    >>> group_owner("srv IPaddr::192.168.137.200/24/enp0s3:0 apache2\\n", "192.168.137.200")
    'srv'
    """
    address = re.compile(rf"(^|::|\s){re.escape(vip)}($|/|\s|::)")
    for line in haresources.splitlines():
        words = line.split()
        if words and not words[0].startswith("#") and any(address.search(word) for word in words[1:]):
            return words[0].lower()
    return None


def address_interfaces(haresources: str) -> tuple[tuple[str, str], ...]:
    """(resource, interface) for each IPaddr or IPaddr2 resource of haresources that names its
    interface, e.g. IPaddr::192.168.137.200/24/enp0s3:0 -> enp0s3 (the alias number dropped).

    >>> address_interfaces("srv IPaddr::192.168.137.200/24/enp0s3:0 apache2\\n")
    (('IPaddr::192.168.137.200/24/enp0s3:0', 'enp0s3'),)
    """
    found = []
    for line in haresources.splitlines():
        words = line.split()
        for word in words[1:] if words and not words[0].startswith("#") else []:
            agent, _, arguments = word.partition("::")
            fields = arguments.split("::")[0].split("/")
            if agent in ("IPaddr", "IPaddr2") and len(fields) >= 3 and fields[2]:
                found.append((word, fields[2].split(":")[0]))
    return tuple(found)
