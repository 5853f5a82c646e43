"""A lab is found again from what `halab up` recorded: after its folder moved, and after a
bring-up that was killed half-way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from halab import lab as labs
from halab.errors import HalabError
from halab.plan import labs_dir, load_plan


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HALAB_HOME", str(tmp_path / "state"))
    return tmp_path


def test_a_lab_whose_folder_moved_opens_from_the_copy_kept_at_up(home: Path) -> None:
    folder = home / "mylab"
    shutil.copytree(labs_dir() / "pcs", folder)
    record = labs.create(load_plan(folder), "moved", "local")
    shutil.rmtree(folder)
    assert Path(record.plan_path()) == Path(record.snapshot)
    assert load_plan(record.plan_path()).vip == load_plan("pcs").vip
    assert labs.find_lab("moved").open().plan.node_names == ("node1", "node2")


def test_a_lab_being_made_is_not_half_made_until_its_maker_is_gone(home: Path) -> None:
    record = labs.create(load_plan("pcs"), "making", "local")
    assert record.maker and not record.half_made  # this very process is making it
    with pytest.raises(HalabError, match="already up"):
        labs.create(load_plan("pcs"), "making", "local")
    gone = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout.strip()
    labs.save_record(labs.LabRecord(**{**record.__dict__, "maker": int(gone)}))
    assert labs.find_lab("making").half_made
    assert not labs.mark_up(labs.find_lab("making")).half_made
    assert labs.find_lab("making").maker == 0


def test_a_damaged_record_is_skipped_and_does_not_hide_the_others(home: Path) -> None:
    labs.create(load_plan("pcs"), "good", "local")
    damaged = home / "state" / "labs" / "bad" / "lab.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text("{not json")
    newer = home / "state" / "labs" / "newer" / "lab.json"
    newer.parent.mkdir(parents=True)
    newer.write_text('{"name": "newer", "plan": "x", "backend": "local", "from_a_later_version": 1}')
    assert [record.name for record in labs.running_labs()] == ["good", "newer"]
