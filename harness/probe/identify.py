"""Who answered a request to the VIP: from the network first, the page's text second.

A student can make two pages alike (node2 serving node1's page) but not two network cards: the
node behind the VIP is the one whose MAC address the VIP resolves to in the client's own
neighbour table (`/proc/net/arp` of the prober's network namespace), mapped to the plan's NICs.
The page's marker is kept beside it as a cross-check, and is the only signal where the plan
does not know the nodes' MACs (a student's own VMs).

>>> mac_of("192.168.56.100", "IP address HW type Flags HW address Mask Device\\n"
...        "192.168.56.100 0x1 0x2 52:54:00:56:00:20 * br0\\n")
'52:54:00:56:00:20'
"""

from __future__ import annotations

from typing import Sequence

INCOMPLETE = "00:00:00:00:00:00"


def which_node(page: str, markers: Sequence[tuple[str, str]]) -> str | None:
    """The node whose marker text is in the page; the longest marker wins, so that a marker which
    is part of another ("node1" in "node10") cannot steal its answers."""
    found = [(len(text), node) for node, text in markers if text in page]
    return max(found)[1] if found else None


def mac_of(ip: str, arp_table: str) -> str | None:
    """The MAC address `ip` resolves to in a /proc/net/arp table, None while unresolved."""
    for line in arp_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[0] == ip and fields[3] != INCOMPLETE:
            return fields[3].lower()
    return None


def node_with_mac(mac: str | None, macs: Sequence[tuple[str, str]]) -> str | None:
    return next((node for node, known in macs if mac and known.lower() == mac), None)
