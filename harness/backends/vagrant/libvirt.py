"""A lab's own libvirt: virtlogd and libvirtd started by halab inside the lab's network
namespace, state under the lab's directory, predefined networks and storage pool.

    lab namespace halab-<lab>   bridge `mgmt` (halab-mgmt, DHCP: vagrant finds and reaches the VMs)
                                bridge `lan`  (halab-lab, no DHCP, the client address: the prober;
                                               the nodes' virtual BMC addresses, fencing labs)
                                bridge `net1`... (halab-net-<name>: the plan's further networks)

vagrant-libvirt reuses these networks instead of creating its own; the root namespace never
sees either. Everything the lab started runs in its namespace, so stopping the lab is: stop
every process of that namespace, then remove it.
"""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

from halab.backends.local.host import host
from halab.backends.netns import add_namespace, delete_namespace, lab_namespace, stop_processes
from halab.backends.vagrant.box import vagrant_home
from halab.backends.vagrant.daemons import BOUND
from halab.backends.vagrant.hypervisor import virsh_command
from halab.backends.vagrant.machines import further_network_name
from halab.plan import LabPlan
from halab.wait import wait_until

MGMT_NETWORK, LAB_NETWORK, POOL = "halab-mgmt", "halab-lab", "default"
# The management subnet lives only in the lab namespace; vagrant-libvirt's usual one.
MGMT_ADDRESS = IPv4Interface("192.168.121.1/24")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

LIBVIRTD_CONF = """\
# halab: this libvirtd serves one lab, through a socket only root can open.
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""
# No libvirt-qemu user or AppArmor without libvirt-daemon-system: QEMU runs as root, as halab does.
QEMU_CONF = """\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
"""


def pool_directory() -> Path:
    """Shared by every lab: the box's volume is uploaded once, each VM's disk is an overlay on it."""
    return vagrant_home() / "pool"


def namespace_address(plan: LabPlan, subnet: IPv4Network) -> IPv4Interface:
    """The lab namespace's address on a further network: vagrant-libvirt attaches a VM with a
    static address only to a network that has one. The highest address the plan leaves free;
    nothing in the namespace routes, so it only lets the bridge be named by its subnet (the
    fencing lab's cluster network: 192.168.57.254/24)."""
    used = plan.lab_addresses()
    free = next(address for address in reversed(list(subnet.hosts())) if address not in used)
    return IPv4Interface(f"{free}/{subnet.prefixlen}")


def network_xml(name: str, bridge: str, address: IPv4Interface, *, dhcp: bool) -> str:
    """An isolated libvirt network (no <forward>: no uplink, labs are offline; no DNS either:
    names come from /etc/hosts, as the lab documents set them)."""
    lease = ""
    if dhcp:
        hosts = list(address.network.hosts())
        lease = f"<dhcp><range start='{hosts[1]}' end='{hosts[-1]}'/></dhcp>"
    return (
        f"<network><name>{name}</name><bridge name='{bridge}' stp='off' delay='0'/><dns enable='no'/>"
        f"<ip address='{address.ip}' prefix='{address.network.prefixlen}'>{lease}</ip></network>"
    )


class LabLibvirt:
    def __init__(self, plan: LabPlan, lab: str, directory: Path) -> None:
        self.plan, self.lab = plan, lab
        self.state = directory / "libvirt"
        self.namespace = lab_namespace(lab)

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.state / 'run' / 'libvirt-sock'}"

    def virsh(self, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return host(virsh_command(self.uri, *args), check=check, timeout=timeout)

    def start(self) -> None:
        """A fresh namespace, daemons, networks and pool; the previous ones of this lab are gone first."""
        self.stop()
        add_namespace(self.namespace)
        for sub, _ in BOUND:
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        (self.state / "etc" / "libvirtd.conf").write_text(LIBVIRTD_CONF)
        (self.state / "etc" / "qemu.conf").write_text(QEMU_CONF)
        pool_directory().mkdir(parents=True, exist_ok=True)
        with (self.state / "daemons.log").open("ab") as log:
            subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, "unshare", "--mount", "--propagation", "private",
                 sys.executable, "-m", "halab.backends.vagrant.daemons", str(self.state)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd="/",
            )
        wait_until(
            lambda: self.virsh("version", check=False, timeout=10), lambda done: done.returncode == 0,
            what=f"lab {self.lab}'s libvirtd to answer", timeout_s=START_TIMEOUT_S, interval_s=0.5,
            fix=f"read {self.state / 'daemons.log'} and {self.state / 'log' / 'libvirtd.log'}",
        )
        further = [(further_network_name(network.name), f"net{index}", namespace_address(self.plan, network.subnet),
                    False) for index, network in enumerate(self.plan.networks, start=1)]
        for name, bridge, address, dhcp in (
            (MGMT_NETWORK, "mgmt", MGMT_ADDRESS, True),
            (LAB_NETWORK, "lan", self.plan.client, False),
            *further,
        ):
            definition = self.state / f"{name}.xml"
            definition.write_text(network_xml(name, bridge, address, dhcp=dhcp))
            self.virsh("net-define", str(definition))
            self.virsh("net-start", name)
        for node in self.plan.nodes:  # each BMC its own address on the switch, as an IPMI LAN port
            if node.bmc:
                host(["ip", "-n", self.namespace, "addr", "add", str(node.bmc), "dev", "lan"])
        self.virsh("pool-define-as", POOL, "dir", "--target", str(pool_directory()))
        self.virsh("pool-start", POOL)

    def stop(self) -> None:
        """Stop every process of the lab's namespace (libvirtd, virtlogd, qemu, dnsmasq), then
        remove the namespace; harmless when nothing is there."""
        stop_processes(self.namespace, grace_s=STOP_TIMEOUT_S)
        delete_namespace(self.namespace)
