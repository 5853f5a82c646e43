"""Corosync + Pacemaker, whichever tool configured it (pcs and crmsh produce the same CIB)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from halab.backends import Backend, run_if_up
from halab.command import CommandResult
from halab.errors import HalabError
from halab.stacks.base import ClusterView, Timing
from halab.stacks.cib import parse_cib
from halab.stacks.failback import Failback, pacemaker_failback
from halab.stacks.cmap import parse_cmapctl
from halab.stacks.crm_mon import parse_crm_mon
from halab.stacks.state import ResourceState, RestoreStep, pacemaker_restore, pacemaker_state

SETTLE_LIMIT_S = 120.0
CRM_EX_TIMEOUT = 124  # crm_resource --wait: still busy when its --timeout ran out
VIP_AGENT = "ocf:heartbeat:IPaddr2"
SERVICE_AGENT = "ocf:heartbeat:apache"


class PacemakerStack:
    name = "pacemaker"
    daemon = "pacemaker"
    membership_daemon = "corosync"

    def view(self, backend: Backend) -> ClusterView:
        result = self._ask_any(backend, ["crm_mon", "--output-as=xml"])
        plan = backend.plan
        status = parse_crm_mon(result.stdout)
        active = [plan.node_called(n) for n in status.nodes_running(VIP_AGENT)]
        online = tuple(plan.node_called(n) for n in status.online_nodes)
        services = [r for r in status.resources if r.agent in (VIP_AGENT, SERVICE_AGENT)]
        everyone = all(n.online for n in status.nodes) and len(status.nodes) == len(plan.nodes)
        started = bool(services) and all(r.active and not r.failed for r in services)
        placed = {node for r in services for node in r.nodes}
        summary = (
            f"online: {', '.join(online) or 'none'}; "
            + "; ".join(f"{r.id} {r.role} on {','.join(map(plan.node_called, r.nodes)) or '-'}" for r in services)
        )
        return ClusterView(
            observer=result.node,
            online=online,
            active=active[0] if len(active) == 1 else None,
            healthy=everyone and started and len(placed) == 1,
            summary=summary,
        )

    def timing(self, backend: Backend) -> Timing:
        cmap = parse_cmapctl(self._ask_any(backend, ["corosync-cmapctl"]).stdout)
        from halab.stacks.fencing import fencing_time_s  # fencing builds on this module's parsers

        cib = self._ask_any(backend, ["cibadmin", "--query"]).stdout
        monitor = service_monitor_interval(cib)
        fencing = fencing_time_s(parse_cib(cib))
        return Timing(
            membership_loss_s=(cmap.token_ms + cmap.consensus_ms) / 1000,
            service_monitor_s=monitor,
            evidence=(
                f"corosync token {cmap.token_ms} ms + consensus {cmap.consensus_ms} ms; "
                f"Apache monitored every {monitor if monitor is not None else 'never'} s"
                + (f"; fencing (delay + reboot) up to {fencing:.0f} s" if fencing else "")
            ),
            fencing_s=fencing,
        )

    def stop(self, backend: Backend, node: str) -> None:
        backend.run(node, ["systemctl", "stop", "pacemaker"], timeout=120).check()

    def start(self, backend: Backend, node: str) -> None:
        backend.run(node, ["systemctl", "start", "corosync", "pacemaker"], timeout=120).check()

    def clear_failures(self, backend: Backend) -> None:
        """Forget fail-counts, so the next fault starts from a clean slate."""
        self._ask_any(backend, ["crm_resource", "--cleanup"])

    def recover_service(self, backend: Backend, node: str) -> None:
        """Pacemaker restarts Apache itself; a cleanup makes it probe again and start Apache
        wherever it belongs, should a failure have left it stopped."""
        self.clear_failures(backend)

    def rejoin(self, backend: Backend, node: str) -> None:
        """Nothing to do: corosync merges the membership itself, and Pacemaker stops the
        resources it then finds active twice."""

    def failback(self, backend: Backend, victim: str, holder: str) -> Failback:
        cib = parse_cib(self._ask_any(backend, ["cibadmin", "--query"]).stdout)
        return pacemaker_failback(cib, victim, holder, backend.plan.node_called)

    def resource_state(self, backend: Backend) -> ResourceState:
        status = parse_crm_mon(self._ask_any(backend, ["crm_mon", "--output-as=xml"]).stdout)
        return pacemaker_state(status, parse_cib(self._ask_any(backend, ["cibadmin", "--query"]).stdout))

    def restore_steps(self, before: ResourceState, now: ResourceState) -> tuple[RestoreStep, ...]:
        return pacemaker_restore(before, now)

    def fences_since(self, backend: Backend, fault_at: float) -> tuple[str, ...]:
        from halab.stacks.fencing import fences_since  # fencing builds on this module's parsers

        return tuple(e.told_after(fault_at) for e in fences_since(backend, fault_at))

    def settle(self, backend: Backend, timeout_s: float) -> None:
        """Pacemaker says it: `crm_resource --wait` returns once no action is pending, on the
        first node whose Pacemaker answers (one where it is stopped refuses at once)."""
        seconds = max(1, int(min(timeout_s, SETTLE_LIMIT_S)))
        for node in backend.plan.node_names:
            done = run_if_up(backend, node, ["crm_resource", "--wait", f"--timeout={seconds}s"], timeout=seconds + 10)
            if done is not None and done.exit_status in (0, CRM_EX_TIMEOUT):
                return

    def ask(self, backend: Backend, argv: list[str]) -> CommandResult:
        """Run a cluster-wide command (crm_mon, cibadmin, crm_simulate) on the first node that answers."""
        return self._ask_any(backend, argv)

    def _ask_any(self, backend: Backend, argv: list[str]) -> CommandResult:
        """Ask the first node that answers: any member sees the same CIB."""
        errors = []
        for node in backend.plan.node_names:
            result = run_if_up(backend, node, argv, timeout=30)
            if result is None:
                errors.append(f"{node}: powered off or not answering")
                continue
            if result.succeeded:
                return result
            errors.append(f"{node}: {(result.stdout + result.stderr).strip()[:300]}")
        raise HalabError(f"no node could answer `{' '.join(argv)}`", evidence="\n".join(errors))


def service_monitor_interval(cib_resources_xml: str) -> float | None:
    """The Apache resource's monitor interval in seconds (Pacemaker's default is none)."""
    root = ET.fromstring(cib_resources_xml)
    for primitive in root.iter("primitive"):
        if primitive.get("type") == "apache":
            for op in primitive.iter("op"):
                if op.get("name") == "monitor":
                    return parse_duration(op.get("interval", "0"))
    return None


def parse_duration(text: str) -> float:
    """Pacemaker's durations: "30s", "30000ms", "1min", "2m", "1h" or a bare number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|m|min|h|hr)?\s*", text)
    if not match:
        raise HalabError(f"cannot read the duration {text!r}")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "msec": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}[unit]
