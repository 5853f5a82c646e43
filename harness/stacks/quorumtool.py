"""Read `corosync-quorumtool -s`: is this partition quorate, with whom, and in which mode.
Corosync prints it for people; the fields a grader needs are stable across corosync 3.

With a quorum device the membership table gains a Qdevice column (each node's A/NA alive,
V/NV voting, MW/NMW master wins) and a last row, node id 0, for the device's own vote:

    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW node1 (local)
         0          1            Qdevice
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.errors import HalabError


@dataclass(frozen=True)
class QuorumState:
    quorate: bool
    expected_votes: int
    total_votes: int
    flags: tuple[str, ...]  # e.g. 2Node Quorate WaitForAll, or Quorate Qdevice
    members: tuple[str, ...]  # node names in this partition
    qdevice_votes: int | None = None  # the Qdevice row's votes; None: no quorum device configured
    qdevice_states: tuple[tuple[str, str], ...] = ()  # each member's Qdevice column, e.g. (node1, A,V,NMW)

    @property
    def two_node(self) -> bool:
        return "2Node" in self.flags

    @property
    def qdevice(self) -> bool:
        """A quorum device is configured (it may not be voting: see qdevice_votes)."""
        return "Qdevice" in self.flags or self.qdevice_votes is not None


def parse_quorumtool(text: str) -> QuorumState:
    fields = dict(
        (key.strip(), value.strip()) for key, value in re.findall(r"^([A-Za-z ]+):[ \t]*(.*)$", text, re.MULTILINE)
    )
    if "Quorate" not in fields:
        raise HalabError("corosync-quorumtool printed no quorum information (is corosync running?)",
                         evidence=text.strip()[:400] or "(no output)")
    table = text.partition("Membership information")[2]
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(?:((?:N?A|N?V|N?MW)(?:,(?:N?A|N?V|N?MW))*)\s+)?(\S+)", table, re.MULTILINE)
    members = tuple(name for nodeid, _, _, name in rows if nodeid != "0")
    device = next((int(votes) for nodeid, votes, _, name in rows if nodeid == "0" and name == "Qdevice"), None)
    return QuorumState(
        quorate=fields["Quorate"].lower() == "yes",
        expected_votes=_int(fields.get("Expected votes")),
        total_votes=_int(fields.get("Total votes")),
        flags=tuple(fields.get("Flags", "").split()),
        members=members,
        qdevice_votes=device,
        qdevice_states=tuple((name, column) for nodeid, _, column, name in rows if nodeid != "0" and column),
    )


def _int(text: str | None) -> int:
    match = re.match(r"\d+", text or "")
    return int(match.group()) if match else 0
