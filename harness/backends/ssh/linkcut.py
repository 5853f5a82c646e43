"""A link cut done from inside the node, as the harness can only reach it over SSH: nftables
drops everything on the node's cluster interface, both directions, ARP included, except the
harness's own SSH connection (so it still sees who holds the VIP). The node first schedules its
own heal with a systemd timer: whatever happens to the harness, the link comes back.

Tables of its own (`halab_cut`), never the student's rules: the heal deletes them and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address

from halab.errors import HalabError

TABLE = "halab_cut"
HEAL_UNIT = "halab-heal-link"
# Longer than any fault window (twice the budget + 10 s): the harness heals first when it can.
SELF_HEAL_S = 180
_INTERFACE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")
HEAL_COMMAND = f"nft delete table inet {TABLE}; nft delete table arp {TABLE}"


@dataclass(frozen=True)
class SshPeer:
    """Both ends of the harness's SSH connection as the node sees them ($SSH_CONNECTION)."""

    harness: IPv4Address
    node: IPv4Address
    port: int

    @classmethod
    def parse(cls, ssh_connection: str) -> "SshPeer":
        """`$SSH_CONNECTION` is "client-ip client-port server-ip server-port"."""
        words = ssh_connection.split()
        if len(words) != 4:
            raise HalabError(f"cannot read $SSH_CONNECTION {ssh_connection.strip()!r}",
                             fix="the node's sshd must set SSH_CONNECTION (OpenSSH does)")
        return cls(IPv4Address(words[0]), IPv4Address(words[2]), int(words[3]))


def ruleset(interface: str, peer: SshPeer) -> str:
    """nftables rules that isolate `interface` but for the harness's SSH connection, loaded in
    one transaction (`nft -f -`)."""
    if not _INTERFACE.match(interface):
        raise HalabError(f"interface name {interface!r} is not one nftables can be given safely")
    name, h, n = f'"{interface}"', peer.harness, peer.node
    ssh_in, ssh_out = f"ip saddr {h} ip daddr {n} tcp dport {peer.port}", f"ip saddr {n} ip daddr {h} tcp sport {peer.port}"
    arp_in, arp_out = f"arp saddr ip {h} arp daddr ip {n}", f"arp saddr ip {n} arp daddr ip {h}"
    return "".join([_table("inet", name, ssh_in, ssh_out), _table("arp", name, arp_in, arp_out)])


def _table(family: str, interface: str, keep_in: str, keep_out: str) -> str:
    """A table of two chains that run before the student's own (priority -300): what `keep_*`
    matches goes on to them, everything else on the interface is dropped."""
    lines = [f"table {family} {TABLE} {{"]
    for chain, side, keep in (("input", "iifname", keep_in), ("output", "oifname", keep_out)):
        lines += [
            f"  chain {chain} {{",
            f"    type filter hook {chain} priority -300; policy accept;",
            f"    {side} {interface} {keep} accept",
            f"    {side} {interface} drop",
            "  }",
        ]
    return "\n".join(lines + ["}", ""])


def cut_argv(heal_after_s: int = SELF_HEAL_S) -> list[str]:
    """The cut, as one script run as root with the ruleset on standard input: a timer that heals
    is scheduled first (any leftover one replaced), and only once it is in place is the link cut."""
    script = (
        'systemctl stop "$1.timer" "$1.service" 2>/dev/null; systemctl reset-failed "$1.timer" "$1.service" 2>/dev/null; '
        'command -v nft >/dev/null || { echo "nft is not installed (apt install nftables)" >&2; exit 3; }; '
        'systemd-run --quiet --unit="$1" --on-active="$2" --timer-property=AccuracySec=1s /bin/sh -c "$3" || exit 4; '
        "nft -f -"
    )
    return ["/bin/sh", "-c", script, "halab-cut-link", HEAL_UNIT, f"{heal_after_s}s", HEAL_COMMAND]


def heal_argv() -> list[str]:
    """Undo the cut and cancel the timer; harmless when the link is whole (already healed)."""
    script = (
        f'if nft list table inet {TABLE} >/dev/null 2>&1; then {HEAL_COMMAND}; fi; '
        'systemctl stop "$1.timer" 2>/dev/null; systemctl reset-failed "$1.timer" "$1.service" 2>/dev/null; true'
    )
    return ["/bin/sh", "-c", script, "halab-heal-link", HEAL_UNIT]


def is_cut_argv() -> list[str]:
    return ["nft", "list", "table", "inet", TABLE]


def interface_argv(address: IPv4Address) -> list[str]:
    """Which interface holds the node's cluster address (`ip -o` prints it second)."""
    return ["ip", "-o", "-4", "addr", "show", "to", f"{address}/32"]


def parse_interface(ip_output: str, address: IPv4Address) -> str:
    words = ip_output.split()
    if len(words) < 2:
        raise HalabError(f"no interface holds {address} on the node",
                         fix="the inventory's address must be the node's own cluster address")
    return words[1].split("@")[0]
