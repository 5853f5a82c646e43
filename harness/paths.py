"""Where halab keeps its state on the machine: one root, overridable for tests and CI."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def state_root() -> Path:
    """Images, running labs and fault journals live here (HALAB_HOME, default /var/lib/halab)."""
    return Path(os.environ.get("HALAB_HOME", "/var/lib/halab"))


def labs_dir() -> Path:
    """Lab definitions (plans and documents) shipped with the project (HALAB_LABS overrides)."""
    return Path(os.environ.get("HALAB_LABS", PROJECT_ROOT / "labs"))


def reports_dir() -> Path:
    return Path(os.environ.get("HALAB_REPORTS", PROJECT_ROOT / "reports"))
