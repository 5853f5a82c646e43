"""What a running corosync says about itself: `corosync-cmapctl` output, read into typed values.

>>> cmap = parse_cmapctl(run("corosync-cmapctl").stdout)
>>> cmap.token_ms, cmap["totem.cluster_name"]
(3000, 'cluster_web')

The live values (`runtime.config.totem.*`, `runtime.votequorum.*`) win over the configured ones
(`totem.*`, `quorum.*`): they are what corosync computed, defaults and token_coefficient included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from halab.errors import HalabError
from halab.stacks.corosync_conf import CONSENSUS_FACTOR, effective_token_ms

CmapValue = int | float | str

_LINE = re.compile(r"(?P<key>\S+) \((?P<type>[a-z0-9]+)\) = ?(?P<value>.*)")
_NODE_ID = re.compile(r"nodelist\.node\.(\d+)\.nodeid")


@dataclass(frozen=True)
class CmapEntry:
    key: str
    type: str  # as corosync-cmapctl prints it: u8, u32, u64, i32, flt, dbl, str, bin...
    value: CmapValue
    line: int


@dataclass(frozen=True)
class Cmap(Mapping[str, CmapValue]):
    """corosync's key-value map, read-only: `cmap["totem.cluster_name"]` is the value."""

    entries: tuple[CmapEntry, ...]

    @cached_property
    def _by_key(self) -> dict[str, CmapEntry]:
        return {entry.key: entry for entry in self.entries}

    def __getitem__(self, key: str) -> CmapValue:
        return self._by_key[key].value

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def entry(self, key: str) -> CmapEntry | None:
        return self._by_key.get(key)

    @property
    def token_ms(self) -> int:
        """The token timeout corosync runs with; computed from the configuration when the live
        value is not in the text (output filtered to `totem.` for instance)."""
        live = self._number("runtime.config.totem.token")
        if live is not None:
            return live
        nodes = sum(1 for key in self if _NODE_ID.fullmatch(key))
        return effective_token_ms(self._number("totem.token"), self._number("totem.token_coefficient"), nodes)

    @property
    def consensus_ms(self) -> int:
        for key in ("runtime.config.totem.consensus", "totem.consensus"):
            value = self._number(key)
            if value is not None:
                return value
        return int(CONSENSUS_FACTOR * self.token_ms)

    @property
    def two_node(self) -> bool:
        for key in ("runtime.votequorum.two_node", "quorum.two_node"):
            value = self._number(key)
            if value is not None:
                return bool(value)
        return False

    @property
    def wait_for_all(self) -> bool:
        """Configured `quorum.wait_for_all`, else implied by two_node (votequorum(5)).

        Not `runtime.votequorum.wait_for_all_status`: that one says whether corosync is still
        waiting to see every node, and drops to 0 once it has."""
        value = self._number("quorum.wait_for_all")
        return self.two_node if value is None else bool(value)

    @property
    def crypto_cipher(self) -> str | None:
        value = self.get("totem.crypto_cipher")
        return None if value is None else str(value)

    def _number(self, key: str) -> int | None:
        entry = self.entry(key)
        if entry is None:
            return None
        if isinstance(entry.value, int):
            return entry.value
        if isinstance(entry.value, str) and re.fullmatch(r"-?[0-9]+", entry.value):
            return int(entry.value)  # a key corosync does not know is kept as text
        raise HalabError(
            f"corosync-cmapctl line {entry.line}: {key} is {entry.value!r}, not a whole number",
            evidence=f"{entry.key} ({entry.type}) = {entry.value}",
        )


def parse_cmapctl(text: str) -> Cmap:
    """Read `corosync-cmapctl [prefix]` or `corosync-cmapctl -g key` output."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _LINE.fullmatch(raw.rstrip("\r"))
        if match is None:
            raise HalabError(
                f"corosync-cmapctl output, line {number}: not `key (type) = value`",
                evidence="\n".join(text.splitlines()[:10]),
                fix="pass the standard output of `corosync-cmapctl` alone; is corosync running on that node?",
            )
        kind = match["type"]
        entries.append(CmapEntry(match["key"], kind, _typed(kind, match["value"].rstrip()), number))
    return Cmap(tuple(entries))


def _typed(kind: str, value: str) -> CmapValue:
    try:
        if kind[0] in "ui" and kind[1:].isdigit():
            return int(value)
        if kind in ("flt", "dbl"):
            return float(value)
    except ValueError:
        pass  # corosync printed something odd for this type: keep its text
    return value
