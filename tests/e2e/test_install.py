"""halab as a user installs it: the wheel in a fresh virtual environment outside the checkout,
used from a folder of the user's own: the bundled lab, its checks, its reports, plain pytest.

Its lab is called e2ewheel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
LAB = "e2ewheel"


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def test_the_wheel_works_from_any_directory(tmp_path: Path) -> None:
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", ROOT,
        cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("halab-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "pip", "install", "-q", wheel, cwd=tmp_path)
    halab = venv / "bin" / "halab"
    work = tmp_path / "work"
    work.mkdir()
    (work / "pcs").mkdir()  # a folder named like a bundled lab never shadows it

    assert run(halab, "--version", cwd=work).stdout.startswith("halab ")
    assert "heartbeat" in run(halab, "list", cwd=work).stdout
    run(halab, "up", "--lab", "heartbeat", "--name", LAB, cwd=work)
    try:
        # A rubric of the user's own, by path, without the faults (the Heartbeat ones take minutes).
        (work / "quick.yaml").write_text("lab: heartbeat\nchecks:\n  - id: vip-serves\n    points: 2\n"
                                         "  - id: authkeys-private\n    points: 1\n")
        checked = run(halab, "check", "--name", LAB, "--rubric", "quick.yaml", cwd=work)
        assert "3 / 3 points" in checked.stdout, checked.stdout
        run(halab, "grade", "--name", LAB, "--student", "ana", "--rubric", "quick.yaml", "-o", work / "out", cwd=work)
        assert (work / "out" / "ana-heartbeat.html").is_file() and (work / "out" / "gradebook.csv").is_file()
        run(halab, "grade", "--name", LAB, "--student", "bo", "--rubric", "quick.yaml", cwd=work)
        assert (work / "reports" / "bo-heartbeat.html").is_file()  # ./reports of the current directory
        plain = run(venv / "bin" / "python", "-m", "pytest", "--pyargs", "halab.checks", "--halab-name", LAB,
                    "-m", "not fault", "-q", "-p", "no:cacheprovider", cwd=work)
        assert " passed" in plain.stdout, plain.stdout
    finally:
        subprocess.run([halab, "down", "--name", LAB], cwd=work, capture_output=True, timeout=300)
    assert not (ROOT / "reports" / "ana-heartbeat.html").exists()
    shipped = next(venv.glob("lib/python*/site-packages/halab"))
    for part in ("labs/pcs/plan.toml", "labs/pcs/lab.md", "labs/pcs/rubric.yaml", "checks/conftest.py",
                 "image/recipe.toml", "backends/vagrant/Vagrantfile"):
        assert (shipped / part).is_file(), part
