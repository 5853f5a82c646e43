"""The failure timeline of seed 003, measured: what halab did, what the cluster showed at each
poll (monitor noticed, fail-count increments, threshold reached, migration, failure-timeout
expiry) and what clients saw (outages from the probe history). Times are monotonic, as the
prober's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from halab.probe import ProbeSample
from halab.probe.analysis import outage_windows
from halab.scenarios.observe import Snapshot
from halab.stacks.scores import INFINITY




@dataclass(frozen=True)
class Event:
    at: float
    kind: str  # injected, action, noticed, fail-count, threshold, migration, expired, cleared, outage, served
    text: str


def changes(before: Snapshot, after: Snapshot, *, unit: str, service: str, threshold: int, at: float,
            cleaned: bool = False) -> list[Event]:
    """What changed between two polls, in the words of seed 003's timeline."""
    events = [Event(at, "noticed", f"the cluster saw the failure: {action}")
              for action in after.failed_actions if action not in before.failed_actions]
    for node in sorted({n for n, _, _ in before.fail_counts + after.fail_counts}):
        was, now = before.fail_count(service, node), after.fail_count(service, node)
        if now > was:
            events.append(Event(at, "fail-count", f"fail-count of {service} on {node}: {was} -> {now}"))
            if was < threshold <= now:
                events.append(Event(at, "threshold", f"migration-threshold {_score(threshold)} reached on {node}: "
                                                     f"{service} may no longer run there"))
        elif now < was:
            kind, why = ("cleared", "cleaned up") if cleaned else ("expired", "failure-timeout expired")
            events.append(Event(at, kind, f"fail-count of {service} on {node}: {was} -> {now} ({why})"))
    where, now_on = before.where(unit), after.where(unit)
    if where != now_on:
        events.append(Event(at, "migration", f"{unit}: {_nodes(where)} -> {_nodes(now_on)}"))
    for constraint in sorted(set(after.move_constraints(unit)) - set(before.move_constraints(unit))):
        events.append(Event(at, "constraint", f"constraint {constraint} created"))
    for constraint in sorted(set(before.move_constraints(unit)) - set(after.move_constraints(unit))):
        events.append(Event(at, "constraint", f"constraint {constraint} removed"))
    return events


def client_events(samples: Iterable[ProbeSample], start: float, end: float) -> list[Event]:
    """Each outage clients saw in [start, end], and who answered them afterwards."""
    ordered = [s for s in samples if start <= s.start <= end]
    events = []
    for window in outage_windows(ordered):
        events.append(Event(window.start, "outage", "clients get no answer"))
        if window.recovered:
            who = next((s.node for s in ordered if s.ok and s.start >= window.end), None)
            events.append(Event(window.end, "served", f"clients answered again by {who or 'a node'} "
                                                      f"after {window.duration_s:.1f} s"))
    return events


def _score(value: int) -> str:
    return "INFINITY" if value >= INFINITY else str(value)


def _nodes(nodes: tuple[str, ...]) -> str:
    return ", ".join(nodes) or "stopped"
