"""`halab collect`: the evidence a grader needs, gathered on each node in one round trip by a
shell script (the same one through every backend, or run locally with `--here`), parsed here and
packed into one archive per student. No secret leaves a node in clear: the corosync authkey
leaves as its hash, mode and owner; each key of Heartbeat's authkeys is replaced by its hash;
the hacluster password is never read.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
import subprocess
import time
from dataclasses import replace
from importlib import metadata
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Callable

from halab.backends import Backend
from halab.errors import HalabError
from halab.facts import FileFact, UnitFact
from halab.facts.gather import MARK, SECRET_FILES, UNITS
from halab.plan import available_labs
from halab.submissions.archive import read_archive, write_archive
from halab.submissions.submission import (
    AUTHKEYS, FILES, NODE, Interface, NodeEvidence, Submission, checked_student, from_members, to_members,
)

PACKAGES = ("corosync", "pacemaker", "pcs", "crmsh", "heartbeat", "resource-agents", "apache2")
FILE_LIMIT = 1024 * 1024  # a configuration file or a page bigger than this is cut


def collect_script() -> str:
    """Prints one section per piece of evidence; file contents in base64, so they come back exact."""
    lines = [f'echo "{MARK} hostname"; uname -n']
    for unit in UNITS:
        lines.append(f'echo "{MARK} unit {unit}"; systemctl is-enabled {unit} 2>&1; systemctl is-active {unit} 2>&1')
    for path in FILES:
        quoted = shlex.quote(path)
        content = _redacted_authkeys(quoted) if path == AUTHKEYS else f"head -c {FILE_LIMIT} {quoted}"
        lines.append(f"if [ -f {quoted} ]; then echo '{MARK} file {path}'; {content} | base64 -w0; echo; fi")
    for path in SECRET_FILES:
        quoted = shlex.quote(path)
        lines.append(f"if [ -f {quoted} ]; then echo '{MARK} secret {path}'; stat -c '%a %U' {quoted}; "
                     f"sha256sum < {quoted} | cut -d' ' -f1; fi")
    lines += [
        f"echo '{MARK} cib'; timeout 20 cibadmin --query 2>/dev/null | base64 -w0; echo",
        f"echo '{MARK} packages'; dpkg-query -W -f='${{Package}} ${{Version}}\\n' {' '.join(PACKAGES)} 2>/dev/null",
        f"echo '{MARK} addresses'; ip -j addr show 2>/dev/null | base64 -w0; echo",
        f"echo '{MARK} gateway'; ip -4 route show default 2>/dev/null | awk '{{print $3; exit}}'",
    ]
    return "\n".join(lines) + "\n"


def _redacted_authkeys(quoted: str) -> str:
    """authkeys with the key of each `N sha1|md5 KEY` line replaced by halab-sha256:<hash of KEY>."""
    return (
        "(set -f; while IFS= read -r line || [ -n \"$line\" ]; do set -- $line; "
        "if [ $# -ge 3 ] && { [ \"$2\" = sha1 ] || [ \"$2\" = md5 ]; }; then "
        "echo \"$1 $2 halab-sha256:$(printf %s \"$3\" | sha256sum | cut -d' ' -f1)\"; "
        f"else printf '%s\\n' \"$line\"; fi; done < {quoted})"
    )


def parse_collected(node: str, output: str) -> NodeEvidence:
    """The script's output as evidence (pure: unit-tested on recorded output)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            current = sections.setdefault(line[len(MARK) + 1:].strip(), [])
        elif current is not None:
            current.append(line)

    def first(key: str) -> str:
        return next((line.strip() for line in sections.get(key, []) if line.strip()), "")

    units = tuple(UnitFact(u, *(sections.get(f"unit {u}", []) + ["unknown", "unknown"])[:2]) for u in sorted(UNITS))
    files = tuple((path, _b64(first(f"file {path}"))) for path in sorted(FILES) if f"file {path}" in sections)
    secrets = []
    for path in SECRET_FILES:
        body = sections.get(f"secret {path}", [])
        if len(body) >= 2:
            mode, _, owner = body[0].partition(" ")
            secrets.append(FileFact(path, True, mode, owner, body[1].strip()))
    cib = _b64(first("cib")).decode(errors="replace")
    packages = tuple(sorted(tuple(line.split(" ", 1)) for line in sections.get("packages", []) if " " in line))
    gateway = first("gateway")
    return NodeEvidence(
        name=node, hostname=first("hostname"), units=units, files=files, secrets=tuple(secrets),
        packages=packages, interfaces=_interfaces(_b64(first("addresses"))),  # type: ignore[arg-type]
        gateway=IPv4Address(gateway) if gateway else None, cib=cib or None,
    )


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return b""


def _interfaces(ip_json: bytes) -> tuple[Interface, ...]:
    """`ip -j addr show`: every interface but loopback, with its MAC and IPv4 addresses."""
    try:
        links = json.loads(ip_json or b"[]")
    except ValueError:
        return ()
    found = []
    for link in links:
        if link.get("link_type") == "loopback":
            continue
        addresses = tuple(IPv4Interface(f"{a['local']}/{a['prefixlen']}") for a in link.get("addr_info", [])
                          if a.get("family") == "inet")
        found.append(Interface(str(link.get("ifname", "")), str(link.get("address", "")), addresses))
    return tuple(found)


def halab_version() -> str:
    try:
        return metadata.version("halab")
    except metadata.PackageNotFoundError:
        return "unknown"


def collect_lab(backend: Backend, student: str) -> Submission:
    """Both nodes of a running lab (any backend), through the backend's own command channel."""
    checked_student(student)
    script = collect_script()
    nodes = []
    for node in backend.plan.node_names:
        result = backend.run(node, ["/bin/sh", "-c", script], timeout=120).check()
        nodes.append(parse_collected(node, result.stdout))
    return Submission(student, backend.plan.name, halab_version(), time.time(), f"lab {backend.lab}",
                      backend.plan.vip, tuple(nodes))


def collect_here(student: str, variant: str, node: str | None,
                 run: Callable[[list[str]], str] | None = None) -> Submission:
    """This machine, as one node of a student's cluster (the other node is added by running
    `collect --here` there into the same archive)."""
    checked_student(student)
    if variant not in available_labs():
        raise HalabError(f"no lab variant called {variant!r}", fix=f"choose one of: {', '.join(available_labs())}")
    script = collect_script()
    output = (run or _run_locally)(["/bin/sh", "-c", script])
    evidence = parse_collected(node or "unnamed", output)
    name = node or evidence.hostname.split(".")[0].lower()
    if not NODE.match(name):
        raise HalabError(f"this node's name {name!r} cannot name a node of the lab plan",
                         fix="give one with --node (lower-case letters, digits, dashes)")
    return Submission(student, variant, halab_version(), time.time(), f"node {name} itself", None,
                      (replace(evidence, name=name),))


def _run_locally(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=180).stdout


def write_submission(path: Path, submission: Submission) -> Path:
    return write_archive(path, to_members(submission), submission.collected_at)


def add_node(path: Path, collected: Submission) -> Submission:
    """`collected` (one node) merged into the archive at `path` when there is one: a student runs
    `halab collect --here` on each node with the same output file, copied from one to the other."""
    if not path.exists():
        return collected
    existing = from_members(path, read_archive(path), tuple(available_labs()), partial=True)
    if (existing.student, existing.variant) != (collected.student, collected.variant):
        raise HalabError(f"{path} holds {existing.student}'s {existing.variant} lab, not "
                         f"{collected.student}'s {collected.variant} lab", fix="choose another -o FILE")
    new = collected.nodes[0]
    kept = tuple(n for n in existing.nodes if n.name != new.name)
    if len(kept) >= 2:
        raise HalabError(f"{path} already holds two nodes ({', '.join(n.name for n in kept)})",
                         fix=f"name this node as one of them with --node, or choose another -o FILE")
    return Submission(collected.student, collected.variant, collected.halab_version, collected.collected_at,
                      collected.collected_by, existing.vip or collected.vip, (*kept, new))
