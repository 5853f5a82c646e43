"""One SIGINT or SIGTERM stops halab promptly: the commands and waits in flight, in every
thread, give up at once (KeyboardInterrupt), then the usual `finally` blocks heal the faults and
remove what bring-up made, with commands that run normally. A second signal exits at once,
leaving the fault journal for `halab heal`.

Python runs signal handlers in the main thread only; other threads notice through the count
of signals, which they compare with the count when their command or wait began.
"""

from __future__ import annotations

import os
import signal
import time

_signals = 0
SECOND_SIGNAL_EXIT = 130


def install() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handle)


def _handle(signum: int, frame: object) -> None:
    global _signals
    _signals += 1
    if _signals > 1:
        os.write(2, b"halab: stopped at once (second signal): faults may still be applied; "
                    b"`halab heal` heals them, `halab down --name LAB` removes a lab\n")
        os._exit(SECOND_SIGNAL_EXIT)
    os.write(2, b"halab: stopping (healing faults and removing what was made; a second signal exits at once)\n")
    raise KeyboardInterrupt


def generation() -> int:
    """How many stop signals have come so far: a command or wait started now remembers it."""
    return _signals


def check(since: int) -> None:
    """Raise KeyboardInterrupt in any thread if a stop signal came after `since`."""
    if _signals != since:
        raise KeyboardInterrupt


def sleep(seconds: float, since: int) -> None:
    """time.sleep that a stop signal ends within 0.1 s, in any thread."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        check(since)
        time.sleep(min(left, 0.1))
    check(since)
