"""One SSH connection per node (paramiko), opened on first use and again after a loss; commands
quoted once, run through `sudo -n` when the user is not root, with a timeout always.

Shared by the backends that reach machines over SSH: a student's own (an inventory) and
Vagrant's VMs (`vagrant ssh-config`); each says where its `Login` comes from.

>>> node = NodeConnection(inventory.login(inventory.nodes[0]), known_hosts)
>>> node.run(["systemctl", "is-active", "pacemaker"]).stdout
'active\\n'
"""

from __future__ import annotations

import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import paramiko

from halab.backends.netns import connect_in
from halab.command import NODE_ENV, CommandResult, CommandTimeout
from halab.errors import HalabError, NotObserved

CONNECT_TIMEOUT_S = 8.0
KEEPALIVE_S = 5
_CHUNK = 65536
_POLL_S = 0.5


def command_line(argv: Sequence[str], *, sudo: bool) -> str:
    """The one string sent over SSH for `argv`: quoted once, from the same environment as on
    every backend, through `sudo -n` (never a password prompt) when the user is not root.

    >>> command_line(["cat", "/etc/ha.d/ha.cf"], sudo=True)
    "sudo -n -- /usr/bin/env -i 'PATH=...' ... cat /etc/ha.d/ha.cf"
    """
    return shlex.join([*(["sudo", "-n", "--"] if sudo else []), "/usr/bin/env", "-i", *NODE_ENV, *argv])


@dataclass(frozen=True)
class Login:
    """How to reach one machine and act as root there."""

    name: str
    address: str
    port: int
    user: str
    key: Path | None
    password: str | None = field(repr=False)
    sudo: bool
    netns: str | None  # the socket is made inside this network namespace
    source: str  # where these settings can be corrected, for the fixes halab suggests
    connect_timeout_s: float = CONNECT_TIMEOUT_S  # an emulated VM needs longer for its side of the handshake


class NodeConnection:
    def __init__(self, login: Login, known_hosts: Path) -> None:
        self.login, self.known_hosts = login, known_hosts
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"{self.login.user}@{self.login.address} port {self.login.port}"

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> CommandResult:
        return self.execute(command_line(argv, sudo=self.login.sudo), timeout=timeout, stdin=stdin, argv=argv)

    def execute(
        self, line: str, *, timeout: float, stdin: str | None = None, argv: Sequence[str] | None = None
    ) -> CommandResult:
        """Run a command line as the login user, as given; `argv` is what it stands for, in
        results and errors (default: the line itself)."""
        shown = tuple(argv) if argv is not None else (line,)
        started = time.monotonic()
        deadline = started + timeout
        channel = self._open_channel()
        try:
            channel.exec_command(line)
            if stdin is not None:
                channel.sendall(stdin.encode())
            channel.shutdown_write()
            out, err = _collect(channel, deadline)
            if not channel.status_event.wait(max(deadline - time.monotonic(), 0)):
                raise socket.timeout()
            status = channel.recv_exit_status()
        except (socket.timeout, TimeoutError):
            raise CommandTimeout(f"on {self.login.name}: `{shlex.join(shown)}` did not finish within {timeout:.0f} s",
                                 fix=f"is {self.login.address} still reachable? halab status") from None
        except (paramiko.SSHException, OSError) as error:
            self.close()
            raise NotObserved(f"on {self.login.name}: the SSH connection to {self.target} broke ({error})",
                             fix="halab status shows whether the node answers") from None
        finally:
            channel.close()
        return CommandResult(self.login.name, shown, status, out.decode(errors="replace"),
                             err.decode(errors="replace"), time.monotonic() - started)

    def connect(self) -> paramiko.SSHClient:
        """The node's client, connected and logged in; errors say which step failed and why."""
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if self._client is not None and transport is not None and transport.is_active():
                return self._client
            self.close()
            key = self._private_key()  # before any socket: a wrong key file is the teacher's, not the node's
            self._client = self._login(self._socket(), key)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _socket(self) -> socket.socket:
        address, port, netns = self.login.address, self.login.port, self.login.netns
        try:
            if netns is not None:
                return connect_in(netns, address, port, timeout_s=self.login.connect_timeout_s)
            return socket.create_connection((address, port), timeout=self.login.connect_timeout_s)
        except (HalabError, OSError) as error:
            raise HalabError(
                f"{self.login.name} is unreachable: nothing answers SSH at {address} port {port}"
                + (f" (from network namespace {netns})" if netns else ""),
                evidence=error.what if isinstance(error, HalabError) else str(error),
                fix="is the machine running, sshd started (systemctl status ssh), and the address and port "
                    f"in {self.login.source} right?",
            ) from None

    def _login(self, sock: socket.socket, key: paramiko.PKey | None) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        self.known_hosts.touch(mode=0o600)
        # Trust on first use, then hold the node to its key: the lab's own known_hosts, never the user's.
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(
                self.login.address, port=self.login.port, username=self.login.user,
                pkey=key, password=self.login.password, sock=sock, timeout=self.login.connect_timeout_s,
                banner_timeout=self.login.connect_timeout_s, auth_timeout=self.login.connect_timeout_s,
                allow_agent=False, look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise HalabError(
                f"{self.login.name} ({self.login.address}) shows another host key than when the lab was connected",
                fix=f"if the machine was reinstalled, remove its line from {self.known_hosts}; otherwise find out who answers",
            ) from None
        except paramiko.AuthenticationException as error:
            client.close()
            way = f"key {self.login.key}" if self.login.key else "the password"
            raise HalabError(
                f"{self.login.name}: authentication refused for {self.target} with {way}",
                evidence=str(error),
                fix=f"install the public key in ~{self.login.user}/.ssh/authorized_keys on the node "
                    f"(ssh-copy-id), or correct the user, key or password in {self.login.source}",
            ) from None
        except (paramiko.SSHException, OSError) as error:
            client.close()
            raise HalabError(f"{self.login.name}: no SSH session with {self.target} ({error})",
                             fix="is it an SSH server that answers on that port?") from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_S)
        return client

    def _private_key(self) -> paramiko.PKey | None:
        if self.login.key is None:
            return None
        try:
            return paramiko.PKey.from_path(self.login.key)
        except paramiko.PasswordRequiredException:
            raise HalabError(f"the key {self.login.key} is protected by a passphrase",
                             fix="give halab a key of its own without one (ssh-keygen -N '')") from None
        except (paramiko.SSHException, OSError, ValueError) as error:
            raise HalabError(f"{self.login.key} is not a private key halab can read ({error})",
                             fix="give the private key file, not the .pub") from None

    def _open_channel(self) -> paramiko.Channel:
        try:
            return self._session()
        except (paramiko.SSHException, OSError):
            self.close()  # found broken (the node rebooted, a link was cut): open it again, once
        try:
            return self._session()
        except (paramiko.SSHException, OSError) as error:
            self.close()
            raise NotObserved(f"{self.login.name}: cannot open a session on {self.target} ({error})",
                             fix="halab status shows whether the node answers") from None

    def _session(self) -> paramiko.Channel:
        transport = self.connect().get_transport()
        if transport is None:
            raise paramiko.SSHException("not connected")
        return transport.open_session(timeout=self.login.connect_timeout_s)


def _collect(channel: paramiko.Channel, deadline: float) -> tuple[bytes, bytes]:
    """Standard output and error until the command closes them, bounded by `deadline`."""
    out, err = bytearray(), bytearray()
    while True:
        while channel.recv_ready():
            out += channel.recv(_CHUNK)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(_CHUNK)
        if channel.eof_received and not channel.recv_ready() and not channel.recv_stderr_ready():
            return bytes(out), bytes(err)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        select.select([channel], [], [], min(remaining, _POLL_S))
