"""The package cache every lab's nodes install from, as VMs of a classroom use a proxy.

    nodes ──HTTP──▶ router:3142 ──socat──▶ /var/lib/halab/aptcache/path.sock ──socat──▶
        127.0.0.1:13142 apt-cacher-ng ──▶ the image recipe's Debian mirror (as the host reaches it)

One apt-cacher-ng serves all labs, its cache under /var/lib/halab/aptcache (warm after the
first fetch). It listens on the host's loopback only, and is forwarded to the lab network by a
Unix socket: a socat started inside the router's namespace listens on the router's lab address
and connects to that socket, so the root namespace never gets a lab address, and the nodes
reach this one port and nothing else outside their lab. apt-cacher-ng forwards only requests
for the recipe's mirror (`ForceManaged`, one `Remap-` rule): a node cannot use it to reach any
other host. It runs as Debian's `apt-cacher-ng` user, never as root.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from halab.errors import HalabError
from halab.paths import state_root
from halab.wait import wait_until

CACHE_PORT = 13142  # on the host's loopback; not Debian's 3142, where a system apt-cacher-ng may listen
NODE_PORT = 3142  # what the nodes see on the router, apt-cacher-ng's usual port
USER = "apt-cacher-ng"


def cache_dir() -> Path:
    return state_root() / "aptcache"


def path_socket() -> Path:
    return cache_dir() / "path.sock"


def proxy_conf(router_ip: str) -> str:
    """The node's /etc/apt/apt.conf.d file: apt through the cache, as a classroom VM would."""
    return f'# halab: packages come through the lab\'s package cache on the router\nAcquire::http::Proxy "http://{router_ip}:{NODE_PORT}";\n'


def ensure_cache(mirror: str) -> None:
    """Start the shared cache and its socket if they are not running (once for all labs)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers_tcp():
            _start_cacher(root, mirror)
        if not _answers_unix():
            _start_path(root)


def open_path(netns: str, router_ip: str) -> None:
    """The lab's end of the path: the router's address, port 3142, to the shared socket. It
    lives in the router's namespace and goes with it (remove_path)."""
    subprocess.Popen(
        ["ip", "netns", "exec", netns, "socat",
         f"TCP-LISTEN:{NODE_PORT},bind={router_ip},reuseaddr,fork", f"UNIX-CONNECT:{path_socket()}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def remove_path(netns: str) -> None:
    """Stop what runs in the router's namespace (the path's socat, even one a killed halab left)."""
    shown = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=False)
    for pid in shown.stdout.split():
        subprocess.run(["kill", "-9", pid], capture_output=True, check=False)


def _start_cacher(root: Path, mirror: str) -> None:
    for sub in ("cache", "log", "conf", "run"):
        (root / sub).mkdir(exist_ok=True)
    parts = urlsplit(mirror)
    (root / "conf" / "acng.conf").write_text(
        "# halab's own apt-cacher-ng: loopback only, the image recipe's mirror only\n"
        f"CacheDir: {root / 'cache'}\nLogDir: {root / 'log'}\nSupportDir: /usr/lib/apt-cacher-ng\n"
        f"PidFile: {root / 'run' / 'pid'}\nSocketPath: {root / 'run' / 'admin.sock'}\n"
        f"Port: {CACHE_PORT}\nBindAddress: 127.0.0.1\n"
        f"Remap-debrep: {parts.netloc}{parts.path} /debian ; {mirror}\n"
        "ForceManaged: 1\nPassThroughPattern: ^$\nExThreshold: 4\nVerboseLog: 0\n"
    )
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(root / "cache"), str(root / "log"), str(root / "run")],
                   capture_output=True, check=False)
    started = subprocess.run(
        ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--",
         "apt-cacher-ng", "-c", str(root / "conf"), "ForeGround=0"],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )
    if started.returncode != 0:
        raise HalabError("the package cache (apt-cacher-ng) did not start",
                         evidence=(started.stdout + started.stderr).strip()[-2000:],
                         fix="install it with ./install.sh (apt-get install apt-cacher-ng socat)")
    wait_until(_answers_tcp, bool, what="the package cache to listen", timeout_s=10, interval_s=0.1)


def _start_path(root: Path) -> None:
    path_socket().unlink(missing_ok=True)
    subprocess.Popen(
        ["socat", f"UNIX-LISTEN:{path_socket()},fork,mode=600", f"TCP:127.0.0.1:{CACHE_PORT}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    wait_until(_answers_unix, bool, what="the package cache's socket", timeout_s=10, interval_s=0.1)


def _answers_tcp() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", CACHE_PORT)) == 0


def _answers_unix() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path_socket()))
        except OSError:
            return False
        return True
