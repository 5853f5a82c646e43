"""The Vagrant backend: the same labs on real virtual machines (their own kernel, real reboots, a
real power cut), driven by python-vagrant through the top-level Vagrantfile.

    halab up --backend vagrant --lab pcs                                  # libvirt, the offline box
    halab up --backend vagrant --lab pcs --option provider=virtualbox --option box=debian/bookworm64

On libvirt, halab runs the lab's own libvirtd inside the lab's network namespace (see
libvirt.py), so vagrant, SSH and the prober reach the VMs from there and the root namespace
never sees a lab subnet. Power and cable faults go to the hypervisor (hypervisor.py).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import vagrant

from halab.backends.base import MachineStatus, debian_hosts, known_names
from halab.backends.cables import cut_marker, mark_cut, power_lock, still_cut
from halab.backends.ssh.connection import NodeConnection
from halab.backends.local.host import host
from halab.backends.netns import lab_namespace, namespace_exists, stop_processes
from halab.backends.vagrant import machines as vm_settings
from halab.backends.vagrant.machines import further_interface_name
from halab.backends.vagrant.box import ensure_box, vagrant_env
from halab.backends.vagrant.hypervisor import Hypervisor, Libvirt, VirtualBox
from halab.backends.vagrant.libvirt import LabLibvirt, pool_directory
from halab.backends.vagrant.ssh import login_from_ssh_config
from halab.command import DEFAULT_TIMEOUT_S, CommandResult
from halab.errors import HalabError
from halab.paths import VAGRANT_DIR, state_root
from halab.plan import LabPlan
from halab.progress import say
from halab.wait import wait_until

PROVIDERS = ("libvirt", "virtualbox")
UP_TIMEOUT_S = 900.0  # three VMs booting under software emulation on two cores: ~2-3 min
VAGRANT_TIMEOUT_S = 180.0  # any other vagrant command
BOOT_TIMEOUT_S = 300.0  # a VM powered on again, until SSH and systemd answer
EMULATED_TIME_SCALE = 4.0  # TCG on two shared cores: pcs steps took 3-10 times as long as in containers
# Resource agents are shell scripts, fork after fork, which emulation slows down more than one
# command: a clean failover (stop-stack) left clients 30 s without service on VMs, 2.4 s in containers.
RESOURCE_AGENT_SLOWDOWN = 2.5
# A lab NIC is configured by MAC, named as the plan says (unless that name is taken: "" keeps the
# kernel's), and keeps its address when its cable is pulled (a switch port cut, as on the local
# backend: the cluster sees silence only).
HANDOVER = """\
set -e
mac=$1 name=$2
current=$(ip -o link show | awk -v mac="$mac" 'index($0, "link/ether " mac) {sub(":", "", $2); print $2}')
[ -n "$current" ] || { echo "no interface with MAC $mac" >&2; exit 1; }
if [ -n "$name" ] && [ "$current" != "$name" ] && ! ip link show "$name" >/dev/null 2>&1; then
  ip link set dev "$current" down
  ip link set dev "$current" name "$name"
fi
networkctl reload
networkctl reconfigure "$(ip -o link show | awk -v mac="$mac" 'index($0, "link/ether " mac) {sub(":", "", $2); print $2}')"
"""


def link_file(mac: str, interface: str) -> str:
    return f"[Match]\nMACAddress={mac}\n\n[Link]\nName={interface}\n"


def network_file(mac: str, address: str, *, gateway: str | None = None, forward: bool = False) -> str:
    """A lab address, static, with the gateway on the lab subnet; a router forwards.
    IgnoreCarrierLoss: a pulled cable (cut-link) must not make the node forget its address."""
    lines = ["[Match]", f"MACAddress={mac}", "", "[Network]", f"Address={address}",
             "LinkLocalAddressing=no", "ConfigureWithoutCarrier=yes", "IgnoreCarrierLoss=yes"]
    lines += [f"Gateway={gateway}"] if gateway else []
    lines += ["IPForward=ipv4"] if forward else []
    return "\n".join(lines) + "\n"


def vagrant_command(namespace: str | None, timeout_s: float, command: list[str]) -> list[str]:
    """A vagrant command line, inside the lab's namespace when it has one, bounded in time."""
    inside = ["ip", "netns", "exec", namespace] if namespace else []
    return [*inside, "timeout", "--kill-after=15", f"{timeout_s:.0f}", *command]


class _LabVagrant(vagrant.Vagrant):  # type: ignore[misc]
    """python-vagrant, each command wrapped by `vagrant_command` (it has no hook of its own)."""

    def __init__(self, namespace: str | None, timeout_s: float, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.namespace, self.timeout_s = namespace, timeout_s

    def _make_vagrant_command(self, args: list[str | None]) -> list[str]:
        return vagrant_command(self.namespace, self.timeout_s, super()._make_vagrant_command(args))


class VagrantBackend:
    can_power_cycle = True

    def __init__(
        self, plan: LabPlan, lab: str, provider: str = "libvirt", box: str = "", time_scale: str = ""
    ) -> None:
        if provider not in PROVIDERS:
            raise HalabError(f"no Vagrant provider called {provider!r}", fix=f"--option provider=one of {PROVIDERS}")
        plan.require_two_nodes("the Vagrant backend")
        plan.require_no_hosts("the Vagrant backend")
        # Commands on an emulated VM take several times as long as in a container: every
        # caller's timeout (a lab document's step, a fault's command) is stretched by this, and
        # the lab's allowance for starting the VIP and Apache in a fault's downtime budget more.
        emulated = provider == "libvirt"  # the Vagrantfile forces plain QEMU there
        self.time_scale = float(time_scale or (EMULATED_TIME_SCALE if emulated else 1.0))
        agent_scale = self.time_scale * (RESOURCE_AGENT_SLOWDOWN if emulated else 1.0)
        self.plan = dataclasses.replace(plan, start_allowance_s=plan.start_allowance_s * agent_scale)
        self.lab, self.provider, self.box = lab, provider, box
        self.directory = state_root() / "labs" / lab
        self.libvirt = LabLibvirt(plan, lab, self.directory) if provider == "libvirt" else None
        self.hypervisor: Hypervisor = Libvirt(self.libvirt.uri) if self.libvirt else VirtualBox()
        self.machines = {m.name: m for m in vm_settings.machines(plan)}
        self._ssh: dict[str, NodeConnection] = {}

    @property
    def settings_file(self) -> Path:
        return self.directory / "vagrant.json"

    @property
    def consoles(self) -> Path:
        """Each VM's serial console, as a file (kernel and boot messages: the evidence when a VM hangs)."""
        return self.directory / "consoles"

    # -- the lab as a whole ---------------------------------------------------------------
    def preflight(self) -> None:
        if self.plan.bmc and not self.libvirt:
            raise HalabError(f"lab {self.plan.name}'s virtual BMCs need the libvirt provider (they power VMs off "
                             "and on through the lab's own libvirtd)", fix="--option provider=libvirt, or --backend local")
        unsupported = [key for key, used in (("dhcp", self.plan.dhcp), ("[user]", self.plan.user),
                                             ("root_password", self.plan.root_password)) if used]
        if unsupported:
            raise HalabError(f"the Vagrant backend does not honour {', '.join(unsupported)} of lab {self.plan.name}'s "
                             "plan yet (its boxes have their own network and accounts)",
                             fix="run this lab on the local backend (--backend local)")
        needed = ["vagrant"] + (["virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "dnsmasq"]
                                if self.libvirt else ["VBoxManage"])
        missing = [tool for tool in needed if shutil.which(tool) is None]
        if missing:
            raise HalabError(f"the Vagrant backend ({self.provider}) needs {', '.join(missing)}",
                             fix="./install.sh installs vagrant, vagrant-libvirt, libvirt and QEMU from Debian")
        if self.libvirt and host(["id", "libvirt-qemu"], check=False).returncode:
            raise HalabError("libvirt's QEMU user libvirt-qemu does not exist (libvirt-daemon-system is not installed)",
                             fix="./install.sh creates it (useradd --system libvirt-qemu)")

    def up(self) -> None:
        box = self.box or (ensure_box().name if self.libvirt else vm_settings.DEFAULT_BOX)
        self.directory.mkdir(parents=True, exist_ok=True)
        uri = self.libvirt.uri if self.libvirt else None
        self.consoles.mkdir(exist_ok=True)
        self.settings_file.write_text(json.dumps(
            vm_settings.settings(self.plan, self.lab, box=box, libvirt_uri=uri, console_dir=str(self.consoles))
        ))
        if self.libvirt:
            say(f"lab {self.lab}: starting its libvirtd in the namespace {self.libvirt.namespace}")
            self.libvirt.start()
        say(f"lab {self.lab}: vagrant up {' '.join(self.machines)} ({self.provider}, box {box})")
        started, shown = time.monotonic(), 0.0
        for line in self._vagrant(UP_TIMEOUT_S).up(no_provision=True, provider=self.provider, stream_output=True):
            if time.monotonic() - shown >= 10 or "Machine booted" in line:
                say(f"  vagrant up: {time.monotonic() - started:.0f} s, {line.strip()[:100]}")
                shown = time.monotonic()
        self._save_ssh_config()
        with ThreadPoolExecutor(len(self.machines)) as pool:
            list(pool.map(self._hand_over, self.machines))

    def down(self) -> None:
        """Destroy the VMs and stop everything the lab started; safe on a half-built lab."""
        for machine in self._ssh.values():
            machine.close()
        if self.libvirt is None:
            self._vagrant(VAGRANT_TIMEOUT_S).destroy()
            return
        # A vagrant command an interrupted harness left running holds the machines' lock.
        stop_processes(self.libvirt.namespace, only="/usr/bin/vagrant")
        if namespace_exists(self.libvirt.namespace) and self.libvirt.virsh("version", check=False).returncode == 0:
            try:
                self._vagrant(VAGRANT_TIMEOUT_S).destroy()
            except subprocess.CalledProcessError as error:
                say(f"lab {self.lab}: vagrant destroy failed ({error}); stopping the VMs with libvirt")
        self.libvirt.stop()
        for disk in pool_directory().glob(f"{vm_settings.domain_prefix(self.lab)}*"):
            disk.unlink()

    def status(self) -> list[MachineStatus]:
        statuses = []
        for name, machine in self.machines.items():
            running = self.is_running(name)
            cut = running and not all(self._link_up(name, mac) for mac in machine.macs())
            detail = self.provider + (" VM" if running else " VM powered off")
            statuses.append(MachineStatus(name, running, f"{machine.address}/{self.plan.subnet.prefixlen}", cut, detail))
        return statuses

    # -- one machine ----------------------------------------------------------------------
    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        return self._connection(node).run(argv, timeout=timeout * self.time_scale, stdin=stdin)

    def is_running(self, node: str) -> bool:
        state = host(self.hypervisor.state(self._vm(node)), check=False)
        return state.returncode == 0 and self.hypervisor.is_running(state.stdout)

    def power_off(self, node: str) -> None:
        """A power cut at the hypervisor: no shutdown, the guest's kernel simply stops."""
        with power_lock(self.directory, node):
            host(self.hypervisor.power_off(self._vm(node)))
            self._connection(node).close()

    def power_on(self, node: str) -> None:
        """Power on and wait for the boot; a cut cable is cut again at once (the hypervisor
        forgets a link state across a power cycle, a switch port does not)."""
        with power_lock(self.directory, node):
            if not self.is_running(node):
                host(self.hypervisor.power_on(self._vm(node)))
                for on in still_cut(self.directory, node, (nic.network for nic in self.machines[node].further)):
                    self._set_links(node, on, up=False)
            self._connection(node).close()
        wait_until(
            lambda: self.run(node, ["systemctl", "is-system-running"], timeout=20).stdout.strip(),
            lambda state: state in ("running", "degraded"),
            what=f"{node} to boot again", timeout_s=BOOT_TIMEOUT_S, interval_s=3.0,
            fix=f"halab status; virsh -c '{self.libvirt.uri if self.libvirt else ''}' console {self._vm(node)}",
        )

    def cut_link(self, node: str, on: str | None = None) -> None:
        """Pull the node's cable on network `on` of the plan (None: every cable it has)."""
        mark_cut(self.directory, node, on)
        self._set_links(node, on, up=False)

    def heal_link(self, node: str, on: str | None = None) -> None:
        """Plug the cable back; a node that is off (being fenced) boots plugged in."""
        with power_lock(self.directory, node):
            cut_marker(self.directory, node, on).unlink(missing_ok=True)
            if self.is_running(node):
                self._set_links(node, on, up=True)

    def bmc_netns(self) -> str | None:
        """The nodes' virtual BMC addresses sit on the lab bridge, in the lab namespace
        (libvirt.py); their power commands are virsh destroy and start (power_off, power_on)."""
        return lab_namespace(self.lab) if self.libvirt and self.plan.bmc else None

    def client_netns(self) -> str | None:
        """On libvirt, the lab namespace holds the lab bridge and the client address; with
        VirtualBox, the host-only adapter is on the host itself."""
        return lab_namespace(self.lab) if self.libvirt else None

    # -- internals ------------------------------------------------------------------------
    def _vm(self, name: str) -> str:
        if name not in self.machines:
            raise HalabError(f"lab {self.lab} has no machine {name!r}", fix=f"use one of: {', '.join(self.machines)}")
        return vm_settings.domain_prefix(self.lab) + name

    def _link_up(self, name: str, mac: str) -> bool:
        shown = host(self.hypervisor.link_state(self._vm(name), mac), check=False)
        return shown.returncode == 0 and self.hypervisor.is_link_up(shown.stdout)

    def _set_links(self, node: str, on: str | None, *, up: bool) -> None:
        for mac in self.machines[node].macs(on):
            host(self.hypervisor.set_link(self._vm(node), mac, up=up))

    def _vagrant(self, timeout_s: float) -> _LabVagrant:
        env = {
            **vagrant_env(),
            "HALAB_VAGRANT_SETTINGS": str(self.settings_file),
            "VAGRANT_DOTFILE_PATH": str(self.directory / "vagrant"),
            "VAGRANT_DEFAULT_PROVIDER": self.provider,
        }
        log = self.directory / "vagrant.log"
        return _LabVagrant(self.client_netns(), timeout_s, root=str(VAGRANT_DIR), env=env,
                           err_cm=vagrant.make_file_cm(str(log)), out_cm=vagrant.make_file_cm(str(log)))

    def _save_ssh_config(self) -> None:
        """`vagrant ssh-config` once for every machine, kept for later processes (halab fault)."""
        (self.directory / "ssh-config").write_text(self._vagrant(VAGRANT_TIMEOUT_S).ssh_config())

    def _connection(self, name: str) -> NodeConnection:
        self._vm(name)
        if name not in self._ssh:
            config = self.directory / "ssh-config"
            if not config.exists():
                raise HalabError(f"lab {self.lab} has no SSH details for {name} (was it brought up?)",
                                 fix=f"halab down --name {self.lab}, then halab up --backend vagrant")
            login = login_from_ssh_config(config.read_text(), name, self.client_netns())
            self._ssh[name] = NodeConnection(login, self.directory / "known_hosts")
        return self._ssh[name]

    def _hand_over(self, name: str) -> None:
        """Make the VM what the lab document expects: its name, the plan's address under the
        plan's interface name, Debian's /etc/hosts, and the units the variant's install leaves
        enabled."""
        machine = self.machines[name]
        is_router = name == self.plan.router.name
        interface = "eth1" if is_router else self.plan.node(name).interface
        gateway = None if is_router else str(self.plan.router.address.ip)
        prefixed = f"{machine.address}/{self.plan.subnet.prefixlen}"
        files = {
            "/etc/systemd/network/10-halab-lab.link": link_file(machine.mac, interface),
            "/etc/systemd/network/10-halab-lab.network": network_file(machine.mac, prefixed, gateway=gateway,
                                                                      forward=is_router),
            "/etc/hosts": debian_hosts(name, known_names(self.plan, name), domain=self.plan.domain),
        }
        renamed = [(nic, further_interface_name(nic)) for nic in machine.further]
        for index, (nic, interface_name) in enumerate(renamed, start=1):
            if interface_name:
                files[f"/etc/systemd/network/11-halab-net{index}.link"] = link_file(nic.mac, interface_name)
            files[f"/etc/systemd/network/11-halab-net{index}.network"] = network_file(nic.mac, nic.cidr)
        run = self._connection(name).run
        for path, content in files.items():
            run(["/bin/sh", "-c", 'cat > "$1"', "write", path], timeout=60, stdin=content).check()
        run(["/bin/sh", "-c", HANDOVER, "handover", machine.mac, interface], timeout=60).check()
        for nic, interface_name in renamed:
            run(["/bin/sh", "-c", HANDOVER, "handover", nic.mac, interface_name], timeout=60).check()
        run(["hostnamectl", "set-hostname", name], timeout=60).check()
        if not is_router and self.plan.enable_at_install:
            # Running before the lab's steps, as after an install: under emulation pcsd takes
            # minutes to start, more than the lab's own pcs commands wait for it.
            run(["systemctl", "enable", "--now", *self.plan.enable_at_install], timeout=150).check()
        wait_until(
            lambda: run(["ip", "-o", "-4", "addr", "show"], timeout=20).stdout,
            lambda shown: f" {prefixed} " in shown,
            what=f"{name} to have its lab address {prefixed}", timeout_s=60, interval_s=1.0,
        )
