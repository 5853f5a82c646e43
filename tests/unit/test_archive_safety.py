"""Hostile archives are refused, naming the file and the entry; nothing is ever written to disk."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from halab.plan import available_labs
from halab.submissions.archive import ArchiveRefused, Limits, read_archive, write_archive
from halab.submissions.submission import from_members

RECORDED = Path(__file__).parent / "recorded" / "submission-pcs-alice.tar.gz"


def tar_with(path: Path, *entries: tarfile.TarInfo, data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in entries:
            content = (data or {}).get(info.name)
            if content is not None:
                info.size = len(content)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


HOSTILE: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "absolute path": (lambda p: tar_with(p, entry("/etc/passwd"), data={"/etc/passwd": b"x"}),
                      "/etc/passwd", "absolute path"),
    "dot-dot": (lambda p: tar_with(p, entry("nodes/../../evil"), data={"nodes/../../evil": b"x"}),
                "nodes/../../evil", "climbs out"),
    "symlink": (lambda p: tar_with(p, entry("nodes/node1/files/etc/hosts", tarfile.SYMTYPE, "/etc/shadow")),
                "nodes/node1/files/etc/hosts", "symbolic link"),
    "hard link": (lambda p: tar_with(p, entry("manifest.json", tarfile.LNKTYPE, "/etc/shadow")),
                  "manifest.json", "hard link"),
    "character device": (lambda p: tar_with(p, entry("dev/zero", tarfile.CHRTYPE)), "dev/zero", "character device"),
    "block device": (lambda p: tar_with(p, entry("dev/sda", tarfile.BLKTYPE)), "dev/sda", "block device"),
    "fifo": (lambda p: tar_with(p, entry("pipe", tarfile.FIFOTYPE)), "pipe", "fifo"),
    "the same path twice": (lambda p: tar_with(p, entry("a"), entry("a"), data={"a": b"1"}), "a", "twice"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_entry_is_refused_by_name(tmp_path: Path, case: str) -> None:
    make, name, words = HOSTILE[case]
    archive = make(tmp_path / "mallory.tar.gz")
    with pytest.raises(ArchiveRefused) as refused:
        read_archive(archive)
    assert refused.value.entry == name and words in str(refused.value), str(refused.value)
    assert str(refused.value).startswith("mallory.tar.gz: refused")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mallory.tar.gz"], "nothing was extracted"


def test_a_gzip_bomb_stops_while_it_is_decompressed(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "bomb.tar.gz", entry("zeros"), data={"zeros": bytes(3 * 2**20)})
    assert archive.stat().st_size < 20_000
    with pytest.raises(ArchiveRefused, match="unpacks to more than 2 MiB"):
        read_archive(archive, Limits(uncompressed_bytes=2 * 2**20, file_bytes=8 * 2**20))


def test_limits_on_compressed_size_file_size_and_entries(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "big.tar.gz", *(entry(f"f{i}") for i in range(5)),
                       data={f"f{i}": bytes(range(256)) * 40 for i in range(5)})
    with pytest.raises(ArchiveRefused, match="more than 4 entries"):
        read_archive(archive, Limits(entries=4))
    with pytest.raises(ArchiveRefused, match="MiB, more than 0 MiB") as refused:
        read_archive(archive, Limits(file_bytes=1000))
    assert refused.value.entry == "f0"
    with pytest.raises(ArchiveRefused, match="more than 0 MiB"):
        read_archive(archive, Limits(compressed_bytes=100))


@pytest.mark.parametrize("content", [b"PK\x03\x04 a zip", b"just text\n", b""])
def test_unknown_formats_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.tar.gz"
    if content.startswith(b"PK"):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("manifest.json", "{}")
    else:
        path.write_bytes(content)
    with pytest.raises(ArchiveRefused, match="not a gzip-compressed tar archive"):
        read_archive(path)


def test_gzip_that_is_not_a_tar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.tar.gz"
    path.write_bytes(gzip.compress(b"hello, not a tar" * 100))
    with pytest.raises(ArchiveRefused, match="damaged or not a tar"):
        read_archive(path)


def test_a_recorded_submission_reads_and_round_trips(tmp_path: Path) -> None:
    members = read_archive(RECORDED)
    submission = from_members(RECORDED, members, tuple(available_labs()))
    assert (submission.student, submission.variant, [n.name for n in submission.nodes]) == ("alice", "pcs", ["node1", "node2"])
    copy = write_archive(tmp_path / "copy.tar.gz", members, 0)
    assert read_archive(copy) == members


# -- the manifest and the node records --------------------------------------------------------
def manifest_case(change: Callable[[dict], None] | None = None, members: dict[str, bytes] | None = None) -> dict[str, bytes]:
    base = read_archive(RECORDED)
    manifest = json.loads(base["manifest.json"])
    if change:
        change(manifest)
    return {**base, "manifest.json": json.dumps(manifest).encode(), **(members or {})}


BAD_MANIFESTS = {
    "missing": ({k: v for k, v in read_archive(RECORDED).items() if k != "manifest.json"}, "manifest.json", "missing"),
    "not JSON": (manifest_case(members={"manifest.json": b"{nope"}), "manifest.json", "not valid JSON"),
    "wrong format": (manifest_case(lambda m: m.update(format="zip")), "manifest.json", "not a halab-submission"),
    "newer version": (manifest_case(lambda m: m.update(format_version=2)), "manifest.json", "version 1"),
    "student as a path": (manifest_case(lambda m: m.update(student="../../root")), "manifest.json", "student"),
    "unknown variant": (manifest_case(lambda m: m.update(variant="drbd")), "manifest.json", "variant 'drbd'"),
    "one node": (manifest_case(lambda m: m.update(nodes=["node1"])), "manifest.json", "other node"),
    "bad VIP": (manifest_case(lambda m: m.update(vip="300.1.1.1")), "manifest.json", "300.1.1.1"),
    "a file halab never collects": (manifest_case(members={"nodes/node1/files/etc/shadow": b"root:x"}),
                                    "nodes/node1/files/etc/shadow", "halab does not write"),
    "node record not JSON": (manifest_case(members={"nodes/node2/node.json": b"[1]"}), "nodes/node2/node.json", "JSON object"),
    "malformed secret": (manifest_case(members={"nodes/node1/node.json": json.dumps(
        {"hostname": "node1", "secrets": {"/etc/corosync/authkey": {"mode": "400; rm -rf /", "owner": "root",
                                                                   "sha256": "0" * 64}}}).encode()}),
        "nodes/node1/node.json", "malformed"),
}


@pytest.mark.parametrize("case", list(BAD_MANIFESTS))
def test_an_invalid_manifest_or_record_is_refused_by_entry(case: str) -> None:
    members, name, words = BAD_MANIFESTS[case]
    with pytest.raises(ArchiveRefused) as refused:
        from_members(Path("eve.tar.gz"), members, tuple(available_labs()))
    assert refused.value.entry == name and words in str(refused.value), str(refused.value)
