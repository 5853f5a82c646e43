"""Stack-specific knowledge, one module per stack, behind halab.stacks.base.Stack."""

from __future__ import annotations

from halab.errors import HalabError
from halab.stacks.base import ClusterView, Stack, Timing

__all__ = ["ClusterView", "Stack", "Timing", "stack_for"]


def stack_for(name: str) -> Stack:
    if name == "pacemaker":
        from halab.stacks.pacemaker import PacemakerStack

        return PacemakerStack()
    if name == "heartbeat":
        from halab.stacks.heartbeat import HeartbeatStack

        return HeartbeatStack()
    raise HalabError(f"no stack called {name!r}", fix="the lab plan's stack must be pacemaker or heartbeat")
