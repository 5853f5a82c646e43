"""A class split over CI jobs: stable shards, and a merge that refuses a bad split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, RubricItem
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.submissions.archive import read_archive, write_archive
from halab.submissions.batch import find_archives, grade_batch
from halab.submissions.shard import merge, parse_shard, share, shard_of, write_manifest
from halab.submissions.submission import Submission

PCS = Path(__file__).parent / "recorded" / "submission-pcs-alice.tar.gz"


def test_a_shard_depends_on_the_archive_alone() -> None:
    names = [f"student{i:03}.tar.gz" for i in range(200)]
    before = {name: shard_of(name, 20) for name in names}
    assert {shard_of(name, 20) for name in names} == set(range(1, 21))  # every job gets work
    assert max(list(before.values()).count(i) for i in range(1, 21)) < 25  # and about its share
    after = {name: shard_of(name, 20) for name in [*names[:150], *names[160:], "late.tar.gz"]}
    assert all(after[name] == before[name] for name in after if name in before)  # nobody else moves


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_one_clear_line(text: str) -> None:
    with pytest.raises(HalabError, match="is not I/N"):
        parse_shard(text)


def graded_shards(tmp_path: Path, count: int) -> tuple[list[Path], Path]:
    folder = tmp_path / "subs"
    members = read_archive(PCS)
    for student in ("alice", "bob", "carol", "dave", "erin"):
        manifest = {**json.loads(members["manifest.json"]), "student": student}
        write_archive(folder / f"{student}.tar.gz", {**members, "manifest.json": json.dumps(manifest).encode()}, 0)
    (folder / "mallory.zip").write_bytes(b"PK\x03\x04")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("lab: pcs\nchecks:\n  - {id: vip-serves, points: 2}\n")

    def grade_one(submission: Submission, name: str, path: Path) -> tuple[GradingRun, tuple[str, ...]]:
        loaded = Rubric(path, "pcs", (RubricItem("vip-serves", 2),))
        results = (CheckResult("vip-serves", "The VIP serves", "failed" if submission.student == "bob" else "passed"),)
        return GradingRun(name, loaded, results, score(loaded, results), {}), ()

    archives, outs = find_archives(folder), []
    for index in range(1, count + 1):
        out = tmp_path / f"out{index}"
        outcomes = grade_batch(share(archives, index, count), out, rubrics={"pcs": rubric}, parallel=1,
                               name_prefix="tst", grade_one=grade_one)
        write_manifest(out, index, count, archives,
                       [(o.archive.name, o.student, o.reason) for o in outcomes if o.state == "refused"])
        outs.append(out)
    return outs, folder


def test_merged_shards_make_one_gradebook_and_summary(tmp_path: Path) -> None:
    outs, _ = graded_shards(tmp_path, 3)
    paths = merge(outs, tmp_path / "class")
    book = {r["Username"]: r["Lab pcs (points)"] for r in csv.DictReader(paths["gradebook"].open())}
    assert book == {"alice": "2", "bob": "0", "carol": "2", "dave": "2", "erin": "2"}
    summary = {r["Archive"]: r["State"] for r in csv.DictReader(paths["summary_csv"].open())}
    assert summary["mallory.zip"] == "refused" and len(summary) == 6
    readable = [p for out in outs for p in out.rglob("*") if p.is_file() and p.stat().st_mode & 0o004]
    assert not readable, readable  # reports, ledger entries and manifests name students: 0640


def test_a_missing_or_doubled_shard_is_refused(tmp_path: Path) -> None:
    outs, _ = graded_shards(tmp_path, 3)
    with pytest.raises(HalabError, match="shard 2/3 missing"):
        merge([outs[0], outs[2]], tmp_path / "class")
    with pytest.raises(HalabError, match="shard 1/3 given more than once"):
        merge([outs[0], outs[0], outs[1], outs[2]], tmp_path / "class")
    with pytest.raises(HalabError, match="holds no shard.json"):
        merge([*outs, tmp_path], tmp_path / "class")
    assert not (tmp_path / "class").exists()  # nothing written
