from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.faults import FaultJournal, applied, heal_journal
from halab.faults.base import Fault


class Recording(Fault):
    """A fault double that records what was done to which node."""

    name = "cut-link"
    detection = "membership"

    def __init__(self, log: list[str], fail_inject: bool = False) -> None:
        self.log, self.fail_inject = log, fail_inject

    def describe(self, stack, node):  # type: ignore[no-untyped-def]
        return f"recording on {node}"

    def inject(self, backend, stack, node):  # type: ignore[no-untyped-def]
        self.log.append(f"inject {node}")
        if self.fail_inject:
            raise RuntimeError("inject broke halfway")

    def heal(self, backend, stack, node):  # type: ignore[no-untyped-def]
        self.log.append(f"heal {node}")


def test_entry_is_written_before_inject_and_cleared_after_heal(tmp_path: Path) -> None:
    journal, log = FaultJournal(tmp_path / "faults.json"), []
    with applied(Recording(log), None, None, "node1", journal):  # type: ignore[arg-type]
        assert [e.node for e in journal.entries()] == ["node1"]
    assert log == ["inject node1", "heal node1"]
    assert journal.entries() == []


def test_ctrl_c_during_a_fault_still_heals(tmp_path: Path) -> None:
    journal, log = FaultJournal(tmp_path / "faults.json"), []
    with pytest.raises(KeyboardInterrupt):
        with applied(Recording(log), None, None, "node2", journal):  # type: ignore[arg-type]
            raise KeyboardInterrupt
    assert log[-1] == "heal node2" and journal.entries() == []


def test_a_half_applied_fault_is_healed(tmp_path: Path) -> None:
    journal, log = FaultJournal(tmp_path / "faults.json"), []
    with pytest.raises(RuntimeError):
        with applied(Recording(log, fail_inject=True), None, None, "node1", journal):  # type: ignore[arg-type]
            pass
    assert log == ["inject node1", "heal node1"]


def test_a_killed_harness_leaves_a_journal_that_heal_undoes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal, log = FaultJournal(tmp_path / "faults.json"), []
    journal.record("cut-link", "node1")  # the harness died here, fault applied
    monkeypatch.setattr("halab.faults.apply.fault_named", lambda name: Recording(log))
    assert FaultJournal(tmp_path / "faults.json").entries()[0].fault == "cut-link"
    healed = heal_journal(None, None, journal)  # type: ignore[arg-type]
    assert log == ["heal node1"] and len(healed) == 1 and journal.entries() == []


def test_a_damaged_journal_is_reported_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "faults.json").write_text("{not json")
    with pytest.raises(HalabError, match="damaged"):
        FaultJournal(tmp_path / "faults.json").entries()
