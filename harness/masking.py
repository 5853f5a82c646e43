"""Secrets stay secret: the hacluster password, the corosync authkey and Heartbeat's authkeys
keys never reach a report, a log, the console, a JUnit file, a CSV or a record halab writes.

The secrets are collected from the lab: from its document (`echo hacluster:PASS | chpasswd`,
`pcs host auth -u hacluster -p PASS`, the standard input of `passwd` or `pcs host auth`,
Heartbeat's `N sha1 KEY` lines) and from its nodes once a step may have made them (the bytes of
/etc/corosync/authkey and the keys of /etc/ha.d/authkeys). Each one is replaced, in clear, in hex
(one run, or `xxd -p` lines) and in base64 (its own encoding, wrapped or not, or inside a longer
base64 stream at any alignment), by MASK. Everything halab writes passes through `mask` (one
function), and report files that may hold a student's data are written 0640 (`write_private`).

    secrets = secrets_of_document(document)
    secrets.mask("hacluster:S3cret")            # 'hacluster:••••••'
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from halab.backends import Backend
    from halab.command import CommandResult
    from halab.labdoc.parser import LabDocument

MASK = "••••••"
MIN_LENGTH = 4  # shorter values are not masked: they would blot out ordinary words of every output
PRIVATE_MODE = 0o640  # reports: the teacher's user and group, nobody else
# Where a document shows a secret: each pattern's group "secret" is one.
_CHPASSWD = re.compile(r"\bhacluster:(?P<secret>[^\s'\"|;&)<>]+)")  # on a line with chpasswd
_PCS_PASSWORD = re.compile(r"(?:\s-p\s*|--password[=\s])(?P<q>['\"]?)(?P<secret>[^\s'\"]+)(?P=q)")
_HEARTBEAT_KEY = re.compile(r"(?:^|[\s'\"]|\\n)\d+\s+(?:sha1|md5)\s+(?P<secret>[^\s'\"\\]+)", re.MULTILINE)
_PROMPTED = re.compile(r"\b(passwd|chpasswd|pcs\s+(host|cluster)\s+auth|crm\s+cluster\s+(init|join))\b")
_ANSWERS = {"hacluster", "root", "y", "n", "yes", "no"}  # stdin lines that are not secrets
# A step after which the node may hold a new key: read the node's secret files again.
MAKES_KEYS = re.compile(r"authkey|corosync-keygen|pcs\s+cluster\s+(setup|auth)|crm\s+cluster\s+(init|join)|ha\.d")
NODE_SECRETS_SCRIPT = (
    "for f in /etc/corosync/authkey /etc/ha.d/authkeys; do "
    "if [ -f \"$f\" ]; then echo \"== $f\"; head -c 65536 \"$f\" | base64 -w0; echo; fi; done"
)


@dataclass(frozen=True)
class Secrets:
    values: frozenset[bytes] = field(default_factory=frozenset)

    def __add__(self, other: "Secrets") -> "Secrets":
        return Secrets(self.values | other.values)

    @classmethod
    def of(cls, values: Iterable[str | bytes]) -> "Secrets":
        found = {v.encode() if isinstance(v, str) else bytes(v) for v in values}
        return cls(frozenset(v for v in found if len(v.strip()) >= MIN_LENGTH))

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        forms = {form for value in self.values for form in _forms(value)}
        if not forms:
            return None
        return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        """`text` with every form of every secret replaced by MASK."""
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern and text else text

    def result(self, result: "CommandResult") -> "CommandResult":
        """A command's argv and output masked (what the console, the record and JUnit show)."""
        if not self.values:
            return result
        return replace(result, argv=tuple(self.mask(a) for a in result.argv), stdout=self.mask(result.stdout),
                       stderr=self.mask(result.stderr))


NONE = Secrets()


def _forms(value: bytes) -> set[str]:
    """Every way `value` may be printed: clear, hex (one run, xxd -p lines), base64 (one run,
    wrapped at 76, and its stable middle at each alignment inside a longer stream)."""
    forms = {value.decode("utf-8", errors="replace"), value.hex(), value.hex().upper()}
    hexed = value.hex()
    forms |= {hexed[i:i + 60] for i in range(0, len(hexed), 60) if len(hexed[i:i + 60]) >= 16}
    encoded = base64.b64encode(value).decode()
    forms |= {encoded, encoded.rstrip("=")}
    forms |= {encoded[i:i + 76] for i in range(0, len(encoded), 76) if len(encoded[i:i + 76]) >= 16}
    for shift in range(3):
        usable = len(value) - (shift + len(value)) % 3  # whole groups of three bytes only
        core = base64.b64encode(b"\0" * shift + value[:usable]).decode()[(0, 2, 3)[shift]:]
        if len(core) >= 6:
            forms.add(core)
    return {f for f in forms if len(f) >= MIN_LENGTH}


def secrets_in_text(body: str, stdin: str | None = None) -> Secrets:
    """The secrets a script or a file's text shows, and those its standard input answers."""
    found: list[str] = []
    for line in body.splitlines():
        if "chpasswd" in line:
            found += [m.group("secret") for m in _CHPASSWD.finditer(line)]
        if re.search(r"\bpcs\b.*\bauth\b|\bcrm\b.*\bcluster\b", line):
            found += [m.group("secret") for m in _PCS_PASSWORD.finditer(line)]
    found += [m.group("secret") for m in _HEARTBEAT_KEY.finditer(body)]
    if stdin and _PROMPTED.search(body):
        found += [line.strip() for line in stdin.splitlines() if line.strip().lower() not in _ANSWERS]
    return Secrets.of(found)


def secrets_of_document(document: "LabDocument") -> Secrets:
    secrets = NONE
    for step in document.steps:
        if step.kind != "expect":
            secrets += secrets_in_text(step.body, step.stdin)
    return secrets


def secrets_of_lab(name_or_path: str | Path, document: Path | None = None) -> Secrets:
    """The secrets of a lab's document (its plan's, or `document`) and its plan's passwords: a
    bundled lab by name (what a rebuilt or running lab of it was given), or a lab's folder.
    None when it cannot be read."""
    from halab.errors import HalabError
    from halab.labdoc.parser import parse_lab_document
    from halab.plan import load_plan

    try:
        plan = load_plan(name_or_path)
        passwords = Secrets.of([plan.bmc.password if plan.bmc else "", plan.user.password if plan.user else "",
                                plan.root_password])  # the BMCs' (in fence_ipmilan's parameters), the accounts'
        return secrets_of_document(parse_lab_document(plan, document)) + passwords
    except HalabError:
        return NONE


def parse_node_secrets(output: str) -> Secrets:
    """NODE_SECRETS_SCRIPT's output: the authkey's bytes; each key of authkeys."""
    found: list[bytes] = []
    current = ""
    for line in output.splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
            continue
        try:
            data = base64.b64decode(line.strip(), validate=True)
        except binascii.Error:
            continue
        if current.endswith("/authkeys"):
            found += [m.group("secret").encode() for m in _HEARTBEAT_KEY.finditer(data.decode(errors="replace"))]
        elif data:
            found.append(data)
    return Secrets.of(found)


def secrets_on_node(backend: "Backend", node: str) -> Secrets:
    """The node's own keys, read through the backend; none when the node cannot tell."""
    from halab.errors import HalabError

    try:
        result = backend.run(node, ["/bin/sh", "-c", NODE_SECRETS_SCRIPT], timeout=20)
    except HalabError:
        return NONE
    return parse_node_secrets(result.stdout) if result.succeeded else NONE


def write_private(path: Path, text: str, secrets: Secrets = NONE) -> Path:
    """`text`, masked, written to `path` with mode 0640 (from its creation: never readable by all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.mask(text).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "wb") as stream:
        os.fchmod(stream.fileno(), PRIVATE_MODE)  # an older file of the same name may be 0644
        stream.write(data)
    return path
