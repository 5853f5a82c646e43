"""Grading a real pcs lab: the reference solution gets full marks; each planted defect makes
exactly its own checks fail, and the lab is put back as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest
import yaml

from harness.backends import Backend
from harness.experiment import wait_healthy
from harness.grading.session import grade_lab
from harness.stacks import stack_for

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
}


@pytest.fixture(scope="module")
def config_rubric(rubric_subset: Callable[..., Path]) -> Path:
    return rubric_subset("pcs")


def test_the_reference_lab_gets_full_marks_with_every_fault(pcs_lab: Backend, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "grade", "--name", pcs_lab.lab, "--student", "reference"],
        capture_output=True, text=True, timeout=1200, env={**os.environ, "HALAB_REPORTS": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    total = yaml.safe_load((pcs_lab.plan.folder / "rubric.yaml").read_text())
    points = sum(item["points"] for item in total["checks"])
    assert f"reference: {points:g} / {points:g} points" in done.stdout, done.stdout
    assert (tmp_path / "reference-pcs.html").exists() and (tmp_path / "gradebook.csv").exists()


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


def test_the_lab_is_whole_again_after_the_defects(pcs_lab: Backend, config_rubric: Path) -> None:
    run = grade_lab(pcs_lab.lab, config_rubric, include_hidden=True)
    assert run.grade.awarded == run.grade.total > 0, [(s.item.id, s.note) for s in run.grade.items if s.state != "passed"]
