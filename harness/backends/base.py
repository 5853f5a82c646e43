"""What every backend offers: the lab's machines, commands on them, and the faults only the
outside of a machine can do (power and cable). Checks, faults and probes use nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from halab.command import DEFAULT_TIMEOUT_S, CommandResult
from halab.errors import HalabError
from halab.plan import LabPlan


@dataclass(frozen=True)
class MachineStatus:
    name: str
    running: bool
    address: str
    link_cut: bool
    detail: str


class Backend(Protocol):
    lab: str
    plan: LabPlan
    # Whether a node can be powered off and on again from here: faults that need it are not
    # applicable elsewhere (a student's VM over SSH), rather than failed.
    can_power_cycle: bool
    # How many times longer than in a container the nodes take to do things (emulated VMs):
    # the harness's waits for the cluster stretch by it, as command timeouts do.
    time_scale: float

    def preflight(self) -> None:
        """Refuse early, with the fix, when this machine cannot run the lab (before anything is made)."""
        ...

    def up(self) -> None: ...
    def down(self) -> None: ...
    def status(self) -> list[MachineStatus]: ...

    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult: ...

    def power_off(self, node: str) -> None: ...
    def power_on(self, node: str) -> None: ...
    def cut_link(self, node: str, on: str | None = None) -> None:
        """Cut the node's cable on network `on` of the plan (None: every cable it has)."""
        ...

    def heal_link(self, node: str, on: str | None = None) -> None: ...
    def is_running(self, node: str) -> bool: ...

    def client_netns(self) -> str | None:
        """The network namespace the prober must run in (None: the harness's own)."""
        ...

    def bmc_netns(self) -> str | None:
        """The network namespace the nodes' virtual BMCs listen in (None: no BMCs here)."""
        ...


def run_if_up(backend: Backend, node: str, argv: Sequence[str], *, timeout: float) -> CommandResult | None:
    """`argv` on `node` if it is powered on and answers; None if it is off, or on but not
    answering yet (a VM booting again after a fence, its SSH not up: the cluster sees it as
    down too). For looks at the whole cluster, which go on with the nodes that answer."""
    if not backend.is_running(node):
        return None
    try:
        return backend.run(node, argv, timeout=timeout)
    except HalabError:
        return None


def copy_text(backend: Backend, node: str, content: str, path: str, mode: str = "0644") -> CommandResult:
    """Write a file on a node through the backend's command channel (works on every backend).
    The caller decides what a failure means (`.check()` to raise)."""
    script = 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"'
    return backend.run(node, ["/bin/sh", "-c", script, "copy", path, mode], stdin=content)


def debian_interfaces(interface: str, address: str, gateway: str, further: Sequence[tuple[str, str]] = (),
                      dhcp: bool = False) -> str:
    """/etc/network/interfaces as Debian's installer writes it for a static address, or for an
    address by DHCP (with `auto`, so that networking.service raises it at boot: containers have no
    udev hotplug), and a stanza without gateway for each further interface (name, address) as an
    administrator adds it.

    >>> debian_interfaces("enp0s3", "192.168.56.10/24", "192.168.56.254", dhcp=True).splitlines()[-1]
    'iface enp0s3 inet dhcp'
    """
    extra = "".join(f"\nauto {name}\niface {name} inet static\n\taddress {address}\n" for name, address in further)
    primary = f"iface {interface} inet dhcp\n" if dhcp else \
        f"iface {interface} inet static\n\taddress {address}\n\tgateway {gateway}\n"
    return (
        "# This file describes the network interfaces available on your system\n"
        "# and how to activate them. For more information, see interfaces(5).\n\n"
        "source /etc/network/interfaces.d/*\n\n"
        "# The loopback network interface\nauto lo\niface lo inet loopback\n\n"
        f"# The primary network interface\nauto {interface}\n{primary}{extra}"
    )


def known_names(plan: LabPlan, machine: str) -> list[tuple[str, str]]:
    """(address, name) of the machines the lab's network names for `machine`, as a school's DNS
    would: the router knows every machine; a node or host knows the router when it is a machine
    of its own, and the plan's hosts. The cluster nodes are the lab document's to name.

    For the fencing lab (its router a machine): node1 knows [('192.168.56.254', 'router')],
    the router knows node1 and node2.
    """
    router = plan.router
    if router.node and machine == router.name:
        return [(str(m.address.ip), m.name) for m in (*plan.nodes, *plan.hosts)]
    return [*([(str(router.address.ip), router.name)] if router.node else []),
            *((str(h.address.ip), h.name) for h in plan.hosts if h.name != machine)]


def debian_hosts(machine: str, known: Sequence[tuple[str, str]] = (), domain: str = "") -> str:
    """/etc/hosts as a fresh Debian install leaves it: 127.0.1.1 is the machine's own name, a
    classic lab mistake (the cluster must resolve the nodes to their lab addresses) to fix; with
    the installer's domain, its full name first (`hostname -f` then says node1.lab.local).
    `known`: (address, name) of machines the lab's network already names, as a school's DNS
    would (the router, when it is a machine of its own).

    >>> debian_hosts("node1", [("192.168.56.254", "router")]).splitlines()[2].split()
    ['192.168.56.254', 'router']
    >>> debian_hosts("node1", domain="lab.local").splitlines()[1].split()
    ['127.0.1.1', 'node1.lab.local', 'node1']
    """
    def named(name: str) -> str:
        return f"{name}.{domain}\t{name}" if domain else name

    names = "".join(f"{address}\t{named(name)}\n" for address, name in known)
    return (
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{named(machine)}\n{names}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    )
