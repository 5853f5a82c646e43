"""A student's cluster rebuilt from a submission on fresh nodes: the plan from the archive's
network evidence and variant, then the collected files, units and CIB put back in place, the
stack started, and the VIP awaited (bounded: a cluster that never serves is graded, not fatal).

Secrets never travelled in clear, so each is replaced by a key derived from its hash: nodes
whose keys were equal get equal keys, nodes whose keys differed get different ones, and the
checks that compare hashes judge the rebuilt nodes as they would have judged the student's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Callable, Iterable

from halab.backends import Backend
from halab.command import CommandResult
from halab.errors import HalabError
from halab.plan import LabPlan, NodePlan, load_plan
from halab.probe.fetch import fetch
from halab.scenarios.load import scenarios_file
from halab.stacks.cib import parse_cib
from halab.stacks.first_election import COORDINATOR_XPATH, FirstElection
from halab.submissions.submission import AUTHKEYS, COROSYNC_AUTHKEY, FILES, Interface, NodeEvidence, Submission
from halab.wait import wait_until

VIP_TIMEOUT_S = 90.0
DC_TIMEOUT_S = 90.0
NEVER_STARTED = ("pcsd",)  # the management daemon: never graded, and half a pcs node's memory
SECRET_REF = re.compile(r"halab-sha256:([0-9a-f]{64})")
IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


@dataclass(frozen=True)
class RebuildPlan:
    variant: str
    subnet: IPv4Network
    vip: IPv4Address
    client: IPv4Address
    router: IPv4Address
    nodes: tuple[NodePlan, ...]
    notes: tuple[str, ...]  # what was inferred, and from what, for the student's report


# -- planning (pure) ------------------------------------------------------------------------
def plan_rebuild(submission: Submission, variant: LabPlan) -> RebuildPlan:
    """Names, addresses, interfaces, MACs and VIP of the student's cluster, from its evidence."""
    _rebuildable(variant)
    notes: list[str] = []
    config_vips = configured_vips(submission)
    not_node = {v for v in (submission.vip, variant.vip, *config_vips) if v is not None}
    first, second = submission.nodes
    chosen = [_node_address(first, second, not_node), _node_address(second, first, not_node)]
    subnet = chosen[0][1].network
    if chosen[1][1].network != subnet:
        raise HalabError(f"{first.name} ({chosen[0][1]}) and {second.name} ({chosen[1][1]}) are not on one subnet",
                         fix="the two nodes of a lab share one network: collect again from the cluster's interfaces")
    if not subnet.is_private or not 8 <= subnet.prefixlen <= 30:
        raise HalabError(f"the cluster network {subnet} is not a private IPv4 subnet between /8 and /30")
    vip = next((v for v in (submission.vip, variant.vip, *config_vips) if v is not None and v in subnet
                and v not in (subnet.network_address, subnet.broadcast_address)), None)
    if vip is None:
        raise HalabError(f"no VIP on {subnet}: neither the manifest, the lab plan ({variant.vip}) nor the "
                         "configuration names one", fix="collect with --vip ADDRESS")
    if vip != submission.vip:
        notes.append(f"VIP {vip} " + ("from the lab plan" if vip == variant.vip else "from the student's configuration"))
    used = {vip, *(address.ip for _, address in chosen)}
    router = _free(subnet, used, [first.gateway, second.gateway, variant.router.address.ip])
    client = _free(subnet, used | {router}, [variant.client.ip])
    nodes = []
    macs: set[str] = set()
    for index, (evidence, (interface, address)) in enumerate(zip(submission.nodes, chosen)):
        mac = interface.mac if _unicast(interface.mac) and interface.mac not in macs else f"52:54:00:5b:00:{index + 10:02x}"
        if mac != interface.mac:
            notes.append(f"{evidence.name}: MAC {interface.mac or 'unknown'} replaced by {mac}")
        macs.add(mac)
        name = interface.name if re.match(r"^[a-z][a-z0-9]{0,14}$", interface.name) else "eth0"
        if name != interface.name:
            notes.append(f"{evidence.name}: interface {interface.name!r} renamed {name}")
        nodes.append(NodePlan(evidence.name, address, name, mac, _page_marker(evidence, variant, index)))
    if len({n.page_marker for n in nodes}) < 2:
        nodes = [NodePlan(n.name, n.address, n.interface, n.mac, n.name) for n in nodes]
    return RebuildPlan(variant.name, subnet, vip, client, router, tuple(nodes), tuple(notes))


def configured_vips(submission: Submission) -> list[IPv4Address]:
    """VIPs the student configured: IPaddr/IPaddr2 resources of the CIB, addresses in haresources."""
    found: list[IPv4Address] = []
    for node in submission.nodes:
        if node.cib:
            try:
                cib = parse_cib(node.cib)
            except HalabError:
                cib = None
            for primitive in (cib.by_type("IPaddr2") + cib.by_type("IPaddr")) if cib else ():
                found += _addresses([primitive.param("ip") or ""])
        haresources = (node.file("/etc/ha.d/haresources") or b"").decode(errors="replace")
        found += _addresses(line for line in haresources.splitlines() if not line.lstrip().startswith("#"))
    return list(dict.fromkeys(found))


def _addresses(texts: Iterable[str]) -> list[IPv4Address]:
    found = []
    for text in texts:
        for match in IPV4.findall(text):
            try:
                found.append(IPv4Address(match))
            except ValueError:
                continue
    return found


def _node_address(
    node: NodeEvidence, other: NodeEvidence, not_node: set[IPv4Address]
) -> tuple[Interface, IPv4Interface]:
    """The node's interface and address on the cluster network: the one that shares a subnet
    with the other node, else its first IPv4 address that is not a VIP."""
    candidates = [(i, a) for i in node.interfaces for a in i.addresses
                  if a.ip not in not_node and not (a.ip.is_loopback or a.ip.is_link_local)]
    if not candidates:
        raise HalabError(f"{node.name}: the archive records no IPv4 address for it",
                         fix="collect again while the node's network is up")
    theirs = [a.ip for i in other.interfaces for a in i.addresses if a.ip not in not_node]
    return next(((i, a) for i, a in candidates if any(t in a.network for t in theirs)), candidates[0])


def _rebuildable(variant: LabPlan) -> None:
    """A rebuild makes two nodes on one subnet behind a bare router. A lab that needs more (the
    fencing lab: BMCs to fence through, the router's quorum device, a second ring) would be
    rebuilt without them, and its student graded for the rebuild's gaps: refused instead."""
    variant.require_two_nodes("rebuilding a submission")
    variant.require_no_hosts("rebuilding a submission")
    needs = [what for what, needed in (
        ("virtual BMCs to fence through", variant.bmc is not None or any(n.bmc for n in variant.nodes)),
        ("a router that runs the quorum device", variant.router.node),
        ("a second network for corosync's second link", bool(variant.networks)),
    ) if needed]
    if needs:
        raise HalabError(f"a {variant.name} submission cannot be rebuilt from its archive yet: the lab needs "
                         f"{', '.join(needs)}, and a rebuild makes two nodes on one subnet only, so the grade would "
                         "count what the rebuild lacks against the student",
                         fix="grade this student's own cluster live over SSH (README: Grading a student's own cluster)")


def _free(subnet: IPv4Network, used: set[IPv4Address], preferred: list[IPv4Address | None]) -> IPv4Address:
    for address in preferred:
        if address is not None and address in subnet and address not in used \
                and address not in (subnet.network_address, subnet.broadcast_address):
            return address
    top = int(subnet.broadcast_address) - 1
    for value in range(top, max(top - 256, int(subnet.network_address)), -1):
        if IPv4Address(value) not in used:
            return IPv4Address(value)
    raise HalabError(f"no free address left on {subnet} for the lab's router and client")


def _unicast(mac: str) -> bool:
    return bool(re.match(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$", mac)) and not int(mac[:2], 16) & 1 and mac != "00:00:00:00:00:00"


def _page_marker(node: NodeEvidence, variant: LabPlan, index: int) -> str:
    """Text of the node's page that tells a client which node answered: the lab's own marker
    when the page has it, else the node's name when the page has it, else the name anyway (the
    vip-serves check then says that the page names no node)."""
    page = (node.file("/var/www/html/index.html") or b"").decode(errors="replace")
    same = next((n.page_marker for n in variant.nodes if n.name == node.name), variant.nodes[index].page_marker)
    return next((m for m in (same, node.name, node.hostname) if m and m in page), node.name)


def write_plan(rebuild: RebuildPlan, variant: LabPlan, folder: Path) -> LabPlan:
    """The plan as `labs/<variant>/plan.toml` would say it, with the variant's document and fault
    expectations, so every part of halab (records, checks, faults) reads it as any other lab."""
    q = json.dumps  # a JSON string is a TOML basic string
    lines = [
        f"title = {q(variant.title + ' (rebuilt from a submission)')}", f"stack = {q(variant.stack)}", f"tool = {q(variant.tool)}",
        f"document = {q(variant.document.name)}", f"subnet = {q(str(rebuild.subnet))}",
        f"vip = {q(str(rebuild.vip))}", f"client = {q(str(rebuild.client))}", "enable_at_install = []",
        f"start_allowance_s = {variant.start_allowance_s}", "",
        "[router]", f"name = {q(variant.router.name if variant.router.name not in [n.name for n in rebuild.nodes] else 'gateway')}",
        f"address = {q(str(rebuild.router))}", "",
    ]
    for node in rebuild.nodes:
        lines += ["[[nodes]]", f"name = {q(node.name)}", f"address = {q(str(node.address.ip))}",
                  f"interface = {q(node.interface)}", f"mac = {q(node.mac)}", f"page_marker = {q(node.page_marker)}", ""]
    for fault, expectation in variant.expectations:
        lines += [f"[expect.{fault}]", f"outcomes = {q(list(expectation.outcomes))}", f"why = {q(expectation.why)}", ""]
    folder = folder / variant.name  # the folder's name is the plan's name: the variant
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.toml").write_text("\n".join(lines))
    # The variant's document beside the plan: a plan names only files inside its own folder.
    (folder / variant.document.name).write_bytes(variant.document.read_bytes())
    scenarios = scenarios_file(variant)
    if scenarios.exists():  # the rubric's scenario checks read the lab's scenarios beside its plan
        (folder / scenarios.name).write_bytes(scenarios.read_bytes())
    return load_plan(folder)


# -- secrets and the CIB (pure) ------------------------------------------------------------
def derived_key(digest: str, size: int = 256) -> bytes:
    """A lab-only key standing for the student's key of hash `digest` (equal hashes, equal keys)."""
    blocks = (hashlib.sha256(f"halab-rebuild:{digest}:{i}".encode()).digest() for i in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def authkeys_with_keys(redacted: bytes) -> bytes:
    return SECRET_REF.sub(lambda m: derived_key(m.group(1), 20).hex(), redacted.decode(errors="replace")).encode()


def cib_to_load(student_cib: str, current_epoch: int) -> str:
    """The student's CIB without its status section (the new nodes write their own), with an
    epoch above the fresh cluster's so that Pacemaker takes it instead of refusing it as older."""
    root = ET.fromstring(student_cib)
    for status in root.findall("status"):
        root.remove(status)
    epoch = int(root.get("epoch", "0") or 0) if (root.get("epoch") or "0").isdigit() else 0
    root.set("epoch", str(max(epoch, current_epoch + 1)))
    root.set("num_updates", "0")
    for transient in ("dc-uuid", "have-quorum"):
        root.attrib.pop(transient, None)
    return ET.tostring(root, encoding="unicode")


# -- provisioning (on the lab's nodes only) -------------------------------------------------
@dataclass(frozen=True)
class Rebuilt:
    notes: tuple[str, ...]
    vip_served: bool
    # Seconds per phase, in order (files, units, Pacemaker's election, the CIB, the VIP): where a
    # rebuild's time goes (benchmarks/rebuild_phases.py).
    phases: tuple[tuple[str, float], ...] = ()


def rebuild(backend: Backend, submission: Submission) -> Rebuilt:
    """Put the student's evidence on the booted nodes and start what the student had running."""
    notes: list[str] = []
    phases: list[tuple[str, float]] = []
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        phases.append((name, time.monotonic() - mark))
        mark = time.monotonic()

    for node in submission.nodes:
        _restore_node(backend, node)
    phase("files and units put back")
    started = {node.name: [u.unit for u in node.units if u.unit not in NEVER_STARTED
                           and (u.active == "active" or u.enabled == "enabled")] for node in submission.nodes}
    election = FirstElection(backend)  # the student's CIB replaces its seed
    election.after_step()
    for node, units in started.items():
        if units:
            result = backend.run(node, ["systemctl", "start", *units], timeout=120)
            if not result.succeeded:
                notes.append(f"{node}: `systemctl start {' '.join(units)}` failed: {_tail(result)}")
    phase("the stack started")
    if backend.plan.stack == "pacemaker":
        notes += _load_cib(backend, submission, started, phase)
    election.finish()
    try:
        wait_until(lambda: fetch(backend.plan.vip_url, backend.client_netns()), lambda page: True,
                   what=f"the VIP {backend.plan.vip} to serve", timeout_s=VIP_TIMEOUT_S, interval_s=0.5)
        served = True
    except HalabError:
        notes.append(f"the VIP {backend.plan.vip} did not serve within {VIP_TIMEOUT_S:.0f} s of the rebuild")
        served = False
    phase("until the VIP serves")
    return Rebuilt(tuple(notes), served, tuple(phases))


def _restore_node(backend: Backend, node: NodeEvidence) -> None:
    for path in FILES:
        data = node.file(path)
        if data is None:
            continue
        mode, owner = "0644", "root"
        if path == AUTHKEYS:
            data = authkeys_with_keys(data)
            secret = node.secret(AUTHKEYS)
            mode, owner = (secret.mode, secret.owner) if secret else ("0600", "root")
        write_file(backend, node.name, path, data, mode, owner)
    key = node.secret(COROSYNC_AUTHKEY)
    if key is not None:
        write_file(backend, node.name, COROSYNC_AUTHKEY, derived_key(key.sha256), key.mode, key.owner)
    backend.run(node.name, ["hostname", node.hostname]).check()
    for state, verb in (("enabled", "enable"), ("disabled", "disable"), ("masked", "mask")):
        units = [u.unit for u in node.units if u.enabled == state]
        if units:
            backend.run(node.name, ["systemctl", verb, "--quiet", *units], timeout=60).check()


def write_file(backend: Backend, node: str, path: str, data: bytes, mode: str, owner: str) -> None:
    """Bytes exactly, with the mode and owner the student's file had (root when that user is unknown)."""
    script = 'mkdir -p "$(dirname "$1")" && base64 -d > "$1" && chmod "$2" "$1" && { chown "$3" "$1" 2>/dev/null || chown root "$1"; }'
    backend.run(node, ["/bin/sh", "-c", script, "write", path, mode, owner],
                stdin=base64.b64encode(data).decode()).check()


def _load_cib(backend: Backend, submission: Submission, started: dict[str, list[str]],
              phase: Callable[[str], None]) -> list[str]:
    source = next((n for n in submission.nodes if n.cib), None)
    target = next((n for n, units in started.items() if "pacemaker" in units), None)
    if source is None or target is None:
        return ["no CIB loaded: " + ("the archive holds none" if source is None else "Pacemaker runs on no node")]
    notes = []
    try:
        wait_until(lambda: backend.run(target, ["cibadmin", "--query", "--xpath", COORDINATOR_XPATH], timeout=10),
                   lambda r: r.succeeded, what=f"Pacemaker on {target} to elect its DC", timeout_s=DC_TIMEOUT_S,
                   interval_s=1)
    except HalabError as error:
        notes.append(f"Pacemaker elected no DC: {error.what}")
    phase("Pacemaker's election")
    current = backend.run(target, ["cibadmin", "--query"], timeout=30)
    match = re.search(r'<cib [^>]*\bepoch="(\d+)"', current.stdout)
    try:
        replacement = cib_to_load(source.cib or "", int(match.group(1)) if match else 0)
    except ET.ParseError as error:
        return notes + [f"{source.name}'s CIB is not valid XML ({error}): not loaded"]
    loaded = backend.run(target, ["cibadmin", "--replace", "--xml-pipe"], stdin=replacement, timeout=60)
    if not loaded.succeeded:
        notes.append(f"cibadmin --replace of {source.name}'s CIB failed on {target}: {_tail(loaded)}")
    phase("the student's CIB loaded")
    return notes


def _tail(result: CommandResult) -> str:
    return (result.stdout + result.stderr).strip()[-300:] or f"exit status {result.exit_status}"
