"""Faults: what halab does to a cluster, journaled so that it is always undone."""

from halab.faults.base import Fault
from halab.faults.catalog import FAULTS, fault_named
from halab.faults.journal import FaultJournal, JournalEntry
from halab.faults.apply import applied, heal_journal

__all__ = ["FAULTS", "Fault", "FaultJournal", "JournalEntry", "applied", "fault_named", "heal_journal"]
