"""Every fault is written down before it is applied, and crossed out once healed: whatever
kills the harness, `halab heal` finds what is left to undo."""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from halab.errors import HalabError


@dataclass(frozen=True)
class JournalEntry:
    fault: str
    node: str
    applied_at: float  # wall clock, for people reading the journal

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.applied_at))
        return f"{self.fault} on {self.node} (applied at {when})"


class FaultJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[JournalEntry]:
        if not self.path.exists():
            return []
        try:
            return [JournalEntry(**raw) for raw in json.loads(self.path.read_text())]
        except (ValueError, TypeError) as error:
            raise HalabError(
                f"the fault journal {self.path} is damaged ({error})",
                fix="check the lab by hand (halab status), then delete the file",
            ) from None

    def record(self, fault: str, node: str) -> JournalEntry:
        """Write the entry durably before the fault is applied."""
        entry = JournalEntry(fault, node, time.time())
        with self._locked():
            self._write([*self.entries(), entry])
        return entry

    def clear(self, entry: JournalEntry) -> None:
        with self._locked():
            self._write([e for e in self.entries() if e != entry])

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The harness and the lab's virtual BMCs (another process) write the same journal."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, entries: list[JournalEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as out:
            json.dump([asdict(e) for e in entries], out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)
