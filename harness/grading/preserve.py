"""Leave it as found: the cluster's state is recorded before grading (where the resources run,
fail-counts, constraints, the units' is-enabled and is-active on every node), what grading
changed is put back afterwards, and both states travel into the report.

>>> before = snapshot(backend, stack)
>>> ... grade ...
>>> preservation = restore(backend, stack, before)
>>> preservation.differences    # what could not be put back, in words; () when all was
()

Stack-specific state and steps live in halab.stacks.state; units are the same on every stack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from halab.backends import Backend
from halab.errors import HalabError
from halab.facts.gather import UNITS
from halab.progress import say
from halab.stacks import Stack
from halab.stacks.state import ResourceState, RestoreStep
from halab.wait import wait_until

# The cluster starts and stops the service itself: its unit follows the resources, so its
# activity is never forced back (its is-enabled is).
CLUSTER_OWNED = ("apache2",)
SETTLE_TIMEOUT_S = 90.0
STEP_TIMEOUT_S = 180.0
_UNIT_SCRIPT = ('for u in "$@"; do e=$(systemctl is-enabled "$u" 2>/dev/null | head -n1); '
                'a=$(systemctl is-active "$u" 2>/dev/null | head -n1); echo "$u ${e:-not-found} ${a:-unknown}"; done')


@dataclass(frozen=True)
class UnitState:
    node: str
    unit: str
    enabled: str  # as `systemctl is-enabled` says
    active: str  # as `systemctl is-active` says


@dataclass(frozen=True)
class ClusterState:
    resources: ResourceState | None  # None: the stack did not answer
    units: tuple[UnitState, ...]
    unreadable: tuple[str, ...] = ()  # what could not be read, and why

    def unit(self, node: str, unit: str) -> UnitState | None:
        return next((u for u in self.units if u.node == node and u.unit == unit), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StepOutcome:
    step: RestoreStep
    node: str
    ok: bool
    output: str


@dataclass(frozen=True)
class Preservation:
    before: ClusterState
    after: ClusterState
    steps: tuple[StepOutcome, ...]
    differences: tuple[str, ...]  # between before and after: what was not put back

    def to_json(self) -> dict[str, Any]:
        return {"before": self.before.to_json(), "after": self.after.to_json(),
                "steps": [asdict(s) for s in self.steps], "differences": list(self.differences)}


def snapshot(backend: Backend, stack: Stack) -> ClusterState:
    """The state of every node that answers; what cannot be read is said, never guessed."""
    units: list[UnitState] = []
    unreadable = []
    for node in backend.plan.node_names:
        try:
            shown = backend.run(node, ["/bin/sh", "-c", _UNIT_SCRIPT, "units", *UNITS], timeout=30).check()
        except HalabError as error:
            unreadable.append(f"{node}: {error.what}")
            continue
        units += [UnitState(node, *line.split()[:3]) for line in shown.stdout.splitlines() if len(line.split()) >= 3]
    try:
        resources: ResourceState | None = stack.resource_state(backend)
    except HalabError as error:
        resources = None
        unreadable.append(f"the cluster's resources: {error.what}")
    return ClusterState(resources, tuple(units), tuple(unreadable))


def unit_steps(before: ClusterState, now: ClusterState) -> tuple[RestoreStep, ...]:
    """systemctl enable/disable and start/stop where a unit's state changed (pure)."""
    steps = []
    for was in before.units:
        is_ = now.unit(was.node, was.unit)
        if is_ is None:
            continue
        if was.enabled != is_.enabled and was.enabled in ("enabled", "disabled"):
            steps.append(RestoreStep(was.node, ("systemctl", was.enabled.removesuffix("d"), was.unit),
                                     f"{was.unit} was {was.enabled} at boot, now {is_.enabled}"))
        if was.unit in CLUSTER_OWNED or was.active == is_.active:
            continue
        if was.active == "active":
            steps.append(RestoreStep(was.node, ("systemctl", "start", was.unit), f"{was.unit} was running, now {is_.active}"))
        elif was.active in ("inactive", "failed") and is_.active == "active":
            steps.append(RestoreStep(was.node, ("systemctl", "stop", was.unit), f"{was.unit} was {was.active}, now running"))
    return tuple(steps)


def differences(before: ClusterState, after: ClusterState) -> tuple[str, ...]:
    """What differs, in words a teacher reads in the report (pure)."""
    found = [f"could not read {what}" for what in after.unreadable if what not in before.unreadable]
    b, a = before.resources, after.resources
    if b is not None and a is not None:
        for unit in sorted({u for u, _ in b.placement} | {u for u, _ in a.placement}):
            if b.where(unit) != a.where(unit):
                found.append(f"{unit}: ran on {', '.join(b.where(unit)) or 'no node'}, "
                             f"now on {', '.join(a.where(unit)) or 'no node'}")
        counts_b = {(n, r): c for n, r, c in b.fail_counts}
        counts_a = {(n, r): c for n, r, c in a.fail_counts}
        for node, resource in sorted(set(counts_b) | set(counts_a)):
            if counts_b.get((node, resource)) != counts_a.get((node, resource)):
                found.append(f"fail-count of {resource} on {node}: {counts_b.get((node, resource), 0)} -> "
                             f"{counts_a.get((node, resource), 0)}")
        found += [f"constraint {c} added" for c in sorted(set(a.constraints) - set(b.constraints))]
        found += [f"constraint {c} removed" for c in sorted(set(b.constraints) - set(a.constraints))]
    for was in before.units:
        is_ = after.unit(was.node, was.unit)
        if is_ is not None and (was.enabled, was.active) != (is_.enabled, is_.active):
            found.append(f"{was.node} {was.unit}: {was.enabled}/{was.active} -> {is_.enabled}/{is_.active}")
    return tuple(found)


def restore(backend: Backend, stack: Stack, before: ClusterState) -> Preservation:
    """Put back what changed since `before`: units first (the stack must run to be asked), then
    the stack's own steps; wait (bounded) for the cluster to match, and say what still differs."""
    now = snapshot(backend, stack)
    outcomes = [_run(backend, step) for step in unit_steps(before, now)]
    if outcomes:
        now = snapshot(backend, stack)
    if before.resources is not None and now.resources is not None:
        outcomes += [_run(backend, step)
                     for step in stack.restore_steps(before.resources, now.resources)]
    after = now
    if outcomes:
        latest = [now]

        def observe() -> ClusterState:
            latest.append(snapshot(backend, stack))
            return latest[-1]

        try:
            after = wait_until(observe, lambda state: not differences(before, state),
                               what="the cluster to be as it was found", timeout_s=SETTLE_TIMEOUT_S, interval_s=3.0)
        except HalabError:
            after = latest[-1]
    left = differences(before, after)
    say("the cluster is as it was found" if not left else "not put back: " + "; ".join(left))
    return Preservation(before, after, tuple(outcomes), left)


def _run(backend: Backend, step: RestoreStep) -> StepOutcome:
    """A step on its node, or a cluster-wide one on the first node where it succeeds."""
    say(f"putting back: {step.why} ({' '.join(step.argv)})")
    tried = []
    for node in [step.node] if step.node else backend.plan.node_names:
        try:
            result = backend.run(node, list(step.argv), timeout=STEP_TIMEOUT_S)
        except HalabError as error:
            tried.append(f"{node}: {error.what}")
            continue
        output = (result.stdout + result.stderr).strip()[-500:]
        if result.succeeded:
            return StepOutcome(step, node, True, output)
        tried.append(f"{node}: exit {result.exit_status}: {output}")
    return StepOutcome(step, step.node or "", False, "\n".join(tried))
