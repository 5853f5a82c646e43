"""The class summary: the matrix of students x checks (HTML and CSV), what the class lost most,
the grade distribution, refusals with their reason, and submissions that look copied."""

import csv
import dataclasses
import io
from pathlib import Path

from graded_runs import a_class
from halab.submissions.archive import read_archive
from halab.submissions.likeness import likenesses
from halab.submissions.submission import from_members
from halab.submissions.summary import summary_csv, summary_html

RECORDED = Path(__file__).with_name("recorded")


def test_the_csv_is_one_row_per_archive_then_one_column_per_check(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(summary_csv(a_class(4, tmp_path)))))
    assert [r["Student"] for r in rows] == ["student00", "student01", "student02", "student03", "mallory", "dave"]
    assert rows[1]["apache-disabled-at-boot"] == "failed" and rows[0]["apache-disabled-at-boot"] == "passed"
    assert rows[3]["corosync-crypto-on"] == "not-observed" and rows[3]["Provisional"] == "yes"
    assert rows[4]["State"] == "refused" and "not a gzip-compressed tar" in rows[4]["Reason"] and rows[4]["vip-serves"] == ""


def test_the_page_says_what_the_class_lost_and_how_grades_spread(tmp_path: Path) -> None:
    page = summary_html(a_class(8, tmp_path), tmp_path)
    assert "<strong>2 of 8</strong> lost “Apache is left to the cluster, not started at boot”" in page
    assert "median 87.5, mean 85.4, min 66.7, max 100.0" in page
    assert "2 provisional" in page and "mallory.zip: refused: not a gzip-compressed tar archive" in page
    assert page.count('<tr class="submission">') == 10 and '<table id="heatmap"' in page
    assert "seconds" in page and "downtime" in page.lower()


def test_shared_secrets_macs_and_cib_are_flagged_side_by_side() -> None:
    path = RECORDED / "submission-pcs-alice.tar.gz"
    alice = from_members(path, read_archive(path), ("pcs", "crmsh", "heartbeat"))
    bob = dataclasses.replace(alice, student="bob")
    flags = {flag.what: flag.students for flag in likenesses({"alice": alice, "bob": bob})}
    assert flags.get("the same corosync authkey") == ("alice", "bob")
    assert flags.get("the same MAC address") == ("alice", "bob")
    assert flags.get("an identical CIB (node names aside)") == ("alice", "bob")
    assert likenesses({"alice": alice}) == []
