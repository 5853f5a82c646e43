"""One way to run a command on a node: arguments quoted once, one result type, a timeout always.

>>> result = backend.run("node1", ["systemctl", "is-active", "pacemaker"])
>>> result.succeeded, result.stdout
(True, 'active\\n')
"""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from halab import interrupt
from halab.errors import HalabError, NotObserved

DEFAULT_TIMEOUT_S = 60.0
# What halab keeps of one stream of a command's output: a step printing without end must not
# fill the grader's memory. Collected facts and archives are far smaller.
MAX_OUTPUT_BYTES = 16 * 2**20
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


class OutputBuffer:
    """One output stream, kept up to `limit` bytes: its head and its tail, and a line in the
    middle saying how much was dropped.

    >>> buffer = OutputBuffer(limit=8); buffer.add(b"0123456789abcdef"); buffer.text()
    '0123\\n[... 8 bytes of output dropped ...]\\ncdef'
    """

    def __init__(self, limit: int = MAX_OUTPUT_BYTES) -> None:
        self.half = limit // 2
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        room = self.half - len(self.head)
        self.head += data[:room]
        self.tail += data[room:] if room > 0 else data
        if len(self.tail) > 2 * self.half:  # trimmed now and then, not at every read
            self._trim()

    def _trim(self) -> None:
        excess = len(self.tail) - self.half
        if excess > 0:
            self.dropped += excess
            del self.tail[:excess]

    def text(self) -> str:
        self._trim()
        middle = f"\n[... {self.dropped} bytes of output dropped ...]\n".encode() if self.dropped else b""
        return bytes(self.head + middle + self.tail).decode(errors="replace")


def communicate(
    proc: subprocess.Popen[bytes], stdin: bytes | None, timeout: float, stop: Callable[[], None]
) -> tuple[str, str, bool]:
    """Feed `stdin`, collect stdout and stderr (capped), and return (out, err, timed_out) once
    the process has exited, never much later than `timeout`.

    `stop` must kill everything the command started: it is called at the timeout, or as soon
    as the process has exited while something it left behind still holds its output open (a
    daemon started with setsid), so that neither can keep the caller waiting. A stop signal
    (harness.interrupt) stops it too, and raises KeyboardInterrupt in whichever thread."""
    since = interrupt.generation()
    deadline = time.monotonic() + timeout
    buffers = {proc.stdout: OutputBuffer(), proc.stderr: OutputBuffer()}
    pending = memoryview(stdin or b"")
    stopped = timed_out = False

    def halt(now: float) -> None:
        nonlocal stopped, timed_out, deadline
        timed_out = proc.poll() is None
        stop()
        stopped, deadline = True, now + 5.0  # what is left: the last bytes of dead writers

    with selectors.DefaultSelector() as selector:
        for stream in buffers:
            selector.register(stream, selectors.EVENT_READ)
        if proc.stdin is not None:
            os.set_blocking(proc.stdin.fileno(), False)
            selector.register(proc.stdin, selectors.EVENT_WRITE)
        while any(key.fileobj in buffers for key in selector.get_map().values()):
            now = time.monotonic()
            if not stopped and interrupt.generation() != since:
                halt(now)
                interrupt.check(since)
            if not stopped and (now >= deadline or proc.poll() is not None):
                halt(now)
            elif stopped and now >= deadline:
                break
            for key, _ in selector.select(timeout=max(0.0, min(deadline - now, 0.05))):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(proc.stdin.fileno(), pending[:65536]):]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                data = os.read(key.fd, 65536)
                if data:
                    buffers[key.fileobj].add(data)  # type: ignore[index]
                else:
                    selector.unregister(key.fileobj)
    if not stopped:  # the output closed, the process may still run
        try:
            proc.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            halt(time.monotonic())
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    return buffers[proc.stdout].text(), buffers[proc.stderr].text(), timed_out  # type: ignore[index]


class CommandFailed(HalabError):
    def __init__(self, result: CommandResult) -> None:
        output = (result.stdout + result.stderr).strip()
        super().__init__(
            f"on {result.node}: `{result.command_line}` exited with status {result.exit_status}",
            evidence=output[-2000:],
        )
        self.result = result


class CommandTimeout(NotObserved):
    """A command on a node did not finish in time: what the node did is unknown."""


class Runner(Protocol):
    """What every backend offers to run commands on its nodes."""

    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult: ...


def shell(script: str) -> list[str]:
    """A shell script as an argv, for the few places (lab documents) that are shell by nature."""
    return ["/bin/sh", "-c", script]
