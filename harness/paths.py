"""Where halab finds what it ships and keeps what it makes: one place, overridable for tests and CI.

Bundled labs and checks live inside the installed package (a wheel, or the checkout through an
editable install); a lab of one's own is found by its path. Reports go to `./reports` of the
current directory unless told otherwise (`-o`, HALAB_REPORTS, halab.toml)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


PACKAGE_ROOT = Path(__file__).resolve().parent  # halab itself (harness/ in the checkout)
CHECKS_DIR = _package_folder("halab.checks")
VAGRANT_DIR = PACKAGE_ROOT / "backends" / "vagrant"  # where the Vagrantfile the backend runs lives


def state_root() -> Path:
    """Images, running labs and fault journals live here (HALAB_HOME, default /var/lib/halab)."""
    return Path(os.environ.get("HALAB_HOME", "/var/lib/halab"))


def labs_dir() -> Path:
    """The labs shipped with halab (HALAB_LABS overrides)."""
    return Path(os.environ.get("HALAB_LABS", _package_folder("halab.labs")))


def reports_dir() -> Path:
    """Where reports go: HALAB_REPORTS, else halab.toml's `reports`, else ./reports of the current
    directory (halab.settings decides)."""
    from halab.settings import resolve  # settings name these very locations in `halab config`

    return resolve().reports
