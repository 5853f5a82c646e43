"""A fault, told in words from its record (the FaultRun as JSON and the probe samples around it):
what happened ("failover to node2 after 7.5 s"), the downtime in seconds to the millisecond, the
budget it was judged against and where that budget came from, who served before, during and
after. The report, the JUnit and the terminal all tell a fault this way.

>>> story = fault_story(timeline)
>>> story.words
'split brain: node1 and node2 both served the VIP for 6.5 s'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from halab.errors import HalabError
from halab.faults import fault_named
from halab.probe.analysis import Interleaving, interleavings
from halab.probe.samples import ProbeSample

NOT_TESTED = "not-tested"
DETECTION = {  # halab.faults.base detection kinds, in words
    "graceful": "a clean stop is noticed at once",
    "membership": "the time the cluster takes to declare a silent node dead",
    "monitor": "one monitor interval of the service",
}


@dataclass(frozen=True)
class FaultStory:
    fault: str
    description: str
    outcome: str  # failover, restart-in-place, no-outage, split-brain, no-recovery, fence-blocked or not-tested
    words: str
    verdict: str  # pass or fail
    downtime: str  # "7.512 s", or "none"
    budget: str  # "11.6 s", or "none"
    budget_source: str
    within_budget: bool | None
    served: tuple[str, str, str]  # before, during, after: a node or "nobody"
    expected: str
    explanation: str
    recovery_note: str
    dual: tuple[Interleaving, ...]  # stretches where two nodes took turns answering


def samples_of(timeline: dict[str, Any]) -> list[ProbeSample]:
    return sorted((ProbeSample.from_json(s) for s in timeline.get("samples", ())), key=lambda s: s.start)


def seconds(value: float | None) -> str:
    """Seconds to the millisecond: '7.512 s'; 'none' when there is nothing to measure."""
    return "none" if value is None else f"{value:.3f} s"


def fault_story(timeline: dict[str, Any]) -> FaultStory:
    run = timeline["run"]
    samples = samples_of(timeline)
    injected = run.get("injected_at", 0.0)
    dual = tuple(interleavings([s for s in samples if s.start >= injected]))
    downtime, budget = run.get("downtime_s"), run.get("budget_s")
    served = tuple(run.get(f"served_{when}") or "nobody" for when in ("before", "during", "after"))
    return FaultStory(
        fault=run.get("fault", "?"), description=run.get("description", ""), outcome=run.get("outcome", "?"),
        words=_words(run, dual, samples), verdict=run.get("verdict", "?"), downtime=seconds(downtime),
        budget="none" if budget is None else f"{budget:.1f} s", budget_source=_budget_source(run),
        within_budget=None if downtime is None or budget is None else downtime <= budget,
        served=served,  # type: ignore[arg-type]
        expected=" or ".join(run.get("expected", ())) or "nothing (the lab plan says nothing of this fault)",
        explanation=run.get("explanation", ""), recovery_note=run.get("recovery_note", ""), dual=dual,
    )


def _words(run: dict[str, Any], dual: tuple[Interleaving, ...], samples: list[ProbeSample]) -> str:
    outcome, victim = run.get("outcome"), run.get("victim") or "the active node"
    downtime = run.get("downtime_s")
    held = run.get("healed_at", 0.0) - run.get("injected_at", 0.0)
    if outcome == NOT_TESTED:
        words = run.get("explanation") or "not tested: the cluster was not whole before the fault"
    elif outcome == "split-brain":
        holders = " and ".join(run.get("vip_holders") or sorted({n for d in dual for n in d.nodes}))
        words = (f"split brain: {holders} both served the VIP for {dual[-1].end - dual[0].start:.1f} s" if dual else
                 f"split brain: {holders} both held the VIP when the fault was healed")
    elif outcome == "failover":
        after = run.get("time_to_other_s") if run.get("time_to_other_s") is not None else downtime
        words = f"failover to {run.get('served_during') or 'the other node'}" + (f" after {after:.1f} s" if after is not None else "")
    elif outcome == "restart-in-place":
        words = f"restarted in place on {victim}" + (f" after {downtime:.1f} s" if downtime is not None else "")
    elif outcome == "no-outage":
        words = f"no outage: {run.get('served_during') or victim} kept serving"
    elif outcome == "fence-blocked":
        other = run.get("served_after") or "the other node"
        words = (f"fence blocked: nobody served during the {held:.1f} s {victim}'s BMC did not answer; once it did, "
                 f"{other} fenced {victim} and took over")
        if run.get("time_to_other_s") is not None:
            words += f" {run['time_to_other_s'] - held:.1f} s later"
    elif outcome == "no-recovery":
        words = f"no recovery: nobody served the VIP again during the {held:.1f} s the fault was held"
    else:
        words = str(outcome)
    words += "".join(f"; {fence}" for fence in run.get("fences", ()))
    if run.get("recovery_note"):
        words += "; the cluster did not recover after the heal"
    elif run.get("second_outage_s"):
        words += f"; healing caused a second outage of {run['second_outage_s']:.1f} s"
    return words


def _budget_source(run: dict[str, Any]) -> str:
    try:
        fault = fault_named(run.get("fault", ""))
    except HalabError:  # a fault this version does not know: say what is known
        fault = None
    if run.get("budget_s") is None:
        if fault and fault.blocks_recovery:
            return fault.blocks_recovery
        return "nothing in the configuration notices this fault (no monitor), so no downtime is expected to end"
    kind = DETECTION.get(fault.detection, "") if fault else ""
    rule = f"{kind} plus the lab's allowance to start the service" if kind else "the lab's rule for this fault"
    evidence = run.get("budget_evidence") or "no evidence recorded"
    return f"{rule}; read from the student's running configuration: {evidence}"

