"""Recorded grading results, built the way a real grading run leaves them (FaultRun records and
probe samples every 0.2 s), for the report tests and the render benchmark:

    full_marks(), with_failures() (and a split brain), no_recovery(), provisional(), refused(path)
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

from halab.experiment import FaultRun
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, RubricItem
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.probe.analysis import downtime_after
from halab.probe.samples import ProbeSample

RUBRIC = Rubric(Path("labs/pcs/rubric.yaml"), "pcs", (
    RubricItem("hostnames-match-the-plan", 1), RubricItem("apache-disabled-at-boot", 2),
    RubricItem("stonith-policy", 1), RubricItem("corosync-crypto-on", 1), RubricItem("vip-serves", 2),
    RubricItem("fault-stop-stack", 2, requires=("vip-serves",)),
    RubricItem("fault-power-off", 2, requires=("vip-serves",)),
    RubricItem("fault-cut-link", 1, requires=("vip-serves",), hidden=True),
))
TITLES = {
    "hostnames-match-the-plan": "Each node's name (uname -n) is the one the cluster configuration uses",
    "apache-disabled-at-boot": "Apache is left to the cluster, not started at boot",
    "stonith-policy": "STONITH is as the lab demands, and never on without a fencing device",
    "corosync-crypto-on": "Corosync traffic is encrypted and authenticated",
    "vip-serves": "The VIP serves a node's page",
    "fault-stop-stack": "The cluster survives the fault as the lab expects (stop-stack)",
    "fault-power-off": "The cluster survives the fault as the lab expects (power-off)",
    "fault-cut-link": "The cluster survives the fault as the lab expects (cut-link)",
}
EVIDENCE = "corosync token 3000 ms + consensus 3600 ms; Apache monitored every 10.0 s"
Who = Callable[[float], tuple[str, str | None]]  # seconds from the injection -> (outcome, node)


def samples(t0: float, until: float, who: Who, period: float = 0.2) -> list[dict[str, Any]]:
    out, t = [], t0 - 3.0
    while t < until:
        outcome, node = who(t - t0)
        latency = 2.0 if outcome == "timeout" else 0.004
        out.append(ProbeSample(round(t, 3), round(t + latency, 3), outcome, 200 if outcome == "ok" else None,
                               None if outcome == "ok" else outcome, node, node).to_json())
        t += period
    return out


def fault(name: str, t0: float, healed: float, who: Who, **run: Any) -> dict[str, Any]:
    record = FaultRun(
        fault=name, description=run.pop("description", f"{name} on node1"), victim="node1", injected_at=t0,
        healed_at=healed, recovered_at=healed + 4, budget_s=run.pop("budget_s", 11.6), budget_evidence=EVIDENCE,
        downtime_s=None, served_before="node1", served_during="node2", served_after="node2", time_to_other_s=None,
        vip_holders=("node2",), interleaved_answers=0, second_outage_s=None, outcome="failover",
        expected=("failover",), verdict="pass", explanation="failover, as expected.",
    )
    record = FaultRun(**{**asdict(record), **run})
    probes = samples(t0, record.recovered_at + 2, who)
    outage = downtime_after([ProbeSample.from_json(s) for s in probes], t0, until=healed)
    record = replace(record, downtime_s=round(outage.duration_s, 3) if outage else None)  # as the prober measured it
    return {"run": asdict(record), "samples": probes}


def failover(name: str, t0: float, down_s: float = 7.5) -> dict[str, Any]:
    return fault(name, t0, t0 + 15, lambda t: ("ok", "node1") if t < 0.1 else ("timeout", None) if t < down_s else ("ok", "node2"),
                 downtime_s=down_s, time_to_other_s=down_s + 0.1)


def split_brain(t0: float) -> dict[str, Any]:
    def who(t: float) -> tuple[str, str | None]:
        if t < 0.1 or t >= 10:
            return "ok", "node1"
        if t < 3.2:
            return "timeout", None
        return "ok", ("node1", "node2")[int(t * 5) % 2]

    return fault("cut-link", t0, t0 + 10, who, description="cut node1's cluster link (the VIP's network stays up)",
                 downtime_s=3.1, served_during="node2", served_after="node1", vip_holders=("node1", "node2"),
                 interleaved_answers=16, outcome="split-brain", expected=("failover",), verdict="fail",
                 explanation="outcome split-brain, expected failover. Without fencing both nodes take the VIP.")


def no_recovery(t0: float) -> dict[str, Any]:
    return fault("power-off", t0, t0 + 20, lambda t: ("ok", "node1") if t < 0.1 else ("refused", None),
                 downtime_s=24.0, served_during=None, served_after=None, outcome="no-recovery", verdict="fail",
                 explanation="outcome no-recovery, expected failover. But the cluster did not recover: 90 s after "
                             "the fault was healed the cluster was still not whole and serving: node2 offline",
                 recovery_note="90 s after the fault was healed the cluster was still not whole and serving: node2 offline")


def _run(lab: str, results: list[CheckResult], timelines: dict[str, dict[str, Any]]) -> GradingRun:
    by_id = {r.id: r for r in results}
    full = tuple(by_id.get(item.id) or CheckResult(item.id, TITLES[item.id], "passed", duration_s=0.4) for item in RUBRIC.items)
    return GradingRun(lab, RUBRIC, full, score(RUBRIC, full), timelines)


def full_marks(lab: str = "rp1") -> GradingRun:
    return _run(lab, [], {"stop-stack": failover("stop-stack", 100.0, 2.1), "power-off": failover("power-off", 140.0),
                          "cut-link": failover("cut-link", 180.0, 6.0)})


def with_failures(lab: str = "rp2") -> GradingRun:
    split = split_brain(180.0)
    return _run(lab, [
        CheckResult("apache-disabled-at-boot", TITLES["apache-disabled-at-boot"], "failed", "Apache starts at boot on node2",
                    "systemctl is-enabled apache2 -> node1: disabled, node2: enabled",
                    "systemctl disable apache2 (on node2)", duration_s=0.2),
        CheckResult("stonith-policy", TITLES["stonith-policy"], "failed", "stonith-enabled is true but no fencing device is configured",
                    "crm_attribute --query --name stonith-enabled -> true", "pcs property set stonith-enabled=false"),
        CheckResult("fault-cut-link", TITLES["fault-cut-link"], "failed", split["run"]["explanation"],
                    "outcome split-brain; downtime 3100 ms", "configure fencing, or a quorum device", duration_s=14.0),
    ], {"stop-stack": failover("stop-stack", 100.0, 2.4), "power-off": failover("power-off", 140.0, 9.1), "cut-link": split})


def no_recovery_run(lab: str = "rp3") -> GradingRun:
    lost = no_recovery(140.0)
    return _run(lab, [
        CheckResult("fault-power-off", TITLES["fault-power-off"], "failed", lost["run"]["explanation"],
                    "outcome no-recovery; downtime 24000 ms", "systemctl enable corosync pacemaker", duration_s=120.0),
    ], {"stop-stack": failover("stop-stack", 100.0, 2.0), "power-off": lost})


def provisional(lab: str = "rp4") -> GradingRun:
    return _run(lab, [
        CheckResult("corosync-crypto-on", TITLES["corosync-crypto-on"], "error", "could not observe: node2 did not answer",
                    "ssh: connect to host node2 port 22: No route to host", "halab status"),
    ], {"stop-stack": failover("stop-stack", 100.0, 2.2), "power-off": failover("power-off", 140.0, 8.0),
        "cut-link": failover("cut-link", 180.0, 7.0)})


def a_class(size: int, folder: Path) -> list[Any]:
    """`size` graded students (every kind of run in turn), one refused archive, one that broke."""
    from halab.submissions.batch import Outcome

    kinds = (full_marks, with_failures, no_recovery_run, provisional)
    outcomes = [Outcome(folder / f"student{i:02d}.tar.gz", f"student{i:02d}", "pcs", "graded", run=kinds[i % 4](f"rp{i}"),
                        duration_s=180.0 + 7 * i) for i in range(size)]
    outcomes.append(Outcome(folder / "mallory.zip", "mallory", state="refused",
                            reason="mallory.zip: refused: not a gzip-compressed tar archive"))
    outcomes.append(Outcome(folder / "dave.tar.gz", "dave", "pcs", "failed", duration_s=95.0,
                            reason="lab sub3 did not come up: node2 did not boot within 60 s"))
    return outcomes
