"""Every report page as a teacher opens it: rendered from recorded grading results, loaded by a
real headless Chromium (Debian's, offline: every host name resolves to nothing), and judged on
what the browser shows. Screenshots are kept under reports/screenshots/ as test artefacts.

Needs Debian's chromium (install.sh installs it); skipped with that reason without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from graded_runs import a_class, full_marks, no_recovery_run, provisional, with_failures
from halab.paths import reports_dir
from halab.report.grade_reports import write_grade_reports
from halab.submissions.batch import write_class_files, write_student_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium to load the pages: apt-get install chromium (install.sh does)")
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--proxy-server=127.0.0.1:9"]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*https?:|url\(\s*["']?https?:""", re.IGNORECASE)


def chromium(page: Path, *options: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([str(CHROMIUM), *OFFLINE, f"--user-data-dir={profile}", *options, page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def shown(page: Path, screenshot: str, height: int = 2400) -> str:
    """The DOM as the browser built it (scripts run), and a screenshot kept for people to look at."""
    folder = reports_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    chromium(page, f"--screenshot={folder / screenshot}", f"--window-size=1200,{height}")
    assert (folder / screenshot).stat().st_size > 10_000
    dom = chromium(page, "--dump-dom")
    assert "<body" in dom and not EXTERNAL.search(dom), "the page must not ask the network for anything"
    return dom


def text(dom: str) -> str:
    """What a reader sees, roughly: tags gone, entities and spaces collapsed."""
    words = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    words = re.sub(r"</?(?:a|strong|code|span|em)\b[^>]*>", "", words)  # inline: no break
    words = re.sub(r"<[^>]+>", " ", words).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return " ".join(words.replace("&nbsp;", " ").split())


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    runs = {"pass": ("alice.martin", full_marks()), "fail": ("a.martin@school.fr", with_failures()),
            "no-recovery": ("bob", no_recovery_run()), "provisional": ("carol", provisional())}
    found = {kind: write_grade_reports(out, student, run, backend="local", duration_s=312.0)["html"]
             for kind, (student, run) in runs.items()}
    outcomes = a_class(6, out / "submissions")
    for outcome in outcomes:
        write_student_reports(out / "class", outcome)
    found["class"] = write_class_files(out / "class", outcomes)["summary_html"]
    return found


def test_the_header_says_who_what_which_rubric_when_and_the_grade(pages: dict[str, Path]) -> None:
    seen = text(shown(pages["pass"], "report-pass.png"))
    for field in ("alice.martin: the pcs lab", "Lab rp1 (variant pcs)", "Rubric labs/pcs/rubric.yaml (sha256",
                  "halab version", "Backend local", "Graded 20", "in 5 min 12 s", "12 / 12 points (100.0 %)", "final"):
        assert field in seen, field


def test_failures_come_before_passes_and_a_split_brain_is_called_one(pages: dict[str, Path]) -> None:
    dom = shown(pages["fail"], "report-split-brain.png", height=3200)
    seen = text(dom)
    assert seen.index("What lost points") < seen.index("What passed")
    assert seen.index("Apache is left to the cluster") < seen.index("Each node's name (uname -n)")
    assert "split brain: node1 and node2 both served the VIP for 6.6 s" in seen
    assert "Downtime 3.200 s, within the budget" in seen and "failover to node2 after 9.2 s" in seen
    assert "both answered: split brain" in seen  # the hatched stretch, in the plot's legend


def test_the_timeline_has_an_axis_in_seconds_with_numbers(pages: dict[str, Path]) -> None:
    dom = shown(pages["fail"], "report-fail-top.png", height=1400)
    plots = re.findall(r"<svg.*?</svg>", dom, flags=re.S)
    assert len(plots) == 3
    axis = text(plots[0])
    assert "seconds from the fault's injection" in axis and "injected" in axis and "healed" in axis
    assert re.search(r"\b0\.0\b.*\b2\.5\b", axis), "tick labels in seconds"
    assert re.search(r"outage \d+\.\d{3} s", axis), "the gap is labelled with its length, to the ms"


def test_no_recovery_is_said_with_what_was_missing(pages: dict[str, Path]) -> None:
    seen = text(shown(pages["no-recovery"], "report-no-recovery.png"))
    assert "no recovery: nobody served the VIP again during the 20.0 s the fault was held" in seen
    assert "Recovery 90 s after the fault was healed the cluster was still not whole and serving: node2 offline" in seen
    assert "outage 2" in seen and "(not recovered)" in seen


def test_a_provisional_grade_is_shown_as_such(pages: dict[str, Path]) -> None:
    seen = text(shown(pages["provisional"], "report-provisional.png"))
    assert "11 / 12 points (91.7 %) provisional 1 points not observed: could not observe: node2 did not answer" in seen
    assert seen.index("What passed") < seen.index("Not observed: the harness could not look")


def test_the_class_summary_shows_the_matrix_the_losses_and_the_refusals(pages: dict[str, Path]) -> None:
    dom = shown(pages["class"], "class-summary.png", height=2600)
    seen = text(dom)
    assert "8 submissions: 6 graded, 1 refused, 1 could not be graded" in seen
    assert "2 of 6 lost “Apache is left to the cluster, not started at boot”" in seen
    assert "mallory.zip: refused: not a gzip-compressed tar archive" in seen and "node2 did not boot within 60 s" in seen
    assert "grade (% of the points at stake)" in seen and "downtime (seconds; red: median)" in seen
    assert dom.count('class="cell failed"') == 2 * 3 + 1  # with_failures twice (3 lost), no_recovery once
