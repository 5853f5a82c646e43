"""What the harness needs to know about a cluster stack, behind one interface: faults, probes
and reports never ask which stack they are on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from halab.backends import Backend
from halab.stacks.failback import Failback
from halab.stacks.state import ResourceState, RestoreStep


@dataclass(frozen=True)
class ClusterView:
    """One node's view of the cluster, in the stack-neutral words the harness uses."""

    observer: str
    online: tuple[str, ...]
    active: str | None  # the node the stack says holds the VIP
    healthy: bool  # every node online and the service started
    summary: str

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Timing:
    """The running configuration's clocks, read from the cluster itself, in seconds."""

    membership_loss_s: float  # how long before a silent node is declared dead
    service_monitor_s: float | None  # how often the service is checked (None: never)
    evidence: str
    fencing_s: float = 0.0  # what fencing a lost node adds before its resources move (0: no STONITH)


class Stack(Protocol):
    name: str
    daemon: str  # what `stop-stack` stops, e.g. pacemaker
    membership_daemon: str  # what `kill-membership` kills, e.g. corosync

    def view(self, backend: Backend) -> ClusterView: ...
    def timing(self, backend: Backend) -> Timing: ...
    def stop(self, backend: Backend, node: str) -> None: ...
    def start(self, backend: Backend, node: str) -> None: ...
    def clear_failures(self, backend: Backend) -> None: ...
    def recover_service(self, backend: Backend, node: str) -> None:
        """Bring Apache back where the stack wants it after a service fault on `node`."""
        ...

    def rejoin(self, backend: Backend, node: str) -> None:
        """Once `node`'s link is mended, see that the stack runs on every node again."""
        ...

    def failback(self, backend: Backend, victim: str, holder: str) -> Failback:
        """Where the configuration puts the service once `victim`, which lost it to `holder`, is back."""
        ...

    def resource_state(self, backend: Backend) -> ResourceState:
        """Where the resources run, the fail-counts and the constraints: what grading may disturb."""
        ...

    def restore_steps(self, before: ResourceState, now: ResourceState) -> tuple[RestoreStep, ...]:
        """The commands that put back what changed since `before`, and only that."""
        ...

    def fences_since(self, backend: Backend, fault_at: float) -> tuple[str, ...]:
        """Who fenced whom since `fault_at` (wall clock), in words; () when the stack cannot fence."""
        ...

    def settle(self, backend: Backend, timeout_s: float) -> None:
        """Until the cluster has done what it decided on what it last saw (a failback, a probe, a
        restart), at most `timeout_s`: what that cost clients is then on the probe's record."""
        ...
