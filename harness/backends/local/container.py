"""A node as a systemd-nspawn system container: its own root (an overlay over the shared base
image), its own network namespace made by halab, systemd as PID 1.

The way in is nsenter into the namespaces of the node's PID 1: no SSH round trip, same
interface as every other backend (halab.command.Runner).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from halab.backends.local import cgroups
from halab.backends.local.host import host
from halab.command import DEFAULT_TIMEOUT_S, NODE_ENV, CommandResult, CommandTimeout
from halab.errors import HalabError
from halab.backends.netns import NETNS_DIR


class Container:
    """One node's container; `directory` holds upper/, work/ and root/ (the merged view)."""

    def __init__(self, lab: str, node: str, directory: Path, netns: str) -> None:
        self.lab, self.node, self.directory, self.netns = lab, node, directory, netns

    @property
    def root(self) -> Path:
        return self.directory / "root"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    def mount(self, base: Path) -> None:
        """Mount the node's writable layer over the base image (idempotent)."""
        for sub in ("upper", "work", "root"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        if os.path.ismount(self.root):
            return
        options = f"lowerdir={base},upperdir={self.directory / 'upper'},workdir={self.directory / 'work'}"
        host(["mount", "-t", "overlay", "overlay", "-o", options, str(self.root)])

    def unmount(self) -> None:
        if os.path.ismount(self.root):
            host(["umount", str(self.root)])

    def boot(self) -> None:
        """Start systemd in the container, detached from the harness (a lab outlives `halab up`)."""
        if self.init_pid() is not None:
            return
        argv = [
            "systemd-nspawn", "--quiet", "--boot", f"--directory={self.root}",
            f"--machine={self.lab}-{self.node}", f"--hostname={self.node}",
            "--register=no", "--keep-unit",
            # Given alone, the namespace path drops CAP_NET_ADMIN: IPaddr2 needs it.
            f"--network-namespace-path={NETNS_DIR / self.netns}", "--private-network",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
        ]
        launcher = [sys.executable, "-m", "halab.backends.local.launch", self.lab, self.node]
        with self.console_log.open("ab") as log:
            subprocess.Popen(
                [*launcher, *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd="/",
            )

    def init_pid(self) -> int | None:
        """The host PID of the node's systemd (PID 1 inside), or None when it is not running."""
        for pid in cgroups.pids(self.lab, self.node):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                    return pid
        return None

    def power_off(self) -> None:
        cgroups.kill(self.lab, self.node)

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        pid = self.init_pid()
        if pid is None:
            raise HalabError(
                f"node {self.node} is not running", fix=f"halab status, then halab up (see {self.console_log})"
            )
        full = ["nsenter", f"--target={pid}", "--all", "--", "/usr/bin/env", "-i", *NODE_ENV, *argv]
        started = time.monotonic()
        proc = subprocess.Popen(
            full, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
        )
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise CommandTimeout(
                f"on {self.node}: `{' '.join(argv)}` did not finish within {timeout:.0f} s",
                evidence=(out + err)[-2000:],
            ) from None
        return CommandResult(self.node, tuple(argv), proc.returncode, out, err, time.monotonic() - started)
