"""DHCP on a lab's subnet (plan `dhcp = true`), as a VirtualBox host-only or libvirt network
gives it: Debian's dnsmasq, run by halab in the lab's router namespace (never the host's), leases
each node the address its plan gives its MAC, with the router as gateway. Nodes are installed
with `iface ... inet dhcp` and Debian's own isc-dhcp-client asks for it; a sheet that then writes
a static address works as on a VM. Unknown MACs get nothing (a static range only), so the plan
stays the one truth about who has which address.

It lives as long as the lab's network: started after the router, stopped before the namespaces
go; a SIGKILLed halab leaves it serving its own lab only, until `halab down`.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from halab.backends.local import network
from halab.backends.local.host import host
from halab.errors import HalabError
from halab.plan import LabPlan
from halab.wait import wait_until

LEASE_S = 3600  # dnsmasq's default: nodes renew on their own, long after any lab run


def pid_file(directory: Path) -> Path:
    return directory / "dnsmasq.pid"


def arguments(plan: LabPlan, directory: Path) -> list[str]:
    """dnsmasq's command line: DHCP only (no DNS: port 0), on the router's cable, one fixed
    lease per node and host of the plan."""
    hosts = [f"--dhcp-host={m.mac},{m.address.ip},{m.name}" for m in (*plan.nodes, *plan.hosts)]
    return [
        "dnsmasq", "--port=0", "--interface=eth1", "--bind-interfaces", "--dhcp-authoritative",
        f"--dhcp-range={plan.subnet.network_address},static,{plan.subnet.netmask},{LEASE_S}",
        f"--dhcp-option=option:router,{plan.router.address.ip}", *hosts, "--leasefile-ro",
        f"--pid-file={pid_file(directory)}", "--user=nobody", "--group=nogroup", "--conf-file=/dev/null",
    ]


def start(plan: LabPlan, lab: str, directory: Path) -> None:
    """Serve DHCP in the lab's router namespace, unless it already does."""
    if running_pid(directory) is not None:
        return
    if shutil.which("dnsmasq") is None:
        raise HalabError("this lab's plan says dhcp = true, and dnsmasq is not installed on this machine",
                         fix="apt-get install dnsmasq-base (./install.sh does), or remove dhcp from the plan")
    directory.mkdir(parents=True, exist_ok=True)
    host(["ip", "netns", "exec", network.machine_namespace(lab, plan.router.name), *arguments(plan, directory)])
    wait_until(lambda: running_pid(directory), lambda pid: pid is not None, what=f"lab {lab}'s DHCP server",
               timeout_s=10, interval_s=0.05)


def running_pid(directory: Path) -> int | None:
    """dnsmasq's PID from its pid file, if that process is still this lab's dnsmasq."""
    try:
        pid = int(pid_file(directory).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if command.startswith(b"dnsmasq\0") and f"--pid-file={pid_file(directory)}".encode() in command else None


def stop(directory: Path) -> None:
    """SIGTERM, then SIGKILL; bounded."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        pid = running_pid(directory)
        if pid is None:
            break
        os.kill(pid, signum)
        deadline = time.monotonic() + 5.0
        while running_pid(directory) == pid and time.monotonic() < deadline:
            time.sleep(0.05)
    pid_file(directory).unlink(missing_ok=True)
