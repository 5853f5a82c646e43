"""One fault, measured: inject it on the active node while the prober watches the VIP, wait
(bounded) for the service to come back, heal, and judge the history afterwards."""

from __future__ import annotations

import time
from dataclasses import dataclass

from halab.backends import Backend, run_if_up
from halab.faults import Fault, FaultJournal, applied
from halab.faults.base import MEMBERSHIP
from halab.plan import LabPlan
from halab.probe import ProbeSample, Prober
from halab.probe.analysis import downtime_after, first_answer_from_another, interleavings, serving_node
from halab.progress import announce, say
from halab.stacks import ClusterView, Stack, Timing
from halab.wait import WaitTimeout, wait_until

SETTLE_S = 1.5  # continuous answers that mean "service is back"
HEALTHY_TIMEOUT_S = 150.0
# Before a fault: a cluster that was whole a moment ago is whole again at once; one that is not
# after this long is not going to be, and the fault is not tested rather than waited for.
READY_S = 30.0
# After a heal: what a healthy cluster needs to be whole again (a powered-off container boots and
# rejoins in ~5 s, a Heartbeat pair restarting after a cut link ~30 s), and then to serve its
# clients again (after a split brain a client's stale ARP entry can keep it out ~50 s more), with
# room to spare. Past them the cluster did not recover, and the next faults are failed at once
# with that reason, not waited for.
WHOLE_AGAIN_S = 60.0
RECOVERY_S = 90.0
SETTLE_AFTER_HEAL_S = 30.0  # what the cluster decides once whole again (a failback) is done within this
NOT_TESTED = "not-tested"
FENCE_BLOCKED = "fence-blocked"  # nobody served until the fault was healed, then another node did


@dataclass(frozen=True)
class FaultRun:
    fault: str
    description: str
    victim: str
    injected_at: float
    healed_at: float
    recovered_at: float  # the cluster whole again after the heal
    budget_s: float | None
    budget_evidence: str
    downtime_s: float | None
    served_before: str | None
    served_during: str | None  # after the cluster reacted, before the heal
    served_after: str | None  # once healed
    time_to_other_s: float | None
    vip_holders: tuple[str, ...]  # nodes holding the VIP just before the heal
    interleaved_answers: int  # times a client got answers from both nodes in turn (dual-active)
    second_outage_s: float | None  # an outage caused by the heal itself
    outcome: str
    expected: tuple[str, ...]
    verdict: str  # pass or fail
    explanation: str
    recovery_note: str = ""  # "" once the cluster was whole and served again after the heal; else what was missing
    fences: tuple[str, ...] = ()  # who fenced whom after the fault, from the cluster's fence history, in words

    @property
    def left_cluster_broken(self) -> bool:
        """The faults after this one cannot be tested on this cluster."""
        return self.outcome == NOT_TESTED or bool(self.recovery_note)


def patience_s(backend: Backend, seconds: float = HEALTHY_TIMEOUT_S) -> float:
    """How long the harness waits for the cluster to be whole, or served, again: longer on slow nodes."""
    return seconds * backend.time_scale


def wait_healthy(backend: Backend, stack: Stack, timeout_s: float | None = None) -> ClusterView:
    return wait_until(
        lambda: stack.view(backend), lambda view: view.healthy,
        what="every node online and the service started",
        timeout_s=patience_s(backend) if timeout_s is None else timeout_s, interval_s=1.0,
        fix="halab status shows each node; the cluster's own status (pcs status / crm status / cl_status) says why",
    )


def wait_whole_and_served(backend: Backend, stack: Stack, prober: Prober, timeout_s: float) -> ClusterView:
    """Every node online, the service started, and clients answered, all within one deadline."""
    deadline = time.monotonic() + timeout_s
    view = wait_healthy(backend, stack, timeout_s)
    wait_served(prober, max(0.0, deadline - time.monotonic()))
    return view


def wait_served(prober: Prober, timeout_s: float) -> None:
    """Until clients of the VIP have been answered for SETTLE_S in a row. A cluster that says it
    is whole may still leave them out: after a split brain, a client's ARP entry can point at
    the node that gave the VIP up, until it expires (up to ~50 s)."""
    wait_until(
        lambda: recent_answers(prober.samples(), time.monotonic()), lambda recent: recent.served,
        what="clients of the VIP to be answered again", timeout_s=timeout_s, interval_s=0.2,
        fix="halab probe shows what a client sees; `ip neigh` in the lab namespace shows a stale ARP entry",
    )


@dataclass(frozen=True)
class RecentAnswers:
    """What clients got from requests started in the last SETTLE_S."""

    answered: int
    failed: int
    span_s: float  # from the first of these requests to the last

    @property
    def served(self) -> bool:
        return self.answered > 0 and self.failed == 0 and self.span_s >= SETTLE_S


def recent_answers(samples: list[ProbeSample], now: float) -> RecentAnswers:
    recent = [s for s in samples if s.start >= now - SETTLE_S - 0.5 and s.end <= now]
    starts = [s.start for s in recent]
    answered = sum(1 for s in recent if s.ok)
    return RecentAnswers(answered, len(recent) - answered, max(starts) - min(starts) if starts else 0.0)


def vip_holders(backend: Backend, plan: LabPlan) -> tuple[str, ...]:
    """Which nodes have the VIP configured right now (more than one: split brain)."""
    holders = []
    for node in plan.node_names:
        shown = run_if_up(backend, node, ["ip", "-o", "-4", "addr", "show"], timeout=10)
        if shown is not None and f" {plan.vip}/" in shown.stdout:
            holders.append(node)
    return tuple(holders)


def measure_fault(
    fault: Fault, backend: Backend, stack: Stack, prober: Prober, timing: Timing, journal: FaultJournal,
    *, ready_s: float, broken_by: str = "",
) -> FaultRun:
    """One fault, start to finish. A cluster that is not whole and served within `ready_s` is
    not tested (a failed outcome, with what was missing); one that does not recover from the heal
    within RECOVERY_S fails, and says why. `broken_by` names the earlier fault the cluster has not
    recovered from, if any. Only the harness's own errors propagate."""
    plan = backend.plan
    try:
        view = wait_whole_and_served(backend, stack, prober, ready_s)
    except WaitTimeout as error:
        return _not_tested(fault, stack, plan, timing, error, broken_by)
    victim = view.active or plan.node_names[0]
    budget = fault.downtime_budget(timing, plan.start_allowance_s)
    observe_s = (budget or plan.start_allowance_s * 2) * 2 + 10
    description = fault.describe(stack, victim)
    announce(f"lab {backend.lab}: fault {fault.name}: {description}")  # which lab and node, even with -q
    injected, injected_wall = time.monotonic(), time.time()
    with applied(fault, backend, stack, victim, journal):
        _wait_for_recovery(prober, injected, observe_s, quiet_s=(budget or 0) + SETTLE_S, victim=victim,
                           in_place_after_s=(budget or 0) if fault.detection == MEMBERSHIP else 0.0)
        holders = vip_holders(backend, plan)
        healed = time.monotonic()
    say(f"fault {fault.name}: healed after {healed - injected:.1f} s, waiting for the cluster to be whole again")
    recovery_note = ""
    try:
        wait_healthy(backend, stack, patience_s(backend, WHOLE_AGAIN_S))
        recovered = time.monotonic()
        stack.settle(backend, patience_s(backend, SETTLE_AFTER_HEAL_S))
        wait_served(prober, max(0.0, healed + patience_s(backend, RECOVERY_S) - time.monotonic()))
    except WaitTimeout as error:
        recovered = time.monotonic()
        recovery_note = (f"{recovered - healed:.0f} s after the fault was healed the cluster was still not whole "
                         f"and serving: {error.evidence.removeprefix('last seen: ')}")
        say(f"fault {fault.name}: the cluster did not recover ({recovery_note})")
    fences = stack.fences_since(backend, injected_wall)
    samples = prober.samples()
    end = time.monotonic()
    outage = downtime_after(samples, injected, until=healed)
    after_heal = downtime_after(samples, healed)
    served_before = serving_node(samples, injected - SETTLE_S, injected)
    served_during = serving_node(samples, healed - SETTLE_S, healed)
    reached_other = first_answer_from_another(samples, victim, injected)
    served_after = None if recovery_note else serving_node(samples, end - SETTLE_S, end)
    outcome = _outcome(outage is not None, holders, served_during, victim,
                       served_after=served_after if fault.blocks_recovery else None)
    expectation = plan.expectation(fault.name)
    expected = expectation.outcomes if expectation else ()
    verdict, explanation = _judge(
        outcome, expected, outage.duration_s if outage else None, budget, expectation.why if expectation else ""
    )
    if recovery_note:
        verdict, explanation = "fail", f"{explanation} But the cluster did not recover: {recovery_note}"
    return FaultRun(
        fault=fault.name, description=description, victim=victim, injected_at=injected, healed_at=healed,
        recovered_at=recovered, budget_s=budget, budget_evidence=timing.evidence,
        downtime_s=outage.duration_s if outage else None,
        served_before=served_before, served_during=served_during,
        served_after=served_after,
        time_to_other_s=(reached_other - injected) if reached_other else None,
        vip_holders=holders,
        interleaved_answers=len(interleavings([x for x in samples if x.start >= injected])),
        second_outage_s=after_heal.duration_s if after_heal and after_heal.start >= healed else None,
        outcome=outcome, expected=expected, verdict=verdict, explanation=explanation, recovery_note=recovery_note,
        fences=fences,
    )


def _not_tested(fault: Fault, stack: Stack, plan: LabPlan, timing: Timing, why: WaitTimeout, broken_by: str) -> FaultRun:
    now = time.monotonic()
    expectation = plan.expectation(fault.name)
    seen = why.evidence.removeprefix("last seen: ")
    say(f"fault {fault.name}: not tested, not healthy before the fault ({seen})")
    return FaultRun(
        fault=fault.name, description=fault.describe(stack, "the active node"), victim="", injected_at=now,
        healed_at=now, recovered_at=now, budget_s=fault.downtime_budget(timing, plan.start_allowance_s),
        budget_evidence=timing.evidence, downtime_s=None, served_before=None, served_during=None, served_after=None,
        time_to_other_s=None, vip_holders=(), interleaved_answers=0, second_outage_s=None, outcome=NOT_TESTED,
        expected=expectation.outcomes if expectation else (), verdict="fail",
        explanation=(f"not tested: the cluster had not recovered from {broken_by} ({seen})" if broken_by else
                     f"not healthy before the fault: {seen} ({why.what})"),
    )


def _wait_for_recovery(prober: Prober, injected: float, observe_s: float, quiet_s: float,
                       victim: str, in_place_after_s: float) -> None:
    """Poll (every 0.2 s, never past `observe_s`) until `reaction_seen` says the cluster's answer
    to the fault is in."""
    deadline = injected + observe_s
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if reaction_seen(prober.samples(), injected, time.monotonic(), quiet_s, victim, in_place_after_s):
            return


def reaction_seen(samples: list[ProbeSample], injected: float, now: float, quiet_s: float,
                  victim: str, in_place_after_s: float) -> bool:
    """After an outage, the VIP has answered for SETTLE_S in a row, from another node, or from
    the victim once `in_place_after_s` has passed; with no outage, `quiet_s` has passed.

    The victim answering again early is not yet the cluster's answer when the fault is one the
    peer notices only by losing the victim (corosync killed: its Apache keeps serving through a
    blip of ~0.2 s while the peer needs token + consensus to take over)."""
    recent = [s for s in samples if s.start >= injected and s.end <= now]
    failed = [s for s in recent if not s.ok]
    if not failed:
        return now - injected >= quiet_s
    tail = [s for s in recent if s.start > failed[-1].start]
    if not tail or tail[-1].start - tail[0].start < SETTLE_S:
        return False
    return tail[-1].node != victim or now - injected >= in_place_after_s


def _outcome(outage: bool, holders: tuple[str, ...], served_during: str | None, victim: str,
             served_after: str | None = None) -> str:
    """`served_after` is given only for a fault that blocks recovery until its heal: another
    node serving once it is healed is the blocked fence, then the failover, that it expects."""
    if len(holders) > 1:
        return "split-brain"
    if not outage:
        return "no-outage"
    if served_during is None:
        return FENCE_BLOCKED if served_after not in (None, victim) else "no-recovery"
    return "restart-in-place" if served_during == victim else "failover"


def _judge(
    outcome: str, expected: tuple[str, ...], downtime: float | None, budget: float | None, why: str
) -> tuple[str, str]:
    if not expected:
        return "fail", f"the lab plan says nothing about this fault; outcome was {outcome}"
    if outcome not in expected:
        return "fail", f"outcome {outcome}, expected {' or '.join(expected)}. {why}".strip()
    if downtime is not None and budget is not None and downtime > budget:
        return "fail", f"{outcome} as expected, but clients saw {downtime * 1000:.0f} ms without service, over the {budget:.1f} s the configuration allows"
    return "pass", f"{outcome}, as expected. {why}".strip()
