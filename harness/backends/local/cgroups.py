"""Each node runs in a cgroup of its own: launched from it (or nspawn litters the roots), held
to its limits through it, and killed through it all at once (the kernel's cgroup.kill), which
is a real power cut.

The host mounts cgroups in the hybrid layout: the name=systemd v1 tree tracks processes for
systemd inside the node, the unified v2 tree gives cgroup.kill, and the memory, pids and cpu
controllers are v1 hierarchies of their own (bound there, they cannot be enabled in v2). The
node's cgroup exists in each; a limit is written where its controller lives (v2 names when
the controller is in the unified tree, v1 names otherwise).

Every command halab runs in a node gets a cgroup of its own inside the node's (`exec-*`):
it counts against the node's limits, and its timeout kills everything it started, daemons
that called setsid included. Node root cannot move a process out of it: the node's cgroup
belongs to host root.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from pathlib import Path
from typing import Iterator

from halab.errors import HalabError
from halab.plan import NodeLimits
from halab.wait import wait_until

ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = tuple(ROOT / name for name in ("systemd", "unified", "memory", "pids", "cpu"))
_exec_ids = itertools.count()


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


def create(lab: str, node: str, limits: NodeLimits) -> None:
    """Make the node's cgroups and write its limits (before anything runs in them)."""
    for path in node_cgroups(lab, node):
        path.mkdir(parents=True, exist_ok=True)
    memory = str(limits.memory_max_mib * 1024 * 1024)
    _limit(lab, node, "memory", ("memory.max", memory), ("memory.limit_in_bytes", memory))
    _limit(lab, node, "pids", ("pids.max", str(limits.tasks_max)), ("pids.max", str(limits.tasks_max)))
    # systemd's CPUWeight scale (default 100) in v2; v1's cpu.shares default is 1024.
    _limit(lab, node, "cpu", ("cpu.weight", str(limits.cpu_weight)), ("cpu.shares", str(limits.cpu_weight * 1024 // 100)))


def _limit(lab: str, node: str, controller: str, v2: tuple[str, str], v1: tuple[str, str]) -> None:
    unified = unified_root()
    if controller in (unified / "cgroup.controllers").read_text().split():
        for parent in (unified / "halab", unified / "halab" / lab):
            (parent / "cgroup.subtree_control").write_text(f"+{controller}")
        directory, (name, value) = unified / "halab" / lab / node, v2
    elif (ROOT / controller / "cgroup.procs").exists():
        directory, (name, value) = ROOT / controller / "halab" / lab / node, v1
    else:
        raise HalabError(f"the cgroup controller {controller} is not available: nodes could not be held to their limits",
                         fix=f"mount it (mount -t cgroup -o {controller} none {ROOT / controller}) or enable it in cgroup v2")
    (directory / name).write_text(value)


def enter(lab: str, node: str) -> None:
    """Move the calling process into the node's cgroups (called in the launcher before exec)."""
    for path in node_cgroups(lab, node):
        path.mkdir(parents=True, exist_ok=True)
        (path / "cgroup.procs").write_text(str(os.getpid()))


def exec_cgroups(lab: str, node: str) -> list[Path]:
    """Fresh cgroups, inside the node's, for one command."""
    name = f"exec-{os.getpid()}-{next(_exec_ids)}"
    paths = [path / name for path in node_cgroups(lab, node)]
    for path in paths:
        path.mkdir()
    return paths


def kill_exec(paths: list[Path], *, remove: bool = True) -> None:
    """Kill whatever is left of one command, then remove its cgroups."""
    unified = next((p for p in paths if p.is_relative_to(unified_root())), None)
    if unified is not None and unified.is_dir():
        _kill_tree(unified, timeout_s=10.0, what=f"the command's cgroup {unified}")
    for path in paths if remove else ():
        _rmdir(path)


def pids(lab: str, node: str) -> list[int]:
    """Every process of the node, at any depth of its v2 cgroup."""
    return list(_pids_under(unified_root() / "halab" / lab / node))


def _pids_under(top: Path) -> Iterator[int]:
    # systemd inside the node creates and removes sub-cgroups while we walk: a directory may
    # vanish between listing and reading, at any depth.
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            found = [int(p) for p in (directory / "cgroup.procs").read_text().split()]
            stack += [entry for entry in directory.iterdir() if entry.is_dir()]
        except OSError:
            continue
        yield from found


def kill(lab: str, node: str, *, timeout_s: float = 10.0) -> None:
    """SIGKILL the whole tree at once and wait, bounded, until it is gone."""
    top = unified_root() / "halab" / lab / node
    if top.is_dir():
        _kill_tree(top, timeout_s=timeout_s, what=f"node {node} of lab {lab}")


def _kill_tree(top: Path, *, timeout_s: float, what: str) -> None:
    (top / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + timeout_s
    while any(True for _ in _pids_under(top)):
        if time.monotonic() > deadline:
            raise HalabError(f"{what} still has processes {timeout_s:.0f} s after cgroup.kill")
        time.sleep(0.01)


def limits_hit(lab: str, node: str) -> list[str]:
    """Which of its limits the node has reached, in words. The kernel counts a refused fork or
    an OOM kill in the (sub-)cgroup of the process, which may be gone: the peaks stay."""
    hit = []
    for path in node_cgroups(lab, node):
        if (path / "memory.limit_in_bytes").exists() and _number(path / "memory.max_usage_in_bytes") >= _number(
            path / "memory.limit_in_bytes"
        ):
            hit.append(f"its memory limit ({_number(path / 'memory.limit_in_bytes') >> 20} MiB)")
        if (path / "memory.max").exists() and _counter(path / "memory.events", "max"):
            hit.append(f"its memory limit ({_number(path / 'memory.max') >> 20} MiB)")
        if (path / "pids.peak").exists() and _number(path / "pids.peak") >= _number(path / "pids.max"):
            hit.append(f"its task limit ({_number(path / 'pids.max')} processes and threads)")
    return hit


def _number(path: Path) -> int:
    text = path.read_text().strip()
    return int(text) if text.isdigit() else 1 << 62


def _counter(path: Path, key: str) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.split()[:1] == [key]), 0)


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

    wait_until(removed, bool, what=f"the cgroup {path} to be released", timeout_s=5.0, interval_s=0.02)
