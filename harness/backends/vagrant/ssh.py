"""Commands on a VM over SSH (paramiko), with the connection details `vagrant ssh-config` gives,
as root through the vagrant user's passwordless sudo: the same `run` as every backend.

The socket is made inside the lab's network namespace when there is one (the management
network exists only there), so the harness itself stays in the root namespace.
"""

from __future__ import annotations

import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from typing import Sequence

import paramiko

from harness.backends.netns import connect_in
from harness.command import NODE_ENV, CommandResult, CommandTimeout
from harness.errors import HalabError

CONNECT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SSHTarget:
    machine: str
    hostname: str
    port: int
    user: str
    identity_file: str

    @classmethod
    def from_ssh_config(cls, text: str, machine: str) -> "SSHTarget":
        """The Host block `vagrant ssh-config` printed for `machine`."""
        config = paramiko.SSHConfig.from_text(text)
        if machine not in config.get_hostnames():
            raise HalabError(f"vagrant ssh-config says nothing about {machine}",
                             fix="halab status; `halab down` then `halab up` if the machine is missing")
        found = config.lookup(machine)
        return cls(machine, found["hostname"], int(found.get("port", 22)), found["user"], found["identityfile"][0])


def remote_command(argv: Sequence[str]) -> str:
    """The command line sent over SSH: as root, with a clean environment, arguments quoted once."""
    return shlex.join(["sudo", "-n", "--", "/usr/bin/env", "-i", *NODE_ENV, *argv])


class SSHMachine:
    """One machine's connection, opened on first use and again after the machine restarted."""

    def __init__(self, target: SSHTarget, netns: str | None) -> None:
        self.target, self.netns = target, netns
        self._transport: paramiko.Transport | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> CommandResult:
        started = time.monotonic()
        try:
            channel = self._connected().open_session(timeout=CONNECT_TIMEOUT_S)
        except (paramiko.SSHException, OSError) as error:
            self.close()
            raise HalabError(f"cannot open a session on {self.target.machine}: {error}",
                             fix="halab status shows whether the machine runs") from None
        with channel:
            channel.exec_command(remote_command(argv))
            if stdin is not None:
                channel.sendall(stdin.encode())
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = started + timeout
            while not (channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready()):
                if time.monotonic() > deadline:
                    raise CommandTimeout(
                        f"on {self.target.machine}: `{shlex.join(argv)}` did not finish within {timeout:.0f} s",
                        evidence=(out + err).decode(errors="replace")[-2000:],
                    )
                select.select([channel], [], [], 0.2)
                while channel.recv_ready():
                    out += channel.recv(65536)
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                if channel.closed and not channel.exit_status_ready():
                    break
            status = channel.recv_exit_status() if channel.exit_status_ready() else 255
        return CommandResult(self.target.machine, tuple(argv), status, out.decode(errors="replace"),
                             err.decode(errors="replace"), time.monotonic() - started)

    def _connected(self) -> paramiko.Transport:
        with self._lock:
            if self._transport is not None and self._transport.is_active():
                return self._transport
            target = self.target
            if self.netns:
                sock = connect_in(self.netns, target.hostname, target.port, timeout_s=CONNECT_TIMEOUT_S)
            else:
                sock = socket.create_connection((target.hostname, target.port), timeout=CONNECT_TIMEOUT_S)
            transport = paramiko.Transport(sock)
            try:
                transport.start_client(timeout=CONNECT_TIMEOUT_S)
                transport.auth_publickey(target.user, paramiko.PKey.from_path(target.identity_file))
            except (paramiko.SSHException, OSError) as error:
                transport.close()
                raise HalabError(f"SSH to {target.machine} ({target.hostname}:{target.port}) failed: {error}",
                                 fix="the machine may still be booting: halab status") from None
            transport.set_keepalive(5)
            self._transport = transport
            return transport
