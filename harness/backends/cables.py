"""What a backend remembers about a machine's power and cables between processes: one power or
cable change of a machine at a time (the lab's virtual BMCs are other processes, and halab's heal
may plug a cable while a fence power-cycles the node), and which cables are cut, so that a node
that is powered off and on boots into the same cut, as a real one plugged into a cut port does.

>>> with power_lock(directory, "node1"):
...     cut_marker(directory, "node1").touch()
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator


@contextmanager
def power_lock(directory: Path, machine: str) -> Iterator[None]:
    """Held while a machine is powered off or on or its cable is plugged back."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"power-{machine}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cut_marker(directory: Path, machine: str, on: str | None = None) -> Path:
    """`cut/<machine>` for every cable, `cut/<machine>.<network>` for one."""
    return directory / "cut" / (machine if on is None else f"{machine}.{on}")


def mark_cut(directory: Path, machine: str, on: str | None) -> None:
    marker = cut_marker(directory, machine, on)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def still_cut(directory: Path, machine: str, networks: Iterable[str]) -> list[str | None]:
    """Of None (every cable) and the machine's `networks`, those whose cut a boot must redo."""
    return [on for on in (None, *networks) if cut_marker(directory, machine, on).exists()]
