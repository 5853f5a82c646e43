"""Reading and writing submission archives. An archive comes from a student: it is data, never
code, and never touches the grader's disk. It is read into memory entry by entry, and refused
at the first entry that is not a plain file or folder with a plain relative name, or when it
grows past the limits (a gzip bomb is stopped while it is being decompressed).

    members = read_archive(Path("submissions/alice.tar.gz"))   # {"manifest.json": b"...", ...}

Links of any kind are refused, not only those pointing out: nothing halab writes needs one, and
an archive read into memory has nowhere for a link to point to.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Mapping

from halab.errors import HalabError
from halab.inputs import file_kind, open_regular

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Limits:
    compressed_bytes: int = 8 * 1024 * 1024
    uncompressed_bytes: int = 32 * 1024 * 1024  # the tar stream, headers included
    file_bytes: int = 4 * 1024 * 1024
    entries: int = 200


LIMITS = Limits()


class ArchiveRefused(HalabError):
    """An archive halab will not read; `entry` names the offending member ('' for the whole file)."""

    def __init__(self, archive: Path, reason: str, entry: str = "", fix: str = "") -> None:
        where = f" (entry {entry!r})" if entry else ""
        super().__init__(f"{archive.name}: refused{where}: {reason}",
                         fix=fix or "collect the submission again with `halab collect`")
        self.archive, self.reason, self.entry = archive, reason, entry


class _Bounded(io.RawIOBase):
    """A read-only stream that stops with ArchiveRefused once more than `limit` bytes came out."""

    def __init__(self, stream: BinaryIO, limit: int, archive: Path) -> None:
        self.stream, self.limit, self.archive, self.count = stream, limit, archive, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise ArchiveRefused(self.archive, f"it unpacks to more than {self.limit // 2**20} MiB")
        buffer[: len(data)] = data
        return len(data)


def read_archive(path: Path, limits: Limits = LIMITS) -> dict[str, bytes]:
    """Every file of a .tar.gz archive, by its relative path; folders are implied."""
    try:
        kind = path.lstat().st_mode
    except OSError as error:
        raise ArchiveRefused(path, f"cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(kind):  # a FIFO would block the grader for ever: it is never opened
        raise ArchiveRefused(path, f"it is {file_kind(kind)}, not a regular file; only regular files are read as archives",
                             fix="hand in the .tar.gz that `halab collect` wrote, as a plain file")
    try:
        fd = open_regular(path)
    except HalabError as error:
        raise ArchiveRefused(path, error.what.removeprefix(f"{path} ")) from None
    try:
        size = os.fstat(fd).st_size
        with os.fdopen(fd, "rb") as raw:
            head = raw.read(2)
            if size > limits.compressed_bytes:
                raise ArchiveRefused(path, f"it is {size / 2**20:.1f} MiB, more than {limits.compressed_bytes // 2**20} MiB")
            if head != GZIP_MAGIC:
                raise ArchiveRefused(path, "not a gzip-compressed tar archive (.tar.gz)",
                                     fix="hand in the .tar.gz that `halab collect` wrote, unchanged")
            raw.seek(0)
            return _members(path, _Bounded(gzip.GzipFile(fileobj=raw), limits.uncompressed_bytes, path), limits)
    except OSError as error:
        if isinstance(error, (gzip.BadGzipFile, EOFError)):
            raise ArchiveRefused(path, f"damaged gzip data ({error})") from None
        raise ArchiveRefused(path, f"cannot be read ({error.strerror or error})") from None
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise ArchiveRefused(path, f"damaged or not a tar archive ({error})") from None


def _members(path: Path, stream: _Bounded, limits: Limits) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BufferedReader(stream), mode="r|") as tar:
        for count, member in enumerate(tar, start=1):
            if count > limits.entries:
                raise ArchiveRefused(path, f"more than {limits.entries} entries")
            name = _checked_name(path, member.name)
            if member.isdir():
                continue
            if member.issym() or member.islnk():
                raise ArchiveRefused(path, f"a {'symbolic' if member.issym() else 'hard'} link (to {member.linkname!r}); "
                                     "an archive holds plain files only", name)
            if not (member.type in (tarfile.REGTYPE, tarfile.AREGTYPE)):
                kind = {tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device",
                        tarfile.FIFOTYPE: "a fifo"}.get(member.type, f"an entry of tar type {member.type!r}")
                raise ArchiveRefused(path, f"{kind}; an archive holds plain files only", name)
            if member.size > limits.file_bytes:
                raise ArchiveRefused(path, f"{member.size / 2**20:.1f} MiB, more than {limits.file_bytes // 2**20} MiB", name)
            if name in members:
                raise ArchiveRefused(path, "the same path twice", name)
            extracted = tar.extractfile(member)
            members[name] = extracted.read() if extracted else b""
    return members


def _checked_name(path: Path, name: str) -> str:
    """A plain relative path: no absolute path, no `..`, no backslash or control character."""
    if name.startswith("/") or any(ord(c) < 32 or c == "\\" for c in name):
        raise ArchiveRefused(path, "an absolute path or a path with control characters", name)
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if ".." in parts:
        raise ArchiveRefused(path, "a path that climbs out with `..`", name)
    return "/".join(parts)


def write_archive(path: Path, members: Mapping[str, bytes], mtime: float) -> Path:
    """A .tar.gz of plain files (mode 0644, owned by root), in a stable order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(mtime)
            tar.addfile(info, io.BytesIO(data))
    return path
