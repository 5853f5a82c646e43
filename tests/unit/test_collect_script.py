"""The collect script and its parser: evidence from a real pcs node, secrets never in clear,
archives a student builds node by node."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.plan import available_labs
from halab.submissions.archive import read_archive
from halab.submissions.collect import _redacted_authkeys, add_node, collect_here, collect_script, parse_collected, write_submission
from halab.submissions.submission import from_members, to_members

RECORDED = Path(__file__).parent / "recorded"
NODE1 = (RECORDED / "collect-pcs-node1.txt").read_text()


def test_a_real_pcs_node_is_parsed() -> None:
    """Recorded with the collect script on node1 of the pcs lab, the VIP on node1."""
    node = parse_collected("node1", NODE1)
    assert node.hostname == "node1"
    assert (node.unit("pcsd").enabled, node.unit("apache2").enabled, node.unit("pacemaker").active) == ("enabled", "disabled", "active")
    assert b"two_node: 1" in (node.file("/etc/corosync/corosync.conf") or b"")
    assert node.file("/var/www/html/index.html") is not None and node.file("/etc/ha.d/ha.cf") is None
    key = node.secret("/etc/corosync/authkey")
    assert key is not None and (key.mode, key.owner, len(key.sha256)) == ("400", "root", 64)
    assert node.cib is not None and node.cib.startswith("<cib") and "WebCluster" in node.cib
    assert dict(node.packages)["pacemaker"].startswith("2.1.5")
    (eth0,) = node.interfaces
    assert (eth0.name, eth0.mac, [str(a) for a in eth0.addresses]) == ("eth0", "52:54:00:56:00:10", ["192.168.56.10/24", "192.168.56.100/24"])
    assert str(node.gateway) == "192.168.56.254"


def test_no_secret_is_read_in_clear() -> None:
    script = collect_script()
    assert "sha256sum < /etc/corosync/authkey" in script
    assert "/etc/corosync/authkey | base64" not in script and "cat /etc/ha.d/authkeys" not in script
    assert "hacluster" not in script and "shadow" not in script


def test_heartbeat_keys_are_replaced_by_their_hash(tmp_path: Path) -> None:
    keys = tmp_path / "authkeys"
    keys.write_text("# comment\nauth 1\n1 sha1 s3cret\n2 crc\n3 md5 other")  # no final newline
    out = subprocess.run(["/bin/sh", "-c", _redacted_authkeys(str(keys))], capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256(b"s3cret").hexdigest()
    assert out.splitlines() == ["# comment", "auth 1", f"1 sha1 halab-sha256:{digest}", "2 crc",
                                f"3 md5 halab-sha256:{hashlib.sha256(b'other').hexdigest()}"]
    assert "s3cret" not in out


def test_collect_here_adds_the_second_node_to_the_students_archive(tmp_path: Path) -> None:
    archive = tmp_path / "alice.tar.gz"
    node2 = NODE1.replace("node1\n", "node2\n", 1)
    write_submission(archive, add_node(archive, collect_here("alice", "pcs", None, run=lambda argv: NODE1)))
    assert [n.name for n in from_members(archive, read_archive(archive), ("pcs",), partial=True).nodes] == ["node1"]
    both = add_node(archive, collect_here("alice", "pcs", None, run=lambda argv: node2))
    write_submission(archive, both)
    submission = from_members(archive, read_archive(archive), tuple(available_labs()))
    assert [n.name for n in submission.nodes] == ["node1", "node2"] and submission.vip is None
    with pytest.raises(HalabError, match="holds alice's pcs lab, not bob's"):
        add_node(archive, collect_here("bob", "pcs", "node3", run=lambda argv: NODE1))
    with pytest.raises(HalabError, match="already holds two nodes"):
        add_node(archive, collect_here("alice", "pcs", "node3", run=lambda argv: NODE1))


def test_archives_round_trip_every_piece_of_evidence(tmp_path: Path) -> None:
    submission = collect_here("alice", "pcs", "node1", run=lambda argv: NODE1)
    members = to_members(submission)
    back = from_members(tmp_path / "a.tar.gz", members, ("pcs",), partial=True)
    assert back.nodes == submission.nodes


def test_names_that_would_name_files_elsewhere_are_refused() -> None:
    with pytest.raises(HalabError, match="student '../x'"):
        collect_here("../x", "pcs", "node1", run=lambda argv: NODE1)
    with pytest.raises(HalabError, match="no lab variant"):
        collect_here("alice", "drbd", "node1", run=lambda argv: NODE1)
