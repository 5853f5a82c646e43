"""The Heartbeat lab of seed 001, brought up from its document on real nodes, then broken fault
by fault while a client probes the VIP.

Its lab is called e2ehb, so that a developer's own heartbeat labs (hb*) are never touched."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest

from halab.backends import Backend
from halab.experiment import wait_healthy
from halab.grading.session import grade_lab
from halab.plan import load_plan
from halab.run import LabUp, expected_faults, lab_up, run_faults
from halab.scenarios import load_scenarios, run_scenarios
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

LAB = "e2ehb"
PLAN = load_plan("heartbeat")
STACK = stack_for("heartbeat")
MATRIX = expected_faults(PLAN)
DEADTIME_S = 10.0  # ha.cf in labs/heartbeat/lab.md
HOME = "srv"  # haresources gives the group to srv, and auto_failback brings it back there


@pytest.fixture(scope="module")
def heartbeat_lab(root_network_before: tuple[str, str]) -> Iterator[LabUp]:
    """The Heartbeat lab, provisioned from labs/heartbeat/lab.md once and shared by the tests
    below; every fault test heals and waits for a whole cluster before the next one starts."""
    with lab_up(PLAN, LAB) as up:
        yield up


def test_the_document_ran_as_written(heartbeat_lab: LabUp) -> None:
    lab = heartbeat_lab.backend
    assert heartbeat_lab.steps and all(s.passed for s in heartbeat_lab.steps)
    view = STACK.view(lab)
    assert view.healthy and set(view.online) == {"srv", "srv-slave"}, view.summary
    assert view.active == HOME, view.summary

    timing = STACK.timing(lab)
    assert (timing.membership_loss_s, timing.service_monitor_s) == (DEADTIME_S, None), timing

    # The three files are the same on both nodes; the key is root's alone, or heartbeat refuses it.
    files = ["/etc/ha.d/ha.cf", "/etc/ha.d/haresources", "/etc/ha.d/authkeys"]
    copies = [lab.run(node, ["sha256sum", *files]).check().stdout for node in PLAN.node_names]
    assert copies[0] == copies[1]
    for node in PLAN.node_names:
        assert lab.run(node, ["stat", "-c", "%a %U", "/etc/ha.d/authkeys"]).check().stdout == "600 root\n"
        # heartbeat knows a node by `uname -n`; it starts at boot, Apache only through heartbeat
        assert lab.run(node, ["uname", "-n"]).check().stdout.strip() == node
        enabled = lab.run(node, ["systemctl", "is-enabled", "heartbeat", "apache2"])
        assert enabled.stdout.split() == ["enabled", "disabled"], (node, enabled)
        # bcast heartbeats need the interface's broadcast address, as DHCP would set it
        shown = lab.run(node, ["ip", "-o", "-4", "addr", "show", "enp0s3"]).check().stdout
        assert f"{PLAN.node(node).address} brd 192.168.137.255" in shown

    # The VIP sits on the alias the seed's `ip a` shows, on srv only.
    assert " 192.168.137.200/24 " in lab.run("srv", ["ip", "-o", "-4", "addr", "show", "enp0s3:0"]).check().stdout
    assert "192.168.137.200" not in lab.run("srv-slave", ["ip", "-o", "-4", "addr"]).check().stdout


@pytest.mark.parametrize("fault", MATRIX)
def test_fault_outcome_and_downtime(heartbeat_lab: LabUp, fault: str) -> None:
    lab = heartbeat_lab.backend
    (run,), samples = run_faults(lab, [fault])
    expected = PLAN.expectation(fault)
    assert expected is not None
    assert run.outcome in expected.outcomes, run
    assert run.verdict == "pass", run.explanation
    assert run.victim == HOME, run
    assert len(samples) > 100

    # The budget comes from ha.cf's deadtime (membership faults) or the start allowance (a
    # clean stop); haresources monitors nothing, so a service fault has no budget at all.
    budgets = {"stop-stack": PLAN.start_allowance_s, "kill-apache": None, "stop-apache": None}
    assert run.budget_s == budgets.get(fault, DEADTIME_S + PLAN.start_allowance_s), run
    if run.budget_s is not None:
        assert (run.downtime_s or 0) <= run.budget_s, run

    other = next(n for n in PLAN.node_names if n != run.victim)
    if run.outcome == "split-brain":
        # Both nodes held the VIP; the client followed the newest gratuitous ARP.
        assert set(run.vip_holders) == set(PLAN.node_names), run
        assert run.time_to_other_s is not None and run.time_to_other_s >= DEADTIME_S - 1, run
    elif run.outcome == "failover":
        assert run.downtime_s is not None and run.downtime_s > 0, run
        assert run.served_during == other, run
    elif run.outcome == "restart-in-place":
        assert run.downtime_s is not None and 0 < run.downtime_s < 2, run  # systemd, not heartbeat
        assert run.served_during == run.victim, run
    elif run.outcome == "no-recovery":
        # Nobody answered until the heal started Apache again.
        assert run.served_during is None and run.vip_holders == (run.victim,), run
        assert run.downtime_s is not None and run.downtime_s >= run.healed_at - run.injected_at - 1, run

    # Whole again after the heal, srv serving: auto_failback brought the group home.
    assert run.served_after == HOME, run
    view = STACK.view(lab)
    assert view.healthy and view.active == HOME and set(view.online) == {"srv", "srv-slave"}, view.summary


def test_the_reference_lab_gets_full_marks(graded: SimpleNamespace, heartbeat_lab: LabUp, rubric_subset: Callable[..., Path]) -> None:
    """The write-up's own solution, graded with its rubric: the configuration items, the
    stop-stack fault and the failback auto_failback implies (the other faults are exercised above)."""
    run = grade_lab(LAB, rubric_subset("heartbeat", ("stop-stack",)), include_hidden=True)
    graded.full_marks(run.grade)
    assert {"failback-as-configured", "authkeys-signed", "fault-stop-stack"} <= {s.item.id for s in run.grade.items}


# Each defect: what to do on which node, how to undo it, and the checks that must fail.
DEFECTS = {
    "authkeys readable by all": (
        ("srv", "chmod 0644 /etc/ha.d/authkeys"), ("srv", "chmod 0600 /etc/ha.d/authkeys"), {"authkeys-private"}),
    # Heartbeat reads haresources when it starts: the running cluster does not notice.
    "haresources different": (
        ("srv-slave", "cp -p /etc/ha.d/haresources /root/haresources.saved && sed -i 's/^srv /srv-slave /' /etc/ha.d/haresources"),
        ("srv-slave", "cp -p /root/haresources.saved /etc/ha.d/haresources"), {"haresources-identical"}),
    "authkeys only checksummed": (
        ("srv", "cp -p /etc/ha.d/authkeys /root/authkeys.saved && printf 'auth 2\\n2 crc\\n' > /etc/ha.d/authkeys"),
        ("srv", "cp -p /root/authkeys.saved /etc/ha.d/authkeys"), {"authkeys-signed"}),
    # Heartbeat reads ha.cf when it starts: the running cluster does not notice these either.
    "a node name in ha.cf that is not uname -n": (
        ("srv", "cp -p /etc/ha.d/ha.cf /root/ha.cf.saved && sed -i 's/^node\\s\\+srv-slave$/node srv-slave1/' /etc/ha.d/ha.cf"),
        ("srv", "cp -p /root/ha.cf.saved /etc/ha.d/ha.cf"), {"ha-cf-node-names-are-hostnames"}),
    "auto_failback inverted": (
        ("srv", "cp -p /etc/ha.d/ha.cf /root/ha.cf.saved && sed -i 's/^auto_failback .*/auto_failback off/' /etc/ha.d/ha.cf"),
        ("srv", "cp -p /root/ha.cf.saved /etc/ha.d/ha.cf"), {"auto-failback-as-the-lab-asks"}),
    "heartbeats broadcast on an interface the node lacks": (
        ("srv-slave", "cp -p /etc/ha.d/ha.cf /root/ha.cf.saved && sed -i 's/^bcast .*/bcast eth1/' /etc/ha.d/ha.cf"),
        ("srv-slave", "cp -p /root/ha.cf.saved /etc/ha.d/ha.cf"), {"ha-cf-interfaces-present"}),
    "the VIP on an interface the nodes lack": (
        ("srv", "cp -p /etc/ha.d/haresources /root/haresources.saved && sed -i 's|/enp0s3:0|/eth1:0|' /etc/ha.d/haresources"),
        ("srv", "cp -p /root/haresources.saved /etc/ha.d/haresources"), {"haresources-interface-present", "haresources-identical"}),
    "heartbeat not started at boot": (
        ("srv-slave", "systemctl disable heartbeat"), ("srv-slave", "systemctl enable heartbeat"),
        {"cluster-stack-enabled-at-boot"}),
    "apache enabled at boot": (
        ("srv", "systemctl enable apache2"), ("srv", "systemctl disable apache2"), {"apache-disabled-at-boot"}),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_planted_defect_fails_exactly_its_checks(graded: SimpleNamespace, heartbeat_lab: LabUp, rubric_subset: Callable[..., Path], defect: str) -> None:
    (node, plant), (undo_node, undo), expected = DEFECTS[defect]
    lab = heartbeat_lab.backend
    lab.run(node, ["/bin/sh", "-c", plant]).check()
    try:
        run = grade_lab(LAB, rubric_subset("heartbeat"), include_hidden=True)
    finally:
        lab.run(undo_node, ["/bin/sh", "-c", undo]).check()
    graded.exactly_failed(run.grade, expected)
    graded.fixes_in_own_tool(run.grade, "pcs", "crm ")


def test_hb_standby_takeover_and_auto_failback_scenarios_do_what_ha_cf_says(heartbeat_lab: LabUp) -> None:
    lab = heartbeat_lab.backend
    runs, samples = run_scenarios(lab, load_scenarios(PLAN))
    for run in runs:
        assert run.verdict == "pass", run.explanation
        assert run.home == HOME and not run.mismatches, run.mismatches
        assert run.settings == (("auto_failback", "on"),)
    standby, failback = runs
    assert [s.observed_on for s in standby.steps] == [("srv-slave",), (HOME,)]
    assert [s.observed_on for s in failback.steps] == [("srv-slave",), (HOME,)]
    assert all(s.served for s in standby.steps + failback.steps)
    assert len(samples) > 100
    view = STACK.view(lab)
    assert view.healthy and view.active == HOME, view.summary


def _auto_failback(lab: Backend, value: str) -> None:
    for node in PLAN.node_names:
        lab.run(node, ["sed", "-i", f"s/^auto_failback.*/auto_failback   {value}/", "/etc/ha.d/ha.cf"]).check()
    # Heartbeat reads ha.cf only at start: stop both (the idle node first, so that nothing is
    # handed over), then start both (srv first, so that haresources gives it the group).
    for node in reversed(PLAN.node_names):
        STACK.stop(lab, node)
    for node in PLAN.node_names:
        STACK.start(lab, node)
    wait_healthy(lab, STACK)


def test_with_auto_failback_off_the_group_stays_away_and_the_scenario_says_why(heartbeat_lab: LabUp) -> None:
    lab = heartbeat_lab.backend
    _auto_failback(lab, "off")
    try:
        (run,), _ = run_scenarios(lab, [s for s in load_scenarios(PLAN) if s.id == "auto-failback"])
    finally:
        _auto_failback(lab, "on")
    assert run.verdict == "fail" and run.settings == (("auto_failback", "off"),)
    assert "the VIP's group runs on srv-slave, the lab expects srv" in run.explanation
    assert "your auto_failback is off" in run.explanation and run.fix.startswith("auto_failback on")
    assert run.steps[-1].predicted_on == run.steps[-1].observed_on == ("srv-slave",)
