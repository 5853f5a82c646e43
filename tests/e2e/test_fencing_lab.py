"""The fencing lab, for real: its document brings it up with STONITH through the nodes' virtual
BMCs and two corosync links, one on the lab subnet and one on the cluster network; cutting the
cluster cable alone is no outage and fences nobody; a cut link gets the active node fenced
(powered off and on by its BMC: a new boot id), and a harness killed mid-fence, with the BMC
killed too, leaves nothing powered off after `halab heal`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from ipaddress import IPv4Address
from typing import Callable, Iterator

import pytest

from halab import bmc
from halab.backends import Backend
from halab.backends.local import network
from halab.backends.local.host import host
from halab.backends.netns import lab_namespace
from halab.experiment import wait_healthy
from halab.faults import applied, fault_named
from halab.faults.catalog import FENCED_OFF
from halab.lab import journal_for
from halab.plan import load_plan
from halab.run import lab_up, run_faults
from halab.stacks import stack_for
from halab.stacks.cfgtool import COMMAND, LinkStatus, parse_cfgtool
from halab.stacks.fencing import HISTORY_COMMAND, parse_stonith_history
from halab.wait import wait_until

pytestmark = pytest.mark.e2e
HALAB = [sys.executable, "-m", "halab.cli"]
LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}fence"


@pytest.fixture(scope="module")
def fencing_lab(root_network_before: tuple[str, str]) -> Iterator[Backend]:
    with lab_up(load_plan("fencing"), LAB) as up:
        yield up.backend


def boot_id(backend: Backend, node: str) -> str:
    return backend.run(node, ["cat", "/proc/sys/kernel/random/boot_id"]).check().stdout.strip()


def active_node(backend: Backend) -> str:
    return stack_for("pacemaker").view(backend).active or ""


def test_the_bmcs_answer_on_the_lab_network_only(fencing_lab: Backend, root_network_before: tuple[str, str],
                                                 read_root_network: Callable[[], tuple[str, str]]) -> None:
    assert read_root_network() == root_network_before, "the root namespace got a lab address or route"
    status = fencing_lab.run("node1", ["ipmitool", "-I", "lanplus", "-H", "192.168.56.21", "-U", "fence", "-P",
                                       "halab-ipmi", "chassis", "power", "status"]).check()
    assert status.stdout.strip() == "Chassis Power is on"
    refused = fencing_lab.run("node1", ["ipmitool", "-I", "lanplus", "-H", "192.168.56.21", "-U", "fence", "-P",
                                        "wrong", "chassis", "power", "status"], timeout=60)
    assert not refused.succeeded


def links(backend: Backend, node: str) -> tuple[LinkStatus, ...]:
    return parse_cfgtool(backend.run(node, COMMAND.split()).stdout).links


def wait_links(backend: Backend, node: str, connected: list[bool]) -> tuple[LinkStatus, ...]:
    return wait_until(lambda: links(backend, node), lambda seen: [link.connected for link in seen] == connected,
                      what=f"{node}'s corosync links to be {connected}", timeout_s=60, interval_s=0.5)


def test_both_corosync_links_are_connected_each_over_its_own_network(
        fencing_lab: Backend, root_network_before: tuple[str, str],
        read_root_network: Callable[[], tuple[str, str]]) -> None:
    plan = fencing_lab.plan
    for node in plan.node_names:
        lan, cluster = wait_links(fencing_lab, node, [True, True])
        assert IPv4Address(lan.address) == plan.node(node).address.ip
        assert IPv4Address(cluster.address) == plan.node(node).interface_on("cluster").address.ip
    # The cluster switch is the nodes' alone: no address of the lab namespace on it, none in the root one.
    shown = host(["ip", "-n", lab_namespace(LAB), "-o", "addr", "show", "dev", "cluster"]).stdout
    assert "inet " not in shown
    assert read_root_network() == root_network_before, "the root namespace got a lab address or route"


def test_cutting_the_cluster_cable_alone_is_no_outage_and_fences_nobody(fencing_lab: Backend) -> None:
    stack = stack_for("pacemaker")
    assert wait_healthy(fencing_lab, stack).healthy
    victim = active_node(fencing_lab)
    survivor = next(n for n in fencing_lab.plan.node_names if n != victim)
    booted = {node: boot_id(fencing_lab, node) for node in fencing_lab.plan.node_names}
    fenced_before = parse_stonith_history(fencing_lab.run(survivor, list(HISTORY_COMMAND)).check().stdout)
    with applied(fault_named("cut-one-link"), fencing_lab, stack, victim, journal_for(LAB)):
        wait_links(fencing_lab, victim, [True, False])
        assert network.cut_networks(fencing_lab.plan, LAB, victim) == ["cluster"]
    assert journal_for(LAB).entries() == [] and not network.is_cut(fencing_lab.plan, LAB, victim)
    (run,), _ = run_faults(fencing_lab, ["cut-one-link"])
    assert (run.victim, run.outcome, run.verdict) == (victim, "no-outage", "pass"), run.explanation
    assert {node: boot_id(fencing_lab, node) for node in fencing_lab.plan.node_names} == booted, "someone was fenced"
    assert parse_stonith_history(fencing_lab.run(survivor, list(HISTORY_COMMAND)).check().stdout) == fenced_before
    wait_links(fencing_lab, victim, [True, True])


def test_a_cut_link_gets_the_active_node_fenced_by_its_bmc(fencing_lab: Backend) -> None:
    victim = active_node(fencing_lab)
    survivor = next(n for n in fencing_lab.plan.node_names if n != victim)
    booted = boot_id(fencing_lab, victim)
    (run,), _ = run_faults(fencing_lab, ["cut-link"])
    assert (run.victim, run.outcome, run.served_during) == (victim, "failover", survivor), run.explanation
    assert run.verdict == "pass", run.explanation
    events = parse_stonith_history(fencing_lab.run(survivor, list(HISTORY_COMMAND)).check().stdout)
    assert any(e.target == victim and e.delegate == survivor and e.succeeded for e in events), events
    assert boot_id(fencing_lab, victim) != booted, "the BMC did not power the victim off and on"


def test_nothing_stays_powered_off_after_halab_and_the_bmc_die_mid_fence(fencing_lab: Backend) -> None:
    assert wait_healthy(fencing_lab, stack_for("pacemaker")).healthy
    journal = journal_for(LAB)
    harness = subprocess.Popen([*HALAB, "fault", "cut-link", "--name", LAB], start_new_session=True)
    try:
        fenced = wait_until(lambda: [e for e in journal.entries() if e.fault == FENCED_OFF.name], bool,
                            what="a BMC to power the victim off", timeout_s=120, interval_s=0.02)[0]
        os.kill(bmc.running_pid(LAB, fenced.node) or 0, signal.SIGKILL)  # the BMC dies between off and on
    finally:
        os.killpg(harness.pid, signal.SIGKILL)
        harness.wait(timeout=10)
    healed = subprocess.run([*HALAB, "heal", "--name", LAB], capture_output=True, text=True, timeout=180)
    assert healed.returncode == 0, healed.stderr
    assert "healed cut-link" in healed.stdout and "virtual BMCs" in healed.stdout, healed.stdout
    assert all(fencing_lab.is_running(node) for node in fencing_lab.plan.node_names)
    assert not network.is_cut(fencing_lab.plan, LAB, fenced.node)
    assert journal.entries() == [] and bmc.all_running(fencing_lab)
    assert wait_healthy(fencing_lab, stack_for("pacemaker")).healthy
