"""The local backend: a lab comes up in seconds on one Linux machine, no VM needed."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from halab.backends.cables import cut_marker, mark_cut, power_lock, still_cut
from halab.backends.base import MachineStatus, debian_hosts, debian_interfaces, known_names
from halab.backends.local import aptcache, cgroups, dhcp, idmap, network
from halab.backends.local.container import Container
from halab.backends.local.host import host
from halab.backends.netns import NETNS_DIR
from halab.command import DEFAULT_TIMEOUT_S, CommandResult
from halab.errors import HalabError
from halab.image import ensure_image
from halab.image.build import Recipe
from halab.paths import state_root
from halab.plan import LabPlan
from halab.progress import say
from halab.wait import wait_until

BOOT_TIMEOUT_S = 60.0
ROUTER_INTERFACES = """# The router's eth1 and its routing are set by the lab (halab), outside this machine:
# its root has no capability over the network it sits in.
source /etc/network/interfaces.d/*
"""


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
        aptcache.ensure_cache(Recipe.load().mirror)
        say(f"lab {self.lab}: wiring the network and booting {', '.join(self.plan.node_names)}")
        network.create_switch(self.plan, self.lab)
        network.create_router(self.plan, self.lab)
        if self.plan.dhcp:
            dhcp.start(self.plan, self.lab, self.directory)
        if self.plan.bmc:
            network.create_bmc_namespace(self.plan, self.lab)
        with ThreadPoolExecutor(len(self.plan.machine_names)) as pool:
            for _ in pool.map(lambda node: self._create_node(node, base), self.plan.machine_names):
                pass

    def down(self) -> None:
        """Stop every node and remove everything the lab made; safe on a half-built lab."""
        for node in self.plan.machine_names:
            cgroups.kill(self.lab, node)
            self._container(node).unmount()
            cgroups.remove(self.lab, node)
            network.forget_machine_namespace(self.lab, node)
        dhcp.stop(self.directory)
        network.remove_all(self.plan, self.lab)
        shutil.rmtree(self.directory / "nodes", ignore_errors=True)

    def status(self) -> list[MachineStatus]:
        machines = []
        for node in self.plan.nodes:
            running = self.is_running(node.name)
            cut_off = network.cut_networks(self.plan, self.lab, node.name) if running else []
            cut = bool(cut_off)
            detail = self._boot_state(node.name) if running else "powered off"
            detail += f"; link cut on {', '.join(cut_off)}" if cut and self.plan.networks else ""
            detail += "".join(f"; hit {what}" for what in self.limits_hit(node.name))
            addresses = ", ".join([str(node.address), *(str(i.address) for i in node.interfaces)])
            machines.append(MachineStatus(node.name, running, addresses, cut, detail))
        for other in self.plan.hosts:
            running = self.is_running(other.name)
            detail = (self._boot_state(other.name) if running else "powered off") + "; host, no cluster role"
            machines.append(MachineStatus(other.name, running, str(other.address), False, detail))
        router = self.plan.router
        if router.node:
            running = self.is_running(router.name)
            detail = (self._boot_state(router.name) if running else "powered off") + "; gateway, no cluster role"
            detail += "".join(f"; hit {what}" for what in self.limits_hit(router.name))
            machines.append(MachineStatus(router.name, running, str(router.address), False, detail))
        else:
            router_ok = network.namespace_exists(network.machine_namespace(self.lab, router.name))
            detail = "gateway namespace" + ("; DHCP server" + ("" if dhcp.running_pid(self.directory) else " NOT RUNNING")
                                            if self.plan.dhcp else "")
            machines.append(MachineStatus(router.name, router_ok, str(router.address), False, detail))
        if self.plan.bmc:
            bmc_ok = network.namespace_exists(network.machine_namespace(self.lab, network.BMC))
            addresses = ", ".join(str(n.bmc) for n in self.plan.nodes if n.bmc)
            machines.append(MachineStatus(network.BMC, bmc_ok, addresses, False, "the nodes' virtual BMCs (IPMI over LAN)"))
        return machines

    # -- one node -------------------------------------------------------------------------
    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        return self._container(node).run(argv, timeout=timeout, stdin=stdin)

    def interactive(self, node: str, argv: Sequence[str]) -> int:
        """A terminal in the node (halab shell), its standard streams the caller's."""
        return self._container(node).interactive(argv)

    def is_running(self, node: str) -> bool:
        return self._container(node).init_pid() is not None

    def limits_hit(self, node: str) -> list[str]:
        """The node's limits (plan [limits]) it has run into, in words."""
        return cgroups.limits_hit(self.lab, node) + self._container(node).layer_full()

    def power_off(self, node: str) -> None:
        """A power cut: every process of the node killed at once, no shutdown, cable pulled."""
        with power_lock(self.directory, node):
            self._container(node).power_off()
            if self._is_router(node):  # its namespace and cable are the lab's gateway: they stay
                return
            # Orphaned sockets would keep the old cable alive for ~100 s: remove it now.
            network.unplug(self.plan, self.lab, node)
            network.forget_machine_namespace(self.lab, node)

    def power_on(self, node: str) -> None:
        with power_lock(self.directory, node):
            if not self.is_running(node):
                self._create_node(node, ensure_image().rootfs)

    def boot_again(self, node: str) -> None:
        """After the node's own reboot (its nspawn has ended): the old cable and namespace go,
        then the node boots as after a power-on; a cut cable stays cut."""
        self.power_off(node)
        self.power_on(node)

    def cut_link(self, node: str, on: str | None = None) -> None:
        """Cut the node's cable on network `on` (None: every cable it has)."""
        mark_cut(self.directory, node, on)  # a fenced node reboots into the same cut
        network.cut(self.plan, self.lab, node, on)

    def heal_link(self, node: str, on: str | None = None) -> None:
        """Plug the cable back; a node that is off (being fenced) has none: it boots plugged in."""
        with power_lock(self.directory, node):
            cut_marker(self.directory, node, on).unlink(missing_ok=True)
            if self.is_running(node):
                network.reconnect(self.plan, self.lab, node, on)

    def client_netns(self) -> str:
        return network.lab_namespace(self.lab)

    def bmc_netns(self) -> str | None:
        """Where the nodes' virtual BMCs listen (None: this lab has none)."""
        return network.machine_namespace(self.lab, network.BMC) if self.plan.bmc else None

    # -- internals ------------------------------------------------------------------------
    def _is_router(self, node: str) -> bool:
        return self.plan.router.node and node == self.plan.router.name

    def _container(self, node: str) -> Container:
        if not self._is_router(node):
            self.plan.machine(node)
        return Container(self.lab, node, self.directory / "nodes" / node)

    def _start(self, container: Container, base: Path, interfaces: Sequence[str],
               network_namespace: Path | None = None) -> int:
        """Mount, set up and boot a machine in its cgroups; its PID 1 once it is in its namespaces."""
        container.mount(base, self.plan.limits.writable_mib)
        self._first_boot_setup(container)
        cgroups.create(self.lab, container.node, self.plan.limits)
        container.boot(interfaces, network_namespace)
        try:
            return wait_until(container.confined_pid, lambda pid: pid is not None,
                              what=f"{container.node}'s container to start in its own namespaces", timeout_s=15,
                              interval_s=0.02)
        except HalabError as error:
            raise self._boot_failure(container, error) from None

    def _create_node(self, node: str, base: Path) -> None:
        """Mount, set up, boot, then cable: the node's network namespace is made by nspawn
        inside the node's user namespace (see container.py), and waits for its cable. The
        router, when it is a node, boots into its own namespace, already cabled and addressed."""
        container = self._container(node)
        if self._is_router(node):
            namespace = NETNS_DIR / network.machine_namespace(self.lab, node)
            self._start(container, base, ["eth1"], namespace)
            self._wait_booted(container)
            return
        plan = self.plan.machine(node)
        pid = self._start(container, base, [plan.interface, *(i.name for i in plan.interfaces)])
        network.attach_machine_namespace(self.lab, node, pid)
        for interface in plan.interfaces:
            network.plug(self.plan, self.lab, node, interface=interface.name, mac=interface.mac,
                         network=interface.network)
        network.plug(self.plan, self.lab, node, interface=plan.interface, mac=plan.mac)
        for on in still_cut(self.directory, node, (i.network for i in plan.interfaces)):
            network.cut(self.plan, self.lab, node, on)
        self._wait_booted(container)

    def _first_boot_setup(self, container: Container) -> None:
        """Make the layer look like a freshly installed Debian machine of this lab: its name,
        Debian's default /etc/hosts (127.0.1.1 = hostname, a classic lab mistake to fix), its
        interface in /etc/network/interfaces as the installer writes it, apt
        through the lab's package cache (aptcache.py), and the units the variant's `apt install` leaves enabled."""
        marker = container.upper / ".halab-setup"
        if marker.exists():
            return
        etc = container.root / "etc"
        router = self.plan.router
        (etc / "hostname").write_text(container.node + "\n")
        (etc / "apt/apt.conf.d/01proxy").write_text(aptcache.proxy_conf(str(router.address.ip)))
        self._installer_accounts(container.root)
        if self._is_router(container.node):
            # Its interface is the host's to set.
            (etc / "hosts").write_text(debian_hosts(container.node, known_names(self.plan, container.node),
                                                    self.plan.domain))
            (etc / "network/interfaces").write_text(ROUTER_INTERFACES)
            marker.write_text("")
            idmap.shift_new_files(container.upper, container.root, container.uid_shift)
            return
        (etc / "hosts").write_text(debian_hosts(container.node, known_names(self.plan, container.node), self.plan.domain))
        node = self.plan.machine(container.node)
        (etc / "network/interfaces").write_text(debian_interfaces(
            node.interface, str(node.address), str(router.address.ip),
            further=[(i.name, str(i.address)) for i in node.interfaces], dhcp=self.plan.dhcp))
        if self.plan.enable_at_install and container.node in self.plan.node_names:  # hosts have no cluster stack
            host(["systemctl", f"--root={container.root}", "enable", *self.plan.enable_at_install])
        marker.write_text("")
        # Written by host root: given to the node's root, as if the node had written them.
        idmap.shift_new_files(container.upper, container.root, container.uid_shift)

    def _installer_accounts(self, root: Path) -> None:
        """The accounts Debian's installer makes when asked: root's password, the first user
        (home from /etc/skel, bash, group sudo). Made with the node's own files (--root), before
        its first boot; passwords go on standard input only."""
        user, passwords = self.plan.user, []
        if user:
            host(["useradd", f"--root={root}", "--create-home", "--shell=/bin/bash", "--comment", user.name,
                  *(["--groups=sudo"] if user.sudo else []), user.name])
            passwords.append(f"{user.name}:{user.password}")
        if self.plan.root_password:
            passwords.append(f"root:{self.plan.root_password}")
        if passwords:
            host(["chpasswd", f"--root={root}"], stdin="\n".join(passwords) + "\n")

    def _wait_booted(self, container: Container) -> None:
        try:
            wait_until(
                lambda: container.run(["systemctl", "is-system-running"], timeout=10).stdout.strip(),
                lambda state: state in ("running", "degraded"),
                what=f"{container.node} to finish booting", timeout_s=BOOT_TIMEOUT_S, interval_s=0.1,
            )
        except HalabError as error:
            raise self._boot_failure(container, error) from None

    @staticmethod
    def _boot_failure(container: Container, error: HalabError) -> HalabError:
        console = container.console_log.read_text(errors="replace")[-1500:] if container.console_log.exists() else ""
        return HalabError(
            f"node {container.node} did not finish booting ({error})",
            evidence=console,
            fix=f"read {container.console_log}; `halab down` removes the half-built lab",
        )

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
