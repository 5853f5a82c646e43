"""JUnit XML of a graded lab, for CI servers (Jenkins, GitLab): one suite per student and lab,
with its timestamp, hostname and the grade as properties; one case per check, with its time,
its family as classname, its points as properties, and for a lost check a failure whose
message is what was seen and the fix.

Written with junitparser's xunit2 flavour (Jenkins' junit-10 schema, plus properties on a test
case as pytest writes them): junit-xml has no properties on a test case.
"""

from __future__ import annotations

import io
import re
import socket
import time

from junitparser import Error, Failure, Skipped
from junitparser.xunit2 import JUnitXml, TestCase, TestSuite

from halab.report.view import CheckView, Occasion, StudentView

# What XML 1.0 cannot hold (a command's output may carry a NUL or a terminal's escapes): lxml
# refuses it, so it is shown as U+FFFD instead.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML cannot hold replaced."""
    return NOT_XML.sub("\ufffd", text)


def junit_report(view: StudentView, occasion: Occasion) -> str:
    h = view.header
    suite = TestSuite(f"{h.student} / {h.variant}")
    suite.timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(occasion.started_at))
    suite.hostname = socket.gethostname()
    for name, value in (("student", h.student), ("lab", h.lab), ("variant", h.variant), ("rubric", h.rubric),
                        ("rubric_sha256", h.rubric_sha256), ("halab_version", h.halab_version), ("backend", h.backend),
                        ("grade", h.summary), ("awarded", f"{h.awarded:g}"), ("total", f"{h.total:g}"),
                        ("provisional", str(h.provisional).lower())):
        suite.add_property(name, xml_text(value))
    for check in view.checks:
        suite.add_testcase(_case(check, h.variant))
    xml = JUnitXml("halab grading")
    xml.add_testsuite(suite)
    xml.update_statistics()
    suite.time = xml.time = round(h.duration_s, 3)  # the grading run's own time, not the sum of its checks
    out = io.BytesIO()
    xml.write(out, pretty=True)
    return out.getvalue().decode()


def _case(check: CheckView, variant: str) -> TestCase:
    case = TestCase(check.id, classname=f"{variant}.{check.family}", time=round(check.duration_s, 3))
    for name, value in (("title", check.title), ("state", check.state), ("points", f"{check.points:g}"),
                        ("awarded", f"{check.awarded:g}"), ("lost", f"{check.lost:g}")):
        case.add_property(name, xml_text(value))
    what = xml_text(check.note or check.message)
    lines = [xml_text(line) for line in (what, check.message if check.message != what else "",
                                         f"seen: {check.evidence}" if check.evidence else "",
                                         f"fix: {check.fix}" if check.fix else "") if line]
    if check.state == "failed":
        result: Failure | Error | Skipped = Failure("; ".join(lines), "failed")
        result.text = "\n".join(lines)
        case.result = [result]
    elif check.state == "not-observed":
        result = Error("; ".join(lines), "not-observed")
        result.text = "\n".join(lines)
        case.result = [result]
    elif check.state == "not-applicable":
        case.result = [Skipped(what, "not-applicable")]
    out = [f"{check.title}: {check.state}, {check.awarded:g} / {check.points:g} points"]
    if check.story:
        s = check.story
        out += [s.words, f"downtime {s.downtime}; budget {s.budget} ({s.budget_source})",
                f"served before {s.served[0]}, during {s.served[1]}, after {s.served[2]}"]
    case.system_out = xml_text("\n".join(out))
    return case
