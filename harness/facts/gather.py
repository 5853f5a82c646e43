"""Gather a node's facts in one round trip: a shell script prints sections, parsed here.
One script for every backend (nsenter today, SSH tomorrow); secrets leave as hashes only."""

from __future__ import annotations

import shlex

from halab.backends import Backend
from halab.errors import HalabError
from halab.facts.model import CommandFact, FileFact, LabFacts, NodeFacts, UnitFact

MARK = "@@halab@@"
UNITS = ("apache2", "corosync", "pacemaker", "pcsd", "heartbeat")
CONFIG_FILES = (
    "/etc/corosync/corosync.conf", "/etc/ha.d/ha.cf", "/etc/ha.d/haresources", "/etc/hosts", "/etc/hostname",
)
PAGE = "/var/www/html/index.html"  # the page the lab's Apache serves
SHOWN_FILES = (*CONFIG_FILES, PAGE)  # files whose text the checks read
SECRET_FILES = ("/etc/corosync/authkey", "/etc/ha.d/authkeys")
COMMANDS = {
    "cmap": "corosync-cmapctl",
    "cib": "cibadmin --query",
    "crm_mon": "crm_mon --output-as=xml",
    "crm_verify": "crm_verify -L -V",
    "cl_status": "cl_status hbstatus",
    "quorum": "corosync-quorumtool -s",
    "links": "corosync-cfgtool -s",
    "qdevice": "corosync-qdevice-tool -s",
    "addresses": "ip -o addr show",
    # Which signing method each key uses, never the key itself.
    "authkeys_methods": "awk '$1 == \"auth\" || $1 ~ /^[0-9]+$/ {print $1, $2}' /etc/ha.d/authkeys",
}


def gather_script(node_names: tuple[str, ...]) -> str:
    lines = [f'echo "{MARK} hostname"; uname -n', f'echo "{MARK} clock"; date +%s.%N']
    for unit in UNITS:
        lines.append(f'echo "{MARK} unit {unit}"; systemctl is-enabled {unit} 2>&1; systemctl is-active {unit} 2>&1')
    for path in SHOWN_FILES + SECRET_FILES:
        quoted = shlex.quote(path)
        # The extra echo keeps the next marker on a line of its own when a file lacks a final newline.
        show = f"; echo '{MARK} text {path}'; head -c 65536 {quoted}; echo" if path in SHOWN_FILES else ""
        lines.append(
            f"if [ -e {quoted} ]; then echo '{MARK} file {path}'; stat -c '%a %U' {quoted}; "
            f"sha256sum < {quoted} | cut -d' ' -f1{show}; fi"
        )
    for name in node_names:
        lines.append(f"echo '{MARK} resolve {name}'; getent ahostsv4 {shlex.quote(name)} | awk '{{print $1}}' | sort -u")
    for key, command in COMMANDS.items():
        lines.append(f"echo '{MARK} command {key}'; timeout 20 {command} 2>&1; rc=$?; echo; echo \"{MARK} exit $rc\"")
    return "\n".join(lines) + "\n"


def parse_facts(node: str, output: str) -> NodeFacts:
    """Turn the script's output into facts (pure: unit-tested on recorded output)."""
    sections: list[tuple[str, list[str]]] = []
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            if sections and sections[-1][0].split(" ")[0] in ("text", "command") and sections[-1][1][-1:] == [""]:
                sections[-1][1].pop()  # the newline the script added
            sections.append((line[len(MARK) + 1:], []))
        elif sections:
            sections[-1][1].append(line)
    hostname, clock = "", 0.0
    units, files, resolution, commands = [], {}, [], []
    pending_command: str | None = None
    for header, body in sections:
        kind, _, arg = header.partition(" ")
        if kind == "hostname":
            hostname = body[0].strip() if body else ""
        elif kind == "clock":
            clock = float(body[0]) if body else 0.0
        elif kind == "unit":
            units.append(UnitFact(arg, *(body + ["unknown", "unknown"])[:2]))
        elif kind == "file" and len(body) >= 2:
            mode, _, owner = body[0].partition(" ")
            files[arg] = FileFact(arg, True, mode, owner, body[1].strip())
        elif kind == "text" and arg in files:
            previous = files[arg]
            files[arg] = FileFact(previous.path, True, previous.mode, previous.owner, previous.sha256, "\n".join(body) + "\n")
        elif kind == "resolve":
            resolution.append((arg, tuple(line.strip() for line in body if line.strip())))
        elif kind == "command":
            pending_command, collected = arg, body
        elif kind == "exit" and pending_command is not None:
            commands.append(CommandFact(pending_command, int(arg), "\n".join(collected) + "\n"))
            pending_command = None
    missing = [FileFact(path, False) for path in SHOWN_FILES + SECRET_FILES if path not in files]
    return NodeFacts(
        node=node, reachable=True, hostname=hostname, clock=clock, units=tuple(units),
        files=tuple(files.values()) + tuple(missing), resolution=tuple(resolution), commands=tuple(commands),
    )


def gather_facts(backend: Backend) -> LabFacts:
    """Facts of every node; a node that cannot be reached is recorded as such, not skipped."""
    plan = backend.plan
    script = gather_script(plan.node_names)
    nodes = []
    for node in plan.node_names:
        try:
            result = backend.run(node, ["/bin/sh", "-c", script], timeout=120)
        except HalabError as error:
            nodes.append(NodeFacts(node, reachable=False, error=str(error)))
            continue
        nodes.append(parse_facts(node, result.stdout))
    return LabFacts(backend.lab, plan.name, tuple(nodes))
