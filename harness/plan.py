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
from halab.paths import labs_dir

# What a client saw after a fault: served by the other node, by the same node after a restart,
# never interrupted, by both nodes at once, or not served again until the fault was healed.
OUTCOMES = ("failover", "restart-in-place", "no-outage", "split-brain", "no-recovery")
TOOLS = {"pacemaker": ("pcs", "crmsh"), "heartbeat": ("heartbeat",)}
_MAC = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class NodePlan:
    name: str
    address: IPv4Interface
    interface: str
    mac: str
    page_marker: str  # text in the node's page that tells which node answered


@dataclass(frozen=True)
class RouterPlan:
    name: str
    address: IPv4Interface


@dataclass(frozen=True)
class FaultExpectation:
    outcomes: tuple[str, ...]
    why: str


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
    tool: str = "pcs"  # what the lab administers the cluster with: pcs, crmsh or heartbeat (its files)

    def node(self, name: str) -> NodePlan:
        for node in self.nodes:
            if node.name == name:
                return node
        raise HalabError(f"lab {self.name} has no node {name!r}", fix=f"use one of: {', '.join(self.node_names)}")

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes)

    @property
    def vip_url(self) -> str:
        return f"http://{self.vip}/"

    def expectation(self, fault: str) -> FaultExpectation | None:
        return dict(self.expectations).get(fault)

    def lab_addresses(self) -> frozenset[IPv4Address]:
        """Every address that belongs to this lab: the only ones halab may send traffic to."""
        return frozenset(
            [self.vip, self.client.ip, self.router.address.ip, *(node.address.ip for node in self.nodes)]
        )


def available_labs() -> list[str]:
    return sorted(p.parent.name for p in labs_dir().glob("*/plan.toml"))


def is_path(name_or_path: str | Path) -> bool:
    """A path is a path (a Path, or text with a `/` or ending in .toml); anything else is the name of
    a bundled lab, which a folder of the current directory never shadows."""
    return isinstance(name_or_path, Path) or "/" in name_or_path or name_or_path.endswith(".toml")


def load_plan(name_or_path: str | Path) -> LabPlan:
    """Load a bundled lab by name (pcs, crmsh, heartbeat), or one's own by the path of its
    plan.toml or folder (./mylab)."""
    if is_path(name_or_path):
        path = Path(name_or_path)
        path = path / "plan.toml" if path.is_dir() else path
    else:
        path = labs_dir() / str(name_or_path) / "plan.toml"
    if not path.is_file():
        raise HalabError(
            f"no lab called {str(name_or_path)!r} (looked for {path})",
            fix=f"choose one of: {', '.join(available_labs()) or 'none found'}",
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise HalabError(f"{path} is not valid TOML: {error}", fix="correct the plan at that line") from None
    try:
        return _parse(data, path)
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing key {error}" if isinstance(error, KeyError) else str(error)
        raise HalabError(f"{path}: {detail}", fix="compare with labs/pcs/plan.toml") from None


def _parse(data: dict[str, Any], path: Path) -> LabPlan:
    subnet = IPv4Network(data["subnet"])
    prefix = subnet.prefixlen

    def on_subnet(value: str, what: str) -> IPv4Interface:
        address = IPv4Interface(f"{value}/{prefix}")
        if address.ip not in subnet or address.ip in (subnet.network_address, subnet.broadcast_address):
            raise ValueError(f"{what} {value} is not a host address of the lab subnet {subnet}")
        return address

    nodes = tuple(
        NodePlan(
            name=_checked_name(raw["name"]),
            address=on_subnet(raw["address"], f"node {raw['name']}"),
            interface=_checked_interface(raw["interface"]),
            mac=_checked_mac(raw["mac"]),
            page_marker=raw["page_marker"],
        )
        for raw in data["nodes"]
    )
    if len(nodes) != 2:
        raise ValueError(f"a lab has exactly two nodes, this plan has {len(nodes)}")
    router = RouterPlan(_checked_name(data["router"]["name"]), on_subnet(data["router"]["address"], "router"))
    vip = on_subnet(data["vip"], "VIP").ip
    client = on_subnet(data["client"], "client")
    used = [n.address.ip for n in nodes] + [router.address.ip, vip, client.ip]
    if len(set(used)) != len(used):
        raise ValueError(f"two of the lab's addresses are equal: {', '.join(map(str, used))}")
    names = [n.name for n in nodes] + [router.name]
    if len(set(names)) != len(names):
        raise ValueError(f"two machines share a name: {', '.join(names)}")
    if len({n.page_marker for n in nodes}) != len(nodes):
        raise ValueError("each node needs its own page_marker, or nobody can tell who answered")
    expectations = []
    for fault, raw in sorted(data.get("expect", {}).items()):
        outcomes = tuple(raw["outcomes"])
        unknown = [o for o in outcomes if o not in OUTCOMES]
        if unknown or not outcomes:
            raise ValueError(f"expect.{fault}: outcomes must be among {', '.join(OUTCOMES)}, got {outcomes}")
        expectations.append((fault, FaultExpectation(outcomes, raw.get("why", ""))))
    stack = data["stack"]
    if stack not in ("pacemaker", "heartbeat"):
        raise ValueError(f"stack must be pacemaker or heartbeat, not {stack!r}")
    tool = data.get("tool", "heartbeat" if stack == "heartbeat" else "pcs")
    if tool not in TOOLS[stack]:
        raise ValueError(f"tool must be {' or '.join(TOOLS[stack])} for a {stack} lab, not {tool!r}")
    document = path.parent / data["document"]
    if not document.is_file():
        raise ValueError(f"the lab document {document} does not exist")
    return LabPlan(
        name=path.parent.name,
        title=data["title"],
        stack=stack,
        folder=path.parent,
        document=document,
        subnet=subnet,
        vip=vip,
        client=client,
        nodes=nodes,
        router=router,
        enable_at_install=tuple(data.get("enable_at_install", ())),
        start_allowance_s=float(data.get("start_allowance_s", 5.0)),
        expectations=tuple(expectations),
        tool=tool,
    )


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
