"""How to reach a VM over SSH: what `vagrant ssh-config` says, as root through the vagrant
user's passwordless sudo. The connection itself is the SSH backend's (NodeConnection); its
socket is made inside the lab's network namespace when there is one (the management network
exists only there), so the harness itself stays in the root namespace."""

from __future__ import annotations

from pathlib import Path

import paramiko

from halab.backends.ssh.connection import Login
from halab.errors import HalabError

EMULATED_CONNECT_TIMEOUT_S = 20.0  # sshd's key exchange on a loaded, emulated VM


def login_from_ssh_config(text: str, machine: str, netns: str | None) -> Login:
    """The Host block `vagrant ssh-config` printed for `machine`."""
    config = paramiko.SSHConfig.from_text(text)
    if machine not in config.get_hostnames():
        raise HalabError(f"vagrant ssh-config says nothing about {machine}",
                         fix="halab status; `halab down` then `halab up` if the machine is missing")
    found = config.lookup(machine)
    return Login(machine, found["hostname"], int(found.get("port", 22)), found["user"],
                 Path(found["identityfile"][0]), None, True, netns, "the lab's vagrant ssh-config",
                 connect_timeout_s=EMULATED_CONNECT_TIMEOUT_S)
