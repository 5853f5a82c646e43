"""Nodes as Debian's installer leaves them when a sheet's VMs were installed that way: the
Heartbeat lab (whose seed's VMs got their addresses from Windows' connection sharing) with DHCP
on its subnet (plan `dhcp = true`), a first user in group sudo, a root password, and a client
machine of its own (plan `[[hosts]]`). Each node
leases its plan address from the router, the document runs as written, the accounts are there
and their passwords nowhere in what halab writes, root on one node reaches the other by SSH once
a key is copied, and the DHCP server goes with the lab.

Its lab is called <HALAB_E2E_PREFIX>vm (default e2evm)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from halab.backends.local import dhcp
from halab.masking import secrets_of_lab
from halab.paths import state_root
from halab.plan import load_plan
from halab.run import lab_up
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}vm"
INSTALLER = 'dhcp = true\nroot_password = "Racine-2024"\n'
USER = '\n[user]\nname = "etudiant"\npassword = "Etud1ant-pw"\n'
# A machine of the lab that is no cluster node: the seed's browser, as a VM of its own.
CLIENT = '\n[[hosts]]\nname = "poste"\naddress = "192.168.137.50"\ninterface = "enp0s3"\nmac = "52:54:00:37:00:50"\n'


def test_nodes_lease_their_addresses_have_the_installer_s_accounts_and_the_lab_runs(tmp_path: Path) -> None:
    folder = tmp_path / "heartbeat"
    shutil.copytree(load_plan("heartbeat").folder, folder)
    (folder / "plan.toml").write_text(INSTALLER + (folder / "plan.toml").read_text() + USER + CLIENT)
    plan = load_plan(folder)
    assert plan.dhcp and plan.user and plan.root_password
    with lab_up(plan, LAB) as up:
        lab = up.backend
        for node in (*plan.nodes, *plan.hosts):
            assert "iface enp0s3 inet dhcp" in lab.run(node.name, ["cat", "/etc/network/interfaces"]).check().stdout
            shown = lab.run(node.name, ["ip", "-o", "-4", "addr", "show", "enp0s3"]).check().stdout
            assert f"{node.address} brd 192.168.137.255" in shown and "dynamic" in shown, shown
            route = lab.run(node.name, ["ip", "route", "show", "default"]).check().stdout
            assert f"default via {plan.router.address.ip}" in route, route
        # The first user: a home of its own, bash, and sudo with its password, as after the installer.
        account = lab.run("srv", ["sh", "-c", "id etudiant; stat -c %U /home/etudiant; getent passwd etudiant"]).check().stdout
        assert "(sudo)" in account and "\netudiant\n" in account and account.rstrip().endswith("/bin/bash"), account
        sudo = lab.run("srv", ["su", "-", "etudiant", "-c", "echo Etud1ant-pw | sudo -S -k id -u"]).check().stdout
        assert sudo.strip().endswith("0"), sudo
        shadow = lab.run("srv", ["getent", "shadow", "root"]).check().stdout
        assert shadow.split(":")[1].startswith("$"), "root has a password"
        assert {b"Racine-2024", b"Etud1ant-pw"} <= secrets_of_lab(folder).values  # masked in all halab writes
        # Root SSH between nodes as a sheet sets it up with keys (`scp authkeys srv-slave:/etc/ha.d/`).
        key = lab.run("srv", ["sh", "-c", "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 && "
                                          "cat /root/.ssh/id_ed25519.pub"]).check().stdout
        lab.run("srv-slave", ["sh", "-c", "mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys"],
                stdin=key).check()
        copied = lab.run("srv", ["sh", "-c", "scp -q -o StrictHostKeyChecking=accept-new /etc/ha.d/authkeys "
                                             "srv-slave:/root/authkeys.copy && ssh srv-slave cat /root/authkeys.copy"])
        assert copied.succeeded and "auth" in copied.stdout, copied
        assert stack_for("heartbeat").view(lab).healthy
        # The host: booted beside the nodes, no cluster stack, a client of the VIP over the lab network.
        page = lab.run("poste", ["curl", "-s", "--max-time", "5", plan.vip_url]).check().stdout
        assert plan.node("srv").page_marker in page, page
        assert lab.run("poste", ["systemctl", "is-enabled", "heartbeat"]).stdout.strip() == "disabled"
        status = {m.name: m for m in lab.status()}
        assert status["poste"].running and "host, no cluster role" in status["poste"].detail, status["poste"]
        router = next(m for m in lab.status() if m.name == plan.router.name)
        assert "DHCP server" in router.detail and "NOT RUNNING" not in router.detail, router
        server = dhcp.running_pid(state_root() / "labs" / LAB)
        assert server is not None
        assert os.readlink(f"/proc/{server}/ns/net") != os.readlink("/proc/self/ns/net"), "never the host's namespace"
    assert dhcp.running_pid(state_root() / "labs" / LAB) is None, "the DHCP server went with the lab"
    assert not [line for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
                if line.startswith(f"halab-{LAB}")]
