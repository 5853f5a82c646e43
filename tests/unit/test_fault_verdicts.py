"""How a fault run is judged and shown: outcome, verdict against the plan, and the table."""

from dataclasses import replace
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.experiment import SETTLE_S, FaultRun, _judge, _outcome, reaction_seen, recent_answers
from halab.probe import ProbeSample
from halab.faults import fault_named
from halab.faults.catalog import BmcUnreachableCut
from halab.plan import load_plan
from halab.report import fault_table
from halab.report.faults import fault_story
from halab.stacks import Timing


@pytest.mark.parametrize(
    ("outage", "holders", "served_during", "expected"),
    [
        (True, ("node2",), "node2", "failover"),
        (True, ("node1",), "node1", "restart-in-place"),
        (False, ("node1",), "node1", "no-outage"),
        (True, ("node1", "node2"), "node2", "split-brain"),
        (False, ("node1", "node2"), "node1", "split-brain"),
        (True, (), None, "no-recovery"),
    ],
)
def test_outcome_from_what_was_observed(outage: bool, holders: tuple[str, ...], served_during: str | None, expected: str) -> None:
    assert _outcome(outage, holders, served_during, victim="node1") == expected


def test_verdicts_say_why() -> None:
    assert _judge("failover", ("failover",), 2.4, 5.0, "")[0] == "pass"
    verdict, why = _judge("failover", ("failover",), 7.0, 5.0, "")
    assert verdict == "fail" and "7000 ms" in why and "5.0 s" in why
    verdict, why = _judge("no-outage", ("failover",), None, 5.0, "A clean stop hands over.")
    assert verdict == "fail" and "expected failover" in why and "A clean stop" in why
    assert _judge("restart-in-place", ("restart-in-place",), 20.0, None, "")[0] == "pass"
    assert _judge("failover", (), 1.0, 5.0, "")[0] == "fail"


def test_no_recovery_passes_when_the_plan_expects_it() -> None:
    why = "Heartbeat v1 does not monitor resources: nothing restarts Apache; Pacemaker would."
    verdict, explanation = _judge("no-recovery", ("no-recovery",), 31.2, None, why)
    assert verdict == "pass" and explanation == f"no-recovery, as expected. {why}"
    verdict, explanation = _judge("no-recovery", ("restart-in-place",), 31.2, 35.0, "Pacemaker restarts it.")
    assert verdict == "fail" and "expected restart-in-place" in explanation


def probe(start: float, ok: bool = True) -> ProbeSample:
    return ProbeSample(start, start + 0.004, "ok" if ok else "timeout", node="srv" if ok else None)


def test_clients_are_served_only_after_a_full_stretch_of_answers() -> None:
    answered = [probe(10 + i * 0.02) for i in range(100)]  # 10.00 .. 11.98
    assert recent_answers(answered, now=12.0).served
    assert not recent_answers(answered[:50], now=11.0).served  # one second of answers only
    one_failure = answered[:90] + [probe(11.8, ok=False)] + answered[91:]
    recent = recent_answers(one_failure, now=12.0)
    assert not recent.served and recent.failed == 1
    assert not recent_answers([], now=12.0).served
    assert recent_answers(answered, now=12.0 + SETTLE_S + 1).answered == 0  # nothing recent: not served


def answers(first: float, last: float, node: str) -> list[ProbeSample]:
    return [ProbeSample(first + i * 0.02, first + i * 0.02 + 0.004, "ok", node=node)
            for i in range(int((last - first) / 0.02) + 1)]


def test_a_blip_on_the_victim_does_not_end_a_membership_fault_early() -> None:
    """Corosync killed on node2: its Apache answers again 0.2 s later, while node1 needs token +
    consensus (11.6 s budget) to take over. Judged at 2 s, that was a restart in place (a CI failure)."""
    blip = [probe(0.1, ok=False)]
    samples = answers(0.0, 0.08, "node2") + blip + answers(0.3, 3.0, "node2")
    assert not reaction_seen(samples, 0.0, 3.0, quiet_s=13.1, victim="node2", in_place_after_s=11.6)
    assert reaction_seen(samples + answers(3.02, 12.0, "node2"), 0.0, 12.0, quiet_s=13.1, victim="node2",
                         in_place_after_s=11.6)
    took_over = samples + [probe(7.0, ok=False)] + answers(7.1, 9.0, "node1")
    assert reaction_seen(took_over, 0.0, 9.0, quiet_s=13.1, victim="node2", in_place_after_s=11.6)
    # Apache killed: the victim answering again is the restart, seen at once.
    assert reaction_seen(samples, 0.0, 3.0, quiet_s=36.5, victim="node2", in_place_after_s=0.0)


def test_no_outage_is_judged_once_the_quiet_time_has_passed() -> None:
    steady = answers(0.0, 14.0, "node2")
    assert not reaction_seen(steady, 0.0, 10.0, quiet_s=13.1, victim="node2", in_place_after_s=11.6)
    assert reaction_seen(steady, 0.0, 14.0, quiet_s=13.1, victim="node2", in_place_after_s=11.6)


RUN = FaultRun(
    fault="cut-link", description="cut node1's link", victim="node1", injected_at=10.0, healed_at=20.0, recovered_at=24.0,
    budget_s=11.6, budget_evidence="token 3000 ms + consensus 3600 ms", downtime_s=7.364, served_before="node1",
    served_during="node2", served_after="node1", time_to_other_s=7.4, vip_holders=("node1", "node2"),
    interleaved_answers=1, second_outage_s=2.44, outcome="split-brain", expected=("split-brain",),
    verdict="pass", explanation="split-brain, as expected.",
)


def test_the_table_shows_each_fault_in_plain_words() -> None:
    table = fault_table([RUN, replace(RUN, fault="power-off", downtime_s=None, verdict="fail", second_outage_s=None,
                                      interleaved_answers=0, explanation="no-outage, expected failover")])
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["fault", "on"]
    assert "7364 ms" in lines[2] and "11600 ms" in lines[2] and "node1 -> node2 -> node1" in lines[2]
    assert lines[2].endswith("PASS") and lines[3].endswith("FAIL") and " none " in lines[3]
    assert "- cut-link: healing caused a second outage of 2440 ms" in table
    assert "- cut-link: clients got answers from both nodes in turn 1 time(s)" in table
    assert "- power-off: no-outage, expected failover" in table


def test_a_fence_blocked_until_the_bmc_is_back_is_its_own_outcome() -> None:
    """bmc-unreachable-cut: nobody may serve while the victim cannot be fenced; once the heal gives
    the BMC back, the peer fences it and serves. The victim serving after the heal is not that."""
    blocked = dict(outage=True, holders=(), served_during=None, victim="node1")
    assert _outcome(**blocked, served_after="node2") == "fence-blocked"
    assert _outcome(**blocked, served_after="node1") == "no-recovery"
    assert _outcome(**blocked, served_after=None) == "no-recovery"
    assert _outcome(**blocked) == "no-recovery"  # another fault: nobody served during the hold is no recovery
    assert _outcome(True, ("node2",), "node2", "node1", served_after="node2") == "failover"  # the fence was not blocked
    fault = fault_named("bmc-unreachable-cut")
    assert fault.downtime_budget(Timing(6.6, 30.0, "", fencing_s=10.0), 5.0) is None  # the outage lasts until the heal
    assert _judge("fence-blocked", ("fence-blocked",), 61.3, None, "")[0] == "pass"
    verdict, why = _judge("failover", ("fence-blocked",), 14.0, None, "Its BMC does not answer.")
    assert verdict == "fail" and "expected fence-blocked" in why


def test_a_blocked_fence_is_told_in_words_with_why_it_has_no_budget() -> None:
    run = {"fault": "bmc-unreachable-cut", "victim": "node1", "outcome": "fence-blocked", "injected_at": 100.0,
           "healed_at": 153.0, "time_to_other_s": 61.5, "served_before": "node1", "served_during": None,
           "served_after": "node2", "downtime_s": 61.4, "budget_s": None, "expected": ["fence-blocked"],
           "verdict": "pass"}
    story = fault_story({"run": run, "samples": []})
    assert story.words == ("fence blocked: nobody served during the 53.0 s node1's BMC did not answer; once it did, "
                           "node2 fenced node1 and took over 8.5 s later")
    assert story.budget == "none" and "may not start the service before it has fenced the victim" in story.budget_source


def test_only_a_plan_with_bmcs_may_expect_the_bmc_fault(tmp_path: Path) -> None:
    pcs = load_plan("pcs")
    (tmp_path / "lab").mkdir()
    for path in pcs.folder.iterdir():
        if path.is_file():
            (tmp_path / "lab" / path.name).write_bytes(path.read_bytes())
    plan_file = tmp_path / "lab" / "plan.toml"
    plan_file.write_text(plan_file.read_text() + '\n[expect.bmc-unreachable-cut]\noutcomes = ["fence-blocked"]\n')
    with pytest.raises((ValueError, HalabError), match="has none"):
        load_plan(str(tmp_path / "lab"))
    with pytest.raises(HalabError, match="needs virtual BMCs"):
        BmcUnreachableCut.check_bmcs(pcs)
