"""Node root is not host root, a node is held to its limits, and a command's timeout holds:
shown on the Heartbeat lab (the fastest to come up), with a plan whose [limits] are low.

Its lab is called <HALAB_E2E_PREFIX>conf (default e2econf)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from halab.backends import Backend
from halab.backends.local import cgroups
from halab.command import CommandTimeout
from halab.plan import load_plan
from halab.run import lab_up

pytestmark = pytest.mark.e2e

LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}conf"
NODE = "srv"
LIMITS = "\n[limits]\nmemory_max_mib = 256\ntasks_max = 256\nwritable_mib = 64\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp("confined") / "heartbeat"
    shutil.copytree(load_plan("heartbeat").folder, folder)
    with (folder / "plan.toml").open("a") as plan:
        plan.write(LIMITS)
    with lab_up(load_plan(folder), LAB) as up:
        yield up.backend


def host_status(pid: int, field: str) -> str:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(field + ":"))
    return line.split(":", 1)[1].strip()


def node_init(lab: Backend) -> int:
    pid = lab._container(NODE).init_pid()  # type: ignore[attr-defined]
    assert pid is not None
    return pid


def test_node_root_is_an_unprivileged_host_uid(lab: Backend) -> None:
    uid_map = lab.run(NODE, ["cat", "/proc/self/uid_map"]).check().stdout.split()
    assert uid_map != ["0", "0", "4294967295"]
    inside, outside, count = map(int, uid_map)
    assert inside == 0 and outside >= 65536 and count == 65536, uid_map
    # the node's systemd as the host sees it: not uid 0
    assert host_status(node_init(lab), "Uid").split()[0] == str(outside)
    assert lab.run(NODE, ["id", "-u"]).check().stdout.strip() == "0"  # yet root inside


def test_commands_have_the_nodes_bounding_set_and_sit_in_its_cgroup(lab: Backend) -> None:
    bounding = int(host_status(node_init(lab), "CapBnd"), 16)
    assert bounding != int(host_status(os.getpid(), "CapBnd"), 16)
    shown = dict(line.split(":\t") for line in lab.run(NODE, ["grep", "^Cap", "/proc/self/status"]).check().stdout.splitlines())
    for field in ("CapBnd", "CapEff", "CapPrm"):
        assert int(shown[field], 16) & ~bounding == 0, (field, shown[field], hex(bounding))

    found: list[int] = []

    def look() -> None:  # from the host, while the command runs
        deadline = time.monotonic() + 5
        while not found and time.monotonic() < deadline:
            for pid in cgroups.pids(LAB, NODE):
                try:
                    if b"halab-marker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(pid)
                except OSError:
                    pass
            time.sleep(0.05)

    looking = threading.Thread(target=look)
    looking.start()
    lab.run(NODE, ["sh", "-c", "sleep 2", "halab-marker"]).check()
    looking.join()
    assert found, "the command was not found in the node's cgroup"


@pytest.mark.parametrize("attempt, refused", [
    ("mkdir -p /root/p && mount -t proc proc /root/p && echo '|/bin/false' > /root/p/sys/kernel/core_pattern", "core_pattern"),
    ("echo 1 > /proc/sys/vm/swappiness", "vm.swappiness"),
    ("sysctl -w vm.swappiness=1", "vm.swappiness through sysctl"),
    ("date -s '2001-01-01 00:00:00'", "the clock"),
    ("mknod /root/disk b 8 0 && head -c 512 /root/disk", "a block device"),
    ("dmesg", "the kernel log"),
])
def test_host_is_out_of_reach(lab: Backend, attempt: str, refused: str) -> None:
    before = (Path("/proc/sys/kernel/core_pattern").read_text(), Path("/proc/sys/vm/swappiness").read_text())
    result = lab.run(NODE, ["sh", "-c", attempt])
    assert not result.succeeded, f"{refused}: {result}"
    assert (Path("/proc/sys/kernel/core_pattern").read_text(), Path("/proc/sys/vm/swappiness").read_text()) == before
    assert abs(time.time() - time.mktime(time.strptime("2001", "%Y"))) > 3600


def test_a_fork_bomb_stops_at_the_task_limit(lab: Backend) -> None:
    result = lab.run(NODE, ["sh", "-c", "i=0; while [ $i -lt 1000 ]; do sleep 60 & i=$((i+1)); done; wait"], timeout=60)
    assert not result.succeeded, result
    assert any("task limit" in hit for hit in lab.limits_hit(NODE))  # type: ignore[attr-defined]
    assert int(Path(f"/sys/fs/cgroup/pids/halab/{LAB}/{NODE}/pids.current").read_text()) < 200  # the sleeps are gone
    assert lab.run(NODE, ["systemctl", "is-active", "heartbeat"]).stdout.strip() == "active"


def test_a_memory_hog_is_killed_at_the_memory_limit(lab: Backend) -> None:
    result = lab.run(NODE, ["python3", "-c", "x = b'a' * (400 * 2**20); print('survived')"], timeout=60)
    assert not result.succeeded and "survived" not in result.stdout, result
    assert any("memory limit" in hit for hit in lab.limits_hit(NODE))  # type: ignore[attr-defined]
    assert lab.run(NODE, ["systemctl", "is-active", "heartbeat"]).stdout.strip() == "active"


def test_the_writable_layer_is_bounded(lab: Backend) -> None:
    result = lab.run(NODE, ["sh", "-c", "head -c 100M /dev/zero > /root/filler"], timeout=60)
    assert not result.succeeded and "No space left" in result.stderr, result
    lab.run(NODE, ["rm", "-f", "/root/filler"]).check()


@pytest.mark.parametrize("script", ["setsid sleep 100000 & sleep 100000", "setsid sleep 100000 &"])
def test_a_timeout_kills_everything_the_command_started(lab: Backend, script: str) -> None:
    started = time.monotonic()
    try:
        lab.run(NODE, ["sh", "-c", script], timeout=5)
    except CommandTimeout:
        pass
    took = time.monotonic() - started
    assert took < 6.5, took
    left = lab.run(NODE, ["pgrep", "-f", "sleep 100000"])
    assert left.stdout.strip() == "", left
