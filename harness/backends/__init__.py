"""Backends by name, imported only when used, so an optional dependency costs nothing until asked for."""

from __future__ import annotations

import importlib
from typing import Mapping

from halab.backends.base import Backend, MachineStatus, copy_text, run_if_up
from halab.errors import HalabError
from halab.plan import LabPlan

REGISTRY = {
    "local": "halab.backends.local.backend:LocalBackend",
    "ssh": "halab.backends.ssh.backend:SshBackend",
    "vagrant": "halab.backends.vagrant.backend:VagrantBackend",
}

__all__ = ["Backend", "MachineStatus", "copy_text", "open_backend", "run_if_up"]


def open_backend(kind: str, plan: LabPlan, lab: str, options: Mapping[str, str] | None = None) -> Backend:
    """`options` are the backend's own settings (e.g. an inventory file), kept in the lab record."""
    if kind not in REGISTRY:
        raise HalabError(f"no backend called {kind!r}", fix=f"choose one of: {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[kind].partition(":")
    backend: Backend = getattr(importlib.import_module(module), cls)(plan, lab, **dict(options or {}))
    return backend
