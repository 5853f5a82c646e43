"""Read `corosync-quorumtool -s`: is this partition quorate, with whom, and in which mode.
Corosync prints it for people; the fields a grader needs are stable across corosync 3."""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.errors import HalabError


@dataclass(frozen=True)
class QuorumState:
    quorate: bool
    expected_votes: int
    total_votes: int
    flags: tuple[str, ...]  # e.g. 2Node Quorate WaitForAll
    members: tuple[str, ...]  # node names in this partition

    @property
    def two_node(self) -> bool:
        return "2Node" in self.flags


def parse_quorumtool(text: str) -> QuorumState:
    fields = dict(
        (key.strip(), value.strip()) for key, value in re.findall(r"^([A-Za-z ]+):[ \t]*(.*)$", text, re.MULTILINE)
    )
    if "Quorate" not in fields:
        raise HalabError("corosync-quorumtool printed no quorum information (is corosync running?)",
                         evidence=text.strip()[:400] or "(no output)")
    members = re.findall(r"^\s+\d+\s+\d+\s+(\S+)", text.partition("Membership information")[2], re.MULTILINE)
    return QuorumState(
        quorate=fields["Quorate"].lower() == "yes",
        expected_votes=_int(fields.get("Expected votes")),
        total_votes=_int(fields.get("Total votes")),
        flags=tuple(fields.get("Flags", "").split()),
        members=tuple(members),
    )


def _int(text: str | None) -> int:
    match = re.match(r"\d+", text or "")
    return int(match.group()) if match else 0
