"""What only the hypervisor can do to a VM: cut its power, plug its cable. `vagrant halt
--force` is a clean ACPI shutdown on libvirt (Pacemaker hands over politely), so a crash test
goes to the hypervisor directly.

Each provider is a small set of command lines (tested without VMs) and how to read answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


def virsh_command(uri: str, *args: str) -> list[str]:
    return ["virsh", "--quiet", "-c", uri, *args]


class Hypervisor(Protocol):
    def power_off(self, vm: str) -> list[str]: ...
    def power_on(self, vm: str) -> list[str]: ...
    def set_link(self, vm: str, mac: str, up: bool) -> list[str]: ...
    def state(self, vm: str) -> list[str]: ...
    def is_running(self, state_output: str) -> bool: ...
    def link_state(self, vm: str, mac: str) -> list[str]: ...
    def is_link_up(self, link_output: str) -> bool: ...


@dataclass(frozen=True)
class Libvirt:
    """The lab's own libvirtd, reached through `uri`; the lab NIC is named by its MAC."""

    uri: str

    def power_off(self, vm: str) -> list[str]:
        return virsh_command(self.uri, "destroy", vm)

    def power_on(self, vm: str) -> list[str]:
        return virsh_command(self.uri, "start", vm)

    def set_link(self, vm: str, mac: str, up: bool) -> list[str]:
        return virsh_command(self.uri, "domif-setlink", vm, mac, "up" if up else "down")

    def state(self, vm: str) -> list[str]:
        return virsh_command(self.uri, "domstate", vm)

    def is_running(self, state_output: str) -> bool:
        return state_output.strip() == "running"

    def link_state(self, vm: str, mac: str) -> list[str]:
        return virsh_command(self.uri, "domif-getlink", vm, mac)

    def is_link_up(self, link_output: str) -> bool:
        return link_output.strip().endswith(" up")


@dataclass(frozen=True)
class VirtualBox:
    """VBoxManage on the host; NIC 1 is Vagrant's NAT, so the lab NIC is NIC 2."""

    lab_nic: int = 2

    def power_off(self, vm: str) -> list[str]:
        return ["VBoxManage", "controlvm", vm, "poweroff"]

    def power_on(self, vm: str) -> list[str]:
        return ["VBoxManage", "startvm", vm, "--type", "headless"]

    def set_link(self, vm: str, mac: str, up: bool) -> list[str]:
        return ["VBoxManage", "controlvm", vm, f"setlinkstate{self.lab_nic}", "on" if up else "off"]

    def state(self, vm: str) -> list[str]:
        return ["VBoxManage", "showvminfo", vm, "--machinereadable"]

    def is_running(self, state_output: str) -> bool:
        return 'VMState="running"' in state_output

    def link_state(self, vm: str, mac: str) -> list[str]:
        return self.state(vm)

    def is_link_up(self, link_output: str) -> bool:
        return f'cableconnected{self.lab_nic}="on"' in link_output
