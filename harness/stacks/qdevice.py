"""Read `corosync-qdevice-tool -s` (what `pcs quorum device status` prints too): the quorum
device a node's corosync-qdevice uses, its qnetd host, its algorithm, and whether it is
connected. A node whose qdevice is not running says so on standard error, which is an error here.

>>> status = parse_qdevice_status(text)
>>> status.host, status.algorithm, status.connected
('router:5403', 'Fifty-Fifty split', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.errors import HalabError

COMMAND = "corosync-qdevice-tool -s"
PCS_COMMAND = "pcs quorum device status"


@dataclass(frozen=True)
class QdeviceStatus:
    model: str  # Net
    host: str  # the qnetd server as configured, host:port
    algorithm: str  # Fifty-Fifty split, LMS
    state: str  # Connected, Connect failed, Waiting for initial connection...

    @property
    def connected(self) -> bool:
        return self.state.lower() == "connected"

    def describe(self) -> str:
        return f"{self.model or 'quorum device'} to {self.host or 'no host'}: {self.state or 'no state'}"


def parse_qdevice_status(text: str) -> QdeviceStatus:
    fields = {key.strip(): value.strip() for key, value in re.findall(r"^([A-Za-z -]+?):[ \t]+(\S.*)$", text, re.MULTILINE)}
    if "Model" not in fields and "State" not in fields:
        raise HalabError("no quorum device status (is corosync-qdevice running on this node?)",
                         evidence=text.strip()[:400] or "(no output)")
    return QdeviceStatus(
        model=fields.get("Model", ""),
        host=fields.get("QNetd host", ""),
        algorithm=fields.get("Algorithm", ""),
        state=fields.get("State", ""),
    )
