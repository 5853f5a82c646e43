"""The self-healing link cut: the node schedules its own heal before anything is cut, the rules
keep the harness's SSH connection and drop the rest both ways, and the heal undoes only halab's
tables. The script is run by a real shell against stand-ins that record what they were asked."""

import os
import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from halab.backends.ssh import linkcut
from halab.errors import HalabError

PEER = linkcut.SshPeer.parse("192.168.56.1 51234 192.168.56.10 22\n")


def test_ssh_connection_names_both_ends() -> None:
    assert PEER == linkcut.SshPeer(IPv4Address("192.168.56.1"), IPv4Address("192.168.56.10"), 22)
    with pytest.raises(HalabError, match="cannot read"):
        linkcut.SshPeer.parse("")


def test_the_rules_keep_only_the_harnesss_ssh_and_its_arp() -> None:
    rules = linkcut.ruleset("enp0s8", PEER)
    assert rules.count(f"table inet {linkcut.TABLE}") == 1 and rules.count(f"table arp {linkcut.TABLE}") == 1
    lines = [line.strip() for line in rules.splitlines()]
    assert lines.index('iifname "enp0s8" ip saddr 192.168.56.1 ip daddr 192.168.56.10 tcp dport 22 accept') \
        < lines.index('iifname "enp0s8" drop')
    assert 'oifname "enp0s8" ip saddr 192.168.56.10 ip daddr 192.168.56.1 tcp sport 22 accept' in lines
    assert 'iifname "enp0s8" arp saddr ip 192.168.56.1 arp daddr ip 192.168.56.10 accept' in lines
    assert 'oifname "enp0s8" arp saddr ip 192.168.56.10 arp daddr ip 192.168.56.1 accept' in lines
    assert sum(line.endswith("drop") for line in lines) == 4  # in and out, IP and ARP
    assert "flush" not in rules and "ruleset" not in rules  # never the student's rules


def test_an_interface_name_that_could_inject_rules_is_refused() -> None:
    with pytest.raises(HalabError):
        linkcut.ruleset('eth0" accept; #', PEER)


def test_the_interface_is_the_one_holding_the_nodes_address() -> None:
    shown = "2: enp0s8    inet 192.168.56.10/24 brd 192.168.56.255 scope global enp0s8\\       valid_lft forever\n"
    assert linkcut.parse_interface(shown, PEER.node) == "enp0s8"
    assert linkcut.interface_argv(PEER.node)[-1] == "192.168.56.10/32"
    with pytest.raises(HalabError, match="no interface holds"):
        linkcut.parse_interface("", PEER.node)


@pytest.fixture
def stand_ins(tmp_path: Path) -> Path:
    """systemctl, systemd-run and nft that log their arguments (and nft its standard input)."""
    log = tmp_path / "calls.log"
    for tool in ("systemctl", "systemd-run", "nft"):
        script = tmp_path / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {log}\n'
                          + ('[ "$1" = -f ] && sed "s/^/  stdin: /" >> ' + str(log) + "\n" if tool == "nft" else "")
                          + ('[ "$1" = list ] && exit 1\n' if tool == "nft" else "") + "exit 0\n")
        script.chmod(0o755)
    return tmp_path


def run(argv: list[str], stand_ins: Path, stdin: str = "") -> list[str]:
    env = {**os.environ, "PATH": f"{stand_ins}:/usr/bin:/bin"}
    subprocess.run(argv, input=stdin, text=True, env=env, check=True, timeout=10)
    return (stand_ins / "calls.log").read_text().splitlines()


def test_the_heal_is_scheduled_on_the_node_before_the_link_is_cut(stand_ins: Path) -> None:
    calls = run(linkcut.cut_argv(120), stand_ins, stdin=linkcut.ruleset("eth0", PEER))
    scheduled = next(i for i, call in enumerate(calls) if call.startswith("systemd-run"))
    cut = calls.index("nft -f -")
    assert scheduled < cut
    assert calls[scheduled] == (f"systemd-run --quiet --unit={linkcut.HEAL_UNIT} --on-active=120s "
                                f"--timer-property=AccuracySec=1s /bin/sh -c {linkcut.HEAL_COMMAND}")
    assert "  stdin: table inet halab_cut {" in calls[cut + 1:]
    assert linkcut.HEAL_COMMAND == "nft delete table inet halab_cut; nft delete table arp halab_cut"


def test_no_cut_when_the_heal_cannot_be_scheduled(stand_ins: Path) -> None:
    (stand_ins / "systemd-run").write_text("#!/bin/sh\nexit 1\n")
    env = {**os.environ, "PATH": f"{stand_ins}:/usr/bin:/bin"}
    done = subprocess.run(linkcut.cut_argv(), input="", text=True, env=env, timeout=10)
    assert done.returncode == 4
    assert not any(call.startswith("nft -f") for call in (stand_ins / "calls.log").read_text().splitlines())


def test_the_heal_cancels_the_timer_and_is_harmless_when_nothing_is_cut(stand_ins: Path) -> None:
    calls = run(linkcut.heal_argv(), stand_ins)
    assert calls[0] == "nft list table inet halab_cut"  # the stand-in says: no such table
    assert not any(call.startswith("nft delete") for call in calls)
    assert f"systemctl stop {linkcut.HEAL_UNIT}.timer" in calls
