"""The class summary of a batch: one row per archive handed in, graded, refused or failed, with
the reason, as a self-contained HTML table and as CSV."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from halab.report.grade_reports import STYLE

if TYPE_CHECKING:
    from halab.submissions.batch import Outcome

COLUMNS = ("Student", "Lab", "State", "Grade", "Maximum", "Percent", "Points not observed", "Seconds", "Archive", "Reason")


def rows(outcomes: Sequence["Outcome"]) -> list[list[str]]:
    table = []
    for o in outcomes:
        grade = o.run.grade if o.run else None
        percent = f"{100 * grade.awarded / grade.total:.1f}" if grade and grade.total else ""
        reason = o.reason or "; ".join(o.notes)
        table.append([o.student, o.variant, o.state, f"{grade.awarded:g}" if grade else "",
                      f"{grade.total:g}" if grade else "", percent, f"{grade.unobserved_points:g}" if grade else "",
                      f"{o.duration_s:.0f}", o.archive.name, reason])
    return table


def summary_csv(outcomes: Sequence["Outcome"]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows(outcomes))
    return out.getvalue()


def summary_html(outcomes: Sequence["Outcome"], directory: Path) -> str:
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    counts = {state: sum(o.state == state for o in outcomes) for state in ("graded", "refused", "failed")}
    body = []
    for outcome, row in zip(outcomes, rows(outcomes)):
        report = outcome.reports.get("html")
        student = f"<a href='{e(report.relative_to(directory))}'>{e(row[0])}</a>" if report else e(row[0])
        state = {"graded": "passed", "refused": "failed", "failed": "not-observed"}[outcome.state]
        cells = [student, *(e(c) for c in row[1:2]), f"<span class='{state}'>{e(row[2])}</span>",
                 *(e(c) for c in row[3:9]), f"<pre>{e(row[9])}</pre>" if row[9] else ""]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class summary</title>",
        f"<style>{STYLE} td,th{{padding:.2em .6em;text-align:left;vertical-align:top}} pre{{margin:0}}</style></head><body>",
        "<h1>Class summary</h1>",
        f"<p id='counts'>{len(outcomes)} submissions: {counts['graded']} graded, {counts['refused']} refused, "
        f"{counts['failed']} could not be graded</p>",
        "<table id='class'><tr>" + "".join(f"<th>{e(c)}</th>" for c in COLUMNS) + "</tr>",
        *body, "</table></body></html>",
    ])
