"""The lab a user is working on in a folder, so that a command without --name never acts on
somebody else's lab: `halab up` (or `connect`) makes the lab it started current for this user
in this working directory, as kubectl's context or Vagrant's per-folder machines do; `halab
down` forgets it. One small JSON file per user under halab's state root."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

from halab.paths import state_root


def user() -> str:
    """Who is working: the person behind sudo, else the account running halab."""
    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name


def _file(who: str | None = None) -> Path:
    return state_root() / "current" / f"{who or user()}.json"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    partial.replace(path)


def make_current(lab: str, folder: Path | None = None) -> None:
    path = _file()
    _write(path, {**_read(path), str((folder or Path.cwd()).resolve()): lab})


def current_lab(folder: Path | None = None) -> str | None:
    """The lab this user made current in this folder, if any."""
    return _read(_file()).get(str((folder or Path.cwd()).resolve()))


def forget_lab(lab: str) -> None:
    """A lab taken down is nobody's current lab any more, in any folder."""
    for path in (state_root() / "current").glob("*.json"):
        data = _read(path)
        kept = {folder: name for folder, name in data.items() if name != lab}
        if kept != data:
            _write(path, kept)
