"""A harness killed in the middle of a link cut leaves a journal; `halab heal` undoes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from halab.backends import Backend
from halab.backends.local import network
from halab.experiment import wait_healthy
from halab.lab import journal_for
from halab.stacks import stack_for
from halab.wait import wait_until

pytestmark = pytest.mark.e2e
HALAB = [sys.executable, "-m", "halab.cli"]


def test_halab_heal_after_the_harness_was_killed_during_a_link_cut(pcs_lab: Backend) -> None:
    harness = subprocess.Popen([*HALAB, "fault", "cut-link", "--name", pcs_lab.lab], start_new_session=True)
    journal = journal_for(pcs_lab.lab)
    try:
        entry = wait_until(journal.entries, bool, what="the cut to be journaled", timeout_s=120, interval_s=0.1)[0]
        wait_until(lambda: network.is_cut(pcs_lab.plan, pcs_lab.lab, entry.node), bool,
                   what="the link to be cut", timeout_s=10, interval_s=0.05)
        time.sleep(2)
    finally:
        os.killpg(harness.pid, signal.SIGKILL)
        harness.wait(timeout=10)
    assert network.is_cut(pcs_lab.plan, pcs_lab.lab, entry.node), "the killed harness healed nothing"

    healed = subprocess.run([*HALAB, "heal", "--name", pcs_lab.lab], capture_output=True, text=True, timeout=120)
    assert healed.returncode == 0, healed.stderr
    assert f"healed cut-link on {entry.node}" in healed.stdout
    assert not network.is_cut(pcs_lab.plan, pcs_lab.lab, entry.node)
    assert journal.entries() == []
    assert wait_healthy(pcs_lab, stack_for("pacemaker")).healthy
