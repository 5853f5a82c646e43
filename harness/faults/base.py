"""A fault is a thing done to the active node and the way to undo it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from halab.backends import Backend
from halab.stacks import Stack, Timing

# How the cluster notices each fault, which sets the outage a client must expect.
GRACEFUL, MEMBERSHIP, MONITOR = "graceful", "membership", "monitor"


class Fault(ABC):
    name: ClassVar[str]
    detection: ClassVar[str]
    needs_power_cycle: ClassVar[bool] = False  # only on backends that can power a node back on
    # Why nothing may recover before the heal (a fence that cannot succeed): such a fault has no
    # budget, and its outage ends with the heal.
    blocks_recovery: ClassVar[str] = ""

    @abstractmethod
    def describe(self, stack: Stack, node: str) -> str:
        """What is done, in the words of someone doing it by hand."""

    @abstractmethod
    def inject(self, backend: Backend, stack: Stack, node: str) -> None: ...

    @abstractmethod
    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        """Undo the fault; safe to call when it was only partly applied, or already healed."""

    def downtime_budget(self, timing: Timing, start_allowance_s: float) -> float | None:
        """The longest outage the running configuration allows; None when nothing detects it,
        or when nothing may recover before the heal."""
        if self.blocks_recovery:
            return None
        if self.detection == GRACEFUL:
            return start_allowance_s
        if self.detection == MEMBERSHIP:
            return timing.membership_loss_s + timing.fencing_s + start_allowance_s
        if timing.service_monitor_s is None:
            return None
        return timing.service_monitor_s + start_allowance_s
