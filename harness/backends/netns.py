"""Network namespaces that belong to a lab, shared by the backends: their names, their making
and removal, and a TCP connection opened from inside one while the harness stays in the root
namespace (the root namespace never gets a route to a lab subnet).

>>> sock = connect_in("halab-pcs", "192.168.121.12", 22, timeout_s=10)
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

from halab.backends.local.host import host
from halab.errors import HalabError

T = TypeVar("T")
NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000


def lab_namespace(lab: str) -> str:
    return f"halab-{lab}"


def namespace_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def add_namespace(name: str) -> None:
    """A fresh namespace called `name` (a stale one of that name is removed first), loopback up."""
    host(["ip", "netns", "del", name], check=False)
    host(["ip", "netns", "add", name])
    host(["ip", "-n", name, "link", "set", "lo", "up"])


def delete_namespace(name: str) -> None:
    host(["ip", "netns", "del", name], check=False)


def namespace_pids(name: str) -> list[int]:
    """Processes whose network namespace is `name` (what must be stopped before it goes)."""
    if not namespace_exists(name):
        return []
    listed = host(["ip", "netns", "pids", name], check=False)
    return [int(pid) for pid in listed.stdout.split()]


def stop_processes(name: str, *, only: str = "", grace_s: float = 15.0) -> None:
    """Stop the processes of namespace `name` (those whose command line contains `only`, if
    given): SIGTERM, then SIGKILL to those left after `grace_s`. Raises if any survive."""

    def targets() -> list[int]:
        return [pid for pid in namespace_pids(name) if only in _command_line(pid)]

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while targets() and time.monotonic() < deadline:
            time.sleep(0.2)
    left = targets()
    if left:
        raise HalabError(f"processes in the namespace {name} would not stop: {left}",
                         fix=f"ps -p {','.join(map(str, left))}; kill -9 them, then try again")


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def join_namespace(path: Path) -> None:
    """Move the calling thread into the network namespace at `path` (setns)."""
    with path.open("rb") as handle:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def in_namespace(namespace: str, make: Callable[[], T], *, timeout_s: float) -> T:
    """What `make` returns, called in a short-lived thread inside `namespace` (setns acts on the
    calling thread only): a socket made there stays in that namespace for its whole life, while
    the harness's other threads never leave the root namespace."""
    made: list[T] = []
    failed: list[BaseException] = []

    def enter_and_make() -> None:
        try:
            join_namespace(NETNS_DIR / namespace)
            made.append(make())
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)

    thread = threading.Thread(target=enter_and_make, name=f"in-{namespace}", daemon=True)
    thread.start()
    thread.join(timeout_s + 5)
    if made:
        return made[0]
    raise failed[0] if failed else TimeoutError(f"not done within {timeout_s:.0f} s")


def connect_in(namespace: str, address: str, port: int, *, timeout_s: float) -> socket.socket:
    """A TCP socket connected from inside `namespace` (see in_namespace)."""
    try:
        return in_namespace(namespace, lambda: socket.create_connection((address, port), timeout=timeout_s),
                            timeout_s=timeout_s)
    except (OSError, TimeoutError) as cause:
        raise HalabError(
            f"cannot reach {address}:{port} from the lab namespace {namespace} ({cause})",
            fix=f"halab status shows whether the machine runs; ip netns exec {namespace} ip addr shows the lab's side",
        ) from None
