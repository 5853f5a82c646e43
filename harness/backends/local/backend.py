"""The local backend: a lab comes up in seconds on one Linux machine, no VM needed."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from halab.backends.base import MachineStatus, debian_hosts
from halab.backends.local import cgroups, network
from halab.backends.local.container import Container
from halab.backends.local.host import host
from halab.command import DEFAULT_TIMEOUT_S, CommandResult
from halab.errors import HalabError
from halab.image import ensure_image
from halab.paths import state_root
from halab.plan import LabPlan
from halab.progress import say
from halab.wait import wait_until

BOOT_TIMEOUT_S = 60.0


class LocalBackend:
    can_power_cycle = True
    time_scale = 1.0

    def __init__(self, plan: LabPlan, lab: str) -> None:
        self.plan, self.lab = plan, lab
        self.directory = state_root() / "labs" / lab

    # -- the lab as a whole ---------------------------------------------------------------
    def preflight(self) -> None:
        require_privileges()

    def up(self) -> None:
        base = ensure_image().rootfs
        say(f"lab {self.lab}: wiring the network and booting {', '.join(self.plan.node_names)}")
        network.create_switch(self.plan, self.lab)
        network.create_router(self.plan, self.lab)
        with ThreadPoolExecutor(len(self.plan.nodes)) as pool:
            for _ in pool.map(lambda node: self._create_node(node, base), self.plan.node_names):
                pass

    def down(self) -> None:
        """Stop every node and remove everything the lab made; safe on a half-built lab."""
        for node in self.plan.node_names:
            cgroups.kill(self.lab, node)
            self._container(node).unmount()
            cgroups.remove(self.lab, node)
        network.remove_all(self.plan, self.lab)
        shutil.rmtree(self.directory / "nodes", ignore_errors=True)

    def status(self) -> list[MachineStatus]:
        machines = []
        for node in self.plan.nodes:
            running = self.is_running(node.name)
            cut = running and network.is_cut(self.plan, self.lab, node.name)
            detail = self._boot_state(node.name) if running else "powered off"
            machines.append(MachineStatus(node.name, running, str(node.address), cut, detail))
        router_ok = network.namespace_exists(network.machine_namespace(self.lab, self.plan.router.name))
        machines.append(
            MachineStatus(self.plan.router.name, router_ok, str(self.plan.router.address), False, "gateway namespace")
        )
        return machines

    # -- one node -------------------------------------------------------------------------
    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        return self._container(node).run(argv, timeout=timeout, stdin=stdin)

    def is_running(self, node: str) -> bool:
        return self._container(node).init_pid() is not None

    def power_off(self, node: str) -> None:
        """A power cut: every process of the node killed at once, no shutdown, cable pulled."""
        self._container(node).power_off()
        # Orphaned sockets would keep the old cable alive for ~100 s: remove it now.
        network.unplug(self.plan, self.lab, node)

    def power_on(self, node: str) -> None:
        if self.is_running(node):
            return
        self._create_node(node, ensure_image().rootfs)

    def cut_link(self, node: str) -> None:
        network.cut(self.plan, self.lab, node)

    def heal_link(self, node: str) -> None:
        network.reconnect(self.plan, self.lab, node)

    def client_netns(self) -> str:
        return network.lab_namespace(self.lab)

    # -- internals ------------------------------------------------------------------------
    def _container(self, node: str) -> Container:
        self.plan.node(node)
        return Container(self.lab, node, self.directory / "nodes" / node, network.machine_namespace(self.lab, node))

    def _create_node(self, node: str, base: Path) -> None:
        plan = self.plan.node(node)
        container = self._container(node)
        network.create_machine_namespace(self.lab, node)
        network.plug(
            self.plan, self.lab, node, interface=plan.interface, mac=plan.mac,
            address=str(plan.address), gateway=str(self.plan.router.address.ip),
        )
        container.mount(base)
        self._first_boot_setup(container)
        container.boot()
        self._wait_booted(container)

    def _first_boot_setup(self, container: Container) -> None:
        """Make the layer look like a freshly installed Debian machine of this lab: its name,
        Debian's default /etc/hosts (127.0.1.1 = hostname, a classic lab mistake to fix), and
        the units the variant's `apt install` leaves enabled."""
        marker = container.directory / "upper" / ".halab-setup"
        if marker.exists():
            return
        etc = container.root / "etc"
        (etc / "hostname").write_text(container.node + "\n")
        (etc / "hosts").write_text(debian_hosts(container.node))
        if self.plan.enable_at_install:
            host(["systemctl", f"--root={container.root}", "enable", *self.plan.enable_at_install])
        marker.write_text("")

    def _wait_booted(self, container: Container) -> None:
        try:
            wait_until(container.init_pid, lambda pid: pid is not None, what=f"{container.node}'s systemd to start",
                       timeout_s=15, interval_s=0.05)
            wait_until(
                lambda: container.run(["systemctl", "is-system-running"], timeout=10).stdout.strip(),
                lambda state: state in ("running", "degraded"),
                what=f"{container.node} to finish booting", timeout_s=BOOT_TIMEOUT_S, interval_s=0.1,
            )
        except HalabError as error:
            console = container.console_log.read_text(errors="replace")[-1500:] if container.console_log.exists() else ""
            raise HalabError(
                f"node {container.node} did not finish booting ({error})",
                evidence=console,
                fix=f"read {container.console_log}; `halab down` removes the half-built lab",
            ) from None

    def _boot_state(self, node: str) -> str:
        result = self._container(node).run(["systemctl", "is-system-running"], timeout=10)
        return result.stdout.strip() or "unknown"


def require_privileges() -> None:
    """Refuse early, with the fix, rather than half-build a lab."""
    if os.geteuid() != 0:
        raise HalabError("the local backend needs root (namespaces, mounts, cgroups)", fix="run halab as root")
    if shutil.which("systemd-nspawn") is None:
        raise HalabError("systemd-nspawn is not installed", fix="apt-get install systemd-container (or ./install.sh)")
    cgroups.require_cgroups()
