"""Long steps (image build, boot, cluster formation) tell the person what they are waiting for."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from halab.errors import HalabError


def say(message: str) -> None:
    print(f"halab: {message}", file=sys.stderr, flush=True)


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
            if now - last_shown >= heartbeat_s:
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
