"""What each expect sentence looks at, and whether it holds: one observation, judged, with the
evidence shown when the sentence is not met. The facts come from an Observer, so the runner
is tested without a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from halab.command import CommandResult
from halab.errors import HalabError
from halab.labdoc.sentences import Expectation
from halab.wait import wait_until

COMMAND_TIMEOUT_S = 30.0
LOOK_EVERY_S = 1.0


@dataclass(frozen=True)
class Membership:
    """The cluster's word on its nodes and resources, as expect sentences need it."""

    states: tuple[tuple[str, str], ...]  # (node, "online" | "offline" | "standby"), every node of the cluster
    placement: tuple[tuple[str, tuple[str, ...]], ...]  # (resource or group id, nodes where it is active)

    def state(self, node: str) -> str:
        return dict(self.states).get(node, "offline")

    def where(self, resource: str) -> tuple[str, ...] | None:
        """The nodes running `resource`, or None when the cluster has no such resource."""
        found = dict(self.placement)
        return found.get(resource)

    def __str__(self) -> str:
        nodes = ", ".join(f"{node} {state}" for node, state in self.states) or "no nodes"
        resources = "; ".join(f"{r} on {','.join(n) or 'no node'}" for r, n in self.placement) or "no resources"
        return f"{nodes}; {resources}"


class Observer(Protocol):
    """What expect blocks look at, from where a client stands and through the cluster's stack."""

    def vip_page(self) -> str:
        """The page the VIP serves; raises HalabError when it does not answer."""
        ...

    def online_nodes(self) -> tuple[str, ...]: ...

    def membership(self) -> Membership:
        """Raises HalabError when the stack cannot tell (no node answers, or it has no resources)."""
        ...

    def run(self, node: str, script: str, timeout: float) -> CommandResult: ...


@dataclass(frozen=True)
class Seen:
    """One look: whether the sentence held, and what was seen (the evidence when it never does)."""

    holds: bool
    what: str

    def __str__(self) -> str:
        return self.what


def check(expectation: Expectation, observer: Observer, timeout_s: float) -> str:
    """What was seen once `expectation` held; raises WaitTimeout with the last observation if it
    did not within `timeout_s`."""
    seen = wait_until(lambda: observe(expectation, observer), lambda got: got.holds,
                      what=expectation.sentence, timeout_s=timeout_s, interval_s=min(LOOK_EVERY_S, timeout_s) or LOOK_EVERY_S)
    return seen.what


def observe(expectation: Expectation, observer: Observer) -> Seen:
    return Seen(*_OBSERVERS[expectation.kind](expectation, observer))


def _vip_serves(e: Expectation, observer: Observer) -> tuple[bool, str]:
    page = observer.vip_page()
    return e.text in page, f"the page: {page.strip()[:200]}"


def _vip_silent(e: Expectation, observer: Observer) -> tuple[bool, str]:
    try:
        page = observer.vip_page()
    except HalabError as error:
        return True, f"no answer: {error.evidence or error.what}"
    return False, f"the VIP answered: {page.strip()[:200]}"


def _online(e: Expectation, observer: Observer) -> tuple[bool, str]:
    online = observer.online_nodes()
    return set(e.nodes) <= set(online), f"online: {', '.join(online) or 'none'}"


def _node_state(e: Expectation, observer: Observer) -> tuple[bool, str]:
    members = observer.membership()
    return members.state(e.nodes[0]) == e.state, str(members)


def _runs_on(e: Expectation, observer: Observer) -> tuple[bool, str]:
    members = observer.membership()
    return e.nodes[0] in (members.where(e.resources[0]) or ()), str(members)


def _together(e: Expectation, observer: Observer) -> tuple[bool, str]:
    members = observer.membership()
    first, second = (members.where(r) for r in e.resources)
    if not first or not second:  # a stopped or unknown resource runs nowhere: neither together nor apart
        return False, str(members)
    same = set(first) == set(second)
    return same == (e.state == "same"), str(members)


def _output(e: Expectation, observer: Observer) -> tuple[bool, str]:
    result = observer.run(e.nodes[0], e.command, COMMAND_TIMEOUT_S)
    output = result.stdout + result.stderr
    found = e.text in output
    seen = f"exit status {result.exit_status}, output:\n{output.strip()[-1500:] or '(none)'}"
    return found == (e.state == "contains"), seen


_OBSERVERS: dict[str, Callable[[Expectation, Observer], tuple[bool, str]]] = {
    "vip-serves": _vip_serves, "vip-silent": _vip_silent, "online": _online, "node-state": _node_state,
    "runs-on": _runs_on, "together": _together, "output": _output,
}
