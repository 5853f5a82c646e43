"""Submissions end to end: `halab collect` from real labs of all three variants (one with planted
defects), archives re-packed with more defects and hostile ones beside them, then `halab grade`
of the folder rebuilding each cluster on fresh nodes, several at once.

Lab names start with <HALAB_E2E_PREFIX>sub (default e2esub), so nobody else's labs are touched. The rubrics are the variants'
own without their fault items: faults are tested elsewhere, configuration is what travels."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest
import yaml

from halab.grading.session import grade_lab
from halab.paths import state_root
from halab.plan import load_plan
from halab.run import lab_up
from halab.submissions.archive import read_archive, write_archive

pytestmark = pytest.mark.e2e
SUB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}sub"

# Planted on the live pcs lab before collecting: the same checks must fail live and rebuilt.
PCS_DEFECTS = [("node2", "systemctl enable apache2"), ("node1", "chmod 0644 /etc/corosync/authkey")]
PCS_FAILS = {"apache-disabled-at-boot", "authkey-identical-and-private"}


def halab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "halab.cli", *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


def config_rubric(variant: str, folder: Path) -> Path:
    """The variant's rubric without fault items, nor the items that depend on them, and with one
    short scenario of the lab's: a rebuilt cluster runs scenarios too (they read its scenarios.toml)."""
    data = yaml.safe_load((load_plan(variant).folder / "rubric.yaml").read_text())
    faults = {item["id"] for item in data["checks"] if item["id"].startswith("fault-")
              or item["id"].startswith("scenario-") and item["id"] != "scenario-move-then-clear"}
    data["checks"] = [item for item in data["checks"]
                      if item["id"] not in faults and not faults & set(item.get("requires", []))]
    path = folder / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def collect_from(variant: str, lab: str, folder: Path, rubric: Path) -> dict[str, object]:
    """Bring the variant's lab up, collect it as is (and, for pcs, with defects planted, graded
    live as well), then remove it."""
    found: dict[str, object] = {}
    with lab_up(load_plan(variant), lab) as up:
        done = halab("collect", "--name", lab, "--student", f"{variant}-good", "-o", str(folder / f"{variant}-good.tar.gz"))
        assert done.returncode == 0, done.stderr
        if variant == "pcs":
            for node, command in PCS_DEFECTS:
                up.backend.run(node, ["/bin/sh", "-c", command]).check()
            found["live"] = grade_lab(lab, rubric, include_hidden=True)
            done = halab("collect", "--name", lab, "--student", "pcs-defects", "-o", str(folder / "pcs-defects.tar.gz"))
            assert done.returncode == 0, done.stderr
    return found


def repacked(source: Path, target: Path, student: str, change: Callable[[dict[str, bytes]], None]) -> Path:
    """The same archive for another student, with files changed as a student would have left them."""
    members = read_archive(source)
    members["manifest.json"] = json.dumps({**json.loads(members["manifest.json"]), "student": student}).encode()
    change(members)
    return write_archive(target, members, 0)


def hostile(path: Path, entries: list[tuple[str, bytes, str]]) -> Path:
    """A .tar.gz with entries (name, type, link target): what `halab collect` never writes."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, 0
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    return path


@pytest.fixture(scope="module")
def rubrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rubrics")
    return {variant: config_rubric(variant, folder) for variant in ("pcs", "crmsh", "heartbeat")}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory, rubrics: dict[str, Path],
                root_network_before: tuple[str, str]) -> tuple[Path, dict[str, object]]:
    """Six archives of three variants from three real labs (brought up at once, then removed),
    and five hostile ones in the same folder."""
    folder = tmp_path_factory.mktemp("submissions")
    labs = {"pcs": f"{SUB}pcs", "crmsh": f"{SUB}crm", "heartbeat": f"{SUB}hb"}
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda v: collect_from(v, labs[v], folder, rubrics[v]), labs))
    live = results[0]["live"]

    def two_nodes_typo(members: dict[str, bytes]) -> None:
        for name in [m for m in members if m.endswith("/etc/corosync/corosync.conf")]:
            members[name] = members[name].replace(b"two_node:", b"two_nodes:")

    def haresources_differ(members: dict[str, bytes]) -> None:
        name = "nodes/srv-slave/files/etc/ha.d/haresources"
        members[name] = members[name].replace(b"srv IPaddr", b"srv-slave IPaddr")

    repacked(folder / "crmsh-good.tar.gz", folder / "crmsh-typo.tar.gz", "crmsh-typo", two_nodes_typo)
    repacked(folder / "heartbeat-good.tar.gz", folder / "heartbeat-haresources.tar.gz", "heartbeat-haresources",
             haresources_differ)
    hostile(folder / "mallory-link.tar.gz", [("manifest.json", tarfile.SYMTYPE, "/etc/shadow")])
    hostile(folder / "mallory-climb.tar.gz", [("nodes/../../../root/.bashrc", tarfile.REGTYPE, "")])
    hostile(folder / "mallory-device.tar.gz", [("nodes/node1/files/dev/sda", tarfile.BLKTYPE, "")])
    hostile(folder / "mallory-empty.tar.gz", [("README", tarfile.REGTYPE, "")])
    (folder / "mallory.zip").write_bytes(b"PK\x03\x04" + bytes(100))
    return folder, {"live": live}


def failed_checks(report: Path) -> set[str]:
    return {item["id"] for item in json.loads(report.read_text())["items"] if item["state"] != "passed"}


@pytest.fixture(scope="module")
def alone(submissions: tuple[Path, dict[str, object]], rubrics: dict[str, Path],
          tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted-defect archive graded on its own (an archive given instead of a folder)."""
    folder, _ = submissions
    out = tmp_path_factory.mktemp("alone")
    done = halab("grade", str(folder / "pcs-defects.tar.gz"), "--rubric", str(rubrics["pcs"]),
                 "--name-prefix", SUB, "-o", str(out))
    assert done.returncode == 1, done.stdout + done.stderr  # graded, with failed checks
    return out


@pytest.fixture(scope="module")
def batch(submissions: tuple[Path, dict[str, object]], rubrics: dict[str, Path],
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder, _ = submissions
    out = tmp_path_factory.mktemp("class")
    rubric_args = [arg for variant in rubrics for arg in ("--rubric", str(rubrics[variant]))]
    done = halab("grade", str(folder), *rubric_args, "--parallel", "3", "--name-prefix", SUB, "-o", str(out))
    return out, done


def test_collect_then_grade_on_fresh_nodes_finds_the_planted_defects(
        submissions: tuple[Path, dict[str, object]], alone: Path) -> None:
    _, found = submissions
    live = found["live"]
    assert {s.item.id for s in live.grade.items if s.state != "passed"} == PCS_FAILS  # type: ignore[attr-defined]
    assert failed_checks(alone / "pcs-defects-pcs.json") == PCS_FAILS
    members = read_archive(next(p for p in submissions[0].iterdir() if p.name == "pcs-defects.tar.gz"))
    assert b'"mode": "644"' in members["nodes/node1/node.json"], "the key's mode travels"
    assert not any(m.endswith("authkey") for m in members), "the key itself never leaves the node"


def test_a_batch_of_three_variants_gets_the_expected_grades(batch: tuple[Path, subprocess.CompletedProcess[str]],
                                                             alone: Path) -> None:
    out, done = batch
    assert done.returncode == 1, "refused archives and failed checks make the batch exit 1"
    rows = {row["Student"]: row for row in csv.DictReader((out / "class-summary.csv").open()) if row["State"] == "graded"}
    assert set(rows) == {"pcs-good", "pcs-defects", "crmsh-good", "crmsh-typo", "heartbeat-good", "heartbeat-haresources"}, done.stderr
    expected = {"pcs-good": set(), "pcs-defects": PCS_FAILS, "crmsh-good": set(),
                "crmsh-typo": {"corosync-keys-known", "corosync-two-node"},
                "heartbeat-good": set(), "heartbeat-haresources": {"haresources-identical"}}
    for student, fails in expected.items():
        variant = rows[student]["Lab"]
        assert failed_checks(out / f"{student}-{variant}.json") == fails, (student, rows[student])
        assert (rows[student]["Grade"] == rows[student]["Maximum"]) == (not fails), rows[student]
    together = json.loads((out / "pcs-defects-pcs.json").read_text())["items"]
    by_itself = json.loads((alone / "pcs-defects-pcs.json").read_text())["items"]
    assert [(i["id"], i["state"], i["awarded"]) for i in together] == [(i["id"], i["state"], i["awarded"]) for i in by_itself]
    gradebook = list(csv.DictReader((out / "gradebook.csv").open()))
    assert len(gradebook) == 6 and (out / "class-summary.html").read_text().count("<tr class=\"submission\">") == 11


def test_hostile_archives_are_refused_and_the_rest_graded(
        batch: tuple[Path, subprocess.CompletedProcess[str]], read_root_network: Callable[[], tuple[str, str]],
        root_network_before: tuple[str, str]) -> None:
    out, _ = batch
    refused = {row["Archive"]: row["Reason"] for row in csv.DictReader((out / "class-summary.csv").open())
               if row["State"] == "refused"}
    assert set(refused) == {"mallory-link.tar.gz", "mallory-climb.tar.gz", "mallory-device.tar.gz",
                            "mallory-empty.tar.gz", "mallory.zip"}
    assert "entry 'manifest.json'" in refused["mallory-link.tar.gz"] and "symbolic link" in refused["mallory-link.tar.gz"]
    assert "climbs out" in refused["mallory-climb.tar.gz"]
    assert "block device" in refused["mallory-device.tar.gz"]
    assert "manifest.json" in refused["mallory-empty.tar.gz"]
    assert "not a gzip-compressed tar" in refused["mallory.zip"]
    assert read_root_network() == root_network_before
    assert not [line for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
                if line.startswith(f"halab-{SUB}")], "every rebuilt lab was removed"


# -- hostile submissions: what a student's CIB makes the cluster run stays in the cluster -----
HOSTILE = f"{SUB}x"  # their labs: e2esubx1, e2esubx2, ...
EVIDENCE = "var/log/mallory.log"  # where the hostile tools write what they could do, in the node

# Run by crm_mon and crm_verify once a node's resource replaced them: what a tool halab runs in
# the node can do to the host. Each line that succeeds prints its word.
FAKE_TOOLS = r"""for tool in crm_mon crm_verify; do
  real=$(command -v $tool) || continue
  mv "$real" "$real.real"
  cat > "$real" <<END
#!/bin/sh
{ echo "$tool ran as uid \$(id -u)"; grep -E '^Cap(Eff|Bnd)' /proc/self/status
  date -s '2001-01-01 00:00:00' && echo CLOCK-SET
  sysctl -w vm.swappiness=SWAPPINESS && echo SYSCTL-SET
  mkdir -p /mnt/p && mount -t proc proc /mnt/p && echo '|/bin/false' > /mnt/p/sys/kernel/core_pattern && echo CORE-PATTERN-SET
  cat MARKER /proc/1/rootMARKER && echo MARKER-READ
} >> /EVIDENCE 2>&1
exec "$real.real" "\$@"
END
  chmod 755 "$real"
done"""
FORK_BOMB = "setsid sh -c 'i=0; while [ $i -lt 4000 ]; do sleep 3600 & i=$((i+1)); done' >/dev/null 2>&1 &"
DISK_FILLER = "head -c 4G /dev/zero > /var/tmp/filler 2>/dev/null; true"
# A resource whose start (and probe) sleeps for a day: the cluster's transition never ends.
SLEEPING_START = ('<primitive id="mallory-stuck" class="ocf" provider="pacemaker" type="Dummy">'
                  '<instance_attributes id="mallory-stuck-ia"><nvpair id="mallory-stuck-sleep" name="op_sleep" value="86400"/>'
                  '</instance_attributes><operations><op id="mallory-stuck-start" name="start" interval="0" timeout="90000s"/>'
                  '<op id="mallory-stuck-probe" name="monitor" interval="0" timeout="90000s"/></operations></primitive>')


def hook_clone(rid: str, payload: str) -> str:
    """A clone, so on every node, of ocf:heartbeat:anything whose monitor_hook (which the agent
    evals as the node's root) runs `payload` once: what any student's CIB may make a node do."""
    encoded = base64.b64encode(payload.encode()).decode()
    hook = f"[ -e /run/{rid}.done ] || {{ touch /run/{rid}.done; echo {encoded} | base64 -d | sh; }}; true"
    return (f'<clone id="{rid}-clone"><primitive id="{rid}" class="ocf" provider="heartbeat" type="anything">'
            f'<instance_attributes id="{rid}-ia"><nvpair id="{rid}-bin" name="binfile" value="/bin/sleep"/>'
            f'<nvpair id="{rid}-options" name="cmdline_options" value="infinity"/>'
            f'<nvpair id="{rid}-hook" name="monitor_hook" value="{html.escape(hook)}"/></instance_attributes>'
            f'<operations><op id="{rid}-monitor" name="monitor" interval="3s"/></operations></primitive></clone>')


def with_resources(xml: str) -> Callable[[dict[str, bytes]], None]:
    def change(members: dict[str, bytes]) -> None:
        for name in [m for m in members if m.endswith("/cib.xml")]:
            members[name] = members[name].replace(b"</resources>", xml.encode() + b"</resources>", 1)
    return change


class EvidenceWatch(threading.Thread):
    """From the host, the hostile tools' evidence file in the writable layer of every node of the
    hostile labs, read while they are up (they are removed once graded); bounded in time."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(daemon=True)
        self.seen: dict[str, str] = {}
        self.done = threading.Event()
        self.limit_s = limit_s

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self.done.is_set() and time.monotonic() < deadline:
            for path in (state_root() / "labs").glob(f"{HOSTILE}*/nodes/*/layer/upper/{EVIDENCE}"):
                try:
                    text = path.read_text(errors="replace")
                except OSError:
                    continue
                key = str(path)
                if len(text) > len(self.seen.get(key, "")):
                    self.seen[key] = text
            self.done.wait(0.5)


@pytest.fixture(scope="module")
def hostile_batch(submissions: tuple[Path, dict[str, object]], rubrics: dict[str, Path],
                  tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Three pcs archives whose CIBs run hostile resources, beside a clean one, graded as one
    batch with the configuration rubric (no scenario: the sleeping start would only make it
    longer), while the host's clock, a sysctl and a marker file are watched."""
    source, _ = submissions
    folder, out = tmp_path_factory.mktemp("hostile"), tmp_path_factory.mktemp("hostile-class")
    marker = tmp_path_factory.mktemp("host") / "marker"
    marker.write_text(f"host-secret-{os.getpid()}\n")
    swappiness = Path("/proc/sys/vm/swappiness").read_text().strip()
    tools = FAKE_TOOLS.replace("SWAPPINESS", str((int(swappiness) + 7) % 100)).replace("MARKER", str(marker)) \
        .replace("/EVIDENCE", "/" + EVIDENCE)
    pcs = source / "pcs-good.tar.gz"
    repacked(pcs, folder / "pcs-clean.tar.gz", "pcs-clean", lambda members: None)
    repacked(pcs, folder / "mallory-tools.tar.gz", "mallory-tools", with_resources(hook_clone("mallory", tools)))
    repacked(pcs, folder / "mallory-forks.tar.gz", "mallory-forks", with_resources(hook_clone("mallory", FORK_BOMB)))
    repacked(pcs, folder / "mallory-stuck.tar.gz", "mallory-stuck",
             with_resources(hook_clone("mallory", DISK_FILLER) + SLEEPING_START))
    rubric = yaml.safe_load(rubrics["pcs"].read_text())
    rubric["checks"] = [item for item in rubric["checks"] if not item["id"].startswith("scenario-")]
    (folder.parent / "pcs-config.yaml").write_text(yaml.safe_dump(rubric))
    watch = EvidenceWatch(limit_s=900)
    watch.start()
    wall, mono = time.time(), time.monotonic()
    done = halab("grade", str(folder), "--rubric", str(folder.parent / "pcs-config.yaml"), "--parallel", "4",
                 "--name-prefix", HOSTILE, "-o", str(out))
    took = time.monotonic() - mono
    watch.done.set()
    watch.join()
    return SimpleNamespace(out=out, done=done, took=took, clock_drift=abs((time.time() - wall) - took),
                           swappiness=swappiness, marker=marker.read_text().strip(), evidence=watch.seen,
                           rows={row["Student"]: row for row in csv.DictReader((out / "class-summary.csv").open())})


def test_hostile_resources_stay_in_their_nodes_and_are_reported(hostile_batch: SimpleNamespace,
                                                                read_root_network: Callable[[], tuple[str, str]],
                                                                root_network_before: tuple[str, str]) -> None:
    found = hostile_batch
    rows = found.rows
    assert set(rows) == {"pcs-clean", "mallory-tools", "mallory-forks", "mallory-stuck"}, found.done.stdout + found.done.stderr
    clean = rows["pcs-clean"]
    assert clean["State"] == "graded" and clean["Grade"] == clean["Maximum"], clean
    # The fake tools ran, as the node's root in the node's user namespace, and could do nothing to the host.
    evidence = "\n".join(found.evidence.values())
    assert "crm_mon ran as uid 0" in evidence, found.evidence
    effective = {int(line.split()[1], 16) for line in evidence.splitlines() if line.startswith("CapEff:")}
    assert effective and all(caps != 0x1FFFFFFFFFF for caps in effective), evidence
    for word in ("CLOCK-SET", "SYSCTL-SET", "CORE-PATTERN-SET", "MARKER-READ", found.marker):
        assert word not in evidence, (word, evidence)
    assert found.clock_drift < 5, found.clock_drift
    assert Path("/proc/sys/vm/swappiness").read_text().strip() == found.swappiness
    assert rows["mallory-tools"]["State"] == "graded", rows["mallory-tools"]
    # The fork bomb and the disk filler hit their node's limits, and the summary says so. The fork
    # bomb leaves its nodes unable to run what grading asks; the filled disk and the start that
    # never ends leave the lab's own service as it was (a fault would find the stuck transition).
    forks, stuck = rows["mallory-forks"], rows["mallory-stuck"]
    assert "task limit" in forks["Reason"] and float(forks["Grade"] or 0) < float(clean["Maximum"]), forks
    assert stuck["State"] == "graded" and "writable layer" in stuck["Reason"], stuck
    # All four at once, within one submission's deadline, and nothing left behind.
    assert found.took < 540, found.took
    assert not [line for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
                if line.startswith(f"halab-{HOSTILE}")], "every hostile lab was removed"
    assert not list((state_root() / "labs").glob(f"{HOSTILE}*/nodes/*")), "their nodes' files are gone"
    assert subprocess.run(["pgrep", "-f", "sleep 3600"], capture_output=True).returncode == 1, "the fork bomb's sleeps are gone"
    assert read_root_network() == root_network_before
