"""A lab's virtual BMCs: started with the lab, stopped with it, restarted by `halab heal`.

>>> start(backend)   # no-op for a lab without [bmc] in its plan, or when they already run
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from halab.backends import Backend
from halab.errors import HalabError
from halab.paths import state_root
from halab.progress import say
from halab.wait import wait_until

_MODULE = "halab.bmc.server"


def ready_file(lab: str, node: str) -> Path:
    """Holds the PID of the node's BMC once it listens."""
    return state_root() / "labs" / lab / f"bmc-{node}.ready"


def running_pid(lab: str, node: str) -> int | None:
    """The PID of a node's BMC, if it runs (a recycled PID is told apart by its command line)."""
    try:
        pid = int(ready_file(lab, node).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if _MODULE.encode() in command and command[-2:] == [lab.encode(), node.encode()] else None


def all_running(backend: Backend) -> bool:
    return all(running_pid(backend.lab, node) is not None for node in backend.plan.node_names)


def start(backend: Backend) -> None:
    """Start the BMCs of the lab that do not run, and wait until they listen."""
    plan, lab = backend.plan, backend.lab
    if plan.bmc is None or all_running(backend):
        return
    if backend.bmc_netns() is None:
        raise HalabError(f"lab {lab}'s plan has virtual BMCs, which its backend cannot provide",
                         fix="bring it up on the local backend (--backend local)")
    for node in plan.node_names:
        if running_pid(lab, node) is None:
            ready_file(lab, node).unlink(missing_ok=True)
            with log_file(lab, node).open("ab") as out:
                subprocess.Popen([sys.executable, "-m", _MODULE, lab, node], stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    wait_until(lambda: all_running(backend), bool, what=f"lab {lab}'s virtual BMCs to listen",
               timeout_s=20, interval_s=0.1, fix=f"read {log_file(lab, plan.node_names[0])}")
    addresses = ", ".join(f"{n.name} {n.bmc.ip}" for n in plan.nodes if n.bmc)
    say(f"lab {lab}: virtual BMCs listening (IPMI over LAN, UDP 623): {addresses}")


def silence(lab: str, node: str) -> None:
    """Make one node's BMC stop answering (SIGSTOP: its socket stays, requests go unanswered and
    fence_ipmilan times out, as with a BMC whose cable is out). `resume` undoes it."""
    _signal(lab, node, signal.SIGSTOP)


def resume(lab: str, node: str) -> None:
    """Let a silenced BMC answer again (harmless on one that answers, or does not run)."""
    _signal(lab, node, signal.SIGCONT)


def _signal(lab: str, node: str, sig: signal.Signals) -> None:
    pid = running_pid(lab, node)
    if pid is not None:
        os.kill(pid, sig)


def stop(backend: Backend) -> None:
    """Stop the BMCs (SIGTERM, then SIGKILL); a node they powered off stays in the journal."""
    for node in backend.plan.node_names:
        resume(backend.lab, node)  # a silenced BMC acts on its SIGTERM only once it runs again
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pid = running_pid(backend.lab, node)
            if pid is None:
                break
            os.kill(pid, sig)
            deadline = time.monotonic() + 5.0
            while running_pid(backend.lab, node) == pid and time.monotonic() < deadline:
                time.sleep(0.1)


def log_file(lab: str, node: str) -> Path:
    return state_root() / "labs" / lab / f"bmc-{node}.log"
