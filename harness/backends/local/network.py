"""A lab's network, all of it inside namespaces that belong to the lab.

    lab namespace  halab-<lab>         bridge `lan`, the client address (where the prober stands)
    node namespace halab-<lab>-<node>  one veth end named as the plan says (eth0, enp0s3...)
    router         halab-<lab>-router  the lab's gateway, forwarding, no uplink; port 3142 is the
                                       one way out: the package cache (aptcache.py)
    BMCs           halab-<lab>-bmc     every node's virtual BMC address (fencing labs), where
                                       their IPMI sockets live (the BMC process stays outside)
    further networks                   a plan's [[networks]] (a cluster network apart from the
                                       service one): one more bridge each in the lab namespace,
                                       named as the network, no address on it; each node's
                                       [[nodes.interfaces]] is a veth from its port p<N>-<network>

The root namespace gets no address and no route: veths are created directly inside the lab
namespace, so two labs with the same addresses never meet.
"""

from __future__ import annotations

from halab.backends.local import aptcache
from halab.backends.local.container import host_namespaces
from halab.backends.local.host import host
from halab.backends.netns import NETNS_DIR, add_namespace, lab_namespace, namespace_exists
from halab.errors import HalabError
from halab.plan import PRIMARY_NETWORK, LabPlan, chosen_networks

BRIDGE = "lan"
BMC = "bmc"  # the machine holding the virtual BMCs' addresses


def machine_namespace(lab: str, machine: str) -> str:
    return f"halab-{lab}-{machine}"


def port_name(plan: LabPlan, machine: str, network: str = PRIMARY_NETWORK) -> str:
    """The bridge-side end of a machine's cable: cutting a link acts on it, outside the victim."""
    index = [*plan.node_names, plan.router.name, BMC, *(h.name for h in plan.hosts)].index(machine)
    return f"port{index}" if network == PRIMARY_NETWORK else f"p{index}-{network}"


def bridge_of(network: str) -> str:
    return BRIDGE if network == PRIMARY_NETWORK else network


def networks_of(plan: LabPlan, machine: str) -> list[str]:
    """The networks a machine is cabled to: the lab subnet, and for a node the plan's further ones."""
    extra = [i.network for i in plan.node(machine).interfaces] if machine in plan.node_names else []
    return [PRIMARY_NETWORK, *extra]


def create_switch(plan: LabPlan, lab: str) -> None:
    ns = lab_namespace(lab)
    add_namespace(ns)
    ip = ["ip", "-n", ns]
    host([*ip, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0"])
    # Gratuitous ARPs after a failover must reach the client at once.
    host([*ip, "link", "set", BRIDGE, "type", "bridge", "ageing_time", "300"])
    host([*ip, "addr", "add", str(plan.client), "dev", BRIDGE])
    host([*ip, "link", "set", BRIDGE, "up"])
    for network in plan.networks:  # the nodes only: no address of the lab namespace on it
        host([*ip, "link", "add", network.name, "type", "bridge", "forward_delay", "0"])
        host([*ip, "link", "set", network.name, "up"])


def create_router(plan: LabPlan, lab: str) -> None:
    ns = machine_namespace(lab, plan.router.name)
    add_namespace(ns)
    host(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    if plan.router.node:
        # The router node's root has no capability in this namespace (the host's): without this
        # its sshd could not bind port 22. Only the router's own processes live here.
        host(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_unprivileged_port_start=0"])
    plug(plan, lab, plan.router.name, interface="eth1", mac=None, address=str(plan.router.address), gateway=None)
    aptcache.open_path(ns, str(plan.router.address.ip))


def create_bmc_namespace(plan: LabPlan, lab: str) -> str:
    """One namespace on the switch with every node's BMC address (an IPMI LAN port per node)."""
    ns = machine_namespace(lab, BMC)
    add_namespace(ns)
    first, *others = [node.bmc for node in plan.nodes if node.bmc]
    plug(plan, lab, BMC, interface="ipmi0", mac=None, address=str(first), gateway=None)
    for address in others:
        host(["ip", "-n", ns, "addr", "add", str(address), "dev", "ipmi0"])
    return ns


def create_machine_namespace(lab: str, machine: str) -> str:
    ns = machine_namespace(lab, machine)
    if not namespace_exists(ns):
        add_namespace(ns)
    return ns


def attach_machine_namespace(lab: str, machine: str, pid: int) -> str:
    """Name the network namespace a node's container made (it belongs to the node's user
    namespace), replacing the name of a previous boot's."""
    ns = machine_namespace(lab, machine)
    forget_machine_namespace(lab, machine)
    host(["ip", "netns", "attach", ns, str(pid)])
    # The network rule: never cable the host's own namespace, whatever went wrong before.
    attached = f"net:[{(NETNS_DIR / ns).stat().st_ino}]"
    if attached in host_namespaces("net"):
        forget_machine_namespace(lab, machine)
        raise HalabError(f"the network namespace of {machine} (process {pid}) is the host's own: not cabling it",
                         fix="report this as a bug of halab; nothing was plugged")
    return ns


def forget_machine_namespace(lab: str, machine: str) -> None:
    """Drop the name (a powered-off node's namespace then goes with its last process)."""
    if namespace_exists(machine_namespace(lab, machine)):
        host(["ip", "netns", "del", machine_namespace(lab, machine)], check=False)


def plug(
    plan: LabPlan, lab: str, machine: str, *, interface: str, mac: str | None, address: str | None = None,
    gateway: str | None = None, network: str = PRIMARY_NETWORK,
) -> None:
    """Cable a machine to a lab switch (the lab subnet's, or a further network's): a veth made
    inside the lab namespace, one end moved into the machine's namespace under its planned name
    with its fixed MAC (a random one makes the client's ARP entry stale after a reboot). A node
    addresses itself (ifupdown, from its /etc/network/interfaces); the router, a bare namespace,
    gets `address` (with its broadcast address, as ifupdown sets it: heartbeat's `bcast` medium
    sends to it) and `gateway` here."""
    lab_ns, ns, port = lab_namespace(lab), machine_namespace(lab, machine), port_name(plan, machine, network)
    host(["ip", "-n", lab_ns, "link", "del", port], check=False)
    host(["ip", "-n", ns, "link", "set", "lo", "up"])
    peer = ["name", interface, *(["address", mac] if mac else []), "netns", ns]
    host(["ip", "-n", lab_ns, "link", "add", port, "type", "veth", "peer", *peer])
    if address:
        host(["ip", "-n", ns, "addr", "add", address, "brd", "+", "dev", interface])
    host(["ip", "-n", ns, "link", "set", interface, "up"])
    host(["ip", "-n", lab_ns, "link", "set", port, "master", bridge_of(network), "up"])
    if gateway:
        host(["ip", "-n", ns, "route", "add", "default", "via", gateway])


def unplug(plan: LabPlan, lab: str, machine: str) -> None:
    """Remove every cable of a machine (both ends go with the veth); harmless if they are not there."""
    for network in networks_of(plan, machine):
        host(["ip", "-n", lab_namespace(lab), "link", "del", port_name(plan, machine, network)], check=False)


def cut(plan: LabPlan, lab: str, machine: str, network: str | None = None) -> None:
    """Take the machine's port on `network` (None: every port) off its switch: nothing passes
    either way, yet its carrier stays up, as when a switch port is isolated (the node sees no
    link event, so corosync does not rebind)."""
    for each in _chosen(plan, machine, network):
        host(["ip", "-n", lab_namespace(lab), "link", "set", port_name(plan, machine, each), "nomaster"])


def reconnect(plan: LabPlan, lab: str, machine: str, network: str | None = None) -> None:
    for each in _chosen(plan, machine, network):
        host(["ip", "-n", lab_namespace(lab), "link", "set", port_name(plan, machine, each), "master", bridge_of(each)])


def cut_networks(plan: LabPlan, lab: str, machine: str) -> list[str]:
    """The networks on which the machine's port is off its switch (a removed port is not cut)."""
    cut_off = []
    for network in networks_of(plan, machine):
        shown = host(["ip", "-n", lab_namespace(lab), "-o", "link", "show", port_name(plan, machine, network)],
                     check=False)
        if shown.returncode == 0 and f"master {bridge_of(network)} " not in shown.stdout:
            cut_off.append(network)
    return cut_off


def is_cut(plan: LabPlan, lab: str, machine: str) -> bool:
    return bool(cut_networks(plan, lab, machine))


def _chosen(plan: LabPlan, machine: str, network: str | None) -> list[str]:
    return chosen_networks(machine, networks_of(plan, machine), network)


def remove_all(plan: LabPlan, lab: str) -> None:
    aptcache.remove_path(machine_namespace(lab, plan.router.name))
    for machine in [*plan.node_names, plan.router.name, BMC]:
        host(["ip", "netns", "del", machine_namespace(lab, machine)], check=False)
    host(["ip", "netns", "del", lab_namespace(lab)], check=False)
