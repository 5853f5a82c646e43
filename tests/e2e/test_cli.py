"""The commands people type, run as they type them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from halab.backends import Backend

pytestmark = pytest.mark.e2e
HALAB = [sys.executable, "-m", "halab.cli"]


def halab(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups"] if user else []
    return subprocess.run([*prefix, *HALAB, *args], capture_output=True, text=True, timeout=900)


def test_status_shows_machines_and_cluster(pcs_lab: Backend) -> None:
    shown = halab("status", "--name", pcs_lab.lab)
    assert shown.returncode == 0, shown.stderr
    assert "node1" in shown.stdout and "192.168.56.254" in shown.stdout
    assert "online: node1, node2" in shown.stdout


def test_status_as_json_for_scripts(pcs_lab: Backend) -> None:
    shown = halab("status", "--name", pcs_lab.lab, "--json")
    assert shown.returncode == 0, shown.stderr
    (lab,) = json.loads(shown.stdout)
    assert lab["name"] == pcs_lab.lab and lab["variant"] == "pcs" and lab["faults_applied"] == []
    assert {m["name"]: m["running"] for m in lab["machines"]} == {"node1": True, "node2": True, "router": True}


def test_probe_summarizes_what_a_client_saw(pcs_lab: Backend) -> None:
    shown = halab("probe", "--name", pcs_lab.lab, "--duration", "2")
    assert shown.returncode == 0, shown.stderr
    assert "node" in shown.stdout


def test_the_main_job_prints_the_table_and_writes_the_record(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [*HALAB, "run", "--lab", "pcs", "--name", "e2erun", "--faults", "stop-stack"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "HALAB_REPORTS": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stop-stack" in done.stdout and "PASS" in done.stdout
    (record,) = tmp_path.glob("pcs-e2erun-*.json")
    data = json.loads(record.read_text())
    assert data["faults"][0]["outcome"] == "failover"
    assert len(data["samples"]) > 100 and data["phases_s"]["up_to_vip_s"] > 0
    assert "e2erun" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.parametrize(
    ("args", "user", "message"),
    [
        (("up", "--lab", "pcz"), None, "no lab called 'pcz'"),
        (("up", "--lab", "pcs", "--name", "Bad_Name"), None, "lab name 'Bad_Name' must be"),
        (("down", "--name", "nosuchlab"), None, "no lab called 'nosuchlab' is up"),
        (("up", "--lab", "pcs", "--name", "e2enoroot"), "nobody", "needs root"),
    ],
)
def test_bad_input_gets_a_clear_error_and_leaves_nothing(args: tuple[str, ...], user: str | None, message: str) -> None:
    done = halab(*args, user=user)
    assert done.returncode == 2  # halab stopped with an error message
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert "e2enoroot" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_exec_and_shell_run_in_the_node_confined(pcs_lab: Backend) -> None:
    done = halab("exec", "--name", pcs_lab.lab, "node1", "--", "sh", "-c", "hostname; exit 4")
    assert done.returncode == 4 and done.stdout.strip() == "node1", done
    shell = subprocess.run([*HALAB, "shell", "--name", pcs_lab.lab, "node2"], input="cat /proc/self/uid_map\nexit 3\n",
                           capture_output=True, text=True, timeout=60)
    assert shell.returncode == 3, shell
    assert shell.stdout.split()[:1] == ["0"] and shell.stdout.split()[1] != "0", shell.stdout  # node root, not host root
    refused = halab("exec", "--name", pcs_lab.lab, "node9", "--", "true")
    assert refused.returncode == 2 and "has no machine 'node9'" in refused.stderr and "Traceback" not in refused.stderr
