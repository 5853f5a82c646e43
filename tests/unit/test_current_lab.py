"""A command without --name acts on the lab this user made current in this folder, never on
"the only lab up": on a shared machine that may be somebody else's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from halab import lab as labs
from halab.current import current_lab, forget_lab, make_current
from halab.errors import HalabError
from halab.plan import load_plan


@pytest.fixture
def two_labs_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HALAB_HOME", str(tmp_path / "state"))
    for name in ("alice", "bob"):
        labs.save_record(labs.LabRecord(name, str(load_plan("pcs").folder / "plan.toml"), "local"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_without_a_current_lab_nothing_is_guessed(two_labs_up: Path) -> None:
    with pytest.raises(HalabError, match="no lab is current in this folder") as raised:
        labs.find_lab(None)
    assert "alice" in raised.value.fix and "bob" in raised.value.fix


def test_one_lab_up_is_still_not_guessed(two_labs_up: Path) -> None:
    labs.forget("bob")
    with pytest.raises(HalabError, match="never guesses"):
        labs.find_lab(None)


def test_the_current_lab_is_per_folder_and_forgotten_when_down(two_labs_up: Path, tmp_path: Path) -> None:
    make_current("alice")
    assert labs.find_lab(None).name == "alice"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert current_lab(elsewhere) is None
    make_current("bob", elsewhere)
    assert current_lab(elsewhere) == "bob" and labs.find_lab(None).name == "alice"
    forget_lab("alice")
    with pytest.raises(HalabError):
        labs.find_lab(None)
    assert current_lab(elsewhere) == "bob"


def test_a_command_without_name_refuses_in_one_line(two_labs_up: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "halab.cli", "fault", "power-off"], capture_output=True, text=True,
                          timeout=60, env={"HALAB_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "no lab is current in this folder" in done.stderr and "alice, bob" in done.stderr
