"""The facts of one node and of a lab, as they travel to checks and into reports."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface


@dataclass(frozen=True)
class UnitFact:
    unit: str
    enabled: str  # as `systemctl is-enabled` says: enabled, disabled, masked, not-found...
    active: str  # as `systemctl is-active` says


@dataclass(frozen=True)
class FileFact:
    path: str
    exists: bool
    mode: str = ""  # octal, e.g. "400"
    owner: str = ""
    sha256: str = ""  # secrets are compared by hash, never collected
    text: str | None = None  # configuration files only


@dataclass(frozen=True)
class CommandFact:
    command: str
    exit_status: int
    output: str


@dataclass(frozen=True)
class NodeFacts:
    node: str
    reachable: bool
    error: str = ""
    hostname: str = ""  # uname -n
    clock: float = 0.0  # the node's clock (epoch seconds) when the facts were read
    units: tuple[UnitFact, ...] = ()
    files: tuple[FileFact, ...] = ()
    resolution: tuple[tuple[str, tuple[str, ...]], ...] = ()  # node name -> addresses it resolves to
    commands: tuple[CommandFact, ...] = ()

    def unit(self, name: str) -> UnitFact:
        return next((u for u in self.units if u.unit == name), UnitFact(name, "not-found", "inactive"))

    def file(self, path: str) -> FileFact:
        return next((f for f in self.files if f.path == path), FileFact(path, False))

    def command(self, name: str) -> CommandFact | None:
        return next((c for c in self.commands if c.command == name), None)

    def resolves(self, name: str) -> tuple[str, ...]:
        return dict(self.resolution).get(name, ())

    def interfaces(self) -> dict[str, tuple[IPv4Interface, ...]]:
        """Each network interface and its IPv4 addresses, from `ip -o addr show`."""
        found: dict[str, tuple[IPv4Interface, ...]] = {}
        shown = self.command("addresses")
        for line in (shown.output if shown else "").splitlines():
            fields = line.split()
            if len(fields) < 4 or not fields[0].endswith(":"):
                continue
            name = fields[1].split("@")[0]
            found.setdefault(name, ())
            if fields[2] == "inet":
                found[name] += (IPv4Interface(fields[3]),)
        return found


@dataclass(frozen=True)
class LabFacts:
    lab: str
    variant: str
    nodes: tuple[NodeFacts, ...]

    def node(self, name: str) -> NodeFacts:
        return next(n for n in self.nodes if n.node == name)

    @property
    def reachable(self) -> tuple[NodeFacts, ...]:
        return tuple(n for n in self.nodes if n.reachable)
