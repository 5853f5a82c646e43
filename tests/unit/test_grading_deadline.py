"""A grading has a deadline from what its rubric asks; past it the checks are stopped, the whole
process group, and the error says so in one line."""

import sys
import time
from pathlib import Path

import pytest

from halab.errors import NotObserved
from halab.grading.rubric import Rubric, RubricItem
from halab.grading.session import grading_deadline_s, run_bounded


def rubric(*ids: str) -> Rubric:
    return Rubric(Path("rubric.yaml"), "pcs", tuple(RubricItem(i, 1) for i in ids))


def test_the_deadline_grows_with_faults_and_scenarios_and_with_slow_nodes() -> None:
    configuration = grading_deadline_s(rubric("vip-serves", "cluster-quorate"))
    with_faults = grading_deadline_s(rubric("vip-serves", "fault-kill-apache", "fault-power-off"))
    with_scenario = grading_deadline_s(rubric("vip-serves", "scenario-standby"))
    assert configuration < with_scenario < with_faults
    assert grading_deadline_s(rubric("vip-serves"), time_scale=3.0) == 3 * configuration


def test_checks_past_their_deadline_are_stopped_with_their_children(tmp_path: Path) -> None:
    marker = tmp_path / "child-still-running"
    # The checks print, start a child in their group that would write the marker later, and hang.
    script = (f"import subprocess, sys, time; print('check vip-serves: passed', flush=True); "
              f"subprocess.Popen(['/bin/sh', '-c', 'sleep 3; touch {marker}']); time.sleep(600)")
    started = time.monotonic()
    with pytest.raises(NotObserved) as error:
        run_bounded([sys.executable, "-c", script], deadline_s=1.0, cwd=tmp_path, what="grading")
    assert time.monotonic() - started < 15
    assert error.value.what == "grading took longer than its deadline of 1 s and was stopped"
    assert "check vip-serves: passed" in error.value.evidence
    time.sleep(3.5)
    assert not marker.exists()


def test_checks_within_their_deadline_return_their_output(tmp_path: Path) -> None:
    done = run_bounded([sys.executable, "-c", "print('ok')"], deadline_s=30, cwd=tmp_path, what="grading")
    assert done.returncode == 0 and done.stdout == "ok\n"
