"""What a grader and a benchmark need to know about fencing in a Pacemaker cluster: who fenced
whom and when (`stonith_admin --history '*' --verbose --output-as=xml`), which device fences each node,
and how long a fence may be delayed (pcmk_delay_base/max, priority-fencing-delay).

>>> [e.describe() for e in parse_stonith_history(xml)]
['reboot of node1 by node2: success at 20:19:53']
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone

from halab.backends import Backend, run_if_up
from halab.errors import HalabError
from halab.stacks.cib import Cib, Primitive
from halab.stacks.pacemaker import parse_duration

# --verbose: without it pacemaker 2.1.5 prints ONE event ("the last successful fencing", in fact the
# oldest one it holds), so every fence after a lab's first was missing from the harness's view.
HISTORY_COMMAND = ("stonith_admin", "--history", "*", "--verbose", "--output-as=xml")
# A reboot through a BMC: power off, status polled until off, power on, status until on (~2-4 s
# measured with halab's virtual BMCs on an idle machine; a cut-link with pcmk_delay_max=5s once took
# 0.5 s more than 5 s allowed here under the e2e suite's load), with room to spare.
FENCE_ACTION_S = 8.0


@dataclass(frozen=True)
class FenceEvent:
    action: str  # reboot, off, on
    target: str
    status: str  # success, failed, pending
    delegate: str  # the node that ran the fence agent
    origin: str  # the node that asked for the fence
    completed: datetime | None

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def epoch(self) -> float | None:
        """When it completed, in seconds since the epoch (the nodes share the host's clock)."""
        return self.completed.replace(tzinfo=timezone.utc).timestamp() if self.completed else None

    def describe(self) -> str:
        when = f" at {self.completed:%H:%M:%S}" if self.completed else ""
        return f"{self.action} of {self.target} by {self.delegate or self.origin or 'nobody'}: {self.status}{when}"

    def told_after(self, fault_at: float) -> str:
        """In a fault's words: 'node1 fenced (reboot) by node2 12 s after the fault'."""
        who = self.delegate or self.origin or "nobody"
        after = f" {self.epoch - fault_at:.0f} s after the fault" if self.epoch is not None else ""
        if self.succeeded:
            return f"{self.target} fenced ({self.action}) by {who}{after}"
        return f"{self.target}: {self.action} by {who} {self.status}{after}"


def fence_history(backend: Backend) -> tuple[FenceEvent, ...]:
    """Every running node's history, merged, oldest first: a fenced node learns it again only
    some time after it rejoins, and a node that was down holds none of its own."""
    events: set[FenceEvent] = set()
    for node in backend.plan.node_names:
        result = run_if_up(backend, node, HISTORY_COMMAND, timeout=30)
        if result is not None and result.succeeded:
            events.update(parse_stonith_history(result.stdout))
    return tuple(sorted(events, key=lambda e: e.epoch or float("inf")))


def fences_since(backend: Backend, fault_at: float) -> tuple[FenceEvent, ...]:
    """The fences completed since a fault (wall clock; the history counts whole seconds)."""
    return tuple(e for e in fence_history(backend) if e.epoch is not None and e.epoch >= fault_at - 1)


def parse_stonith_history(xml_text: str) -> tuple[FenceEvent, ...]:
    """The fence events, oldest first (pure: unit-tested on Debian 12's pacemaker 2.1.5 output)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise HalabError(f"stonith_admin's history is not valid XML ({error})", evidence=xml_text[:400]) from None
    events = [
        FenceEvent(e.get("action", ""), e.get("target", ""), e.get("status", ""), e.get("delegate", ""),
                   e.get("origin", ""), _when(e.get("completed")))
        for e in root.iter("fence_event")
    ]
    return tuple(sorted(events, key=lambda e: e.completed or datetime.max.replace(tzinfo=None)))


def _when(text: str | None) -> datetime | None:
    """"2026-12-03 20:19:53Z" (UTC), as pacemaker 2.1 writes it."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def stonith_enabled(cib: Cib) -> bool:
    value = cib.option("stonith-enabled") or cib.option("fencing-enabled") or "true"
    return value.lower() in ("true", "1", "yes", "on", "y")


def devices_for(cib: Cib, node: str) -> tuple[Primitive, ...]:
    """The fence devices that say they fence `node` (pcmk_host_list, pcmk_host_map, or the
    agent's own `plug`/`port`); a device that names no host is asked at fence time, so it counts."""
    found = []
    for device in cib.fencing_devices:
        hosts = _hosts(device)
        if hosts is None or node in hosts:
            found.append(device)
    return tuple(found)


def _hosts(device: Primitive) -> set[str] | None:
    if device.param("pcmk_host_list"):
        return set(device.param("pcmk_host_list").replace(",", " ").split())
    if device.param("pcmk_host_map"):
        return {pair.split(":")[0].strip() for pair in device.param("pcmk_host_map").replace(",", ";").split(";") if pair.strip()}
    named = device.param("plug") or device.param("port")
    return {named} if named else None


def fence_delay_s(cib: Cib) -> float:
    """The longest wait before a fence: a device's pcmk_delay_base + pcmk_delay_max, plus
    priority-fencing-delay (applied to the node that runs the resources)."""
    per_device = [parse_duration(d.param("pcmk_delay_base") or "0") + parse_duration(d.param("pcmk_delay_max") or "0")
                  for d in cib.fencing_devices]
    return max(per_device, default=0.0) + parse_duration(cib.option("priority-fencing-delay") or "0")


def fencing_time_s(cib: Cib) -> float:
    """What fencing adds to a failover after a lost node: nothing without STONITH, else its
    delay and the reboot itself (resources move only once the fence is confirmed)."""
    if not stonith_enabled(cib) or not cib.fencing_devices:
        return 0.0
    return fence_delay_s(cib) + FENCE_ACTION_S
