"""A node as a systemd-nspawn system container, confined so that node root is not host root.

    lower/   the shared base image, bind-mounted idmapped: its root-owned files belong to the
             node's own range of host uids (harness.backends.local.idmap)
    layer/   a tmpfs of the plan's `writable_mib` (counted in the node's memory too): upper/
             and work/ of the overlay, so a node cannot fill the host's disk
    root/    the overlay of both: the node's file system

nspawn runs the node in a user namespace of its own (`--private-users=SHIFT:65536`, ownership
already right, so no chown), a PID, mount, UTS, IPC and cgroup namespace, and a network
namespace it makes itself, so that the node's root holds CAP_NET_ADMIN there (IPaddr2 needs
it) and nowhere else: a network namespace made by the host would belong to the host's user
namespace, where node root has no capability at all. halab names that namespace and cables it
once nspawn has made it; until the cable (its interface, named as the plan says) is in, the
node's PID 1 is a small wait in the node's own shell, which then execs systemd. The node
addresses it itself, from /etc/network/interfaces, as a Debian VM does.

Inside, root has the capabilities of nspawn's bounding set in its own user namespace only:
the host's clock, kernel log, sysctls (/proc/sys is read-only, a fresh proc mount shows them
read-only as well), modules and devices (no mknod of block devices, the device cgroup) are out
of reach, and the cgroup trees are the node's own subtree.

The way in is harness.backends.local.enter: the node's cgroups (a fresh one per command), then
its namespaces, user namespace first, then its bounding set, then the command: a command halab
runs is a process of the node like any other, and its timeout kills all it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from halab.backends.local import cgroups, idmap
from halab.backends.local.host import host
from halab.command import DEFAULT_TIMEOUT_S, NODE_ENV, CommandResult, CommandTimeout, communicate
from halab.errors import HalabError

ENTER = Path(__file__).with_name("enter.py")


def wait_for_cable(interfaces: Sequence[str]) -> str:
    """PID 1 until the host has cabled every interface of the node: bounded (2000 tries of at
    least 5 ms), then systemd, whose networking.service (ifupdown) addresses them as on a VM."""
    cabled = " && ".join(f"grep -q '^ *{interface}:' /proc/net/dev" for interface in interfaces)
    return f"n=0; until {{ {cabled}; }} || [ $n -ge 2000 ]; do sleep 0.005; n=$((n+1)); done; exec /sbin/init"


def host_namespaces(kind: str) -> set[str]:
    """The host's namespaces of a kind: the harness's own, and PID 1's where it may be read
    (a sandbox's PID 1 may hide its own)."""
    found = set()
    for pid in ("self", "1"):
        try:
            found.add(os.readlink(f"/proc/{pid}/ns/{kind}"))
        except OSError:
            continue
    return found


class Container:
    """One node's container; `directory` holds lower/, layer/, root/ and console.log."""

    def __init__(self, lab: str, node: str, directory: Path) -> None:
        self.lab, self.node, self.directory = lab, node, directory

    @property
    def root(self) -> Path:
        return self.directory / "root"

    @property
    def upper(self) -> Path:
        return self.directory / "layer" / "upper"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    @property
    def uid_shift(self) -> int:
        """The first host uid of the node's range (its root), kept while the node exists."""
        return idmap.claim_range(self.directory)

    def mount(self, base: Path, writable_mib: int) -> None:
        """Mount the node's layers and its root (idempotent: a node powered on again finds its files)."""
        lower, layer = self.directory / "lower", self.directory / "layer"
        for path in (lower, layer, self.root):
            path.mkdir(parents=True, exist_ok=True)
        shift = self.uid_shift
        if not idmap.mounts_under(lower):
            idmap.mount_idmapped(base, lower, shift)
        if not idmap.mounts_under(layer):
            host(["mount", "-t", "tmpfs", "-o", f"size={writable_mib}m,mode=0700", f"halab-{self.lab}-{self.node}", str(layer)])
            for sub in ("upper", "work"):
                (layer / sub).mkdir()
            os.chown(self.upper, shift, shift)
            self.upper.chmod(0o755)
        if not idmap.mounts_under(self.root):
            options = f"lowerdir={lower},upperdir={self.upper},workdir={layer / 'work'}"
            host(["mount", "-t", "overlay", "overlay", "-o", options, str(self.root)])

    def layer_full(self) -> list[str]:
        """The writable layer in words when the node has filled it (less than 1 MiB or 2 % left):
        its writes then fail with "No space left on device", which explains a broken node."""
        layer = self.directory / "layer"
        if not os.path.ismount(layer):  # a tmpfs: its own file system
            return []
        stats = os.statvfs(layer)
        size, free = stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
        return [f"its writable layer's size ({size >> 20} MiB: the disk is full)"] if free < max(1 << 20, size // 50) else []

    def unmount(self) -> None:
        """Unmount everything below the node's directory, deepest first; refuse to go on if
        anything stays mounted (removing the directory would then reach into the mount)."""
        for path in sorted(idmap.mounts_under(self.directory), key=lambda p: len(p.parts), reverse=True):
            host(["umount", str(path)])
        left = idmap.mounts_under(self.directory)
        if left:
            raise HalabError(f"node {self.node} still has {', '.join(map(str, left))} mounted",
                             fix=f"umount them by hand, then halab down --name {self.lab} again")
        idmap.release_range(self.directory)

    def boot(self, interfaces: Sequence[str], network_namespace: Path | None = None) -> None:
        """Start the node, detached from the harness (a lab outlives `halab up`).

        `network_namespace`: a namespace the host made and cabled (the router's), where nspawn is
        started (launch.py) and, with no network option, leaves the node, instead of one nspawn
        makes: it belongs to the host's user namespace, so node root holds no capability there
        and the lab's routing and addresses stay the host's to set."""
        if self.init_pid() is not None:
            return
        network = [] if network_namespace else ["--private-network"]
        argv = [
            "systemd-nspawn", "--quiet", f"--directory={self.root}",
            f"--machine={self.lab}-{self.node}", f"--hostname={self.node}",
            "--register=no", "--keep-unit",
            f"--private-users={self.uid_shift}:{idmap.RANGE}", "--private-users-ownership=off",
            *network,
            "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
            "--", "/bin/sh", "-c", wait_for_cable(interfaces),
        ]
        launcher = [sys.executable, "-m", "halab.backends.local.launch", self.lab, self.node,
                    *([f"--netns={network_namespace}"] if network_namespace else [])]
        with self.console_log.open("ab") as log:
            subprocess.Popen(
                [*launcher, *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd="/",
            )

    def init_pid(self) -> int | None:
        """The host PID of the node's PID 1, or None when it is not running."""
        for pid in cgroups.pids(self.lab, self.node):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                    return pid
        return None

    def confined_pid(self) -> int | None:
        """The node's PID 1 once it is inside the namespaces nspawn makes for it: for a moment
        after it appears it still shares the host's network and user namespaces, and cabling
        that namespace would give the host a lab address."""
        pid = self.init_pid()
        if pid is None:
            return None
        try:
            for kind in ("net", "user"):
                if os.readlink(f"/proc/{pid}/ns/{kind}") in host_namespaces(kind):
                    return None
        except OSError:
            return None
        return pid

    def power_off(self) -> None:
        cgroups.kill(self.lab, self.node)

    def _running_pid(self) -> int:
        pid = self.init_pid()
        if pid is None:
            raise HalabError(
                f"node {self.node} is not running", fix=f"halab status, then halab up (see {self.console_log})"
            )
        return pid

    @staticmethod
    def _entry(pid: int, own: Sequence[Path], env: Sequence[str], argv: Sequence[str]) -> list[str]:
        """The way in (enter.py) for one command, in its fresh cgroups `own`."""
        return [sys.executable, "-I", "-S", str(ENTER), str(pid), *map(str, own), "--", *env, "--", *argv]

    def interactive(self, argv: Sequence[str]) -> int:
        """A person's terminal in the node (`halab shell`), confined like every other command;
        what it started goes with it."""
        pid = self._running_pid()
        own = cgroups.exec_cgroups(self.lab, self.node)
        terminal = (f"TERM={os.environ.get('TERM', 'xterm')}",)  # after NODE_ENV's TERM=dumb: this one wins
        try:
            return subprocess.run(self._entry(pid, own, (*NODE_ENV, *terminal), argv), check=False).returncode
        finally:
            cgroups.kill_exec(own)

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        pid = self._running_pid()
        started = time.monotonic()
        own = cgroups.exec_cgroups(self.lab, self.node)
        try:
            proc = subprocess.Popen(
                self._entry(pid, own, NODE_ENV, argv),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
            out, err, timed_out = communicate(
                proc, stdin.encode() if stdin is not None else None, timeout, lambda: cgroups.kill_exec(own, remove=False)
            )
            proc.wait(5.0)
        finally:
            cgroups.kill_exec(own)
        if timed_out:
            raise CommandTimeout(
                f"on {self.node}: `{' '.join(argv)}` did not finish within {timeout:.0f} s "
                "(it was stopped, with everything it started)",
                evidence=(out + err)[-2000:],
            )
        return CommandResult(self.node, tuple(argv), proc.returncode, out, err, time.monotonic() - started)
