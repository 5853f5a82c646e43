"""The virtual BMCs of a lab: one IPMI-over-LAN endpoint per node (pyghmi's BMC server, as
OpenStack's virtualbmc), whose chassis power commands are the backend's own power operations.

One process per BMC, as virtualbmc does (pyghmi's event loop watches the sockets that existed
when it started). It stays in the root network namespace; its UDP socket is made inside the
lab's BMC namespace (on the lab switch), so the root namespace never gets a lab address.
Started by `halab up`, stopped by `halab down`:

    python -m halab.bmc.server LAB NODE
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import uuid

from pyghmi.ipmi import bmc

from halab import lab as labs
from halab.backends import Backend
from halab.backends.netns import in_namespace
from halab.bmc import ready_file
from halab.faults.catalog import FENCED_OFF
from halab.faults.journal import FaultJournal

IPMI_PORT = 623


class NodeBmc(bmc.Bmc):
    """One node's BMC. Power off is immediate (the reply comes once the node is dead); power on
    boots in the background, as a real chassis answers before its OS is up."""

    def __init__(self, backend: Backend, node: str, journal: FaultJournal) -> None:
        plan = backend.plan
        assert plan.bmc is not None and plan.node(node).bmc is not None
        super().__init__({plan.bmc.username: plan.bmc.password}, port=IPMI_PORT, address=str(plan.node(node).bmc.ip))
        self.backend, self.node, self.journal = backend, node, journal
        self.guid = uuid.uuid5(uuid.NAMESPACE_DNS, f"{node}.{backend.lab}.halab")
        self._lock = threading.Lock()
        self._booting: threading.Thread | None = None

    def get_system_guid(self) -> uuid.UUID:
        return self.guid

    def get_power_state(self) -> str:
        booting = self._booting is not None and self._booting.is_alive()
        return "on" if booting or self.backend.is_running(self.node) else "off"

    def power_off(self) -> int:
        log(f"{self.node}: chassis power off")
        with self._lock:
            if not any(e.fault == FENCED_OFF.name and e.node == self.node for e in self.journal.entries()):
                self.journal.record(FENCED_OFF.name, self.node)
            self.backend.power_off(self.node)
        return 0

    power_shutdown = power_off  # no ACPI here: a soft off is a hard one

    def power_on(self) -> int:
        log(f"{self.node}: chassis power on")
        if self.get_power_state() == "off":
            self._booting = threading.Thread(target=self._boot, name=f"boot-{self.node}", daemon=True)
            self._booting.start()
        return 0

    def power_cycle(self) -> int:
        self.power_off()
        return self.power_on()

    power_reset = power_cycle

    def _boot(self) -> None:
        with self._lock:
            try:
                self.backend.power_on(self.node)
            except Exception:  # a daemon has nobody to raise to: its log says why
                log(f"{self.node}: power on failed\n{traceback.format_exc()}")
                return
            for entry in self.journal.entries():
                if entry.fault == FENCED_OFF.name and entry.node == self.node:
                    self.journal.clear(entry)
        log(f"{self.node}: powered on")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def main(argv: list[str]) -> int:
    lab, node = argv
    backend = labs.find_lab(lab).open()
    namespace = backend.bmc_netns()
    if namespace is None:
        log(f"lab {lab} has no virtual BMCs")
        return 1
    server = in_namespace(namespace, lambda: NodeBmc(backend, node, labs.journal_for(lab)), timeout_s=10)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(f"{node}: BMC listening on {backend.plan.node(node).bmc.ip}:{IPMI_PORT}")
    ready_file(lab, node).write_text(f"{os.getpid()}\n")
    server.listen(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
