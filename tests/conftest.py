"""Shared test set-up: end-to-end tests need root and systemd-nspawn; unit tests need nothing."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and shutil.which("systemd-nspawn"):
        return
    skip = pytest.mark.skip(reason="end-to-end tests need root and systemd-nspawn (./install.sh)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
