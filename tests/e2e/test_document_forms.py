"""A lab sheet as teachers write them (French, pcs) runs as written: an interactive `pcs host
auth` and `passwd` answered on standard input, `crm_mon` interrupted, a pasted block with a
failing line, node2 rebooted by its own `reboot`, and the node and resource sentences."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from halab.paths import labs_dir

pytestmark = pytest.mark.e2e
HALAB = [sys.executable, "-m", "halab.cli"]
SHEET = Path(__file__).with_name("documents") / "feuille-pcs.md"
LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}forms"


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    """The sheet beside a copy of the pcs lab's plan (which names lab.md as its document)."""
    folder = tmp_path / "tp-pcs"
    shutil.copytree(labs_dir() / "pcs", folder)
    shutil.copy(SHEET, folder / "lab.md")
    return folder / "lab.md"


def test_a_real_sheet_runs_as_written(sheet: Path) -> None:
    done = subprocess.run([*HALAB, "doc", "run", str(sheet), "--name", LAB], capture_output=True, text=True, timeout=900)
    console = done.stderr
    assert done.returncode == 0, console
    failing_line = sheet.read_text().splitlines().index("ufw allow 2224/tcp") + 1
    assert console.count(f"pasted as is; line {failing_line} (status 127) failed, and the paste went on") == 2, console
    assert "still running after 3 s: interrupted" in console or "ended by itself before the interrupt" in console
    assert "node2 rebooted and was back" in console
    assert "all 17 steps passed" in done.stdout, done.stdout
    assert LAB not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
