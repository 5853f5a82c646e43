"""Each node runs in a cgroup of its own: launched from it (or nspawn litters the roots), and
killed through it all at once (the kernel's cgroup.kill), which is a real power cut.

The host mounts cgroups in the hybrid layout: the name=systemd v1 tree tracks processes for
systemd inside the node, the unified v2 tree gives cgroup.kill.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from halab.errors import HalabError
from halab.wait import wait_until

ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = (ROOT / "systemd", ROOT / "unified")


def unified_root() -> Path:
    """The v2 tree: mounted at /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup itself."""
    return ROOT / "unified" if (ROOT / "unified" / "cgroup.procs").exists() else ROOT


def node_cgroups(lab: str, node: str) -> list[Path]:
    roots = [h for h in HIERARCHIES if (h / "cgroup.procs").exists()] or [ROOT]
    return [root / "halab" / lab / node for root in roots]


def require_cgroups() -> None:
    if not (unified_root() / "cgroup.procs").exists():
        raise HalabError(
            "no cgroup v2 hierarchy is mounted (needed to power nodes off)",
            fix="mount -t cgroup2 none /sys/fs/cgroup/unified",
        )


def enter(lab: str, node: str) -> None:
    """Move the calling process into the node's cgroups (called in the launcher before exec)."""
    for path in node_cgroups(lab, node):
        path.mkdir(parents=True, exist_ok=True)
        (path / "cgroup.procs").write_text(str(os.getpid()))


def pids(lab: str, node: str) -> list[int]:
    """Every process of the node, at any depth of its v2 cgroup."""
    top = unified_root() / "halab" / lab / node
    found: list[int] = []
    # systemd inside the node creates and removes sub-cgroups while we walk: a directory may
    # vanish between listing and reading, at any depth.
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            found += [int(p) for p in (directory / "cgroup.procs").read_text().split()]
            stack += [entry for entry in directory.iterdir() if entry.is_dir()]
        except OSError:
            continue
    return found


def kill(lab: str, node: str, *, timeout_s: float = 10.0) -> None:
    """SIGKILL the whole tree at once and wait, bounded, until it is gone."""
    top = unified_root() / "halab" / lab / node
    if not top.is_dir():
        return
    (top / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + timeout_s
    while pids(lab, node):
        if time.monotonic() > deadline:
            raise HalabError(f"node {node} of lab {lab} still has processes {timeout_s:.0f} s after cgroup.kill")
        time.sleep(0.05)


def remove(lab: str, node: str) -> None:
    """Remove the node's (now empty) cgroups, deepest first, then the lab's own if empty."""
    for path in node_cgroups(lab, node):
        if path.is_dir():
            for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                _rmdir(sub)
            _rmdir(path)
        for parent in (path.parent, path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break


def _rmdir(path: Path) -> None:
    """A cgroup whose last process has just exited can stay busy (EBUSY) for a moment: retry, bounded."""

    def removed() -> bool:
        try:
            path.rmdir()
        except FileNotFoundError:
            return True
        except OSError as error:
            if error.errno != errno.EBUSY:
                raise
            return False
        return True

    wait_until(removed, bool, what=f"the cgroup {path} to be released", timeout_s=5.0, interval_s=0.1)
