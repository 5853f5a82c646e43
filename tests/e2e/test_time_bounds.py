"""Time bounds that hold, through the CLI on real nodes: a step's timeout returns on time and
stops what the step left behind (a `setsid` child holding the output open), and one SIGTERM
stops halab within seconds with nothing left. Two tiny documents on the Heartbeat lab's
plan: no cluster is configured, so each run takes seconds.

Its labs are called <HALAB_E2E_PREFIX>time and <HALAB_E2E_PREFIX>term (default e2e...)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from halab.paths import state_root
from halab.plan import load_plan

pytestmark = pytest.mark.e2e

PREFIX = os.environ.get("HALAB_E2E_PREFIX", "e2e")
HALAB = [sys.executable, "-m", "halab.cli"]


def document(tmp_path: Path, steps: str) -> Path:
    folder = tmp_path / "heartbeat"
    folder.mkdir(parents=True)
    shutil.copy(load_plan("heartbeat").folder / "plan.toml", folder / "plan.toml")
    (folder / "lab.md").write_text(f"# Time bounds\n\n{steps}")
    return folder / "lab.md"


# The steps sleep 100019 s, a figure no other module uses: the search for survivors is host-wide,
# and test_confinement.py, on the other worker, runs `sleep 100000` at the same time.
def assert_nothing_left(lab: str) -> None:
    assert lab not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not (state_root() / "labs" / lab).exists()
    assert not Path(f"/sys/fs/cgroup/unified/halab/{lab}").exists()
    assert subprocess.run(["pgrep", "-f", "sleep 100019"], capture_output=True).returncode == 1


def test_a_step_timeout_returns_on_time_and_stops_what_the_step_started(tmp_path: Path) -> None:
    lab = f"{PREFIX}time"
    path = document(tmp_path, "```sh on=srv timeout=5\nsetsid sleep 100019 &\nsleep 100019\n```\n")
    started = time.monotonic()
    done = subprocess.run([*HALAB, "doc", "run", str(path), "--name", lab], capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "did not finish within 5 s" in done.stderr, done.stderr
    assert took < 30, took  # boot ~1 s, the step 5 s, tear-down
    assert_nothing_left(lab)


def test_one_sigterm_stops_halab_promptly_and_removes_the_lab(tmp_path: Path) -> None:
    lab = f"{PREFIX}term"
    path = document(tmp_path, "```sh on=srv\ntrue\n```\n\n```sh on=all timeout=900\nsetsid sleep 100019 & sleep 100019\n```\n")
    proc = subprocess.Popen([*HALAB, "doc", "run", str(path), "--name", lab], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "step 1 on srv: ok" in line:
            break
    time.sleep(1.0)  # well inside the long step, on both nodes
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    took = time.monotonic() - signalled
    assert proc.returncode == 130, "".join(lines) + rest
    assert "Traceback" not in rest and "interrupted" in rest, rest
    assert took < 10, took  # <= 5 s to stop, plus removing two nodes and the network
    assert_nothing_left(lab)


def test_a_sigkilled_bring_up_is_shown_half_made_and_removed_by_the_next_one(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: what is left is found from the lab's record, even
    with the lab's folder moved away, and the next bring-up of the name removes it first."""
    lab = f"{PREFIX}kill"
    path = document(tmp_path, "```sh on=srv\ntrue\n```\n\n```sh on=all timeout=900\nsleep 100019\n```\n")
    proc = subprocess.Popen([*HALAB, "doc", "run", str(path), "--name", lab], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "step 1 on srv: ok" in line:
            break
    proc.kill()
    proc.wait(timeout=10)
    path.parent.rename(tmp_path / "moved-away")
    shown = subprocess.run([*HALAB, "status", "--json", "--name", lab], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    (status,) = json.loads(shown.stdout)
    assert status["half_made"] and "HALF-MADE" in status["cluster"], status
    again = document(tmp_path / "again", "```sh on=srv\nfalse\n```\n")  # ends at once, lab removed
    done = subprocess.run([*HALAB, "doc", "run", str(again), "--name", lab], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "removing what an interrupted bring-up left" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert_nothing_left(lab)
