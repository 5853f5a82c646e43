"""What the top-level Vagrantfile builds, derived from the lab plan in one place: the machines,
their lab addresses and MACs, their size, the box, and the provider's settings.

The backend writes it as JSON and names the file in HALAB_VAGRANT_SETTINGS; a person running
`vagrant up` by hand gets the same from `python -m halab.backends.vagrant.machines --lab pcs`,
which the Vagrantfile calls when that variable is not set.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from ipaddress import IPv4Interface

from halab.plan import PRIMARY_NETWORK, LabPlan, chosen_networks, load_plan

# A pcs node runs corosync, pacemaker, pcsd (heavy) and Apache; the router only forwards. Two
# vCPUs per node: with multi-threaded emulation a busy node uses both host cores while the
# other idles (pcsd and pcs are bursts of Python and Ruby).
NODE_MEMORY_MIB, ROUTER_MEMORY_MIB = 768, 256
NODE_CPUS, ROUTER_CPUS = 2, 1
# The lab's NIC sits in a lower PCI slot than the management NIC, so that the guest kernel
# calls it eth0 (the name most plans give it); the box's DHCP client takes eth1.
LAB_NIC_SLOT, MGMT_NIC_SLOT = "0x0a", "0x0b"
# The NICs on the plan's further networks come after both (eth2, eth3...), so that the box's
# management NIC stays eth1, which its DHCP client is set up for.
FURTHER_NIC_SLOT = 0x0c
MGMT_INTERFACE = "eth1"
DEFAULT_BOX = "debian/bookworm64"
# Software emulation only here (the note on vagrant-libvirt): a named CPU model, a capped
# translation cache (uncapped, each VM holds ~1.45 GiB).
CPU_MODEL, TB_CACHE_MIB = "qemu64", 256


@dataclass(frozen=True)
class FurtherNic:
    """A node's NIC on one of the plan's further networks (a second switch: a cluster link)."""

    network: str  # the plan's name of the network
    libvirt_network: str
    interface: str  # the plan's name of the interface
    address: str
    netmask: str
    mac: str
    slot: str

    @property
    def cidr(self) -> str:
        return str(IPv4Interface(f"{self.address}/{self.netmask}"))


@dataclass(frozen=True)
class Machine:
    name: str
    address: str
    netmask: str
    mac: str
    memory_mib: int
    cpus: int
    further: tuple[FurtherNic, ...] = ()

    def macs(self, on: str | None = None) -> list[str]:
        """The MACs of the machine's NICs on network `on` (None: every NIC it has)."""
        by_network = {PRIMARY_NETWORK: self.mac, **{nic.network: nic.mac for nic in self.further}}
        return [by_network[network] for network in chosen_networks(self.name, list(by_network), on)]


def further_interface_name(nic: FurtherNic) -> str:
    """The name the NIC gets in the VM: the plan's, unless the box's management NIC has it (eth1:
    that NIC cannot be renamed under a running SSH session), then "" (the kernel's, eth2...)."""
    return "" if nic.interface == MGMT_INTERFACE else nic.interface


def further_network_name(network: str) -> str:
    """The libvirt network of one of the plan's further networks."""
    return f"halab-net-{network}"


def router_mac(address: IPv4Interface) -> str:
    """The plan gives nodes their MAC; the router's follows from its address (stable across boots)."""
    return "52:54:00:" + ":".join(f"{octet:02x}" for octet in address.ip.packed[1:])


def machines(plan: LabPlan) -> list[Machine]:
    netmask = str(plan.subnet.netmask)
    slots = {network.name: f"0x{FURTHER_NIC_SLOT + index:02x}" for index, network in enumerate(plan.networks)}
    listed = [
        Machine(node.name, str(node.address.ip), netmask, node.mac, NODE_MEMORY_MIB, NODE_CPUS, tuple(
            FurtherNic(nic.network, further_network_name(nic.network), nic.name, str(nic.address.ip),
                       str(nic.address.netmask), nic.mac, slots[nic.network])
            for nic in node.interfaces))
        for node in plan.nodes
    ]
    router = plan.router
    # A router that is a node of the lab (a quorum device host) runs pcsd and corosync-qnetd:
    # sized as a node (on 256 MiB and one vCPU, pcsd's start and `pcs qdevice setup` took over 4 min).
    memory, cpus = (NODE_MEMORY_MIB, NODE_CPUS) if router.node else (ROUTER_MEMORY_MIB, ROUTER_CPUS)
    listed.append(Machine(router.name, str(router.address.ip), netmask, router_mac(router.address), memory, cpus))
    return listed


def domain_prefix(lab: str) -> str:
    """libvirt domain and VirtualBox VM names are this plus the machine's name."""
    return f"halab-{lab}-"


def settings(
    plan: LabPlan, lab: str, *, box: str, libvirt_uri: str | None = None, console_dir: str | None = None
) -> dict[str, object]:
    """Everything the Vagrantfile reads; `libvirt_uri` is the lab's own libvirtd (None: the
    provider's default connection); each VM's serial console goes to a file in `console_dir`."""
    from halab.backends.vagrant.libvirt import LAB_NETWORK, MGMT_ADDRESS, MGMT_NETWORK, POOL

    return {
        "lab": lab,
        "plan": str(plan.folder / "plan.toml"),
        "box": box,
        "domain_prefix": domain_prefix(lab),
        "machines": [asdict(machine) for machine in machines(plan)],
        "libvirt": {
            "uri": libvirt_uri,
            "console_dir": console_dir,
            "lab_network": LAB_NETWORK,
            "lab_nic_slot": LAB_NIC_SLOT,
            "management_network": MGMT_NETWORK,
            "management_network_address": str(MGMT_ADDRESS.network),
            "management_nic_slot": MGMT_NIC_SLOT,
            "storage_pool": POOL,
            "cpu_model": CPU_MODEL,
            "tb_cache_mib": TB_CACHE_MIB,
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="print the Vagrantfile's settings for a lab, as JSON")
    parser.add_argument("--lab", default="pcs", help="a folder under labs/, or the path of a plan.toml")
    parser.add_argument("--name", default="vagrant", help="the running lab's name (names the VMs)")
    parser.add_argument("--box", default=DEFAULT_BOX)
    args = parser.parse_args(argv)
    json.dump(settings(load_plan(args.lab), args.name, box=args.box), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
