"""The crmsh lab of seed 004, brought up from its document on real nodes, then broken fault by
fault while a client probes the VIP.

Its lab is called e2ecrm, so that a developer's own crmsh labs (crm*) are never touched."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest

from halab.experiment import wait_healthy
from halab.grading.session import grade_lab
from halab.plan import load_plan
from halab.run import LabUp, expected_faults, lab_up, prober_for, run_faults
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

LAB = "e2ecrm"
PLAN = load_plan("crmsh")
MATRIX = expected_faults(PLAN)


@pytest.fixture(scope="module")
def crmsh_lab(root_network_before: tuple[str, str]) -> Iterator[LabUp]:
    """The crmsh lab, provisioned from labs/crmsh/lab.md once and shared by the tests below;
    every fault test heals and waits for a whole cluster before the next one starts."""
    with lab_up(PLAN, LAB) as up:
        yield up


def test_the_document_ran_as_written(crmsh_lab: LabUp) -> None:
    lab = crmsh_lab.backend
    assert crmsh_lab.steps and all(s.result.succeeded for s in crmsh_lab.steps)
    # The sheet's first check failed as the sheet shows, and the step expected it.
    first_check = next(s for s in crmsh_lab.steps if "crm_verify exit status" in s.result.stdout)
    assert "crm_verify exit status: 78" in first_check.result.stdout
    assert "no STONITH resources have been defined" in first_check.result.stderr

    # Now the configuration is valid, both nodes are online, the group runs on one of them.
    verify = lab.run("serv1", ["crm_verify", "-L", "-V"])
    assert verify.exit_status == 0 and "error" not in verify.stdout + verify.stderr, verify
    view = stack_for("pacemaker").view(lab)
    assert view.healthy and set(view.online) == {"serv1", "serv2"}, view.summary
    located = lab.run("serv2", ["crm_resource", "--locate", "--resource", "servicesWeb"]).check()
    assert f"is running on: {view.active}" in located.stdout
    shown = lab.run("serv1", ["crm", "configure", "show"]).check().stdout
    assert "group servicesWeb IPFailover serviceWeb" in shown
    assert "stonith-enabled=false" in shown and "no-quorum-policy=ignore" in shown

    # The corrected corosync.conf is the one running: two-node mode on, knet on the lab network.
    two_node = lab.run("serv1", ["corosync-cmapctl", "-g", "runtime.votequorum.two_node"]).check()
    assert two_node.stdout.strip().endswith("= 1")
    links = lab.run("serv2", ["corosync-cfgtool", "-s"]).check().stdout
    assert "transport knet" in links and "172.16.0.11" in links
    # `logging` in lower case is read: its log file is written.
    assert lab.run("serv1", ["test", "-s", "/var/log/corosync/corosync.log"]).succeeded

    # One key on both nodes, root only; root passwords refused again on serv2.
    keys = [lab.run(node, ["sh", "-c", "stat -c '%a %U' /etc/corosync/authkey; sha256sum < /etc/corosync/authkey"])
            .check().stdout for node in PLAN.node_names]
    assert keys[0] == keys[1] and keys[0].startswith("400 root\n")
    sshd = lab.run("serv2", ["sshd", "-T"]).check().stdout
    assert "permitrootlogin without-password" in sshd

    # Apache belongs to the cluster; corosync and pacemaker start at boot.
    for node in PLAN.node_names:
        enabled = lab.run(node, ["systemctl", "is-enabled", "apache2", "corosync", "pacemaker"])
        assert enabled.stdout.split() == ["disabled", "enabled", "enabled"], (node, enabled)


@pytest.mark.parametrize("fault", MATRIX)
def test_fault_outcome_and_downtime(crmsh_lab: LabUp, fault: str) -> None:
    lab = crmsh_lab.backend
    (run,), samples = run_faults(lab, [fault])
    expected = PLAN.expectation(fault)
    assert expected is not None
    assert run.outcome in expected.outcomes, run
    assert run.verdict == "pass", run.explanation
    # A client saw an outage, bounded by what the running configuration allows. In a split
    # brain the old node may go on answering until the new one's gratuitous ARP: no outage.
    if run.outcome == "split-brain":
        assert set(run.vip_holders) == set(PLAN.node_names), run
    elif run.outcome == "no-outage":
        assert run.downtime_s is None, run
    else:
        assert run.downtime_s is not None and run.downtime_s > 0, run
    assert run.budget_s is not None and (run.downtime_s or 0) <= run.budget_s, run
    # Served again, by the node the stack should choose.
    other = next(n for n in PLAN.node_names if n != run.victim)
    if run.outcome == "failover":
        assert run.served_during == other, run
    if run.outcome == "restart-in-place":
        assert run.served_during == run.victim, run
    assert len(samples) > 100
    # Whole again after the heal, and serving: asked here directly, not through
    # `run.served_after`, which after a split brain depends on when the harness stopped looking
    # (Pacemaker stops the doubled group a few seconds after the cluster first looks whole).
    view = wait_healthy(lab, stack_for("pacemaker"))
    assert set(view.online) == {"serv1", "serv2"}, view.summary
    with prober_for(lab) as prober:
        assert prober.wait_for_answer(30).ok


def test_the_reference_lab_gets_full_marks(graded: SimpleNamespace, crmsh_lab: LabUp, rubric_subset: Callable[..., Path]) -> None:
    """The sheet's own solution, graded with its rubric: the configuration items, the stop-stack
    fault and the failback it implies (the other faults are exercised above)."""
    run = grade_lab(LAB, rubric_subset("crmsh", ("stop-stack",)), include_hidden=True)
    graded.full_marks(run.grade)
    assert {"failback-as-configured", "cluster-quorate", "fault-stop-stack"} <= {s.item.id for s in run.grade.items}


# Each mistake: what to do on which node, how to undo it, and the checks that must fail; every
# fix given must be a crm command (or a file), never a pcs one.
DEFECTS = {
    # Planted with pcs (installed on every node): the state is the mistake, not the tool.
    "the group removed": (
        ("serv1", "pcs resource ungroup servicesWeb && crm_resource --wait --timeout=60s"),
        ("serv1", "crm configure group servicesWeb IPFailover serviceWeb && crm_resource --wait --timeout=60s"),
        {"vip-and-apache-together"}),
    "no-quorum-policy left at stop": (
        ("serv1", "crm configure property no-quorum-policy=stop"),
        ("serv1", "crm configure property no-quorum-policy=ignore"), {"quorum-policy"}),
    "a leftover move constraint": (
        ("serv1", "to=serv2; crm_resource --locate -r servicesWeb | grep -q serv2 && to=serv1; "
                  "crm resource move servicesWeb $to && crm_resource --wait --timeout=60s"),
        ("serv1", "crm resource clear servicesWeb && crm_resource --wait --timeout=60s"), {"no-leftover-move-constraints"}),
    "cluster stack not enabled at boot": (
        ("serv2", "systemctl disable corosync pacemaker"), ("serv2", "systemctl enable corosync pacemaker"),
        {"cluster-stack-enabled-at-boot"}),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_mistake_fails_exactly_its_checks_with_crm_fixes(graded: SimpleNamespace, crmsh_lab: LabUp,
                                                           rubric_subset: Callable[..., Path], defect: str) -> None:
    (node, plant), (undo_node, undo), expected = DEFECTS[defect]
    lab = crmsh_lab.backend
    lab.run(node, ["/bin/sh", "-c", plant], timeout=120).check()
    try:
        run = grade_lab(LAB, rubric_subset("crmsh"), include_hidden=True)
    finally:
        lab.run(undo_node, ["/bin/sh", "-c", undo], timeout=120).check()
        wait_healthy(lab, stack_for("pacemaker"))
    # The spread group may also leave the VIP on a node without Apache: its own consequence.
    graded.exactly_failed(run.grade, expected | ({"vip-serves"} & {s.item.id for s in run.grade.items if s.state != "passed"}))
    graded.fixes_in_own_tool(run.grade, "pcs ")
    fixes = " ".join(s.result.fix for s in run.grade.items if s.result and s.item.id in expected)
    assert "crm " in fixes or "systemctl" in fixes, fixes
