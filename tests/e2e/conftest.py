"""End-to-end fixtures: real clusters on the local backend, shared between tests where safe.

Lab names here are e2e-only, so a developer's own labs are never touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import pytest
import yaml

from halab.backends import Backend
from halab.grading.score import Grade
from halab.plan import load_plan
from halab.run import lab_up

# HALAB_E2E_PREFIX=cf runs the shared lab as cfpcs: a developer's own run never meets anyone's e2epcs.
# Each pytest-xdist worker has its own (e2epcs, e2epcs1): modules that share it may run side by side.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
SHARED_LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}pcs{'' if _WORKER == '0' else _WORKER}"


def root_namespace_network() -> tuple[str, str]:
    """Addresses and routes of the root namespace (the lab must add none)."""
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True, check=True).stdout
    return (
        "\n".join(sorted(" ".join(line.split()[1:4]) for line in addresses.splitlines())),
        "\n".join(sorted(routes.splitlines())),
    )


@pytest.fixture(scope="session")
def root_network_before() -> tuple[str, str]:
    return root_namespace_network()


@pytest.fixture
def read_root_network() -> Callable[[], tuple[str, str]]:
    return root_namespace_network


@pytest.fixture(scope="session")
def pcs_lab(root_network_before: tuple[str, str]) -> Iterator[Backend]:
    """The pcs lab, provisioned from its document once and shared by the fault tests; every
    fault test heals and waits for a whole cluster before the next one starts."""
    with lab_up(load_plan("pcs"), SHARED_LAB) as up:
        yield up.backend


@pytest.fixture(scope="session")
def rubric_subset(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """A lab's rubric with only the fault items named (and what requires them): configuration
    defects need no fault run, and each fault is already exercised by its own test. Scenarios
    count as faults here (`keep_faults=("scenario-failback",)` keeps one)."""

    def make(variant: str, keep_faults: tuple[str, ...] = ()) -> Path:
        data = yaml.safe_load((load_plan(variant).folder / "rubric.yaml").read_text())
        kept = {name if name.startswith("scenario-") else f"fault-{name}" for name in keep_faults}
        faults = {item["id"] for item in data["checks"] if item["id"].startswith(("fault-", "scenario-"))}
        data["checks"] = [item for item in data["checks"] if item["id"] not in faults - kept
                          and not set(item.get("requires", ())) & (faults - kept)]
        path = tmp_path_factory.mktemp("rubric") / f"{variant}-rubric.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return make


def assert_exactly_failed(grade: Grade, expected: set[str]) -> None:
    """Exactly the `expected` items did not pass, and each of them says what failed and the fix."""
    failed = {s.item.id for s in grade.items if s.state != "passed"}
    assert failed == expected, [(s.item.id, s.state, s.note) for s in grade.items if s.state != "passed"]
    for scored in grade.items:
        if scored.item.id in expected:
            assert scored.result is not None and scored.result.message and scored.result.fix, scored


def assert_fixes_in_own_tool(grade: Grade, *foreign: str) -> None:
    """No fix names another lab's tool (a crmsh student is never told to type a pcs command)."""
    said = [(s.item.id, s.result.fix) for s in grade.items if s.result and s.result.fix]
    assert said and not [(i, fix) for i, fix in said if any(word in fix for word in foreign)], said


def assert_full_marks(grade: Grade) -> None:
    lost = [(s.item.id, s.state, s.note, s.result and s.result.evidence) for s in grade.items if s.awarded < s.item.points]
    assert grade.awarded == grade.total > 0, lost


@pytest.fixture(scope="session")
def graded() -> SimpleNamespace:
    """The grading assertions the lab modules share."""
    return SimpleNamespace(exactly_failed=assert_exactly_failed, full_marks=assert_full_marks,
                           fixes_in_own_tool=assert_fixes_in_own_tool)
