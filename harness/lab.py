"""Which labs are up on this machine, with their plan and backend, so that `halab status`,
`fault`, `heal` and `down` find them again from any later process: from what was recorded at
`up` (a copy of the plan and its document), even if the lab's folder has since moved, and even
if the bring-up was killed half-way."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from halab.backends import Backend, open_backend
from halab.current import current_lab
from halab.errors import HalabError
from halab.faults.journal import FaultJournal
from halab.paths import state_root
from halab.plan import LabPlan, load_plan
from halab.progress import say

_LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")


@dataclass(frozen=True)
class LabRecord:
    name: str
    plan: str  # path of the plan.toml
    backend: str
    options: dict[str, str] = field(default_factory=dict)  # the backend's own settings
    snapshot: str = ""  # the copy of plan.toml taken at `up`
    maker: int = 0  # pid of the `halab up` still bringing it up; 0 once it is up

    def plan_path(self) -> str:
        """The plan as it is now; the copy from `up` if it was moved or deleted since."""
        if Path(self.plan).is_file() or not self.snapshot or not Path(self.snapshot).is_file():
            return self.plan
        say(f"lab {self.name}: {self.plan} is gone; using the copy halab kept at `up`")
        return self.snapshot

    def open(self) -> Backend:
        return open_backend(self.backend, load_plan(self.plan_path()), self.name, self.options)

    @property
    def half_made(self) -> bool:
        """Its bring-up was killed before it finished (the process that made it is gone)."""
        return self.maker != 0 and not Path(f"/proc/{self.maker}").exists()


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
    """Every lab recorded here. A record this halab cannot read (damaged, or written by another
    version) is named and skipped: it must not hide the other labs."""
    found = []
    known = {f.name for f in fields(LabRecord)}
    for path in sorted((state_root() / "labs").glob("*/lab.json")):
        try:
            data = json.loads(path.read_text())
            found.append(LabRecord(**{key: value for key, value in data.items() if key in known}))
        except (OSError, ValueError, TypeError, AttributeError):
            say(f"skipping {path}: it is damaged (remove it, then clean up by hand: ip netns list)")
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
    """Recorded before anything is made, so that a bring-up killed half-way can be found and
    removed (by `halab down`, or by the next `up` of the same name)."""
    check_lab_name(name)
    existing = next((record for record in running_labs() if record.name == name), None)
    if existing is not None and existing.half_made:
        say(f"lab {name}: removing what an interrupted bring-up left")
        from halab.run import tear_down  # run builds on this module

        tear_down(name)
    elif existing is not None:
        raise HalabError(f"a lab called {name!r} is already up", fix=f"halab down --name {name}, or choose another --name")
    record = LabRecord(name, str(plan.folder / "plan.toml"), backend, dict(options or {}),
                       snapshot=str(_keep_copy(plan, name)), maker=os.getpid())
    save_record(record)
    return record


def mark_up(record: LabRecord) -> LabRecord:
    made = replace(record, maker=0)
    save_record(made)
    return made


def _keep_copy(plan: LabPlan, name: str) -> Path:
    """plan.toml and its document, as they were at `up`: enough to show and remove the lab."""
    copy = state_root() / "labs" / name / "plan"
    copy.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plan.folder / "plan.toml", copy / "plan.toml")
    if plan.document.is_file() and plan.document.resolve().is_relative_to(plan.folder.resolve()):
        kept = copy / plan.document.resolve().relative_to(plan.folder.resolve())
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plan.document, kept)
    return copy / "plan.toml"


def _choices(labs: list[LabRecord]) -> str:
    return "labs up: " + (", ".join(r.name for r in labs) or "none") + " (halab status lists them)"


def journal_for(name: str) -> FaultJournal:
    return FaultJournal(state_root() / "labs" / name / "faults.json")
