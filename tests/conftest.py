"""Shared test set-up: end-to-end tests need root and systemd-nspawn; unit tests need nothing."""

from __future__ import annotations

import os
import shutil
import time

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and shutil.which("systemd-nspawn"):
        return
    skip = pytest.mark.skip(reason="end-to-end tests need root and systemd-nspawn (./install.sh)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


# The suite's time per phase (README, issue 19): unit tests, then each end-to-end module, so a
# slow CI run says where its minutes went.
_PHASE_SECONDS: dict[str, float] = {}
_STARTED = time.monotonic()


def _phase(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return "unit tests" if path.startswith("tests/unit/") else path.removeprefix("tests/")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    phase = _phase(report.nodeid)
    _PHASE_SECONDS[phase] = _PHASE_SECONDS.get(phase, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _PHASE_SECONDS:
        return
    terminalreporter.section("time per phase")
    for phase, seconds in sorted(_PHASE_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {phase}")
    terminalreporter.write_line(f"{time.monotonic() - _STARTED:8.1f} s  the whole suite (wall clock)")
