"""corosync.conf read the way corosync 3.1 reads it, keeping every key's line for the grader.

>>> conf = parse_corosync_conf(Path("/etc/corosync/corosync.conf").read_text())
>>> conf.token_ms, conf.two_node, [n.name for n in conf.nodes]
(3000, True, ['node1', 'node2'])

Like corosync's own parser (exec/coroparse.c): a line holding `{` opens a section, one holding `:`
is `key: value` (no space needed after the colon), a line that is only `}` closes; `#` comments
only a whole line; names are case-sensitive, so `Logging {` is a section corosync ignores.
Anything else stops corosync, and stops this parser with the line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from halab.errors import HalabError

# Defaults of corosync 3.1 (corosync.conf(5), votequorum(5)); cmap.py uses them too.
TOKEN_DEFAULT_MS = 3000
TOKEN_COEFFICIENT_DEFAULT_MS = 650  # added per node beyond two
CONSENSUS_FACTOR = 1.2
TRANSPORT_DEFAULT = "knet"
_INTEGER = re.compile(r"-?[0-9]+")  # what corosync's strtol-based check accepts

# The sections and keys corosync 3.1.7 acts on (its man pages, checked against its binary).
# Anything else it stores and ignores, silently: a misspelling (`two_nodes`), corosync 2's
# `rrp_mode` and `threads`, or totem's `nodeid` ("deprecated and ignored", it logs).
KNOWN_SECTIONS: dict[str, frozenset[str]] = {
    "": frozenset({"totem", "logging", "quorum", "nodelist", "system", "resources", "nozzle"}),
    "totem": frozenset({"interface"}),
    "logging": frozenset({"logger_subsys"}),
    "quorum": frozenset({"device"}),
    "nodelist": frozenset({"node"}),
}
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "totem": frozenset(
        """
        version cluster_name config_version transport ip_version clear_node_high_bit
        crypto_model crypto_cipher crypto_hash secauth keyfile key link_mode netmtu
        token token_warning token_coefficient token_retransmit token_retransmits_before_loss_const
        hold join send_join consensus merge downcheck fail_recv_const seqno_unchanged_const
        heartbeat_failures_allowed max_network_delay window_size max_messages miss_count_const
        knet_compression_model knet_compression_threshold knet_compression_level
        knet_pmtud_interval knet_mtu block_unlisted_ips cancel_token_hold_on_retransmit
        cluster_uuid
        """.split()  # cluster_uuid: written by pcs 0.11.5 `cluster setup`, ignored by corosync
    ),
    "totem.interface": frozenset(
        """
        linknumber ringnumber knet_link_priority knet_ping_interval knet_ping_timeout
        knet_ping_precision knet_pong_count knet_transport bindnetaddr broadcast mcastaddr
        mcastport ttl
        """.split()
    ),
    "quorum": frozenset(
        """
        provider expected_votes votes two_node wait_for_all last_man_standing
        last_man_standing_window auto_tie_breaker auto_tie_breaker_node allow_downscale
        expected_votes_tracking leaving_timeout
        """.split()
    ),
    "nodelist.node": frozenset(["name", "nodeid", "quorum_votes", *(f"ring{i}_addr" for i in range(8))]),
}


@dataclass(frozen=True)
class ConfEntry:
    """One `key: value` line: where it was and what it said."""

    section: str  # dotted path of the enclosing sections, e.g. "nodelist.node"
    key: str
    value: str
    line: int

    @property
    def path(self) -> str:
        return f"{self.section}.{self.key}" if self.section else self.key


@dataclass(frozen=True)
class ConfSection:
    name: str
    path: str  # dotted, e.g. "totem.interface"
    line: int
    entries: tuple[ConfEntry, ...]
    sections: tuple[ConfSection, ...]

    def get(self, key: str) -> ConfEntry | None:
        """The key's last line in this section: corosync keeps the last value it reads."""
        found = [entry for entry in self.entries if entry.key == key]
        return found[-1] if found else None


@dataclass(frozen=True)
class CorosyncNode:
    name: str | None
    nodeid: int | None
    ring0_addr: str | None
    line: int


@dataclass(frozen=True)
class CorosyncConf:
    source: str
    root: ConfSection

    def sections(self, path: str) -> tuple[ConfSection, ...]:
        """Every section at a dotted path, in file order (`nodelist.node` gives each node)."""
        found = [self.root]
        for name in path.split("."):
            found = [child for section in found for child in section.sections if child.name == name]
        return tuple(found)

    def entry(self, path: str) -> ConfEntry | None:
        """The line that sets a dotted key such as `totem.token`; the last one wins, as in corosync."""
        section, _, key = path.rpartition(".")
        hits = [e for s in self.sections(section) if (e := s.get(key)) is not None] if section else []
        return hits[-1] if hits else None

    def entries(self) -> tuple[ConfEntry, ...]:
        """Every key of the file, in file order."""
        out: list[ConfEntry] = []

        def walk(section: ConfSection) -> None:
            items: list[ConfEntry | ConfSection] = [*section.entries, *section.sections]
            for item in sorted(items, key=lambda i: i.line):
                if isinstance(item, ConfSection):
                    walk(item)
                else:
                    out.append(item)

        walk(self.root)
        return tuple(out)

    def unknown_sections(self) -> tuple[ConfSection, ...]:
        """Sections corosync 3.1 ignores: `Logging` (names are case-sensitive), corosync 1's `service`."""
        out: list[ConfSection] = []

        def walk(section: ConfSection) -> None:
            known = KNOWN_SECTIONS.get(section.path)
            for child in section.sections:
                if known is not None and child.name not in known:
                    out.append(child)
                else:
                    walk(child)

        walk(self.root)
        return tuple(sorted(out, key=lambda s: s.line))

    def unknown_keys(self) -> tuple[ConfEntry, ...]:
        """Keys of totem, totem.interface, quorum and nodelist.node that corosync 3.1 ignores."""
        return tuple(e for e in self.entries() if e.section in KNOWN_KEYS and e.key not in KNOWN_KEYS[e.section])

    # totem
    @property
    def version(self) -> int | None:
        return self._int("totem.version")

    @property
    def cluster_name(self) -> str | None:
        return self._text("totem.cluster_name")

    @property
    def transport(self) -> str:
        """The transport corosync will use: knet unless the file says otherwise."""
        return self._text("totem.transport") or TRANSPORT_DEFAULT

    @property
    def crypto_cipher(self) -> str | None:
        return self._text("totem.crypto_cipher")

    @property
    def crypto_hash(self) -> str | None:
        return self._text("totem.crypto_hash")

    @property
    def secauth(self) -> str | None:
        """A corosync 2 habit; corosync 3.1 still reads it as aes256 + sha256 unless those are set."""
        return self._text("totem.secauth")

    @property
    def token_ms(self) -> int:
        """The token timeout corosync will run with: `token` (default 3000 ms), plus
        `token_coefficient` (default 650 ms) per node beyond two."""
        return effective_token_ms(self._int("totem.token"), self._int("totem.token_coefficient"), len(self.nodes))

    @property
    def consensus_ms(self) -> int:
        """`consensus`, or 1.2 × the token timeout corosync runs with when absent."""
        consensus = self._int("totem.consensus")
        return int(CONSENSUS_FACTOR * self.token_ms) if consensus is None else consensus

    # quorum
    @property
    def provider(self) -> str | None:
        return self._text("quorum.provider")

    @property
    def expected_votes(self) -> int | None:
        return self._int("quorum.expected_votes")

    @property
    def two_node(self) -> bool:
        return bool(self._int("quorum.two_node"))

    @property
    def quorum_device(self) -> str | None:
        """The quorum device's model (`net`: corosync-qnetd on another machine), None without one."""
        return self._text("quorum.device.model")

    @property
    def wait_for_all(self) -> bool:
        """Explicit `wait_for_all`, else implied by `two_node: 1` (votequorum(5))."""
        value = self._int("quorum.wait_for_all")
        return self.two_node if value is None else bool(value)

    # nodelist
    @property
    def nodes(self) -> tuple[CorosyncNode, ...]:
        return tuple(
            CorosyncNode(
                name=_value(node.get("name")),
                nodeid=_as_int(self.source, node.get("nodeid")),
                ring0_addr=_value(node.get("ring0_addr")),
                line=node.line,
            )
            for node in self.sections("nodelist.node")
        )

    def _text(self, path: str) -> str | None:
        return _value(self.entry(path))

    def _int(self, path: str) -> int | None:
        return _as_int(self.source, self.entry(path))


def effective_token_ms(token: int | None, coefficient: int | None, nodes: int) -> int:
    """corosync's own rule: `token` (default 3000 ms) plus `token_coefficient` (default 650 ms)
    for every node beyond two."""
    base = TOKEN_DEFAULT_MS if token is None else token
    per_node = TOKEN_COEFFICIENT_DEFAULT_MS if coefficient is None else coefficient
    return base + max(nodes - 2, 0) * per_node


def parse_corosync_conf(text: str, source: str = "corosync.conf") -> CorosyncConf:
    """Read corosync.conf text; a line corosync would refuse raises HalabError naming it."""
    lines = text.splitlines()
    stack = [_Open("", "", 0)]
    for number, raw in enumerate(lines, start=1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, _, after = line.partition("{")
            name = name.rstrip(" \t:")
            if not name:
                raise _refused(source, number, raw, "a section name is missing before `{`")
            if after.strip(" \t"):
                raise _refused(source, number, raw, "text follows `{` on the same line")
            parent = stack[-1].path
            stack.append(_Open(name, f"{parent}.{name}" if parent else name, number))
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.rstrip(" \t:")
            if not key:
                raise _refused(source, number, raw, "a key name is missing before `:`")
            stack[-1].entries.append(ConfEntry(stack[-1].path, key, value.strip(" \t"), number))
        elif line == "}":
            if len(stack) == 1:
                raise _refused(source, number, raw, "`}` closes no section")
            stack[-2].sections.append(stack.pop().closed())
        elif "}" in line:
            raise _refused(source, number, raw, "text stands beside `}`")
        else:
            raise _refused(source, number, raw, "the line is neither `key: value`, `name {` nor `}`")
    if len(stack) > 1:
        unclosed = stack[-1]
        raise HalabError(
            f"{source}: section `{unclosed.name}` opened on line {unclosed.line} is never closed; "
            "corosync refuses to start",
            evidence=f"{unclosed.line:>4} | {lines[unclosed.line - 1]}",
            fix="add the missing `}`",
        )
    return CorosyncConf(source, stack[0].closed())


@dataclass
class _Open:
    """A section being read: what it holds so far."""

    name: str
    path: str
    line: int
    entries: list[ConfEntry] = field(default_factory=list)
    sections: list[ConfSection] = field(default_factory=list)

    def closed(self) -> ConfSection:
        return ConfSection(self.name, self.path, self.line, tuple(self.entries), tuple(self.sections))


def _refused(source: str, number: int, raw: str, what: str) -> HalabError:
    return HalabError(
        f"{source} line {number}: {what}; corosync refuses to start",
        evidence=f"{number:>4} | {raw}",
        fix="write one `key: value`, `name {` or `}` per line",
    )


def _value(entry: ConfEntry | None) -> str | None:
    return None if entry is None else entry.value


def _as_int(source: str, entry: ConfEntry | None) -> int | None:
    if entry is None:
        return None
    if _INTEGER.fullmatch(entry.value):
        return int(entry.value)
    raise HalabError(
        f"{source} line {entry.line}: {entry.path} must be a whole number, not {entry.value!r}; "
        "corosync refuses to start",
        evidence=f"{entry.line:>4} | {entry.key}: {entry.value}",
        fix=f"write `{entry.key}: 1` or `{entry.key}: 0` for a switch, a number of ms for a timeout",
    )
