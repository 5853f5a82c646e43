"""Grading a real pcs lab: the reference solution gets full marks; each planted defect makes
exactly its own checks fail, and the lab is put back as it was."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest
import yaml

from halab.backends import Backend
from halab.experiment import wait_healthy
from halab.facts.gather import PAGE
from halab.grading.session import grade_lab
from halab.masking import secrets_of_lab, secrets_on_node
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

# Each defect: what to do on which node, how to undo it, and the checks that must fail.
DEFECTS = {
    "apache enabled at boot": (
        [("node2", "systemctl enable apache2")], [("node2", "systemctl disable apache2")],
        {"apache-disabled-at-boot"}),
    "authkey readable by others": (
        [("node1", "chmod 0644 /etc/corosync/authkey")], [("node1", "chmod 0400 /etc/corosync/authkey")],
        {"authkey-identical-and-private"}),
    "authkey different on the two nodes": (
        [("node2", "cp -p /etc/corosync/authkey /root/authkey.saved && head -c 256 /dev/urandom > /etc/corosync/authkey")],
        [("node2", "cp -p /root/authkey.saved /etc/corosync/authkey")],
        {"authkey-identical-and-private"}),
    "two_nodes typo": (
        [(n, "sed -i 's/two_node:/two_nodes:/' /etc/corosync/corosync.conf") for n in ("node1", "node2")],
        [(n, "sed -i 's/two_nodes:/two_node:/' /etc/corosync/corosync.conf") for n in ("node1", "node2")],
        {"corosync-keys-known", "corosync-two-node"}),
    # pcs 0.11's plain `move` clears its constraint itself; crmsh's `crm resource move` and older pcs do not.
    "leftover cli-prefer constraint": (
        # Move it to the node it is not on: earlier tests may have left it on either.
        [("node1", "to=node2; crm_resource --locate -r WebCluster | grep -q 'node2' && to=node1; "
                   "pcs resource move-with-constraint WebCluster $to && crm_resource --wait --timeout=60s")],
        [("node1", "pcs resource clear WebCluster")],
        {"no-leftover-move-constraints"}),
    # IPaddr2 finds no interface for a /16 on the /24 lab network: its start fails on both
    # nodes, so clients get no answer and failed actions are left. Its own consequences.
    "VIP netmask wrong": (
        [("node1", "pcs resource update virtual_ip cidr_netmask=16 && crm_resource --wait --timeout=60s")],
        [("node1", "pcs resource update virtual_ip cidr_netmask=24")],
        {"vip-address-and-netmask", "vip-serves", "no-failed-actions"}),
    # Without the group Pacemaker spreads the two resources over both nodes: the VIP then
    # serves nothing, which is this defect's own consequence.
    "group replaced by two resources without constraints": (
        [("node1", "pcs resource ungroup WebCluster && crm_resource --wait --timeout=60s")],
        [("node1", "pcs resource group add WebCluster virtual_ip WebService")],
        {"vip-and-apache-together", "vip-serves"}),
    "STONITH enabled with no device": (
        [("node1", "pcs property set stonith-enabled=true")],
        [("node1", "pcs property set stonith-enabled=false")],
        {"stonith-policy", "crm-verify-clean"}),
    "no monitor on Apache": (
        [("node1", "pcs resource op remove WebService-monitor-interval-30s")],
        [("node1", "pcs resource op add WebService monitor interval=30s && crm_resource --wait --timeout=60s")],
        {"resources-monitored"}),
    "cluster stack not enabled at boot on node2": (
        [("node2", "systemctl disable corosync pacemaker")], [("node2", "systemctl enable corosync pacemaker")],
        {"cluster-stack-enabled-at-boot"}),
    "node2 serves node1's page": (
        [("node2", f"cp -p {PAGE} /root/page.saved && sed 's/node2 - 192.168.56.20/node1 - 192.168.56.10/' /root/page.saved > {PAGE}")],
        [("node2", f"cp -p /root/page.saved {PAGE}")],
        {"each-node-serves-its-own-page"}),
    # IPaddr2 cannot bring the VIP up on an interface the node lacks: the VIP never serves.
    "VIP bound to an interface the nodes lack": (
        [("node1", "pcs resource update virtual_ip nic=eth1 && crm_resource --wait --timeout=60s")],
        [("node1", "pcs resource update virtual_ip nic= && pcs resource cleanup && crm_resource --wait --timeout=60s")],
        {"vip-nic-present", "vip-serves", "no-failed-actions"}),
    "colocation without order": (
        [("node1", "pcs resource ungroup WebCluster && pcs constraint colocation add WebService with virtual_ip INFINITY "
                   "&& crm_resource --wait --timeout=60s")],
        [("node1", "pcs constraint remove colocation-WebService-virtual_ip-INFINITY && "
                   "pcs resource group add WebCluster virtual_ip WebService && crm_resource --wait --timeout=60s")],
        {"vip-and-apache-together"}),
    "two_node removed": (
        [(n, "cp -p /etc/corosync/corosync.conf /root/corosync.saved && sed -i '/two_node:/d' /etc/corosync/corosync.conf")
         for n in ("node1", "node2")],
        [(n, "cp -p /root/corosync.saved /etc/corosync/corosync.conf") for n in ("node1", "node2")],
        {"corosync-two-node"}),
    "no-quorum-policy left at stop": (
        [("node1", "pcs property set no-quorum-policy=stop")], [("node1", "pcs property set no-quorum-policy=ignore")],
        {"quorum-policy"}),
    "node2 missing from node1's /etc/hosts": (
        [("node1", "cp -p /etc/hosts /root/hosts.saved && sed -i '/ node2$/d' /etc/hosts")],
        [("node1", "cp -p /root/hosts.saved /etc/hosts")],
        {"names-resolve-to-cluster-addresses"}),
}

# Mistakes only the fault matrix shows, each graded with the faults that show it: (plant, undo,
# the faults to run, the items that must fail). "ACTIVE" is the node running WebCluster.
FAULT_DEFECTS = {
    # No monitor: the kill-apache fault is not run at all ("not tested"), and says why.
    "no monitor on Apache": (
        [("node1", "pcs resource op remove WebService-monitor-interval-30s")],
        [("node1", "pcs resource op add WebService monitor interval=30s && crm_resource --wait --timeout=60s")],
        ("kill-apache",), {"resources-monitored", "fault-kill-apache"}),
    # A powered-off node that does not start its stack at boot never rejoins: the fault fails
    # with what was missing, after RECOVERY_S, not after every wait of the harness.
    "cluster stack not enabled at boot on the active node": (
        [("ACTIVE", "systemctl disable corosync pacemaker")],
        [("ACTIVE", "systemctl enable corosync pacemaker && systemctl start corosync pacemaker")],
        ("power-off",), {"cluster-stack-enabled-at-boot", "fault-power-off"}),
    # The judge tells nodes apart by their MACs: the failover is seen as one, and only the
    # page check fails.
    "node2 serves node1's page": (
        [("node2", f"cp -p {PAGE} /root/page.saved && sed 's/node2 - 192.168.56.20/node1 - 192.168.56.10/' /root/page.saved > {PAGE}")],
        [("node2", f"cp -p /root/page.saved {PAGE}")],
        ("stop-stack",), {"each-node-serves-its-own-page"}),
    # The VIP never serves: every fault fails at once, "not tested".
    "VIP netmask wrong, every fault": (
        [("node1", "pcs resource update virtual_ip cidr_netmask=16 && crm_resource --wait --timeout=60s")],
        [("node1", "pcs resource update virtual_ip cidr_netmask=24 && pcs resource cleanup && crm_resource --wait --timeout=60s")],
        ("kill-apache", "stop-stack", "power-off"),
        {"vip-address-and-netmask", "vip-serves", "no-failed-actions", "fault-kill-apache", "fault-stop-stack",
         "failback-as-configured", "fault-power-off"}),
}


@pytest.fixture(scope="module")
def config_rubric(rubric_subset: Callable[..., Path]) -> Path:
    return rubric_subset("pcs")


def test_the_reference_lab_gets_full_marks_with_every_fault(pcs_lab: Backend, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "halab.cli", "grade", "--name", pcs_lab.lab, "--student", "reference"],
        capture_output=True, text=True, timeout=1200, env={**os.environ, "HALAB_REPORTS": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    total = yaml.safe_load((pcs_lab.plan.folder / "rubric.yaml").read_text())
    points = sum(item["points"] for item in total["checks"])
    assert f"reference: {points:g} / {points:g} points" in done.stdout, done.stdout
    assert (tmp_path / "reference-pcs.html").exists() and (tmp_path / "gradebook.csv").exists()
    # Not one of the lab's secrets (the document's hacluster password, node1's corosync authkey),
    # in clear, hex or base64, in any report the grade wrote.
    secrets = secrets_of_lab("pcs") + secrets_on_node(pcs_lab, "node1")
    assert len(secrets.values) == 2, "the password and the authkey were not found: the test would prove nothing"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert secrets.mask(text) == text, f"{path.name} holds a secret of the lab"


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_planted_defect_fails_exactly_its_checks(graded: SimpleNamespace, pcs_lab: Backend, config_rubric: Path, defect: str) -> None:
    plant, undo, expected = DEFECTS[defect]
    for node, command in plant:
        pcs_lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
    try:
        run = grade_lab(pcs_lab.lab, config_rubric, include_hidden=True)
    finally:
        for node, command in undo:
            pcs_lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
        wait_healthy(pcs_lab, stack_for("pacemaker"))
    graded.exactly_failed(run.grade, expected)


def _on(lab: Backend, node: str) -> str:
    """The node a step names; ACTIVE is the one running WebCluster now."""
    if node != "ACTIVE":
        return node
    return stack_for("pacemaker").view(lab).active or "node1"


@pytest.mark.parametrize("defect", list(FAULT_DEFECTS))
def test_a_mistake_the_faults_show_fails_exactly_its_checks(graded: SimpleNamespace, pcs_lab: Backend,
                                                            rubric_subset: Callable[..., Path], defect: str) -> None:
    plant, undo, faults, expected = FAULT_DEFECTS[defect]
    planted = [(_on(pcs_lab, node), command) for node, command in plant]
    for node, command in planted:
        pcs_lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
    started = time.monotonic()
    try:
        run = grade_lab(pcs_lab.lab, rubric_subset("pcs", faults), include_hidden=True)
    finally:
        took = time.monotonic() - started
        for (node, _), (_, command) in zip(planted, undo):
            pcs_lab.run(node, ["/bin/sh", "-c", command], timeout=120).check()
        wait_healthy(pcs_lab, stack_for("pacemaker"))
    graded.exactly_failed(run.grade, expected)
    assert not run.grade.provisional, run.grade.summary
    fault_notes = {s.item.id: (s.note, s.result.message if s.result else "") for s in run.grade.items if s.item.id.startswith("fault-")}
    if "vip-serves" in expected:  # failed at once, not waited for: far less than one fault's run
        assert all("not tested" in note for note, _ in fault_notes.values()), fault_notes
        assert took < 60, f"a cluster whose VIP never serves took {took:.0f} s to grade"
    if "cluster-stack-enabled-at-boot" in expected:  # the node that never rejoined fails the fault
        assert "did not recover" in fault_notes["fault-power-off"][1], fault_notes


def test_five_grades_of_the_clean_lab_are_identical(pcs_lab: Backend, config_rubric: Path) -> None:
    """Also: the lab is whole again after the defects."""
    grades = [grade_lab(pcs_lab.lab, config_rubric, include_hidden=True).grade for _ in range(5)]
    assert grades[0].awarded == grades[0].total > 0, [(s.item.id, s.note) for s in grades[0].items if s.state != "passed"]
    assert len({tuple((s.item.id, s.state, s.awarded) for s in g.items) for g in grades}) == 1
