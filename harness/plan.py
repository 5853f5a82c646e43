"""A lab's network plan and expected behaviour, read from `labs/<name>/plan.toml`.

The plan is data a lab author edits: node names, addresses, interface names and MACs, the VIP,
where the client stands, and which outcomes of each fault are legal. Code never hard-codes them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.inputs import inside, read_text, seconds, text, unique
from halab.paths import labs_dir

# What a client saw after a fault: served by the other node, by the same node after a restart,
# never interrupted, by both nodes at once, or not served again until the fault was healed.
OUTCOMES = ("failover", "restart-in-place", "no-outage", "split-brain", "no-recovery", "fence-blocked")
TOOLS = {"pacemaker": ("pcs", "crmsh"), "heartbeat": ("heartbeat",)}
_MAC = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_NETWORK = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # short: its switch ports are named p<N>-<network>
PRIMARY_NETWORK = "lan"  # the plan's `subnet`: nodes, VIP, client, router and BMCs
NETWORK_KEYS = ("name", "subnet")
INTERFACE_KEYS = ("network", "name", "address", "mac")
ROUTER_KEYS = ("name", "address", "node")
# Cluster nodes a plan may have: two as most lab sheets, up to five (a 3-node cluster keeps quorum
# by majority when one node is lost; more would not fit a class of labs on one machine).
MIN_NODES, MAX_NODES = 2, 5
LOCAL_BACKEND_FIX = "bring this lab up on the local backend (--backend local)"


@dataclass(frozen=True)
class NetworkPlan:
    """A further network of the lab (a cluster network apart from the service one): its own
    switch, the nodes only, no router, no client."""

    name: str
    subnet: IPv4Network


@dataclass(frozen=True)
class InterfacePlan:
    """A node's interface on a further network (plan [[nodes.interfaces]])."""

    network: str
    name: str
    address: IPv4Interface
    mac: str


@dataclass(frozen=True)
class NodePlan:
    name: str
    address: IPv4Interface
    interface: str
    mac: str
    page_marker: str  # text in the node's page that tells which node answered
    bmc: IPv4Interface | None = None  # its virtual BMC's address on the lab subnet (fencing labs)
    interfaces: tuple[InterfacePlan, ...] = ()  # on the plan's further networks, in their order

    def interface_on(self, network: str) -> InterfacePlan:
        return next(i for i in self.interfaces if i.network == network)


@dataclass(frozen=True)
class RouterPlan:
    """The lab's gateway (.254): a bare network namespace, or, with `node = true`, a machine of
    its own booted from the nodes' image (a quorum device host), with no cluster role."""

    name: str
    address: IPv4Interface
    node: bool = False


@dataclass(frozen=True)
class BmcPlan:
    """The lab's IPMI credentials: every node's virtual BMC accepts these, and only these."""

    username: str
    password: str


@dataclass(frozen=True)
class UserPlan:
    """The account Debian's installer asks for: a login with a home, in group sudo when `sudo`."""

    name: str
    password: str
    sudo: bool = True


@dataclass(frozen=True)
class FaultExpectation:
    outcomes: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class NodeLimits:
    """What one node may use (local backend, through its cgroup and its writable layer).

    Defaults fit every lab and a class of 8 labs at once on a 2-core, 24 GiB machine: a pcs node
    uses ~290 MiB, a rebuilt one ~165 MiB, a Heartbeat node ~30 MiB; the writable layer (a tmpfs
    counted in the node's memory) holds what the node writes, ~20 MiB for a pcs node."""

    memory_max_mib: int = 1024
    tasks_max: int = 1024
    cpu_weight: int = 100  # systemd's CPUWeight scale: 1-10000, 100 for every node by default
    writable_mib: int = 512


@dataclass(frozen=True)
class LabPlan:
    name: str
    title: str
    stack: str
    folder: Path
    document: Path
    subnet: IPv4Network
    vip: IPv4Address
    client: IPv4Interface
    nodes: tuple[NodePlan, ...]
    router: RouterPlan
    enable_at_install: tuple[str, ...]
    start_allowance_s: float
    expectations: tuple[tuple[str, FaultExpectation], ...]
    limits: NodeLimits = NodeLimits()
    tool: str = "pcs"  # what the lab administers the cluster with: pcs, crmsh or heartbeat (its files)
    bmc: BmcPlan | None = None  # set when the nodes have virtual BMCs (plan [bmc] and each node's bmc)
    networks: tuple[NetworkPlan, ...] = ()  # further networks (plan [[networks]]): redundant cluster links
    domain: str = ""  # the installer's "Domain name": node1 is node1.DOMAIN in /etc/hosts ("": none)
    dhcp: bool = False  # the router leases each node its address (by MAC), nodes installed with `inet dhcp`
    user: UserPlan | None = None  # plan [user]: the installer's first user on every machine
    hosts: tuple[NodePlan, ...] = ()  # plan [[hosts]]: machines of the lab with no cluster role (a DNS or NFS server)
    root_password: str = ""  # the installer's root password ("": root has none, as when it is left empty)

    @property
    def machine_names(self) -> tuple[str, ...]:
        """Every machine a command can run on: the nodes, the router when it is a node, the hosts."""
        return (*self.node_names, *((self.router.name,) if self.router.node else ()), *(h.name for h in self.hosts))

    def machine(self, name: str) -> NodePlan:
        """A cluster node or a host of the plan (a machine with an address and a cable of its own)."""
        for machine in (*self.nodes, *self.hosts):
            if machine.name == name:
                return machine
        raise HalabError(f"lab {self.name} has no machine {name!r}", fix=f"use one of: {', '.join(self.machine_names)}")

    def require_machine(self, name: str) -> str:
        """`name` if a command can run there (a node, or the router when it is a node)."""
        if name not in self.machine_names:
            raise HalabError(f"lab {self.name} has no machine {name!r} to run a command on",
                             fix=f"use one of: {', '.join(self.machine_names)}")
        return name

    def require_two_nodes(self, what: str, fix: str = LOCAL_BACKEND_FIX) -> None:
        """For the parts of halab that still know two nodes only: a plain refusal, before anything is touched."""
        if len(self.nodes) != 2:
            raise HalabError(f"{what}: two-node labs only for now, and lab {self.name} has {len(self.nodes)} nodes",
                             fix=fix)

    def require_no_hosts(self, what: str, fix: str = LOCAL_BACKEND_FIX) -> None:
        """For the parts of halab that make or reach the cluster's nodes only."""
        if self.hosts:
            raise HalabError(f"{what}: labs without [[hosts]] only for now, and lab {self.name} has "
                             f"{', '.join(h.name for h in self.hosts)}", fix=fix)

    def node(self, name: str) -> NodePlan:
        for node in self.nodes:
            if node.name == name:
                return node
        raise HalabError(f"lab {self.name} has no node {name!r}", fix=f"use one of: {', '.join(self.node_names)}")

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    def node_called(self, cluster_name: str) -> str:
        """The plan's name of the node a cluster calls `cluster_name`: sheets name nodes by
        address (`pcs cluster setup c 192.168.56.11 192.168.56.12`) or by full name
        (node1.lab.local), and halab observes in the plan's names. Unknown names stay as they are."""
        for node in self.nodes:
            names = {node.name, str(node.address.ip), *(str(i.address.ip) for i in node.interfaces)}
            if cluster_name in names or self.domain and cluster_name == f"{node.name}.{self.domain}":
                return node.name
        return cluster_name

    @property
    def vip_url(self) -> str:
        return f"http://{self.vip}/"

    def expectation(self, fault: str) -> FaultExpectation | None:
        return dict(self.expectations).get(fault)

    def lab_addresses(self) -> frozenset[IPv4Address]:
        """Every address that belongs to this lab: the only ones halab may send traffic to."""
        return frozenset(
            [self.vip, self.client.ip, self.router.address.ip, *(m.address.ip for m in (*self.nodes, *self.hosts)),
             *(node.bmc.ip for node in self.nodes if node.bmc),
             *(i.address.ip for node in self.nodes for i in node.interfaces)]
        )


def chosen_networks(machine: str, networks: list[str], on: str | None) -> list[str]:
    """Of the networks a machine is cabled to, network `on` (None: all of them): which cables a
    cut or a heal acts on, on every backend."""
    if on is not None and on not in networks:
        raise HalabError(f"{machine} has no link on a network called {on!r}", fix=f"its networks: {', '.join(networks)}")
    return networks if on is None else [on]


def available_labs() -> list[str]:
    return sorted(p.parent.name for p in labs_dir().glob("*/plan.toml"))


def is_path(name_or_path: str | Path) -> bool:
    """A path is a path (a Path, or text with a `/` or ending in .toml); anything else is the name of
    a bundled lab, which a folder of the current directory never shadows."""
    return isinstance(name_or_path, Path) or "/" in name_or_path or name_or_path.endswith(".toml")


PLAN_KEYS = ("title", "stack", "tool", "document", "subnet", "vip", "client", "enable_at_install",
             "start_allowance_s", "router", "nodes", "expect", "limits", "bmc", "networks", "domain",
             "dhcp", "user", "root_password", "hosts")
NODE_KEYS = ("name", "address", "interface", "mac", "page_marker", "bmc", "interfaces")
HOST_KEYS = ("name", "address", "interface", "mac")
MAX_HOSTS = 4
EXPECT_KEYS = ("outcomes", "why")


def load_plan(name_or_path: str | Path) -> LabPlan:
    """Load a bundled lab by name (pcs, crmsh, heartbeat), or one's own by the path of its
    plan.toml or folder (./mylab). Any mistake is one line: the file, the key, the value and
    what is allowed, before anything is touched."""
    if is_path(name_or_path):
        path = Path(name_or_path)
        path = path / "plan.toml" if path.is_dir() else path
    else:
        path = labs_dir() / str(name_or_path) / "plan.toml"
    if not path.exists():
        raise HalabError(
            f"no lab called {str(name_or_path)!r} (looked for {path})",
            fix=f"choose one of: {', '.join(available_labs()) or 'none found'}",
        )
    source = read_text(path, "lab plan")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise HalabError(f"{path} is not valid TOML: {error}", fix="correct the plan at that line") from None
    try:
        return _parse(data, path)
    except HalabError as error:
        raise HalabError(f"{path}: {error.what}", fix=error.fix or "compare with labs/pcs/plan.toml") from None
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing key {error}" if isinstance(error, KeyError) else str(error)
        raise HalabError(f"{path}: {detail}", fix="compare with labs/pcs/plan.toml") from None


def _get(table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str, default: Any = ...) -> Any:
    """table[key], of the given TOML type; `where` names the table (nodes[1], router) for the message."""
    name = f"{where}.{key}" if where else key
    if key not in table:
        if default is not ...:
            return default
        raise ValueError(f"missing key {name!r}")
    value = table[key]
    if kind is str:
        return text(value, name)
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ValueError(f"{name} = {value!r}: must be {_KIND_WORDS.get(kind, 'something else')}")
    if not isinstance(value, kind):
        raise ValueError(f"{name} = {value!r}: must be {_KIND_WORDS.get(kind, 'something else')}")
    return value


_KIND_WORDS: dict[Any, str] = {dict: "a table ([name] or { key = value })", list: "a list ([...])",
                               (int, float): "a number", bool: "true or false"}


def _parse(data: dict[str, Any], path: Path) -> LabPlan:
    _known_keys(data, "the plan", PLAN_KEYS, required=False)
    subnet = IPv4Network(_get(data, "subnet", ""))
    prefix = subnet.prefixlen
    networks = _networks(data.get("networks", []), subnet)

    def on_subnet(value: str, what: str) -> IPv4Interface:
        address = IPv4Interface(f"{value}/{prefix}")
        if address.ip not in subnet or address.ip in (subnet.network_address, subnet.broadcast_address):
            raise ValueError(f"{what} {value} is not a host address of the lab subnet {subnet}")
        return address

    raw_nodes = _get(data, "nodes", "", list)
    nodes = []
    for index, raw in enumerate(raw_nodes):
        where = f"nodes[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} = {raw!r}: each node is a table ([[nodes]] with {', '.join(NODE_KEYS[:5])})")
        _known_keys(raw, where, NODE_KEYS, required=False)
        name = _get(raw, "name", where)
        nodes.append(NodePlan(
            name=_checked_name(name),
            address=on_subnet(_get(raw, "address", where), f"node {name}"),
            interface=_checked_interface(_get(raw, "interface", where)),
            mac=_checked_mac(_get(raw, "mac", where)),
            page_marker=_page_marker(_get(raw, "page_marker", where), where),
            bmc=on_subnet(_get(raw, "bmc", where), f"the BMC of {name}") if "bmc" in raw else None,
            interfaces=_interfaces(raw, index, networks),
        ))
    if not MIN_NODES <= len(nodes) <= MAX_NODES:
        raise ValueError(f"nodes: a lab has {MIN_NODES} to {MAX_NODES} cluster nodes, this plan has {len(nodes)} "
                         "(one [[nodes]] table each)")
    hosts = []
    for index, raw in enumerate(_get(data, "hosts", "", list, [])):
        where = f"hosts[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} = {raw!r}: each host is a table ([[hosts]] with {', '.join(HOST_KEYS)})")
        _known_keys(raw, where, HOST_KEYS, required=False)
        name = _get(raw, "name", where)
        hosts.append(NodePlan(name=_checked_name(name), address=on_subnet(_get(raw, "address", where), f"host {name}"),
                              interface=_checked_interface(_get(raw, "interface", where)),
                              mac=_checked_mac(_get(raw, "mac", where)), page_marker=""))
    if len(hosts) > MAX_HOSTS:
        raise ValueError(f"hosts: a lab has at most {MAX_HOSTS} hosts besides its nodes, this plan has {len(hosts)}")
    router = _router(_get(data, "router", "", dict), on_subnet)
    vip = on_subnet(_get(data, "vip", ""), "VIP").ip
    client = on_subnet(_get(data, "client", ""), "client")
    unique([*((f"nodes[{i}].name", f"nodes[{i}]", n.name) for i, n in enumerate(nodes)),
            *((f"hosts[{i}].name", f"hosts[{i}]", h.name) for i, h in enumerate(hosts)),
            ("router.name", "router", router.name)], "", "every machine needs its own name")
    unique([*((f"nodes[{i}].address", n.name, str(n.address.ip)) for i, n in enumerate(nodes)),
            *((f"hosts[{i}].address", h.name, str(h.address.ip)) for i, h in enumerate(hosts)),
            ("router.address", "the router", str(router.address.ip)), ("vip", "the VIP", str(vip)),
            ("client", "the client", str(client.ip)),
            *((f"nodes[{i}].bmc", f"{n.name}'s BMC", str(n.bmc.ip)) for i, n in enumerate(nodes) if n.bmc),
            *((f"nodes[{i}].interfaces[{j}].address", f"{n.name}'s {f.name}", str(f.address.ip))
              for i, n in enumerate(nodes) for j, f in enumerate(n.interfaces))],
           "", "every machine, the VIP and the client need their own address")
    unique([*((f"nodes[{i}].mac", n.name, n.mac) for i, n in enumerate(nodes)),
            *((f"hosts[{i}].mac", h.name, h.mac) for i, h in enumerate(hosts)),
            *((f"nodes[{i}].interfaces[{j}].mac", f"{n.name}'s {f.name}", f.mac)
              for i, n in enumerate(nodes) for j, f in enumerate(n.interfaces))],
           "", "every node needs its own MAC (one MAC on two nodes: they cannot reach each other)")
    unique([(f"nodes[{i}].page_marker", n.name, n.page_marker) for i, n in enumerate(nodes)],
           "", "each node needs its own page_marker, or nobody can tell who answered")
    expectations = []
    raw_expect = _get(data, "expect", "", dict, {})
    from halab.faults import FAULTS  # here: the fault catalogue reads plans itself

    for fault, raw in sorted(raw_expect.items()):
        where = f"expect.{fault}"
        if fault not in FAULTS:
            raise HalabError(f"[{where}]: there is no fault called {fault!r}",
                             fix=f"name one of: {', '.join(FAULTS)}")
        if not isinstance(raw, dict):
            raise ValueError(f"{where} = {raw!r}: must be a table with outcomes = [...] and why = \"...\"")
        _known_keys(raw, where, EXPECT_KEYS, required=False)
        outcomes = tuple(_get(raw, "outcomes", where, list))
        unknown = [o for o in outcomes if o not in OUTCOMES]
        if unknown or not outcomes:
            raise ValueError(f"expect.{fault}: outcomes must be among {', '.join(OUTCOMES)}, got {outcomes}")
        expectations.append((fault, FaultExpectation(outcomes, _get(raw, "why", where, default=""))))
    stack = _get(data, "stack", "")
    if stack not in ("pacemaker", "heartbeat"):
        raise ValueError(f"stack must be pacemaker or heartbeat, not {stack!r}")
    if stack == "heartbeat" and len(nodes) != 2:
        raise ValueError(f"stack = \"heartbeat\": Heartbeat's haresources (v1) runs two nodes only, and this plan has "
                         f"{len(nodes)}; a cluster of more nodes needs stack = \"pacemaker\"")
    tool = _get(data, "tool", "", default="heartbeat" if stack == "heartbeat" else "pcs")
    if tool not in TOOLS[stack]:
        raise ValueError(f"tool must be {' or '.join(TOOLS[stack])} for a {stack} lab, not {tool!r}")
    document = inside(path.parent, _get(data, "document", ""), "document")
    if not document.is_file():
        raise ValueError(f"the lab document {document} does not exist (or is not a regular file)")
    enable = _get(data, "enable_at_install", "", list, [])
    for index, unit in enumerate(enable):
        if not isinstance(unit, str) or not re.fullmatch(r"[A-Za-z0-9@._-]+", unit):
            raise ValueError(f"enable_at_install[{index}] = {unit!r}: must be a unit name, e.g. \"apache2\"")
    bmc = _bmc(_get(data, "bmc", "", dict, None), tuple(nodes))
    if bmc is None and "bmc-unreachable-cut" in dict(expectations):
        raise ValueError("expect.bmc-unreachable-cut: the fault silences the victim's virtual BMC, and this plan has "
                         "none: add a [bmc] table and each node's bmc address, or drop the expectation")
    return LabPlan(
        name=path.parent.name,
        title=_get(data, "title", ""),
        stack=stack,
        folder=path.parent,
        document=document,
        subnet=subnet,
        vip=vip,
        client=client,
        nodes=tuple(nodes),
        router=router,
        enable_at_install=tuple(enable),
        start_allowance_s=seconds(data.get("start_allowance_s", 5.0), "start_allowance_s", maximum=3600, zero=True),
        expectations=tuple(expectations),
        limits=_limits(_get(data, "limits", "", dict, {})),
        tool=tool,
        bmc=bmc,
        networks=networks,
        domain=_domain(_get(data, "domain", "", str, "")),
        dhcp=_get(data, "dhcp", "", bool, False),
        user=_user(_get(data, "user", "", dict, None)),
        hosts=tuple(hosts),
        root_password=_password(_get(data, "root_password", "", str, ""), "root_password", empty=True),
    )


_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _domain(value: str) -> str:
    """A DNS domain as Debian's installer takes it (lab.local), lower-case labels and dots."""
    if value and (len(value) > 200 or not all(_LABEL.match(label) for label in value.split("."))):
        raise ValueError(f"domain = {value!r}: must be a DNS domain of lower-case labels and dots, e.g. \"lab.local\"")
    return value


def _page_marker(value: str, where: str) -> str:
    if not value.strip():
        raise ValueError(f"{where}.page_marker = {value!r}: must be text the node's page holds, e.g. \"node1\"")
    return value


def _networks(raw: Any, lan: IPv4Network) -> tuple[NetworkPlan, ...]:
    """[[networks]]: each a name and a subnet of its own, apart from the lab subnet and each other."""
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise ValueError("networks must be a list of tables ([[networks]] with name and subnet)")
    networks: list[NetworkPlan] = []
    for index, entry in enumerate(raw):
        key = f"networks[{index}]"
        _known_keys(entry, key, NETWORK_KEYS)
        name = text(entry["name"], f"{key}.name")
        if not _NETWORK.match(name) or name == PRIMARY_NETWORK:
            raise ValueError(f"{key}.name = {name!r}: 1-10 lower-case letters and digits, starting with a letter, "
                             f"not {PRIMARY_NETWORK!r} (the lab subnet's own)")
        subnet = IPv4Network(text(entry["subnet"], f"{key}.subnet"))
        clash = next((n.name for n in networks if n.subnet.overlaps(subnet) or n.name == name), None)
        if subnet.overlaps(lan) or clash:
            raise ValueError(f"{key} ({name}, {subnet}) overlaps or shares a name with "
                             f"{clash or f'the lab subnet {lan}'}: each network needs its own name and subnet")
        networks.append(NetworkPlan(name, subnet))
    return tuple(networks)


def _interfaces(raw_node: dict[str, Any], index: int, networks: tuple[NetworkPlan, ...]) -> tuple[InterfacePlan, ...]:
    """[[nodes.interfaces]]: one interface per further network, on its subnet, named apart from the
    node's main interface."""
    raw = raw_node.get("interfaces", [])
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise ValueError(f"nodes[{index}].interfaces must be a list of tables ([[nodes.interfaces]])")
    interfaces = []
    for number, entry in enumerate(raw):
        key = f"nodes[{index}].interfaces[{number}]"
        _known_keys(entry, key, INTERFACE_KEYS)
        for field in INTERFACE_KEYS:
            text(entry[field], f"{key}.{field}")
        network = next((n for n in networks if n.name == entry["network"]), None)
        if network is None:
            raise ValueError(f"{key}.network = {entry['network']!r}: must name one of the plan's [[networks]] "
                             f"({', '.join(n.name for n in networks) or 'none declared'})")
        address = IPv4Interface(f"{entry['address']}/{network.subnet.prefixlen}")
        if address.ip not in network.subnet or address.ip in (network.subnet.network_address,
                                                             network.subnet.broadcast_address):
            raise ValueError(f"{key}.address = {entry['address']!r} is not a host address of {network.name}'s "
                             f"subnet {network.subnet}")
        interfaces.append(InterfacePlan(network.name, _checked_interface(entry["name"]), address,
                                        _checked_mac(entry["mac"])))
    names = [raw_node["interface"], *(i.name for i in interfaces)]
    if len(set(names)) != len(names):
        raise ValueError(f"nodes[{index}]: two interfaces are both named {max(names, key=names.count)!r}")
    on = sorted(i.network for i in interfaces)
    if on != sorted(n.name for n in networks):
        raise ValueError(f"nodes[{index}] has interfaces on {', '.join(on) or 'no further network'}; it needs "
                         f"exactly one on each of the plan's [[networks]]: {', '.join(n.name for n in networks)}")
    return tuple(sorted(interfaces, key=lambda i: [n.name for n in networks].index(i.network)))


def _known_keys(entry: dict[str, Any], key: str, allowed: tuple[str, ...], required: bool = True) -> None:
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise ValueError(f"{key} has no key {unknown[0]!r} (keys: {', '.join(allowed)})")
    missing = [k for k in allowed if k not in entry] if required else []
    if missing:
        raise ValueError(f"{key} lacks the key {missing[0]!r} (keys: {', '.join(allowed)})")


def _router(raw: dict[str, Any], on_subnet: Any) -> RouterPlan:
    """[router] name and address; `node = true` makes it a machine of its own (see RouterPlan)."""
    _known_keys({"node": False, **raw}, "router", ROUTER_KEYS)
    return RouterPlan(_checked_name(_get(raw, "name", "router")), on_subnet(_get(raw, "address", "router"), "router"),
                      _get(raw, "node", "router", bool, False))


def _bmc(raw: dict[str, Any] | None, nodes: tuple[NodePlan, ...]) -> BmcPlan | None:
    """[bmc] username and password; then every node says its BMC's address, or none does."""
    with_bmc = [n.name for n in nodes if n.bmc]
    if raw is None:
        if with_bmc:
            raise ValueError(f"{', '.join(with_bmc)} have a bmc address but the plan has no [bmc] credentials")
        return None
    if len(with_bmc) != len(nodes):
        raise ValueError("[bmc] is set: every node needs its bmc address")
    for key in ("username", "password"):
        if not isinstance(raw.get(key), str) or not raw[key] or len(raw[key]) > 16:
            raise ValueError(f"[bmc] {key} must be 1-16 characters (IPMI's limit)")
    return BmcPlan(raw["username"], raw["password"])


_LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
USER_KEYS = ("name", "password", "sudo")


def _user(raw: dict[str, Any] | None) -> UserPlan | None:
    """[user] name, password and sudo (default true), as Debian's installer takes them."""
    if raw is None:
        return None
    unknown = sorted(set(raw) - set(USER_KEYS))
    if unknown:
        raise ValueError(f"[user] has no key {unknown[0]!r}; the keys are {', '.join(USER_KEYS)}")
    name = _get(raw, "name", "user", str)
    if not _LOGIN.match(name) or name in ("root", "hacluster"):
        raise ValueError(f"user.name = {name!r}: must be a login name (lower-case letters, digits, _ and -, "
                         "up to 32), not root or hacluster")
    return UserPlan(name, _password(_get(raw, "password", "user", str), "user.password"), _get(raw, "sudo", "user", bool, True))


def _password(value: str, where: str, empty: bool = False) -> str:
    """A password chpasswd takes: one line, no colon; at least 4 characters, so halab can mask it."""
    if empty and value == "":
        return value
    if len(value) < 4 or ":" in value or "\n" in value:
        raise ValueError(f"{where} must be at least 4 characters, on one line, without ':'")
    return value


def _limits(raw: dict[str, Any]) -> NodeLimits:
    """[limits] keys, each a whole number within bounds a node can live with."""
    bounds = {"memory_max_mib": (64, 65536), "tasks_max": (64, 1 << 22), "cpu_weight": (1, 10000),
              "writable_mib": (16, 65536)}
    unknown = sorted(set(raw) - set(bounds))
    if unknown:
        raise ValueError(f"[limits] has no key {unknown[0]!r} (keys: {', '.join(bounds)})")
    for key, value in raw.items():
        low, high = bounds[key]
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"[limits] {key} = {value!r} must be a whole number from {low} to {high}")
    return NodeLimits(**raw)


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"machine name {name!r} must be lower-case letters, digits and dashes")
    return name


def _checked_interface(name: str) -> str:
    if not re.match(r"^[a-z][a-z0-9]{0,14}$", name):
        raise ValueError(f"interface name {name!r} must be 1-15 lower-case letters and digits")
    return name


def _checked_mac(mac: str) -> str:
    mac = mac.lower()
    if not _MAC.match(mac) or int(mac[:2], 16) & 1:
        raise ValueError(f"MAC {mac!r} must be a unicast address like 52:54:00:56:00:10")
    return mac
