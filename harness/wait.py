"""The one way to wait for a condition: bounded in time and in tries, with the last observation
in the error so the person sees what the harness saw when it gave up."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from halab import interrupt
from halab.errors import HalabError

T = TypeVar("T")


class WaitTimeout(HalabError):
    """The awaited condition never held: what the cluster did (or did not do), not a harness fault."""


def wait_until(
    observe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    what: str,
    timeout_s: float,
    interval_s: float = 0.5,
    fix: str = "",
) -> T:
    """Call `observe` until `accept` holds for its result; return that result.

    Gives up after `timeout_s` (and at most timeout_s / interval_s + 1 tries), raising an error
    that names `what` was awaited and shows the last observation.
    """
    since = interrupt.generation()
    deadline = time.monotonic() + timeout_s
    tries = int(timeout_s / interval_s) + 1
    last: object = "nothing observed"
    for _ in range(tries):
        try:
            value = observe()
        except HalabError as error:
            last = error
        else:
            if accept(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            break
        interrupt.sleep(interval_s, since)
    raise WaitTimeout(f"gave up after {timeout_s:.0f} s waiting for {what}", evidence=f"last seen: {last}", fix=fix)


def time_left(started: float, timeout_s: float) -> float:
    """What is left of a deadline of `timeout_s` from `started` (monotonic), never below zero:
    wait_until still takes one look when nothing is left."""
    return max(timeout_s - (time.monotonic() - started), 0.0)
