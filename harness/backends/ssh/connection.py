"""One SSH connection per node (paramiko), opened on first use and again after a loss; commands
quoted once, run through `sudo -n` when the user is not root, with a timeout always.

>>> node = NodeConnection(inventory, inventory.nodes[0], known_hosts)
>>> node.run(["systemctl", "is-active", "pacemaker"]).stdout
'active\\n'
"""

from __future__ import annotations

import select
import shlex
import socket
import threading
import time
from pathlib import Path
from typing import Sequence

import paramiko

from harness.backends.netns import connect_in
from harness.backends.ssh.inventory import Inventory, NodeAccess
from harness.command import NODE_ENV, CommandResult, CommandTimeout
from harness.errors import HalabError

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


class NodeConnection:
    def __init__(self, inventory: Inventory, node: NodeAccess, known_hosts: Path) -> None:
        self.inventory, self.node, self.known_hosts = inventory, node, known_hosts
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"{self.inventory.user}@{self.node.address} port {self.node.port}"

    def run(self, argv: Sequence[str], *, timeout: float, stdin: str | None = None) -> CommandResult:
        return self.execute(command_line(argv, sudo=self.inventory.sudo), timeout=timeout, stdin=stdin, argv=argv)

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
            raise CommandTimeout(f"on {self.node.name}: `{shlex.join(shown)}` did not finish within {timeout:.0f} s",
                                 fix=f"is {self.node.address} still reachable? halab status") from None
        except (paramiko.SSHException, OSError) as error:
            self.close()
            raise HalabError(f"on {self.node.name}: the SSH connection to {self.target} broke ({error})",
                             fix="halab status shows whether the node answers") from None
        finally:
            channel.close()
        return CommandResult(self.node.name, shown, status, out.decode(errors="replace"),
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
        address, port, netns = str(self.node.address), self.node.port, self.inventory.netns
        try:
            if netns is not None:
                return connect_in(netns, address, port, timeout_s=CONNECT_TIMEOUT_S)
            return socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_S)
        except (HalabError, OSError) as error:
            raise HalabError(
                f"{self.node.name} is unreachable: nothing answers SSH at {address} port {port}"
                + (f" (from network namespace {netns})" if netns else ""),
                evidence=error.what if isinstance(error, HalabError) else str(error),
                fix="is the machine running, sshd started (systemctl status ssh), and the address and port "
                    "in the inventory right?",
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
                str(self.node.address), port=self.node.port, username=self.inventory.user,
                pkey=key, password=self.inventory.password, sock=sock, timeout=CONNECT_TIMEOUT_S,
                banner_timeout=CONNECT_TIMEOUT_S, auth_timeout=CONNECT_TIMEOUT_S,
                allow_agent=False, look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise HalabError(
                f"{self.node.name} ({self.node.address}) shows another host key than when the lab was connected",
                fix=f"if the machine was reinstalled, remove its line from {self.known_hosts}; otherwise find out who answers",
            ) from None
        except paramiko.AuthenticationException as error:
            client.close()
            way = f"key {self.inventory.key}" if self.inventory.key else "the password"
            raise HalabError(
                f"{self.node.name}: authentication refused for {self.target} with {way}",
                evidence=str(error),
                fix=f"install the public key in ~{self.inventory.user}/.ssh/authorized_keys on the node "
                    "(ssh-copy-id), or correct user:/key:/password: in the inventory",
            ) from None
        except (paramiko.SSHException, OSError) as error:
            client.close()
            raise HalabError(f"{self.node.name}: no SSH session with {self.target} ({error})",
                             fix="is it an SSH server that answers on that port?") from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_S)
        return client

    def _private_key(self) -> paramiko.PKey | None:
        if self.inventory.key is None:
            return None
        try:
            return paramiko.PKey.from_path(self.inventory.key)
        except paramiko.PasswordRequiredException:
            raise HalabError(f"the key {self.inventory.key} is protected by a passphrase",
                             fix="give halab a key of its own without one (ssh-keygen -N '')") from None
        except (paramiko.SSHException, OSError, ValueError) as error:
            raise HalabError(f"{self.inventory.key} is not a private key halab can read ({error})",
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
            raise HalabError(f"{self.node.name}: cannot open a session on {self.target} ({error})",
                             fix="halab status shows whether the node answers") from None

    def _session(self) -> paramiko.Channel:
        transport = self.connect().get_transport()
        if transport is None:
            raise paramiko.SSHException("not connected")
        return transport.open_session(timeout=CONNECT_TIMEOUT_S)


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
