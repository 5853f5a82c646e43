"""Which labs are up on this machine, with their plan and backend, so that `halab status`,
`fault`, `heal` and `down` find them again from any later process."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from halab.backends import Backend, open_backend
from halab.current import current_lab
from halab.errors import HalabError
from halab.faults.journal import FaultJournal
from halab.paths import state_root
from halab.plan import LabPlan, load_plan

_LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")


@dataclass(frozen=True)
class LabRecord:
    name: str
    plan: str  # path of the plan.toml
    backend: str
    options: dict[str, str] = field(default_factory=dict)  # the backend's own settings

    def open(self) -> Backend:
        return open_backend(self.backend, load_plan(self.plan), self.name, self.options)


def check_lab_name(name: str) -> str:
    """Lab names end up in namespace and interface names, which are short."""
    if not _LAB_NAME.match(name):
        raise HalabError(
            f"lab name {name!r} must be 1-12 lower-case letters and digits, starting with a letter",
            fix="choose e.g. --name pcs2",
        )
    return name


def _record_file(name: str) -> Path:
    return state_root() / "labs" / name / "lab.json"


def save_record(record: LabRecord) -> None:
    """Written whole or not at all: other processes and threads list the labs while one is made."""
    path = _record_file(record.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(asdict(record), indent=2) + "\n")
    partial.replace(path)


def forget(name: str) -> None:
    _record_file(name).unlink(missing_ok=True)


def running_labs() -> list[LabRecord]:
    found = []
    for path in sorted((state_root() / "labs").glob("*/lab.json")):
        try:
            found.append(LabRecord(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            raise HalabError(f"{path} is damaged", fix=f"remove it, then clean up by hand: ip netns list") from None
    return found


def find_lab(name: str | None) -> LabRecord:
    """The lab called `name`; without a name, the lab this user made current in this folder
    (`halab up` does), never just "the only lab up": it may be somebody else's."""
    labs = running_labs()
    wanted = name if name is not None else current_lab()
    for record in labs:
        if record.name == wanted:
            return record
    if name is not None:
        raise HalabError(f"no lab called {name!r} is up", fix=_choices(labs))
    raise HalabError("which lab? no lab is current in this folder, and halab never guesses: it could be somebody else's",
                     fix="say --name NAME, or halab up one here (it becomes current); " + _choices(labs))


def create(plan: LabPlan, name: str, backend: str, options: dict[str, str] | None = None) -> LabRecord:
    check_lab_name(name)
    if any(record.name == name for record in running_labs()):
        raise HalabError(f"a lab called {name!r} is already up", fix=f"halab down --name {name}, or choose another --name")
    record = LabRecord(name, str(plan.folder / "plan.toml"), backend, dict(options or {}))
    save_record(record)
    return record


def _choices(labs: list[LabRecord]) -> str:
    return "labs up: " + (", ".join(r.name for r in labs) or "none") + " (halab status lists them)"


def journal_for(name: str) -> FaultJournal:
    return FaultJournal(state_root() / "labs" / name / "faults.json")
