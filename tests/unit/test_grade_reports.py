"""The student's report, its JUnit, the gradebook and the terminal table, from recorded grading
results (tests/unit/graded_runs.py). The pages themselves are checked in a browser in
test_reports_in_browser.py."""

import csv
import dataclasses
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from junitparser import Error, Failure, Skipped
from junitparser.xunit2 import JUnitXml

from graded_runs import a_class, full_marks, no_recovery_run, provisional, split_brain, with_failures, failover
from halab.errors import HalabError
from halab.grading.results import CheckResult
from halab.grading.score import score
from halab.report.faults import fault_story
from halab.report.grade_reports import Occasion, html_report, write_grade_reports
from halab.report.gradebook import update_gradebook, write_gradebook
from halab.report.terminal import print_grade
from halab.report.view import student_view

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml validates the JUnit against its schema: pip install -e '.[test]'")
SCHEMA = Path(__file__).with_name("junit.xsd")
INLINE = {"a", "code", "strong", "span", "em"}


class Page(HTMLParser):
    """The text of a page, and the ids of its elements in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag not in INLINE:  # a block starts: a browser shows a break there
            self.text.append(" ")
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def test_the_header_says_who_what_when_and_the_grade() -> None:
    page = Page(html_report("a.martin@school.fr", with_failures(), Occasion("a.martin@school.fr", "local", 1.7e9, 312.0)))
    for shown in ("a.martin@school.fr: the pcs lab", "rp2 (variant pcs)", "labs/pcs/rubric.yaml (sha256 ",
                  "version ", "local", "in 5 min 12 s", "8 / 12 points (66.7 %)", "final"):
        assert shown in page.words, shown


def test_failures_come_first_most_points_lost_first_then_passed_then_the_rest() -> None:
    view = student_view(Occasion("carol"), dataclasses.replace(with_failures()))
    assert [c.state for c in view.checks] == ["failed"] * 3 + ["passed"] * 5
    assert [c.id for c in view.checks][:3] == ["apache-disabled-at-boot", "stonith-policy", "fault-cut-link"]
    page = Page(html_report("a.martin", with_failures()))
    assert page.ids.index("apache-disabled-at-boot") < page.ids.index("hostnames-match-the-plan")
    assert page.ids.index("group-failed") < page.ids.index("group-passed")


def test_a_failed_check_shows_title_points_lost_evidence_fix_and_concept() -> None:
    words = Page(html_report("a.martin", with_failures())).words
    assert "Apache is left to the cluster, not started at boot failed: 0 / 2 points, 2 lost. Apache starts at boot on node2" in words
    assert "systemctl is-enabled apache2 -> node1: disabled, node2: enabled" in words
    assert "How to fix: systemctl disable apache2 (on node2)" in words
    assert "Concept: The cluster, not systemd, starts Apache, in the course: 001_7d9d04c47dcbe0b5.txt, § 6." in words


def test_a_provisional_grade_says_so_and_why() -> None:
    run = provisional()
    words = Page(html_report("carol", run)).words
    assert "11 / 12 points (91.7 %) provisional 1 points not observed: could not observe: node2 did not answer" in words
    assert run.grade.summary.startswith("provisional: 11 / 12 points (91.7 %)")


@pytest.mark.parametrize("timeline, words", [
    (failover("power-off", 100.0, 7.5), "failover to node2 after 7.6 s"),
    (split_brain(100.0), "split brain: node1 and node2 both served the VIP for 6.6 s"),
    (no_recovery_run().timelines["power-off"],
     "no recovery: nobody served the VIP again during the 20.0 s the fault was held; the cluster did not recover after the heal"),
])
def test_each_fault_is_told_in_words(timeline: dict, words: str) -> None:
    assert fault_story(timeline).words == words


def test_a_fault_shows_downtime_in_ms_its_budget_and_its_source_and_who_served() -> None:
    words = Page(html_report("a.martin", with_failures())).words
    assert "Downtime 3.200 s, within the budget" in words
    assert ("Budget 11.6 s: the time the cluster takes to declare a silent node dead plus the lab's allowance to start "
            "the service; read from the student's running configuration: corosync token 3000 ms + consensus 3600 ms") in words
    assert "Served before: node1; during: node2; after: node1" in words
    assert "seconds from the fault's injection" in words  # the plot's axis, kept as text


def test_evidence_is_escaped_never_markup() -> None:
    run = with_failures()
    hostile = dataclasses.replace(run.results[1], evidence="<script>alert(1)</script>")
    results = tuple(hostile if r.id == hostile.id else r for r in run.results)
    page = html_report("a.martin", dataclasses.replace(run, results=results, grade=score(run.rubric, results)))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_junit_is_valid_and_carries_times_families_points_and_the_fix(tmp_path: Path) -> None:
    path = write_grade_reports(tmp_path, "carol", provisional(), backend="local", duration_s=312.5)["junit"]
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(SCHEMA)))
    document = lxml_etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    suite = next(iter(JUnitXml.fromfile(str(path))))
    assert suite.name == "carol / pcs" and suite.hostname and suite.timestamp and suite.time == 312.5
    assert {p.name: p.value for p in suite.properties()}["provisional"] == "true"
    cases = {case.name: case for case in suite}
    assert cases["corosync-crypto-on"].classname == "pcs.corosync" and cases["fault-power-off"].classname == "pcs.faults"
    assert cases["fault-power-off"].time == 19.0  # injection to recovery, not the check's own run
    assert {p.name: p.value for p in cases["corosync-crypto-on"].properties()}["points"] == "1"
    assert isinstance(cases["corosync-crypto-on"].result[0], Error)
    failed = next(iter(JUnitXml.fromfile(str(write_grade_reports(tmp_path, "a.martin", with_failures())["junit"]))))
    failure = {case.name: case for case in failed}["apache-disabled-at-boot"].result[0]
    assert isinstance(failure, Failure)
    assert failure.message == ("Apache starts at boot on node2; seen: systemctl is-enabled apache2 -> node1: disabled, "
                               "node2: enabled; fix: systemctl disable apache2 (on node2)")
    run = full_marks()
    results = tuple(CheckResult(r.id, r.title, "not-applicable", "this backend cannot power a node back on")
                    if r.id == "fault-power-off" else r for r in run.results)
    graded = dataclasses.replace(run, results=results, grade=score(run.rubric, results))
    cases = {case.name: case for case in next(iter(JUnitXml.fromfile(str(write_grade_reports(tmp_path, "x", graded)["junit"]))))}
    assert isinstance(cases["fault-power-off"].result[0], Skipped)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_the_gradebook_is_one_row_per_student_one_column_per_lab_and_a_regrade_replaces(tmp_path: Path) -> None:
    book = tmp_path / "gradebook.csv"
    heartbeat = lambda run: dataclasses.replace(run, rubric=dataclasses.replace(run.rubric, lab="heartbeat"))  # noqa: E731
    update_gradebook(book, "alice.martin@school.fr", with_failures(), "email")
    update_gradebook(book, "a.martin@school.fr", provisional(), "email")
    update_gradebook(book, "bob.durand@school.fr", full_marks(), "email")
    update_gradebook(book, "alice.martin@school.fr", heartbeat(full_marks()), "email")  # a second lab: a column
    update_gradebook(book, "alice.martin@school.fr", full_marks(), "email")  # a regrade: the cell replaced
    header = book.read_text().splitlines()[0]
    assert header == ("Email address,Lab pcs (points),Lab pcs feedback,Lab heartbeat (points),Lab heartbeat feedback")
    rows = _rows(book)
    assert [r["Email address"] for r in rows] == ["alice.martin@school.fr", "a.martin@school.fr", "bob.durand@school.fr"]
    assert (rows[0]["Lab pcs (points)"], rows[0]["Lab heartbeat (points)"]) == ("12", "12")
    assert rows[1]["Lab pcs (points)"] == "11" and rows[1]["Lab pcs feedback"].startswith("provisional: 11 / 12 points")
    assert rows[1]["Lab heartbeat (points)"] == "" and rows[2]["Lab pcs feedback"] == "12 / 12 points (100.0 %)"


def test_the_gradebook_refuses_what_moodle_could_not_map(tmp_path: Path) -> None:
    book = tmp_path / "gradebook.csv"
    with pytest.raises(HalabError, match="not an e-mail address"):
        update_gradebook(book, "alice.martin", full_marks(), "email")
    update_gradebook(book, "alice.martin", full_marks(), "username")
    with pytest.raises(HalabError, match="identifies students by 'Username', not 'ID number'"):
        update_gradebook(book, "20231234", full_marks(), "idnumber")


def test_a_batch_gradebook_has_a_row_per_graded_student(tmp_path: Path) -> None:
    outcomes = a_class(3, tmp_path)
    path = write_gradebook(tmp_path / "gradebook.csv", [(o.student, o.run) for o in outcomes if o.run], "username")
    assert [(r["Username"], r["Lab pcs (points)"]) for r in _rows(path)] == [("student00", "12"), ("student01", "8"), ("student02", "10")]


def test_the_terminal_table_puts_failures_first_and_says_provisional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = io.StringIO()
    print_grade(student_view(Occasion("carol"), provisional()), file=out)
    assert "carol: provisional: 11 / 12 points (91.7 %); 1 points not observed" in " ".join(out.getvalue().split())
    out = io.StringIO()
    print_grade(student_view(Occasion("a.martin"), with_failures()), file=out)
    assert out.getvalue().index("failed") < out.getvalue().index("passed")
    assert "split brain: node1 and node2 both served the VIP for 6.6 s" in out.getvalue()


def test_every_report_is_written(tmp_path: Path) -> None:
    paths = write_grade_reports(tmp_path, "alice.martin", no_recovery_run())
    assert all(path.exists() and path.stat().st_size > 100 for path in paths.values())
    assert paths["html"].name == "alice.martin-pcs.html"


def test_junit_holds_evidence_with_control_characters(tmp_path: Path) -> None:
    # a command's output can carry a terminal's escapes or a NUL: the report is still written
    run = with_failures()
    noisy = dataclasses.replace(next(r for r in run.results if r.id == "apache-disabled-at-boot"), evidence="\x1b[1mfailed\x1b[0m\x00 (pcsd)", message="not\x07ok")
    results = tuple(noisy if r.id == noisy.id else r for r in run.results)
    graded = dataclasses.replace(run, results=results, grade=score(run.rubric, results))
    path = write_grade_reports(tmp_path, "noisy", graded)["junit"]
    failure = {case.name: case for case in next(iter(JUnitXml.fromfile(str(path))))}["apache-disabled-at-boot"].result[0]
    assert "\ufffd[1mfailed\ufffd[0m\ufffd (pcsd)" in failure.message and "not\ufffdok" in failure.message
