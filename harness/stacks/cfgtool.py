"""Read `corosync-cfgtool -s`: corosync's knet links on this node, and whether each reaches
every other node. Two links on two networks are what lets a cluster lose a cable, not a node.

>>> [link.describe() for link in parse_cfgtool(text).links]
['link 0 (192.168.56.10): node 2 connected', 'link 1 (192.168.57.10): node 2 disconnected']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.errors import HalabError

COMMAND = "corosync-cfgtool -s"
LOCAL = "localhost"  # how the node lists itself on each of its links


@dataclass(frozen=True)
class LinkStatus:
    link: int
    address: str  # this node's address on the link
    peers: tuple[tuple[int, str], ...]  # (node id, state) of every other node: connected, disconnected...

    @property
    def connected(self) -> bool:
        return bool(self.peers) and all(state == "connected" for _, state in self.peers)

    def describe(self) -> str:
        peers = ", ".join(f"node {node} {state}" for node, state in self.peers) or "no other node"
        return f"link {self.link} ({self.address}): {peers}"


@dataclass(frozen=True)
class LinksStatus:
    node_id: int
    transport: str
    links: tuple[LinkStatus, ...]


_LOCAL_NODE = re.compile(r"^Local node ID (\d+)(?:, transport (\S+))?", re.MULTILINE)
_LINK = re.compile(r"^LINK ID (\d+)", re.MULTILINE)
_ADDRESS = re.compile(r"^\s*addr\s*=\s*(\S+)", re.MULTILINE)
_PEER = re.compile(r"^\s*nodeid:?\s*(\d+):\s*(\S.*?)\s*$", re.MULTILINE)


def parse_cfgtool(text: str) -> LinksStatus:
    """The links and their peers' states (pure: unit-tested on Debian 12's corosync 3.1.7 output)."""
    local = _LOCAL_NODE.search(text)
    if local is None:
        raise HalabError("corosync-cfgtool printed no link status (is corosync running?)",
                         evidence=text.strip()[:400] or "(no output)")
    node_id = int(local.group(1))
    starts = list(_LINK.finditer(text))
    links = []
    for start, end in zip(starts, [*starts[1:], None]):
        block = text[start.end():end.start() if end else len(text)]
        address = _ADDRESS.search(block)
        peers = tuple((int(node), state) for node, state in _PEER.findall(block)
                      if int(node) != node_id and state != LOCAL)
        links.append(LinkStatus(int(start.group(1)), address.group(1) if address else "", peers))
    return LinksStatus(node_id, local.group(2) or "", tuple(links))
