"""The Vagrantfile's machines come from the lab plan, through one function; Vagrant itself
reads them (no VM is made: `vagrant status` of machines not created)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from halab.backends.vagrant import machines
from halab.errors import HalabError
from halab.paths import VAGRANT_DIR
from halab.plan import load_plan


def test_machines_follow_the_plan() -> None:
    plan = load_plan("pcs")
    listed = {m.name: m for m in machines.machines(plan)}
    assert list(listed) == ["node1", "node2", "router"]
    assert listed["node1"].address == "192.168.56.10" and listed["node1"].mac == "52:54:00:56:00:10"
    assert listed["node2"].netmask == "255.255.255.0"
    assert listed["router"].address == "192.168.56.254"
    assert listed["router"].mac == "52:54:00:a8:38:fe"  # from its address, stable across boots
    assert listed["node1"].memory_mib > listed["router"].memory_mib


def test_further_networks_get_a_nic_each_after_the_management_nic() -> None:
    listed = {m.name: m for m in machines.machines(load_plan("fencing"))}
    (cluster,) = listed["node2"].further
    assert (cluster.network, cluster.address, cluster.mac) == ("cluster", "192.168.57.20", "52:54:00:57:00:20")
    assert cluster.cidr == "192.168.57.20/24" and cluster.libvirt_network == "halab-net-cluster"
    assert int(cluster.slot, 16) > int(machines.MGMT_NIC_SLOT, 16)  # eth1 stays the box's management NIC
    # The plan calls it eth1, the management NIC's name in the VM: it keeps the kernel's name.
    assert machines.further_interface_name(cluster) == ""
    assert listed["node1"].macs() == ["52:54:00:56:00:10", "52:54:00:57:00:10"]
    assert listed["node1"].macs("cluster") == ["52:54:00:57:00:10"] and listed["node1"].macs("lan") == [listed["node1"].mac]
    assert listed["router"].further == ()
    assert listed["router"].memory_mib == listed["node1"].memory_mib  # it runs pcsd and corosync-qnetd
    with pytest.raises(HalabError, match="no link on a network called 'storage'"):
        listed["node1"].macs("storage")


def test_another_plan_gives_other_machines() -> None:
    names = [m.name for m in machines.machines(load_plan("heartbeat"))]
    assert names == [n.name for n in load_plan("heartbeat").nodes] + [load_plan("heartbeat").router.name]


def test_settings_carry_the_lab_and_provider() -> None:
    settings = machines.settings(load_plan("pcs"), "vgdev", box="halab/bookworm-x", libvirt_uri="qemu:///system?socket=/s")
    assert settings["box"] == "halab/bookworm-x"
    assert settings["domain_prefix"] == "halab-vgdev-"
    libvirt = settings["libvirt"]
    assert isinstance(libvirt, dict)
    assert libvirt["uri"] == "qemu:///system?socket=/s"
    assert libvirt["cpu_model"] != "host"
    # The lab NIC comes first in PCI order, so that the guest kernel names it eth0.
    assert int(libvirt["lab_nic_slot"], 16) < int(libvirt["management_nic_slot"], 16)
    json.dumps(settings)


def _vagrant_status(env: dict[str, str], tmp_path: Path) -> list[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "HALAB_VAGRANT_SETTINGS"}
    env = {**inherited, **env, "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot"), "VAGRANT_HOME": str(tmp_path / "home"),
           "VAGRANT_DEFAULT_PROVIDER": "libvirt", "VAGRANT_CHECKPOINT_DISABLE": "1"}
    done = subprocess.run(["vagrant", "status", "--machine-readable"], cwd=VAGRANT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split(",")[1] for line in done.stdout.splitlines() if ",state," in line]


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (./install.sh)")
def test_the_vagrantfile_reads_the_settings_the_backend_writes(tmp_path: Path) -> None:
    settings = machines.settings(load_plan("heartbeat"), "vgunit", box="halab/bookworm-x")
    path = tmp_path / "vagrant.json"
    path.write_text(json.dumps(settings))
    assert _vagrant_status({"HALAB_VAGRANT_SETTINGS": str(path)}, tmp_path) == [
        n.name for n in load_plan("heartbeat").nodes] + ["router"]


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (./install.sh)")
def test_the_vagrantfile_reads_further_networks(tmp_path: Path) -> None:
    path = tmp_path / "vagrant.json"
    path.write_text(json.dumps(machines.settings(load_plan("fencing"), "vgunit", box="halab/bookworm-x")))
    assert _vagrant_status({"HALAB_VAGRANT_SETTINGS": str(path)}, tmp_path) == ["node1", "node2", "router"]


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (./install.sh)")
def test_by_hand_the_vagrantfile_asks_the_harness_for_the_plan(tmp_path: Path) -> None:
    assert _vagrant_status({"HALAB_LAB": "pcs"}, tmp_path) == ["node1", "node2", "router"]
