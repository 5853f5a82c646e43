"""Batch grading without labs: how many at once, the rebuild planned from recorded archives,
secrets and CIB prepared for the new nodes, and one broken submission among good ones."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, RubricItem
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.plan import available_labs, load_plan
from halab.submissions.archive import read_archive, write_archive
from halab.submissions.batch import default_parallelism, find_archives, grade_batch
from halab.scenarios.load import load_scenarios
from halab.submissions.rebuild import authkeys_with_keys, cib_to_load, derived_key, plan_rebuild, write_plan
from halab.submissions.submission import Interface, Submission, from_members

RECORDED = Path(__file__).parent / "recorded"
PCS, HEARTBEAT = RECORDED / "submission-pcs-alice.tar.gz", RECORDED / "submission-heartbeat-bob.tar.gz"


def load(path: Path) -> Submission:
    return from_members(path, read_archive(path), tuple(available_labs()))


def test_parallelism_follows_cores_then_memory() -> None:
    assert default_parallelism(["pcs"], cores=2, available_mib=20_000) == 8
    assert default_parallelism(["pcs"], cores=1, available_mib=20_000) == 4
    assert default_parallelism(["pcs"], cores=64, available_mib=20_000) == 8
    assert default_parallelism(["pcs", "heartbeat"], cores=8, available_mib=1024 + 2 * 620 + 100) == 2
    assert default_parallelism(["heartbeat"], cores=8, available_mib=1024 + 2 * 60 + 10) == 2
    assert default_parallelism(["pcs"], cores=8, available_mib=500) == 1


def test_the_rebuild_plan_of_a_recorded_pcs_archive_is_the_lab_it_came_from(tmp_path: Path) -> None:
    rebuild = plan_rebuild(load(PCS), load_plan("pcs"))
    plan = write_plan(rebuild, load_plan("pcs"), tmp_path)
    original = load_plan("pcs")
    assert plan.name == "pcs" and plan.stack == "pacemaker" and plan.vip == original.vip
    assert plan.nodes == original.nodes and plan.router.address == original.router.address
    assert plan.client == original.client and plan.expectations == original.expectations
    assert rebuild.notes == ()
    assert [s.id for s in load_scenarios(plan)] == [s.id for s in load_scenarios(original)] != [], \
        "the rubric's scenario checks find the lab's scenarios beside the rebuilt plan"


def test_a_students_own_network_is_rebuilt_with_the_vip_of_the_configuration() -> None:
    """Heartbeat on the student's 10.0.5.0/24 (not the sheet's), interface ens18, cloned MACs,
    and a manifest without a VIP: the VIP comes from haresources."""
    submission = load(HEARTBEAT)
    moved = []
    for index, node in enumerate(submission.nodes):
        address = IPv4Interface(f"10.0.5.{11 + index}/24")
        haresources = b"srv IPaddr::10.0.5.200/24/ens18:0 apache2\n"
        moved.append(replace(node, interfaces=(Interface("lo0", "", ()), Interface("ens18", "08:00:27:00:00:01",
                                               (address, *((IPv4Interface("10.0.5.200/24"),) if index == 0 else ()))),),
                             gateway=IPv4Address("10.0.5.1"),
                             files=tuple((p, haresources if p.endswith("haresources") else d) for p, d in node.files)))
    rebuild = plan_rebuild(replace(submission, vip=None, nodes=tuple(moved)), load_plan("heartbeat"))
    assert str(rebuild.subnet) == "10.0.5.0/24" and str(rebuild.vip) == "10.0.5.200"
    assert [(n.name, str(n.address), n.interface) for n in rebuild.nodes] == [
        ("srv", "10.0.5.11/24", "ens18"), ("srv-slave", "10.0.5.12/24", "ens18")]
    assert len({n.mac for n in rebuild.nodes}) == 2 and str(rebuild.router) == "10.0.5.1"
    assert [n.page_marker for n in rebuild.nodes] == ["Serveur Master", "Serveur Slave"]
    assert any("configuration" in note for note in rebuild.notes) and any("MAC" in note for note in rebuild.notes)


def test_nodes_on_two_networks_or_public_addresses_are_not_rebuilt() -> None:
    submission = load(PCS)
    first, second = submission.nodes
    apart = replace(second, interfaces=(Interface("eth0", "52:54:00:00:00:02", (IPv4Interface("192.168.57.20/24"),)),))
    with pytest.raises(HalabError, match="not on one subnet"):
        plan_rebuild(replace(submission, nodes=(first, apart)), load_plan("pcs"))
    public = [replace(n, interfaces=(Interface("eth0", f"52:54:00:00:00:0{i}", (IPv4Interface(f"8.8.8.{i}/24"),)),))
              for i, n in enumerate(submission.nodes, start=1)]
    with pytest.raises(HalabError, match="not a private IPv4 subnet"):
        plan_rebuild(replace(submission, nodes=tuple(public)), load_plan("pcs"))


def test_a_fencing_submission_is_refused_rather_than_graded_on_a_rebuild_without_bmcs_or_quorum_device() -> None:
    with pytest.raises(HalabError) as error:
        plan_rebuild(load(PCS), load_plan("fencing"))
    assert error.value.what.startswith("a fencing submission cannot be rebuilt from its archive yet")
    for need in ("virtual BMCs", "quorum device", "second network"):
        assert need in error.value.what
    assert "over SSH" in error.value.fix


def test_keys_are_derived_from_hashes_equal_for_equal() -> None:
    assert derived_key("a" * 64) == derived_key("a" * 64) != derived_key("b" * 64)
    assert len(derived_key("a" * 64)) == 256
    text = authkeys_with_keys(b"auth 1\n1 sha1 halab-sha256:" + b"a" * 64 + b"\n").decode()
    assert text == f"auth 1\n1 sha1 {derived_key('a' * 64, 20).hex()}\n"


def test_the_cib_to_load_has_no_status_and_a_newer_epoch() -> None:
    cib = load(PCS).nodes[0].cib or ""
    prepared = ET.fromstring(cib_to_load(cib, current_epoch=40))
    assert prepared.find("status") is None and prepared.find("configuration/resources/group") is not None
    assert prepared.get("epoch") == "41" and prepared.get("num_updates") == "0" and "dc-uuid" not in prepared.attrib
    assert ET.fromstring(cib_to_load(cib, current_epoch=2)).get("epoch") == ET.fromstring(cib).get("epoch")


def fake_run(student: str) -> GradingRun:
    rubric = Rubric(Path("rubric.yaml"), "pcs", (RubricItem("vip-serves", 2), RubricItem("apache-disabled-at-boot", 1)))
    results = (CheckResult("vip-serves", "The VIP serves", "passed"),
               CheckResult("apache-disabled-at-boot", "Apache", "failed" if student == "bob" else "passed", "enabled"))
    return GradingRun(student, rubric, results, score(rubric, results), {})


def test_one_broken_submission_never_stops_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_HOME", str(tmp_path / "state"))
    folder = tmp_path / "submissions"
    members = read_archive(PCS)
    for student in ("alice", "bob", "carol"):
        manifest = {**json.loads(members["manifest.json"]), "student": student}
        write_archive(folder / f"{student}.tar.gz", {**members, "manifest.json": json.dumps(manifest).encode()}, 0)
    (folder / "dave.zip").write_bytes(b"PK\x03\x04")
    write_archive(folder / "alice2.tar.gz", members, 0)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("lab: pcs\nchecks:\n  - {id: vip-serves, points: 2}\n")

    def grade_one(submission: Submission, lab: str, path: Path) -> tuple[GradingRun, tuple[str, ...]]:
        assert lab.startswith("tst") and path == rubric
        if submission.student == "carol":
            raise RuntimeError("her node would not boot")
        return fake_run(submission.student), ()

    out = tmp_path / "class"
    outcomes = grade_batch(find_archives(folder), out, rubrics={"pcs": rubric}, parallel=2, name_prefix="tst",
                           grade_one=grade_one)
    states = {o.archive.name: (o.student, o.state) for o in outcomes}
    assert states == {"alice.tar.gz": ("alice", "graded"), "bob.tar.gz": ("bob", "graded"),
                      "carol.tar.gz": ("carol", "failed"), "dave.zip": ("dave", "refused"),
                      "alice2.tar.gz": ("alice", "refused")}
    summary = list(csv.DictReader((out / "class-summary.csv").open()))
    assert [(r["Student"], r["State"]) for r in summary] == [("alice", "graded"), ("alice", "refused"), ("bob", "graded"),
                                                             ("carol", "failed"), ("dave", "refused")]
    reasons = {r["Archive"]: r["Reason"] for r in summary}
    assert "not a gzip-compressed tar" in reasons["dave.zip"] and "her node would not boot" in reasons["carol.tar.gz"]
    assert "already handed in alice.tar.gz" in reasons["alice2.tar.gz"]
    book = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [(r["Username"], r["Lab pcs (points)"], r["Lab pcs feedback"]) for r in book] == [
        ("alice", "3", "3 / 3 points (100.0 %)"), ("bob", "2", "2 / 3 points (66.7 %)")]
    page = (out / "class-summary.html").read_text()
    assert "5 submissions: 2 graded, 2 refused, 1 could not be graded" in page and 'href="alice-pcs.html"' in page
    assert (out / "bob-pcs.html").exists()


def test_a_batch_writes_as_it_goes_and_resume_grades_only_what_changed(tmp_path: Path) -> None:
    """Each student's reports and the class files exist as soon as that student is graded; a
    second run with --resume grades only the archive that changed."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for student in ("alice", "bob"):
        members = dict(read_archive(PCS))
        manifest = json.loads(members["manifest.json"])
        members["manifest.json"] = json.dumps({**manifest, "student": student}).encode()
        write_archive(folder / f"{student}.tar.gz", members, 0)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("lab: pcs\nchecks:\n  - id: vip-serves\n    points: 2\n")
    out = tmp_path / "class"
    graded: list[str] = []

    def grade_one(submission: Submission, name: str, path: Path) -> tuple[GradingRun, tuple[str, ...]]:
        if graded:  # the first one's files are already on disk when the second starts
            assert (out / f"{graded[0]}-pcs.html").exists() and graded[0] in (out / "gradebook.csv").read_text()
        graded.append(submission.student)
        loaded = Rubric(path, "pcs", (RubricItem("vip-serves", 2),))
        results = (CheckResult("vip-serves", "The VIP serves", "passed"),)
        return GradingRun(name, loaded, results, score(loaded, results), {}), ()

    grade_batch(find_archives(folder), out, rubrics={"pcs": rubric}, parallel=1, name_prefix="tst", grade_one=grade_one)
    assert graded == ["alice", "bob"]
    members = dict(read_archive(folder / "bob.tar.gz"))
    members["nodes/node1/files/etc/hosts"] += b"# edited\n"
    write_archive(folder / "bob.tar.gz", members, 0)
    outcomes = grade_batch(find_archives(folder), out, rubrics={"pcs": rubric}, parallel=1, name_prefix="tst",
                           grade_one=grade_one, resume=True)
    assert graded == ["alice", "bob", "bob"]
    assert [(o.student, o.state, o.run.grade.awarded if o.run else None) for o in outcomes] == [
        ("alice", "graded", 2.0), ("bob", "graded", 2.0)]
    assert [r["Username"] for r in csv.DictReader((out / "gradebook.csv").open())] == ["alice", "bob"]
