"""Long steps (image build, boot, cluster formation) tell the person what they are waiting for,
in plain lines on stderr (a CI log reads them as a terminal does), as much as -q or -v asks.

The verbosity is HALAB_VERBOSITY (quiet, normal, verbose), read at each line: the CLI sets it
from -q/-v and halab.toml (halab.settings), and halab's own child processes inherit it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from halab.errors import HalabError


def _show(message: str) -> None:
    print(f"halab: {message}", file=sys.stderr, flush=True)


def say(message: str) -> None:
    """Progress: hidden by -q."""
    if os.environ.get("HALAB_VERBOSITY") != "quiet":
        _show(message)


def detail(message: str) -> None:
    """What only -v shows: the commands behind a step, every line of a long command."""
    if os.environ.get("HALAB_VERBOSITY") == "verbose":
        _show(message)


def announce(message: str) -> None:
    """Shown even with -q: what halab is about to break, on which lab and node."""
    _show(message)


def run_with_progress(
    argv: list[str], label: str, log: Path, *, heartbeat_s: float = 10.0, env: dict[str, str] | None = None
) -> None:
    """Run a long command, logging all its output and showing a line of progress now and then.

    On failure the last lines of output travel in the error, so nobody has to dig for the log.
    """
    say(f"{label} ...")
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=25)
    last_shown = started
    with log.open("a") as out, subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            tail.append(line.rstrip())
            now = time.monotonic()
            detail(f"  {label}: {line.rstrip()}")
            if now - last_shown >= heartbeat_s and os.environ.get("HALAB_VERBOSITY") != "verbose":
                say(f"  {label}: {now - started:.0f} s, {line.strip()[:100]}")
                last_shown = now
        status = proc.wait()
    if status != 0:
        raise HalabError(
            f"{label} failed (exit status {status}); full output in {log}",
            evidence="\n".join(tail),
            fix="check that Debian's mirror is reachable and the disk has 2 GB free, then retry",
        )
    say(f"{label}: done in {time.monotonic() - started:.0f} s")
