import csv
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, RubricItem
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.report.grade_reports import append_gradebook, html_report, junit_report, write_grade_reports

RUBRIC = Rubric(Path("rubric.yaml"), "pcs", (
    RubricItem("apache-disabled-at-boot", 2), RubricItem("stonith-policy", 1),
    RubricItem("fault-power-off", 4), RubricItem("authkeys-private", 1),
))
RESULTS = (
    CheckResult("apache-disabled-at-boot", "Apache is left to the cluster", "failed", "Apache starts at boot on node2",
                "systemctl is-enabled apache2 -> node2: enabled", "systemctl disable apache2 on every node"),
    CheckResult("stonith-policy", "STONITH as the lab demands", "error", "could not observe: node2 unreachable"),
    CheckResult("fault-power-off", "The cluster survives the fault (power-off)", "passed"),
    CheckResult("authkeys-private", "authkeys is private", "not-applicable", "not a heartbeat lab"),
)
TIMELINE = {"power-off": {
    "run": {"fault": "power-off", "injected_at": 100.0, "healed_at": 110.0, "budget_s": 11.6},
    "samples": [{"start": 98 + i * 0.5, "end": 98.1 + i * 0.5, "outcome": "ok" if not 100 < 98 + i * 0.5 < 107 else "refused",
                 "node": ("node1" if 98 + i * 0.5 <= 100 else "node2")} for i in range(30)],
}}
RUN = GradingRun("grd", RUBRIC, RESULTS, score(RUBRIC, RESULTS), TIMELINE)


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


def test_the_html_page_explains_each_check_and_plots_the_fault() -> None:
    page = Collect()
    page.feed(html_report("alice", RUN))
    assert {"grade", "summary", "apache-disabled-at-boot", "fault-power-off"} <= set(page.ids)
    text = " ".join(page.text)
    assert "provisional: 4 / 7 points (57.1 %); 1 points not observed (could not observe: node2 unreachable)" in text
    assert "systemctl disable apache2 on every node" in text and "could not observe: node2 unreachable" in text
    assert page.tags.count("svg") == 1 and page.tags.count("rect") > 30  # samples + the shaded fault window


def test_junit_has_one_case_per_check_in_three_states() -> None:
    suite = ET.fromstring(junit_report("alice", RUN)).find("testsuite")
    assert suite is not None and suite.get("name") == "alice / pcs"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == {item.id for item in RUBRIC.items}
    assert cases["apache-disabled-at-boot"].find("failure") is not None
    assert cases["stonith-policy"].find("error") is not None
    assert cases["authkeys-private"].find("skipped") is not None
    assert "node2: enabled" in (cases["apache-disabled-at-boot"].findtext("system-out") or "")


def test_gradebook_rows_accumulate_for_the_class(tmp_path: Path) -> None:
    book = tmp_path / "gradebook.csv"
    append_gradebook(book, "alice", RUN)
    append_gradebook(book, "bob", RUN)
    rows = list(csv.DictReader(book.open()))
    assert [r["Student"] for r in rows] == ["alice", "bob"]
    assert (rows[0]["Grade"], rows[0]["Maximum"], rows[0]["Points not observed"]) == ("4", "7", "1")


def test_every_report_is_written(tmp_path: Path) -> None:
    paths = write_grade_reports(tmp_path, "alice", RUN)
    assert all(path.exists() and path.stat().st_size > 100 for path in paths.values())
