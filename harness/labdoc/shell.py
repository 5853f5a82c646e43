"""How a shell step runs on one node, in each of its forms: as a script that stops at its first
failure, pasted line by line, interrupted after a while, or rebooting its node. Every form ends
in one CommandResult and a note for the console; only the backend's command channel is used,
so every backend can run every form."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from halab.backends import Backend
from halab.command import CommandResult, CommandTimeout
from halab.errors import HalabError
from halab.labdoc.parser import Step
from halab.wait import time_left, wait_until

SCRIPT = ("/bin/bash", "-e", "-o", "pipefail", "-c")
# A person's shell: no -e, no pipefail; the ERR trap names each failing line by its line in the
# document (the trap itself is the script's line 1).
PASTE_TRAP = "trap 's=$?; echo \"[halab] line $((LINENO + {offset})) failed with exit status $s\" >&2' ERR"
PASTE_FAILURE = re.compile(r"^\[halab\] line (\d+) failed with exit status (\d+)$", re.MULTILINE)
# timeout(1)'s status when the time ran out: the command was still running when interrupted.
STILL_RUNNING = 124
KILL_AFTER_S = 5  # a command that ignores Ctrl-C is killed this long after it
BOOTED = ("running", "degraded")
BOOT_STATE = "cat /proc/sys/kernel/random/boot_id; systemctl is-system-running || true"


@dataclass(frozen=True)
class Ran:
    result: CommandResult
    passed: bool
    note: str = ""  # what the console says besides ok/FAILED


def run_shell_step(step: Step, node: str, backend: Backend) -> Ran:
    if step.reboot:
        return _reboot(step, node, backend)
    if step.interrupt_s is not None:
        return _interrupted(step, node, backend, step.interrupt_s)
    if step.paste:
        return _pasted(step, node, backend)
    result = _run(backend, node, (*SCRIPT, step.body), step.timeout_s, step.stdin)
    if step.fails is None:
        return Ran(result, result.succeeded)
    return Ran(result, not result.succeeded and step.fails in result.stdout + result.stderr)


def _run(backend: Backend, node: str, argv: tuple[str, ...], timeout: float, stdin: str | None) -> CommandResult:
    try:
        return backend.run(node, argv, timeout=timeout, stdin=stdin)
    except CommandTimeout as timeout_error:  # the document's failure like any other: 124, as timeout(1) says
        # Its message repeats the command: only what the command printed may suggest a cause.
        output = f"{timeout_error.evidence}\n" if timeout_error.evidence else ""
        scale = backend.time_scale
        stretched = f" ({timeout * scale:g} s on these slower machines: x{scale:g})" if scale != 1 else ""
        return CommandResult(node, argv, 124, "", f"{output}[halab] did not finish within {timeout:g} s{stretched}: "
                             "stopped, with everything it started\n", timeout)


def _pasted(step: Step, node: str, backend: Backend) -> Ran:
    script = PASTE_TRAP.format(offset=step.line - 1) + "\n" + step.body
    result = _run(backend, node, ("/bin/bash", "-c", script), step.timeout_s, step.stdin)
    failed = PASTE_FAILURE.findall(result.stderr)
    if result.exit_status == 124 and not failed:
        return Ran(result, False)  # the paste never finished: a timeout is no line's failure
    lines = ", ".join(f"line {line} (status {status})" for line, status in failed)
    return Ran(result, True, f"pasted as is; {lines} failed, and the paste went on" if failed else "")


def _interrupted(step: Step, node: str, backend: Backend, seconds: float) -> Ran:
    argv = ("timeout", "-s", "INT", "-k", str(KILL_AFTER_S), f"{seconds:g}", *SCRIPT, step.body)
    result = _run(backend, node, argv, seconds + KILL_AFTER_S + 10, step.stdin)
    if result.exit_status == STILL_RUNNING:
        return Ran(result, True, f"still running after {seconds:g} s: interrupted (Ctrl-C), as a person would")
    return Ran(result, result.succeeded, "" if not result.succeeded else "ended by itself before the interrupt")


def _reboot(step: Step, node: str, backend: Backend) -> Ran:
    """The script's own status is not judged (the node may go down under it): the node must come
    back with a new boot id and finish booting, all within the step's timeout."""
    started = time.monotonic()
    try:
        before = _boot(backend, node)
    except HalabError as error:
        return Ran(CommandResult(node, ("reboot",), 1, "", f"before the reboot: {error}\n", 0.0), False)
    result = _run(backend, node, (*SCRIPT, step.body), step.timeout_s, step.stdin)
    try:
        wait_until(lambda: _boot(backend, node), lambda boot: boot.id != before.id and boot.state in BOOTED,
                   what=f"{node} to come back from its reboot (boot id {before.id} before)",
                   timeout_s=time_left(started, step.timeout_s), interval_s=min(1.0, step.timeout_s))
    except HalabError as error:
        output = f"{result.stdout}{result.stderr}{error}\n"
        return Ran(CommandResult(node, result.argv, 1, "", output, time.monotonic() - started), False)
    back = f"{node} rebooted and was back {time.monotonic() - started:.1f} s after the step started"
    return Ran(CommandResult(node, result.argv, 0, result.stdout, result.stderr, time.monotonic() - started), True, back)


@dataclass(frozen=True)
class Boot:
    id: str
    state: str  # systemctl is-system-running: starting, running, degraded...

    def __str__(self) -> str:
        return f"boot id {self.id}, systemd {self.state}"


def _boot(backend: Backend, node: str) -> Boot:
    """Raises HalabError while the node cannot be reached."""
    result = backend.run(node, ("/bin/sh", "-c", BOOT_STATE), timeout=10)
    lines = result.stdout.split()
    if not result.succeeded or len(lines) < 2:
        raise HalabError(f"{node} does not answer", evidence=(result.stdout + result.stderr).strip())
    return Boot(lines[0], lines[1])
