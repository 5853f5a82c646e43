"""Apply a fault so that it is always healed: journaled first, healed on normal exit, on an
exception and on Ctrl-C; what a killed harness left behind, `heal_journal` undoes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from halab.backends import Backend
from halab.faults.catalog import fault_named
from halab.faults.base import Fault
from halab.faults.journal import FaultJournal
from halab.progress import say
from halab.stacks import Stack


@contextmanager
def applied(fault: Fault, backend: Backend, stack: Stack, node: str, journal: FaultJournal) -> Iterator[None]:
    entry = journal.record(fault.name, node)
    try:
        fault.inject(backend, stack, node)
        yield
    finally:
        fault.heal(backend, stack, node)
        journal.clear(entry)


def heal_journal(backend: Backend, stack: Stack, journal: FaultJournal) -> list[str]:
    """Heal every fault still in the journal, newest first; return what was healed."""
    healed = []
    for entry in reversed(journal.entries()):
        say(f"healing {entry.describe()}")
        fault_named(entry.fault).heal(backend, stack, entry.node)
        journal.clear(entry)
        healed.append(entry.describe())
    return healed
