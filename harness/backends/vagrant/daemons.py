"""Run a lab's virtlogd and libvirtd, with libvirt's state directories bound to the lab's own,
and stay to reap: started by halab inside the lab's network namespace and a private mount
namespace (no systemd here to start them, and the host's libvirt, if any, is never touched).

    ip netns exec halab-LAB unshare --mount --propagation private \\
        python -m halab.backends.vagrant.daemons STATE_DIR

PID 1 on some hosts never reaps orphans: this parent makes itself the subreaper of everything
below it (qemu and dnsmasq daemonise away from libvirtd), so nothing is left as a zombie.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

# Where libvirt keeps state, bound to a directory of the lab's in this mount namespace only.
BOUND = ("etc", "/etc/libvirt"), ("lib", "/var/lib/libvirt"), ("run", "/run/libvirt"), \
    ("log", "/var/log/libvirt"), ("cache", "/var/cache/libvirt")
_PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    for sub, target in BOUND:
        Path(target).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(state / sub), target], check=True)
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with (state / "daemons.log").open("ab") as log:
        virtlogd = subprocess.Popen(["virtlogd", "--pid-file", str(state / "virtlogd.pid")], stdout=log, stderr=log)
        libvirtd = subprocess.Popen(["libvirtd", "--pid-file", str(state / "libvirtd.pid")], stdout=log, stderr=log)

    def stop(signum: int, frame: object) -> None:
        for daemon in (libvirtd, virtlogd):
            daemon.terminate()

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        if pid == libvirtd.pid:
            virtlogd.terminate()
            status_of_libvirtd = os.waitstatus_to_exitcode(status)
            # Reap what is left (a stopped lab's qemu and dnsmasq are killed by the backend).
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    return status_of_libvirtd


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
