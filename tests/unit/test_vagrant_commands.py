"""The Vagrant backend's command lines, built without any VM: hypervisor faults, vagrant inside
the lab's namespace, commands over SSH, the files that configure the lab NIC."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from halab.backends.vagrant.backend import RESOURCE_AGENT_SLOWDOWN, link_file, network_file, vagrant_command
from halab.backends.vagrant.hypervisor import Libvirt, VirtualBox
from halab.backends.vagrant.libvirt import network_xml
from halab.backends.vagrant.ssh import login_from_ssh_config
from halab.errors import HalabError

RECORDED = Path(__file__).parent / "recorded"
URI = "qemu:///system?socket=/var/lib/halab/labs/vg/libvirt/run/libvirt-sock"


def test_libvirt_power_and_cable() -> None:
    libvirt = Libvirt(URI)
    assert libvirt.power_off("halab-vg-node1") == ["virsh", "--quiet", "-c", URI, "destroy", "halab-vg-node1"]
    assert libvirt.power_on("halab-vg-node1")[-2:] == ["start", "halab-vg-node1"]
    assert libvirt.set_link("halab-vg-node1", "52:54:00:56:00:10", up=False)[-4:] == [
        "domif-setlink", "halab-vg-node1", "52:54:00:56:00:10", "down"]
    assert libvirt.set_link("d", "m", up=True)[-1] == "up"
    assert libvirt.is_running("running\n") and not libvirt.is_running("shut off\n")
    assert libvirt.is_link_up("52:54:00:56:00:10 up\n") and not libvirt.is_link_up("52:54:00:56:00:10 down\n")


def test_virtualbox_power_and_cable() -> None:
    vbox = VirtualBox()
    assert vbox.power_off("halab-vg-node1") == ["VBoxManage", "controlvm", "halab-vg-node1", "poweroff"]
    assert vbox.power_on("halab-vg-node1") == ["VBoxManage", "startvm", "halab-vg-node1", "--type", "headless"]
    # NIC 1 is Vagrant's NAT: the lab's cable is NIC 2.
    assert vbox.set_link("halab-vg-node1", "52:54:00:56:00:10", up=False)[-2:] == ["setlinkstate2", "off"]
    assert vbox.is_running('name="x"\nVMState="running"\n')
    assert not vbox.is_link_up('cableconnected1="on"\ncableconnected2="off"\n')


def test_vagrant_runs_inside_the_lab_namespace_and_bounded() -> None:
    argv = vagrant_command("halab-vg", 900, ["/usr/bin/vagrant", "up", "--no-provision"])
    assert argv[:4] == ["ip", "netns", "exec", "halab-vg"]
    assert argv[4:7] == ["timeout", "--kill-after=15", "900"]
    assert argv[-3:] == ["/usr/bin/vagrant", "up", "--no-provision"]
    assert vagrant_command(None, 60, ["vagrant", "status"])[0] == "timeout"


def test_ssh_details_from_vagrant_ssh_config() -> None:
    text = (RECORDED / "vagrant-ssh-config-three-machines.txt").read_text()
    login = login_from_ssh_config(text, "node2", "halab-vg")
    assert (login.address, login.port, login.user) == ("192.168.121.37", 22, "vagrant")
    assert login.key is not None and login.key.name == "vagrant"
    assert login.sudo and login.netns == "halab-vg"  # as root, from inside the lab's namespace
    with pytest.raises(HalabError, match="says nothing about node3"):
        login_from_ssh_config(text, "node3", None)


def test_the_lab_nic_is_configured_by_mac() -> None:
    assert "MACAddress=52:54:00:56:00:10" in link_file("52:54:00:56:00:10", "enp0s3")
    assert "Name=enp0s3" in link_file("52:54:00:56:00:10", "enp0s3")
    node = network_file("52:54:00:56:00:10", "192.168.56.10/24", gateway="192.168.56.254")
    assert "Address=192.168.56.10/24" in node and "Gateway=192.168.56.254" in node
    assert "IgnoreCarrierLoss=yes" in node  # a cut cable must not take the address away
    assert "IPForward=ipv4" in network_file("52:54:00:a8:38:fe", "192.168.56.254/24", forward=True)
    cluster_link = network_file("52:54:00:57:00:10", "192.168.57.10/24")
    assert "Gateway" not in cluster_link and "IPForward" not in cluster_link and "Address=192.168.57.10/24" in cluster_link


def test_libvirt_networks_are_isolated() -> None:
    lab = network_xml("halab-lab", "lan", IPv4Interface("192.168.56.1/24"), dhcp=False)
    assert "<forward" not in lab and "<dhcp>" not in lab and "address='192.168.56.1' prefix='24'" in lab
    mgmt = network_xml("halab-mgmt", "mgmt", IPv4Interface("192.168.121.1/24"), dhcp=True)
    assert "<range start='192.168.121.2' end='192.168.121.254'/>" in mgmt


def test_emulated_vms_stretch_timeouts_and_the_start_allowance() -> None:
    from halab.backends.vagrant.backend import VagrantBackend
    from halab.plan import load_plan

    plan = load_plan("pcs")
    emulated = VagrantBackend(plan, "vgunit")
    assert emulated.time_scale > 1
    assert emulated.plan.start_allowance_s == plan.start_allowance_s * emulated.time_scale * RESOURCE_AGENT_SLOWDOWN
    assert emulated.client_netns() == "halab-vgunit"
    laptop = VagrantBackend(plan, "vgunit", provider="virtualbox", time_scale="1")
    assert laptop.plan.start_allowance_s == plan.start_allowance_s and laptop.client_netns() is None
    with pytest.raises(HalabError, match="no Vagrant provider"):
        VagrantBackend(plan, "vgunit", provider="hyperv")


def test_the_fencing_lab_gets_a_second_switch_and_bmc_addresses_on_the_lab_bridge() -> None:
    from halab.backends.vagrant.backend import VagrantBackend
    from halab.backends.vagrant.libvirt import namespace_address
    from halab.plan import load_plan

    plan = load_plan("fencing")
    backend = VagrantBackend(plan, "vgunit")
    assert backend.bmc_netns() == "halab-vgunit"  # the BMCs listen beside the client, on the lab bridge
    # The lab namespace takes a free address on the cluster network, so that vagrant-libvirt
    # attaches the nodes' second NICs to it; it is none of the plan's.
    address = namespace_address(plan, plan.networks[0].subnet)
    assert address.ip in plan.networks[0].subnet and address.ip not in plan.lab_addresses()
    assert VagrantBackend(load_plan("pcs"), "vgunit").bmc_netns() is None


def test_virtualbox_refuses_virtual_bmcs_in_one_line() -> None:
    from halab.backends.vagrant.backend import VagrantBackend
    from halab.plan import load_plan

    laptop = VagrantBackend(load_plan("fencing"), "vgunit", provider="virtualbox")
    with pytest.raises(HalabError, match="virtual BMCs need the libvirt provider"):
        laptop.preflight()
