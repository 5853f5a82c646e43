"""A lab's network, all of it inside namespaces that belong to the lab.

    lab namespace  halab-<lab>         bridge `lan`, the client address (where the prober stands)
    node namespace halab-<lab>-<node>  one veth end named as the plan says (eth0, enp0s3...)
    router         halab-<lab>-router  the lab's gateway, forwarding, no uplink (labs are offline)

The root namespace gets no address and no route: veths are created directly inside the lab
namespace, so two labs with the same addresses never meet.
"""

from __future__ import annotations

from halab.backends.local.host import host
from halab.backends.netns import add_namespace, lab_namespace, namespace_exists
from halab.plan import LabPlan

BRIDGE = "lan"


def machine_namespace(lab: str, machine: str) -> str:
    return f"halab-{lab}-{machine}"


def port_name(plan: LabPlan, machine: str) -> str:
    """The bridge-side end of a machine's cable: cutting a link acts on it, outside the victim."""
    names = [*plan.node_names, plan.router.name]
    return f"port{names.index(machine)}"


def create_switch(plan: LabPlan, lab: str) -> None:
    ns = lab_namespace(lab)
    add_namespace(ns)
    ip = ["ip", "-n", ns]
    host([*ip, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0"])
    # Gratuitous ARPs after a failover must reach the client at once.
    host([*ip, "link", "set", BRIDGE, "type", "bridge", "ageing_time", "300"])
    host([*ip, "addr", "add", str(plan.client), "dev", BRIDGE])
    host([*ip, "link", "set", BRIDGE, "up"])


def create_router(plan: LabPlan, lab: str) -> None:
    ns = machine_namespace(lab, plan.router.name)
    add_namespace(ns)
    host(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    plug(plan, lab, plan.router.name, interface="eth1", mac=None, address=str(plan.router.address), gateway=None)


def create_machine_namespace(lab: str, machine: str) -> str:
    ns = machine_namespace(lab, machine)
    if not namespace_exists(ns):
        add_namespace(ns)
    return ns


def plug(
    plan: LabPlan, lab: str, machine: str, *, interface: str, mac: str | None, address: str, gateway: str | None
) -> None:
    """Cable a machine to the lab switch: a veth made inside the lab namespace, one end moved
    into the machine's namespace under its planned name, fixed MAC (a random one makes the
    client's ARP entry stale after a reboot), address with its broadcast address, and default route."""
    lab_ns, ns, port = lab_namespace(lab), machine_namespace(lab, machine), port_name(plan, machine)
    unplug(plan, lab, machine)
    host(["ip", "-n", ns, "link", "set", "lo", "up"])
    host(["ip", "-n", lab_ns, "link", "add", port, "type", "veth", "peer", "name", interface, "netns", ns])
    if mac:
        host(["ip", "-n", ns, "link", "set", interface, "address", mac])
    # `brd +` as DHCP and ifupdown set it: heartbeat's `bcast` medium sends to it.
    host(["ip", "-n", ns, "addr", "add", address, "brd", "+", "dev", interface])
    host(["ip", "-n", ns, "link", "set", interface, "up"])
    host(["ip", "-n", lab_ns, "link", "set", port, "master", BRIDGE, "up"])
    if gateway:
        host(["ip", "-n", ns, "route", "add", "default", "via", gateway])


def unplug(plan: LabPlan, lab: str, machine: str) -> None:
    """Remove a machine's cable (both ends go with the veth); harmless if it is not there."""
    host(["ip", "-n", lab_namespace(lab), "link", "del", port_name(plan, machine)], check=False)


def cut(plan: LabPlan, lab: str, machine: str) -> None:
    """Take the machine's port off the switch: nothing passes either way, yet its carrier stays
    up, as when a switch port is isolated (the node sees no link event)."""
    host(["ip", "-n", lab_namespace(lab), "link", "set", port_name(plan, machine), "nomaster"])


def reconnect(plan: LabPlan, lab: str, machine: str) -> None:
    host(["ip", "-n", lab_namespace(lab), "link", "set", port_name(plan, machine), "master", BRIDGE])


def is_cut(plan: LabPlan, lab: str, machine: str) -> bool:
    shown = host(["ip", "-n", lab_namespace(lab), "-o", "link", "show", port_name(plan, machine)], check=False)
    return shown.returncode == 0 and f"master {BRIDGE}" not in shown.stdout


def remove_all(plan: LabPlan, lab: str) -> None:
    for machine in [*plan.node_names, plan.router.name]:
        host(["ip", "netns", "del", machine_namespace(lab, machine)], check=False)
    host(["ip", "netns", "del", lab_namespace(lab)], check=False)
