"""The cluster stacks a scenario stopped, journalled like the stop-stack fault: if halab dies
mid-scenario, `halab heal` (or the next run) starts them again."""

from __future__ import annotations

from dataclasses import dataclass, field

from halab.backends import Backend
from halab.faults import FaultJournal
from halab.stacks import Stack


@dataclass
class StoppedStacks:
    backend: Backend
    stack: Stack
    journal: FaultJournal
    nodes: list[str] = field(default_factory=list)

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def stop(self, node: str) -> None:
        self.journal.record("stop-stack", node)
        self.nodes.append(node)
        self.stack.stop(self.backend, node)

    def start(self, node: str) -> None:
        self.stack.start(self.backend, node)
        for entry in self.journal.entries():
            if entry.fault == "stop-stack" and entry.node == node:
                self.journal.clear(entry)
        if node in self.nodes:
            self.nodes.remove(node)

    def start_all(self) -> None:
        for node in list(self.nodes):
            self.start(node)
