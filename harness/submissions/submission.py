"""What a submission holds, and its archive layout. Everything read back from an archive is
validated here, so the rest of halab only ever sees well-typed, checked values.

    manifest.json                      format, student, variant, halab version, nodes, VIP
    nodes/<node>/node.json             hostname, units, packages, secrets (hash, mode, owner), interfaces
    nodes/<node>/files/<path>          configuration files and the page Apache serves, as found
                                       (Heartbeat's authkeys with each key replaced by its hash)
    nodes/<node>/cib.xml               `cibadmin --query`, when Pacemaker answered
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any, Mapping

from halab.errors import HalabError
from halab.facts import FileFact, UnitFact
from halab.facts.gather import CONFIG_FILES, PAGE
from halab.submissions.archive import ArchiveRefused

FORMAT, FORMAT_VERSION = "halab-submission", 1
# It names report files, and is the gradebook's identifier: a username (alice.martin) or an
# e-mail address (a.martin@school.fr), never a path.
STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@-]{0,127}$")
STUDENT_RULE = "1-128 letters, digits, dots, dashes, underscores, + or @ (a username or an e-mail address)"
NODE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$")
OWNER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
MODE = re.compile(r"^[0-7]{1,4}$")
MAC = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$")
UNIT_STATE = re.compile(r"^[a-z-]{1,32}$")
AUTHKEYS, COROSYNC_AUTHKEY = "/etc/ha.d/authkeys", "/etc/corosync/authkey"
# The only files a submission may carry, and the only ones a rebuild writes on its nodes.
FILES = (*CONFIG_FILES, PAGE, AUTHKEYS)


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str
    addresses: tuple[IPv4Interface, ...]


@dataclass(frozen=True)
class NodeEvidence:
    name: str  # the node's name in the lab plan
    hostname: str  # uname -n
    units: tuple[UnitFact, ...]
    files: tuple[tuple[str, bytes], ...]  # absolute path on the node -> content
    secrets: tuple[FileFact, ...]  # mode, owner and sha256 only
    packages: tuple[tuple[str, str], ...]
    interfaces: tuple[Interface, ...]
    gateway: IPv4Address | None
    cib: str | None

    def file(self, path: str) -> bytes | None:
        return dict(self.files).get(path)

    def unit(self, name: str) -> UnitFact:
        return next((u for u in self.units if u.unit == name), UnitFact(name, "not-found", "inactive"))

    def secret(self, path: str) -> FileFact | None:
        return next((s for s in self.secrets if s.path == path), None)


@dataclass(frozen=True)
class Submission:
    student: str
    variant: str
    halab_version: str
    collected_at: float
    collected_by: str  # "lab NAME" or "node NAME itself"
    vip: IPv4Address | None  # None: read from the student's configuration at rebuild
    nodes: tuple[NodeEvidence, ...]

    def node(self, name: str) -> NodeEvidence:
        return next(n for n in self.nodes if n.name == name)


def checked_student(name: str) -> str:
    """A student's name names report files and their gradebook row: a username or an e-mail address."""
    if not STUDENT.match(name):
        raise HalabError(f"student {name!r} must be {STUDENT_RULE}", fix="e.g. --student alice.martin or a.martin@school.fr")
    return name


# -- to an archive ------------------------------------------------------------------------
def to_members(submission: Submission) -> dict[str, bytes]:
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "student": submission.student,
        "variant": submission.variant, "halab_version": submission.halab_version,
        "collected_at": submission.collected_at, "collected_by": submission.collected_by,
        "vip": str(submission.vip) if submission.vip else None, "nodes": [n.name for n in submission.nodes],
    }
    members = {"manifest.json": _json(manifest)}
    for node in submission.nodes:
        base = f"nodes/{node.name}"
        members[f"{base}/node.json"] = _json({
            "hostname": node.hostname,
            "units": {u.unit: {"enabled": u.enabled, "active": u.active} for u in node.units},
            "secrets": {s.path: {"mode": s.mode, "owner": s.owner, "sha256": s.sha256} for s in node.secrets},
            "packages": dict(node.packages),
            "interfaces": [{"name": i.name, "mac": i.mac, "addresses": [str(a) for a in i.addresses]}
                           for i in node.interfaces],
            "gateway": str(node.gateway) if node.gateway else None,
        })
        for path, data in node.files:
            members[f"{base}/files{path}"] = data
        if node.cib is not None:
            members[f"{base}/cib.xml"] = node.cib.encode()
    return members


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()


# -- from an archive: validated -----------------------------------------------------------
def from_members(
    archive: Path, members: Mapping[str, bytes], variants: tuple[str, ...], *, partial: bool = False
) -> Submission:
    """Validate the manifest and every node's record; refuse, naming the entry, at the first fault.
    `partial`: one node is enough (an archive a student is still collecting into)."""
    manifest = _load_json(archive, members, "manifest.json")
    refuse = lambda reason: ArchiveRefused(archive, reason, "manifest.json")  # noqa: E731
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise refuse(f"not a {FORMAT} manifest of version {FORMAT_VERSION} "
                     f"(format {manifest.get('format')!r}, version {manifest.get('format_version')!r})")
    student = manifest.get("student")
    if not isinstance(student, str) or not STUDENT.match(student):
        raise refuse(f"student {student!r} must be {STUDENT_RULE}")
    variant = manifest.get("variant")
    if variant not in variants:
        raise refuse(f"variant {variant!r} is not a lab of this halab ({', '.join(variants)})")
    names = manifest.get("nodes")
    counts = (1, 2) if partial else (2,)
    if not isinstance(names, list) or len(names) not in counts or len(set(map(str, names))) != len(names):
        raise refuse(f"a submission holds two distinct nodes, got {names!r}"
                     + (" (run `halab collect --here` on the other node into the same archive)"
                        if isinstance(names, list) and len(names) == 1 else ""))
    for name in names:
        if not isinstance(name, str) or not NODE.match(name):
            raise refuse(f"node name {name!r} must be lower-case letters, digits and dashes")
    vip = manifest.get("vip")
    try:
        collected_at = float(manifest.get("collected_at", 0))
        parsed_vip = IPv4Address(vip) if vip is not None else None
    except (TypeError, ValueError) as error:
        raise refuse(str(error)) from None
    allowed = {"manifest.json"} | {f"nodes/{n}/{leaf}" for n in names
                                   for leaf in ("node.json", "cib.xml", *(f"files{p}" for p in FILES))}
    unknown = sorted(set(members) - allowed)
    if unknown:
        raise ArchiveRefused(archive, "an entry halab does not write (a submission holds manifest.json, and per "
                             f"node node.json, cib.xml and files/ among {', '.join(FILES)})", unknown[0])
    nodes = tuple(_node(archive, members, name) for name in names)
    return Submission(student, variant, str(manifest.get("halab_version", "?"))[:40], collected_at,
                      str(manifest.get("collected_by", "?"))[:80], parsed_vip, nodes)


def _load_json(archive: Path, members: Mapping[str, bytes], name: str) -> dict[str, Any]:
    if name not in members:
        raise ArchiveRefused(archive, "missing", name)
    try:
        value = json.loads(members[name].decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise ArchiveRefused(archive, f"not valid JSON ({error})", name) from None
    if not isinstance(value, dict):
        raise ArchiveRefused(archive, "must be a JSON object", name)
    return value


def _node(archive: Path, members: Mapping[str, bytes], name: str) -> NodeEvidence:
    base = f"nodes/{name}"
    entry = f"{base}/node.json"
    record = _load_json(archive, members, entry)

    def bad(reason: str) -> ArchiveRefused:
        return ArchiveRefused(archive, reason, entry)

    try:
        hostname = str(record["hostname"])
        if not HOSTNAME.match(hostname):
            raise bad(f"hostname {hostname!r} is not a host name")
        units = tuple(UnitFact(str(unit), str(state["enabled"]), str(state["active"]))
                      for unit, state in dict(record.get("units", {})).items())
        if any(not UNIT_STATE.match(u.enabled) or not UNIT_STATE.match(u.active) for u in units):
            raise bad("a unit state is not a word systemctl prints")
        secrets = []
        for path, secret in dict(record.get("secrets", {})).items():
            mode, owner, digest = str(secret["mode"]), str(secret["owner"]), str(secret["sha256"])
            if not (MODE.match(mode) and OWNER.match(owner) and re.fullmatch(r"[0-9a-f]{64}", digest)):
                raise bad(f"secret {path}: mode, owner or sha256 malformed")
            secrets.append(FileFact(str(path), True, mode, owner, digest))
        interfaces = tuple(
            Interface(str(i["name"])[:15], str(i["mac"]).lower() if MAC.match(str(i["mac"]).lower()) else "",
                      tuple(IPv4Interface(a) for a in i["addresses"]))
            for i in record.get("interfaces", [])
        )
        gateway = IPv4Address(record["gateway"]) if record.get("gateway") else None
        packages = tuple(sorted((str(k)[:64], str(v)[:64]) for k, v in dict(record.get("packages", {})).items()))
    except ArchiveRefused:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise bad(f"malformed ({type(error).__name__}: {error})") from None
    prefix = f"{base}/files/"
    files = tuple(sorted(("/" + m[len(prefix):], data) for m, data in members.items() if m.startswith(prefix)))
    cib = members.get(f"{base}/cib.xml")
    return NodeEvidence(name, hostname, units, files, tuple(secrets), packages, interfaces, gateway,
                        cib.decode(errors="replace") if cib is not None else None)
