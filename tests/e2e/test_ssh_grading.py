"""Live grading over SSH of a cluster halab brought up, reached only through SSH as if its nodes
were a student's VMs: the same grade as grading it directly, the cluster left as found, and a
preflight that says what is wrong (a closed port, a key the nodes refuse, no sudo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from halab.backends import Backend
from halab.grading.preserve import snapshot
from halab.grading.session import grade_lab
from halab.plan import load_plan
from halab.run import lab_up, tear_down
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

LAB, REMOTE = "e2essh", "e2esshlive"  # the "student's VMs" (local backend), and the same reached over SSH
CONFIG_ONLY_FAULTS = ("fault-stop-stack", "fault-cut-link")
ONE_SCENARIO = ("scenario-move-then-clear",)
SETUP = """set -e
systemctl enable --now ssh
install -d -m 700 /root/.ssh && echo "$1" > /root/.ssh/authorized_keys
for user in teacher nosudo; do
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user"
  install -d -m 700 -o "$user" -g "$user" "/home/$user/.ssh"
  echo "$1" > "/home/$user/.ssh/authorized_keys" && chown "$user:" "/home/$user/.ssh/authorized_keys"
done
echo 'teacher ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/teacher && chmod 0440 /etc/sudoers.d/teacher
"""


def new_key(path: Path) -> str:
    """A private key file at `path`; returns its public key line for authorized_keys."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()))
    path.chmod(0o600)
    return key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


@pytest.fixture(scope="module")
def lab(root_network_before: tuple[str, str]) -> Iterator[Backend]:
    with lab_up(load_plan("pcs"), LAB) as up:
        yield up.backend


@pytest.fixture(scope="module")
def key(lab: Backend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sshd running on every node, this key authorized for root, for `teacher` (passwordless
    sudo) and for `nosudo` (no sudo at all)."""
    path = tmp_path_factory.mktemp("keys") / "id_ed25519"
    public = new_key(path)
    for node in lab.plan.node_names:
        lab.run(node, ["/bin/sh", "-c", SETUP, "setup", public], timeout=60).check()
    return path


@pytest.fixture
def inventory(lab: Backend, key: Path, tmp_path: Path) -> Callable[..., Path]:
    def write(**changes: object) -> Path:
        settings = {"variant": "pcs", "vip": str(lab.plan.vip), "user": "teacher", "key": str(key),
                    "netns": lab.client_netns(),
                    "nodes": [{"name": n.name, "address": str(n.address.ip)} for n in lab.plan.nodes], **changes}
        path = tmp_path / "inventory.yaml"
        path.write_text(yaml.safe_dump(settings))
        return path

    return write


def rubric(lab: Backend, directory: Path, *extra: str) -> Path:
    """The lab's configuration checks, a couple of faults and one short scenario: faults and
    scenarios over SSH are graded, without the minutes the whole matrix takes (test_grading has it)."""
    data = yaml.safe_load((lab.plan.folder / "rubric.yaml").read_text())
    data["checks"] = [item for item in data["checks"] if not item["id"].startswith(("fault-", "scenario-"))
                      or item["id"] in CONFIG_ONLY_FAULTS + ONE_SCENARIO + extra]
    path = directory / f"rubric{len(extra)}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def connect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "halab.cli", "connect", *args],
                          capture_output=True, text=True, timeout=120, env=os.environ)


@pytest.mark.parametrize("problem, changes, says", [
    ("a closed port on a node's own address", {"port": 2222},
     "node1 is unreachable: nothing answers SSH at 192.168.56.10 port 2222"),
    ("a key the nodes do not know", {"key": "OTHER"},
     "node1: authentication refused for teacher@192.168.56.10 port 22 with key"),
    ("a user without sudo", {"user": "nosudo"}, "node1: nosudo has no passwordless sudo"),
])
def test_preflight_says_what_is_wrong_and_records_nothing(
    inventory: Callable[..., Path], tmp_path: Path, problem: str, changes: dict[str, object], says: str
) -> None:
    if changes.get("key") == "OTHER":
        new_key(tmp_path / "id_other")
        changes = {"key": str(tmp_path / "id_other")}
    done = connect("--inventory", str(inventory(**changes)), "--name", "e2esshbad")
    assert done.returncode == 2 and says in done.stderr, problem + "\n" + done.stderr
    assert "e2esshbad" not in subprocess.run([sys.executable, "-m", "halab.cli", "status"],
                                             capture_output=True, text=True, timeout=120).stdout


def test_grading_over_ssh_gives_the_direct_grade_and_leaves_the_cluster_as_found(
    lab: Backend, inventory: Callable[..., Path], tmp_path: Path,
    root_network_before: tuple[str, str], read_root_network: Callable[[], tuple[str, str]],
) -> None:
    direct = grade_lab(LAB, rubric(lab, tmp_path), include_hidden=True)
    done = connect("--inventory", str(inventory()), "--name", REMOTE)
    assert done.returncode == 0, done.stderr
    try:
        # power-off is offered to the SSH grading too: it must come out not applicable, not failed
        remote = grade_lab(REMOTE, rubric(lab, tmp_path, "fault-power-off"), include_hidden=True)
    finally:
        tear_down(REMOTE)
    by_id = {s.item.id: s for s in remote.grade.items}
    assert by_id.pop("fault-power-off").state == "not-applicable"
    assert [(s.item.id, s.state, s.awarded) for s in direct.grade.items] == \
        [(i, s.state, s.awarded) for i, s in by_id.items()], remote.grade.summary
    assert (remote.grade.awarded, remote.grade.total) == (direct.grade.awarded, direct.grade.total) != (0, 0)
    kept = remote.preservation
    assert kept is not None and kept.differences == () and kept.after == kept.before, kept
    assert snapshot(lab, stack_for("pacemaker")) == kept.before  # as the harness itself sees it, not over SSH
    assert read_root_network() == root_network_before
