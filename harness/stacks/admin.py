"""The commands a fix gives, in the lab's own administration tool: one place per tool, so that a
crmsh or Heartbeat student is never told to type a pcs command.

>>> admin_for("crmsh").set_property("stonith-enabled", "false")
'crm configure property stonith-enabled=false'
>>> admin_for("pcs").clear("WebCluster")
'pcs resource clear WebCluster'
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Admin(ABC):
    """What every lab's fixes need, whatever its stack."""

    tool: str
    units: tuple[str, ...]  # the cluster stack's units, enabled at boot on every node
    status: str  # the command that shows where the cluster placed the resources

    def enable_at_boot(self) -> str:
        return f"systemctl enable {' '.join(self.units)} on every node"

    def copy_to_peer(self, path: str) -> str:
        return f"scp -p {path} OTHER-NODE:{path} (the file must be the same on every node)"


class PacemakerAdmin(Admin):
    units = ("corosync", "pacemaker")
    setup: str  # how the lab writes corosync.conf

    @abstractmethod
    def set_property(self, name: str, value: str) -> str: ...
    @abstractmethod
    def group(self, group: str, *resources: str) -> str: ...
    @abstractmethod
    def update(self, resource: str, **params: str) -> str: ...
    @abstractmethod
    def add_monitor(self, resource: str, interval: str) -> str: ...
    @abstractmethod
    def clear(self, resource: str) -> str: ...
    @abstractmethod
    def cleanup(self, resource: str = "") -> str: ...
    @abstractmethod
    def standby(self, node: str) -> str: ...
    @abstractmethod
    def unstandby(self, node: str) -> str: ...
    @abstractmethod
    def move(self, resource: str, node: str) -> str:
        """A move that leaves its constraint behind until `clear` (what students forget)."""
    @abstractmethod
    def create_fence_device(self, device: str, agent: str, **params: str) -> str: ...
    @abstractmethod
    def update_fence_device(self, device: str, **params: str) -> str: ...
    @abstractmethod
    def add_link(self, **addresses: str) -> str:
        """A further corosync (knet) link, given each node's address on it."""
    @abstractmethod
    def add_qdevice(self, host: str) -> str:
        """A quorum device (model net, ffsplit) whose corosync-qnetd runs on `host`."""


class Pcs(PacemakerAdmin):
    tool = "pcs"
    status = "pcs status"
    setup = "pcs cluster setup"

    def enable_at_boot(self) -> str:
        return "pcs cluster enable --all"

    def copy_to_peer(self, path: str) -> str:
        return "pcs cluster sync" if path.endswith("corosync.conf") else super().copy_to_peer(path)

    def set_property(self, name: str, value: str) -> str:
        return f"pcs property set {name}={value}"

    def group(self, group: str, *resources: str) -> str:
        return f"pcs resource group add {group} {' '.join(resources)}"

    def update(self, resource: str, **params: str) -> str:
        return f"pcs resource update {resource} " + " ".join(f"{k}={v}" for k, v in params.items())

    def add_monitor(self, resource: str, interval: str) -> str:
        return f"pcs resource op add {resource} monitor interval={interval}"

    def clear(self, resource: str) -> str:
        return f"pcs resource clear {resource}"

    def cleanup(self, resource: str = "") -> str:
        return f"pcs resource cleanup {resource}".rstrip()

    def standby(self, node: str) -> str:
        return f"pcs node standby {node}"

    def unstandby(self, node: str) -> str:
        return f"pcs node unstandby {node}"

    def move(self, resource: str, node: str) -> str:
        # pcs 0.11's `resource move` removes its constraint once moved; this is pcs 0.10's move
        return f"pcs resource move-with-constraint {resource} {node}"

    def create_fence_device(self, device: str, agent: str, **params: str) -> str:
        return f"pcs stonith create {device} {agent} " + " ".join(f"{k}={v}" for k, v in params.items())

    def update_fence_device(self, device: str, **params: str) -> str:
        return f"pcs stonith update {device} " + " ".join(f"{k}={v}" for k, v in params.items())

    def add_link(self, **addresses: str) -> str:
        return "pcs cluster link add " + " ".join(f"{node}={address}" for node, address in addresses.items())

    def add_qdevice(self, host: str) -> str:
        return (f"on {host}: pcs qdevice setup model net --enable --start (pcsd running); on a node: pcs host auth "
                f"{host}, then pcs quorum device add model net host={host} algorithm=ffsplit")


class Crmsh(PacemakerAdmin):
    tool = "crmsh"
    status = "crm status"
    setup = "write /etc/corosync/corosync.conf on every node, as the lab sheet shows"

    def set_property(self, name: str, value: str) -> str:
        return f"crm configure property {name}={value}"

    def group(self, group: str, *resources: str) -> str:
        return f"crm configure group {group} {' '.join(resources)}"

    def update(self, resource: str, **params: str) -> str:
        return "; ".join(f"crm resource param {resource} set {k} {v}" for k, v in params.items())

    def add_monitor(self, resource: str, interval: str) -> str:
        return f"crm configure edit {resource} (add: op monitor interval={interval})"

    def clear(self, resource: str) -> str:
        return f"crm resource clear {resource}"

    def cleanup(self, resource: str = "") -> str:
        return f"crm resource cleanup {resource}".rstrip()

    def standby(self, node: str) -> str:
        return f"crm node standby {node}"

    def unstandby(self, node: str) -> str:
        return f"crm node online {node}"

    def move(self, resource: str, node: str) -> str:
        return f"crm resource move {resource} {node}"

    def create_fence_device(self, device: str, agent: str, **params: str) -> str:
        return f"crm configure primitive {device} stonith:{agent} params " + " ".join(f"{k}={v}" for k, v in params.items())

    def update_fence_device(self, device: str, **params: str) -> str:
        return self.update(device, **params)

    def add_link(self, **addresses: str) -> str:
        rings = "; ".join(f"{node}: ringN_addr: {address}" for node, address in addresses.items())
        return (f"add the link's address to each node of the nodelist in /etc/corosync/corosync.conf ({rings}), "
                "copy the file to every node, then crm cluster restart")

    def add_qdevice(self, host: str) -> str:
        return (f"apt install corosync-qnetd on {host}, then on a node: crm cluster init qdevice "
                f"--qnetd-hostname={host} (crmsh sets up the certificates and starts corosync-qdevice)")


class HeartbeatAdmin(Admin):
    tool = "heartbeat"
    units = ("heartbeat",)
    status = "cl_status rscstatus, and ip addr on each node"


ADMINS: dict[str, Admin] = {admin.tool: admin for admin in (Pcs(), Crmsh(), HeartbeatAdmin())}


def admin_for(tool: str) -> Admin:
    return ADMINS[tool]
