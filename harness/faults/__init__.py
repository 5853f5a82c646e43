"""Faults: what halab does to a cluster, journaled so that it is always undone."""

from harness.faults.base import Fault
from harness.faults.catalog import FAULTS, fault_named
from harness.faults.journal import FaultJournal, JournalEntry
from harness.faults.apply import applied, heal_journal

__all__ = ["FAULTS", "Fault", "FaultJournal", "JournalEntry", "applied", "fault_named", "heal_journal"]
