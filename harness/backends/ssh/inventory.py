"""A student's cluster as the SSH backend reaches it: an inventory file in YAML, checked line by
line, that names the lab it follows and overrides that lab's plan with the student's own names
and addresses.

    # halab inventory: alice's cluster, graded live over SSH
    variant: pcs                  # the lab it follows: a folder under labs/
    vip: 192.168.56.100
    subnet: 192.168.56.0/24       # optional; default: the variant's
    user: teacher                 # default root
    key: ~/.ssh/id_ed25519        # a private key file, or password: (then keep this file mode 0600)
    sudo: true                    # default: true unless user is root; commands run through `sudo -n`
    port: 22                      # default 22, for every node
    netns: halab-pcs              # optional: reach the nodes from inside this network namespace, e.g. a halab lab's
    nodes:                        # in the order of the variant's nodes
      - name: node1               # the node's own name (uname -n)
        address: 192.168.56.10
      - name: node2
        address: 192.168.56.20
        port: 2222                # optional, this node only
        page_marker: node2        # optional: text only this node's page shows; default: the variant's
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address, IPv4Interface, IPv4Network, NetmaskValueError
from pathlib import Path
from typing import Any

import yaml

from halab.backends.ssh.connection import Login
from halab.errors import HalabError
from halab.plan import LabPlan, load_plan
from halab.yamlfile import LINE, load_yaml

KEYS = {"variant", "vip", "subnet", "user", "key", "password", "sudo", "port", "netns", "nodes"}
NODE_KEYS = {"name", "address", "port", "page_marker"}
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
FIX = "see the example in harness/backends/ssh/inventory.py (or README: Grading a student's own cluster)"


@dataclass(frozen=True)
class NodeAccess:
    name: str
    address: IPv4Address
    port: int
    page_marker: str | None


@dataclass(frozen=True)
class Inventory:
    source: str
    variant: str
    vip: IPv4Address
    subnet: IPv4Network | None
    user: str
    key: Path | None
    password: str | None = field(repr=False)
    sudo: bool
    netns: str | None
    nodes: tuple[NodeAccess, ...]

    def apply(self, plan: LabPlan) -> LabPlan:
        """The variant's plan with the student's names, addresses and VIP: what checks and faults see."""
        if plan.name != self.variant:
            raise HalabError(f"{self.source} follows lab {self.variant}, not {plan.name}", fix="halab connect again")
        subnet = self.subnet or plan.subnet
        nodes = tuple(
            dataclasses.replace(
                planned, name=mine.name, address=IPv4Interface(f"{mine.address}/{subnet.prefixlen}"),
                page_marker=mine.page_marker or planned.page_marker,
            )
            for planned, mine in zip(plan.nodes, self.nodes)
        )
        return dataclasses.replace(plan, subnet=subnet, vip=self.vip, nodes=nodes)

    def login(self, node: NodeAccess) -> Login:
        return Login(node.name, str(node.address), node.port, self.user, self.key, self.password, self.sudo,
                     self.netns, self.source)


def load_inventory(path: Path, overrides: dict[str, Any] | None = None) -> Inventory:
    """Read and check an inventory file; `overrides` (command-line flags) win over its settings."""
    data = load_yaml(path, "inventory")
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    if isinstance(data, dict):
        data.update(given)  # in place: the file's own settings keep their lines
    return parse_inventory(data, str(path), {key: f"--{key}" for key in given})


def parse_inventory(data: Any, source: str, where: dict[str, str] | None = None) -> Inventory:
    """Check every setting, naming the line (or flag) of the first wrong one; pure, so each
    malformed case is unit-tested. `where` maps a setting to its place (default: its line)."""
    if not isinstance(data, dict):
        raise HalabError(f"{source}: an inventory is a mapping of settings (variant:, vip:, nodes: ...)", fix=FIX)
    places = {key: f"{source}:{line}" for key, line in getattr(data, "key_lines", {}).items()}
    places.update(where or {})

    def refuse(what: str, key: str = "", fix: str = FIX) -> HalabError:
        return HalabError(f"{places.get(key, source)}: {what}", fix=fix)

    unknown = sorted(set(data) - KEYS - {LINE})
    if unknown:
        raise refuse(f"unknown setting {', '.join(unknown)}", unknown[0], fix=f"use {', '.join(sorted(KEYS))}")
    for needed in ("variant", "vip", "nodes"):
        if data.get(needed) in (None, ""):
            raise refuse(f"missing setting {needed}:")
    variant = str(data["variant"])
    if not re.fullmatch(r"[a-z0-9_-]+", variant):
        raise refuse(f"variant: {variant!r} is not a lab name", "variant", fix="the name of a folder under labs/, e.g. pcs")
    try:
        plan = load_plan(variant)
    except HalabError as error:
        raise refuse(f"variant: {error.what}", "variant", fix=error.fix) from None
    subnet = _network(data["subnet"], lambda w: refuse(w, "subnet")) if data.get("subnet") is not None else None
    vip = _address(data["vip"], "vip", lambda w: refuse(w, "vip"))
    user = str(data.get("user", "root"))
    if not _USER.match(user):
        raise refuse(f"user: {user!r} is not a user name", "user")
    key = _key(data.get("key"), lambda what, fix=FIX: refuse(what, "key", fix))
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise refuse("password: must be text (quote it)", "password")
    if key is None and not password:
        raise refuse("give key: (a private key file) or password: to log in with")
    sudo = data.get("sudo", user != "root")
    if not isinstance(sudo, bool):
        raise refuse(f"sudo: must be true or false, not {sudo!r}", "sudo")
    if user != "root" and not sudo:
        raise refuse(f"sudo: false, but user {user} is not root: the harness needs passwordless sudo on the nodes", "sudo")
    netns = data.get("netns")
    if netns is not None and not (isinstance(netns, str) and _NETNS.match(netns)):
        raise refuse(f"netns: {netns!r} is not a network namespace name", "netns", fix="a name `ip netns list` shows")
    port = _port(data.get("port", 22), lambda w: refuse(w, "port"))

    def refuse_node(what: str, line: int = 0) -> HalabError:
        return HalabError(f"{source}:{line}: {what}", fix=FIX) if line else refuse(what, "nodes")

    nodes = _nodes(data["nodes"], plan, port, refuse_node)
    network = subnet or plan.subnet
    whose = "" if subnet else f" (lab {plan.name}'s; give subnet: for your own)"
    for node in nodes:
        if node.address == vip:
            raise refuse(f"vip: {vip} is also node {node.name}'s address: the VIP floats, a node's address does not", "vip")
        if node.address not in network:
            raise refuse(f"node {node.name}'s address {node.address} is outside the subnet {network}{whose}", "nodes")
    if vip not in network:
        raise refuse(f"vip: {vip} is outside the subnet {network}{whose}", "vip")
    return Inventory(source, variant, vip, subnet, user, key, password, sudo, netns, nodes)


def dump_inventory(inventory: Inventory) -> str:
    """The inventory as the lab keeps it (key path made absolute, flags merged in): the lab
    record points at this copy, so any later process reads the same."""
    settings = {
        "variant": inventory.variant, "vip": str(inventory.vip),
        "subnet": str(inventory.subnet) if inventory.subnet else None, "user": inventory.user,
        "key": str(inventory.key) if inventory.key else None, "password": inventory.password,
        "sudo": inventory.sudo, "netns": inventory.netns,
        "nodes": [{"name": n.name, "address": str(n.address), "port": n.port,
                   **({"page_marker": n.page_marker} if n.page_marker else {})} for n in inventory.nodes],
    }
    return "# written by halab connect\n" + yaml.safe_dump({k: v for k, v in settings.items() if v is not None},
                                                            sort_keys=False)


def _nodes(raw: Any, plan: LabPlan, default_port: int, refuse: Any) -> tuple[NodeAccess, ...]:
    """`refuse(what, line)` makes the error; line 0 points at the nodes: setting itself."""
    if not isinstance(raw, list) or len(raw) != len(plan.nodes):
        raise refuse(f"nodes: must list the {len(plan.nodes)} nodes of lab {plan.name}, each with name: and address:")
    nodes = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise refuse("nodes: each entry is a mapping with name: and address:")
        lines = getattr(entry, "key_lines", {})

        def here(key: str) -> int:
            return int(lines.get(key, entry.get(LINE, 0)))

        unknown = sorted(set(entry) - NODE_KEYS - {LINE})
        if unknown:
            raise refuse(f"unknown node setting {', '.join(unknown)} (use {', '.join(sorted(NODE_KEYS))})", here(unknown[0]))
        name = entry.get("name")
        if not isinstance(name, str) or not _NODE_NAME.match(name):
            raise refuse(f"node name {name!r} must be lower-case letters, digits and dashes (as uname -n)", here("name"))
        if "address" not in entry:
            raise refuse(f"node {name} has no address:", here("name"))
        address = _address(entry["address"], f"node {name}'s address", lambda w: refuse(w, here("address")))
        marker = entry.get("page_marker")
        if marker is not None and not (isinstance(marker, str) and marker.strip()):
            raise refuse(f"node {name}: page_marker must be text its page shows", here("page_marker"))
        port = _port(entry.get("port", default_port), lambda w: refuse(w, here("port")))
        nodes.append(NodeAccess(name, address, port, marker))
    for kind, values in (("name", [n.name for n in nodes]), ("address", [str(n.address) for n in nodes])):
        if len(set(values)) != len(values):
            raise refuse(f"nodes: two nodes share the {kind} {values[0]}")
    return tuple(nodes)


def _address(value: Any, what: str, refuse: Any) -> IPv4Address:
    try:
        return IPv4Address(str(value))
    except AddressValueError:
        raise refuse(f"{what}: {value!r} is not an IPv4 address") from None


def _network(value: Any, refuse: Any) -> IPv4Network:
    try:
        return IPv4Network(str(value))
    except (AddressValueError, NetmaskValueError, ValueError):
        raise refuse(f"subnet: {value!r} is not a network such as 192.168.56.0/24") from None


def _port(value: Any, refuse: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise refuse(f"port: {value!r} is not a TCP port (1-65535)")
    return value


def _key(value: Any, refuse: Any) -> Path | None:
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise refuse(f"key: no private key file at {path}", fix="give the path of the private key (not the .pub)")
    return path.resolve()
