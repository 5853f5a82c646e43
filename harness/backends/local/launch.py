"""Launch a node's systemd-nspawn inside the node's cgroups and stay to reap it.

PID 1 on some hosts (CI sandboxes, containers) never reaps orphans: a killed nspawn would stay
a zombie named systemd-nspawn forever. This small parent, outside the node's cgroup so that a
power cut spares it, waits for nspawn and exits with its status.

When the node reboots itself (`reboot` in the node: nspawn run with --keep-unit then exits
with 133 rather than boot it again uncabled), this parent boots it again, as a VM's firmware
does, through the backend's own power-on (cabling included), and leaves.

    python -m halab.backends.local.launch LAB NODE [--netns=PATH] systemd-nspawn ARGS...

--netns: nspawn starts inside that network namespace and, given no network option, leaves
its container there (the router's, made by the host). nspawn's own --network-namespace-path
cannot: it joins the namespace from inside the node's user namespace, where a namespace of
the host's refuses it ("Failed to join network namespace: Operation not permitted").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from halab.backends.local import cgroups
from halab.backends.netns import join_namespace

REBOOTED = 133  # systemd-nspawn --keep-unit: the container's PID 1 asked for a reboot


def main(argv: list[str]) -> int:
    lab, node, command = argv[0], argv[1], argv[2:]
    netns = command.pop(0).removeprefix("--netns=") if command[0].startswith("--netns=") else None
    child = os.fork()
    if child == 0:
        cgroups.enter(lab, node)
        if netns:
            join_namespace(Path(netns))
        os.execvp(command[0], command)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == REBOOTED:
        boot_again(lab, node)
    return code


def boot_again(lab: str, node: str) -> None:
    """Boot a node that rebooted itself, unless its lab was taken down meanwhile."""
    from halab.backends.local.backend import LocalBackend
    from halab.errors import HalabError
    from halab.lab import find_lab
    from halab.plan import load_plan

    print(f"halab: {node} rebooted itself: booting it again", flush=True)
    try:
        record = find_lab(lab)
        LocalBackend(load_plan(record.plan_path()), lab).boot_again(node)
    except HalabError as error:  # this goes to the node's console.log
        print(f"halab: {node} could not boot again: {error}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
