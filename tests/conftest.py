"""Shared test set-up: end-to-end tests need root and systemd-nspawn; unit tests need nothing."""

from __future__ import annotations

import os
import shutil
import time

import pytest


# Two workers run the suite side by side (pytest-xdist, `-n 2 --dist loadfile` in pyproject.toml):
# a lab is mostly waiting (monitors, failovers, emulated VMs), so two labs at once cost far less
# than twice one. A module stays on one worker (its lab is module-scoped); each worker has its
# own shared pcs lab (tests/e2e/conftest.py). The longest modules go first, so the two workers
# end together: seconds each took in CI ("time per phase"), rounded; a new module goes last
# until it is added here. Unit tests fill the gaps at the end.
E2E_SECONDS = {
    "test_grading": 670, "test_vagrant_lab": 635, "test_submissions": 370, "test_heartbeat_lab": 360,
    "test_fencing_lab": 245, "test_crmsh_lab": 195, "test_document_forms": 155, "test_ssh_grading": 150,
    "test_pcs_faults": 120, "test_three_nodes": 120, "test_scenario_runs": 110, "test_nodes_named_by_address": 80,
    "test_cli": 60, "test_install": 45, "test_packages": 32, "test_confinement": 23, "test_installed_like_a_vm": 18,
    "test_lab_documents": 15, "test_time_bounds": 12, "test_lab_isolation": 7, "test_heal_after_kill": 5,
}


def _expected_seconds(item: pytest.Item) -> float:
    return E2E_SECONDS.get(item.path.stem, 1.0) if "e2e" in item.keywords else 0.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_expected_seconds, reverse=True)  # stable: a module's tests keep their order
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
    worker = getattr(report, "node", None)  # pytest-xdist: the worker that ran it
    if worker is not None:  # set-up counts: a module's lab comes up there (Vagrant's: 450 s)
        key = f"worker {worker.gateway.id} (its tests' own time, set-up included)"
        _PHASE_SECONDS[key] = _PHASE_SECONDS.get(key, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _PHASE_SECONDS:
        return
    terminalreporter.section("time per phase (each test's own time; two workers run side by side)")
    for phase, seconds in sorted(_PHASE_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {phase}")
    terminalreporter.write_line(f"{time.monotonic() - _STARTED:8.1f} s  the whole suite (wall clock)")
