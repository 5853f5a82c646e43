"""Launch a node's systemd-nspawn inside the node's cgroups and stay to reap it.

PID 1 on some hosts (CI sandboxes, containers) never reaps orphans: a killed nspawn would stay
a zombie named systemd-nspawn forever. This small parent, outside the node's cgroup so that a
power cut spares it, waits for nspawn and exits with its status.

    python -m halab.backends.local.launch LAB NODE systemd-nspawn ARGS...
"""

from __future__ import annotations

import os
import sys

from halab.backends.local import cgroups


def main(argv: list[str]) -> int:
    lab, node, command = argv[0], argv[1], argv[2:]
    child = os.fork()
    if child == 0:
        cgroups.enter(lab, node)
        os.execvp(command[0], command)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
