"""One way to run a command on a node: arguments quoted once, one result type, a timeout always.

>>> result = backend.run("node1", ["systemctl", "is-active", "pacemaker"])
>>> result.succeeded, result.stdout
(True, 'active\\n')
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol, Sequence

from halab.errors import HalabError

DEFAULT_TIMEOUT_S = 60.0
# The environment of a command on a node, whatever the way in: as root at a console, no more.
NODE_ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "USER=root", "LOGNAME=root",
)
# The environment every command on a node starts from, whatever the way in: the same PATH
# (sbin included, where crm_mon and corosync-cmapctl live) and locale on every backend.
NODE_ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "USER=root", "LOGNAME=root",
)


@dataclass(frozen=True)
class CommandResult:
    node: str
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def succeeded(self) -> bool:
        return self.exit_status == 0

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)

    def check(self) -> "CommandResult":
        """Return self, or raise an error that shows the node, the command and its output."""
        if not self.succeeded:
            raise CommandFailed(self)
        return self


class CommandFailed(HalabError):
    def __init__(self, result: CommandResult) -> None:
        output = (result.stdout + result.stderr).strip()
        super().__init__(
            f"on {result.node}: `{result.command_line}` exited with status {result.exit_status}",
            evidence=output[-2000:],
        )
        self.result = result


class CommandTimeout(HalabError):
    pass


class Runner(Protocol):
    """What every backend offers to run commands on its nodes."""

    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult: ...


def shell(script: str) -> list[str]:
    """A shell script as an argv, for the few places (lab documents) that are shell by nature."""
    return ["/bin/sh", "-c", script]
