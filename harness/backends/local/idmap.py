"""Node root is not host root: each node gets a range of 65536 host uids and gids of its own,
and sees the shared base image through an idmapped mount, so that the image's root-owned files
belong to the node's root (host uid `shift`) without a copy or a chown of the image.

Overlayfs itself cannot be idmapped on this kernel (mount_setattr returns EINVAL), but its
layers can: the lower layer is an idmapped bind mount of the base image, the upper layer a
plain tmpfs where files are stored with the host uids the node's processes have.

Ranges are handed out from 0x70000000 up, above the range `systemd-nspawn --private-users=pick`
uses, one claim file per range under /var/lib/halab/uidranges (it names the node).
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import time
from pathlib import Path

from halab.errors import HalabError
from halab.paths import state_root

RANGE = 65536
FIRST_SHIFT = 0x70000000
SLOTS = 4096

_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442
_OPEN_TREE_CLONE, _O_CLOEXEC, _AT_EMPTY_PATH, _AT_FDCWD = 1, 0o2000000, 0x1000, -100
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_IDMAP, _MOVE_MOUNT_F_EMPTY_PATH = 0x1, 0x00100000, 0x4


def _claims() -> Path:
    return state_root() / "uidranges"


def claim_range(owner: Path) -> int:
    """The uid shift of the node whose directory is `owner`: its own claim if it has one, else
    the first free range. A claim whose node directory is gone is free again."""
    claims = _claims()
    claims.mkdir(parents=True, exist_ok=True)
    for claim in claims.iterdir():
        if claim.read_text() == str(owner):
            return int(claim.name)
    for slot in range(SLOTS):
        shift = FIRST_SHIFT + slot * RANGE
        path = claims / str(shift)
        if path.exists() and not Path(path.read_text()).is_dir():
            path.unlink(missing_ok=True)
        try:
            with path.open("x") as out:
                out.write(str(owner))
        except FileExistsError:
            continue
        return shift
    raise HalabError(f"all {SLOTS} uid ranges of halab are taken", fix=f"halab down the labs you no longer need; see {claims}")


def release_range(owner: Path) -> None:
    claims = _claims()
    if claims.is_dir():
        for claim in claims.iterdir():
            if claim.read_text() == str(owner):
                claim.unlink(missing_ok=True)


def mount_idmapped(source: Path, target: Path, shift: int) -> None:
    """Bind-mount `source` at `target`, read-only (the base image is shared: nothing may ever
    write or delete through a node's view of it), uid and gid 0..65535 shown as shift..shift+65535."""
    libc = ctypes.CDLL(None, use_errno=True)
    userns = _user_namespace(shift)
    try:
        tree = libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, bytes(source), _OPEN_TREE_CLONE | _O_CLOEXEC)
        if tree < 0:
            _fail("open_tree", source)
        try:
            attr = ctypes.create_string_buffer(struct.pack("QQQQ", _MOUNT_ATTR_IDMAP | _MOUNT_ATTR_RDONLY, 0, 0, userns))
            if libc.syscall(_SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, attr, 32) < 0:
                _fail("mount_setattr (idmapped mounts)", source)
            if libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, bytes(target), _MOVE_MOUNT_F_EMPTY_PATH) < 0:
                _fail("move_mount", target)
        finally:
            os.close(tree)
    finally:
        os.close(userns)


def mounts_under(directory: Path) -> list[Path]:
    """Mount points at or below `directory` (os.path.ismount misses a bind mount of the same
    file system, which the idmapped lower layer is)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point == directory or point.is_relative_to(directory):
            found.append(point)
    return found


def shift_new_files(upper: Path, merged: Path, shift: int) -> None:
    """Give files the host created in a node's upper layer (owned by host root) to the node's
    own users: host uid u < 65536 becomes shift + u. The change goes through the mounted
    overlay where the file shows there: overlayfs keeps its own copy of the owner, and an
    owner changed only underneath it leaves the node's root locked out of the file."""
    for path in [upper, *upper.rglob("*")]:
        status = path.lstat()
        if status.st_uid < RANGE or status.st_gid < RANGE:
            seen = merged / path.relative_to(upper)
            target = seen if os.path.lexists(seen) else path  # a whiteout shows nowhere
            os.lchown(target, shift + status.st_uid % RANGE, shift + status.st_gid % RANGE)


def _user_namespace(shift: int) -> int:
    """An fd of a new user namespace mapping 0..65535 to the node's range (held by a sleeper
    that is killed as soon as the fd is open)."""
    holder = subprocess.Popen(["unshare", "--user", "sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        ours = os.readlink("/proc/self/ns/user")
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{holder.pid}/ns/user") == ours:
            if time.monotonic() > deadline or holder.poll() is not None:
                raise HalabError("could not create a user namespace (unshare --user)", fix="check that util-linux is installed")
            time.sleep(0.002)
        for kind in ("uid_map", "gid_map"):
            Path(f"/proc/{holder.pid}/{kind}").write_text(f"0 {shift} {RANGE}\n")
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        holder.kill()
        holder.wait()


def _fail(call: str, path: Path) -> None:
    error = ctypes.get_errno()
    raise HalabError(f"{call} failed on {path}: {os.strerror(error)}",
                     fix="the local backend needs Linux >= 5.19 with idmapped mounts of the image's file system")
