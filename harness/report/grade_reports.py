"""A graded lab, written for each audience: JSON (the record), JUnit (CI servers: one suite per
student and lab, one case per check), a self-contained HTML page per student (each check with
its evidence and fix, each fault as a timeline plot, the cluster's state before and after
grading), and the class's CSV gradebook."""

from __future__ import annotations

import csv
import html
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string

from halab.grading.preserve import Preservation
from halab.grading.score import Grade, ItemScore
from halab.grading.session import GradingRun
from halab.stacks.state import ResourceState

GRADEBOOK_COLUMNS = ("Student", "Lab", "Grade", "Maximum", "Percent", "Points not observed")


def write_grade_reports(directory: Path, student: str, run: GradingRun) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{student}-{run.rubric.lab or run.lab}"
    paths = {
        "json": directory / f"{stem}.json",
        "junit": directory / f"{stem}.junit.xml",
        "html": directory / f"{stem}.html",
    }
    paths["json"].write_text(json.dumps({
        "student": student, "lab": run.lab, "rubric": str(run.rubric.source), "grade": run.grade.summary,
        "awarded": run.grade.awarded, "total": run.grade.total, "not_observed": run.grade.unobserved_points,
        "items": [{"id": s.item.id, "points": s.item.points, "awarded": s.awarded, "state": s.state, "note": s.note,
                   "result": asdict(s.result) if s.result else None} for s in run.grade.items],
        "timelines": run.timelines,
        "cluster_state": run.preservation.to_json() if run.preservation else None,
    }, indent=1))
    paths["junit"].write_text(junit_report(student, run))
    paths["html"].write_text(html_report(student, run))
    return paths


def junit_report(student: str, run: GradingRun) -> str:
    cases = []
    for scored in run.grade.items:
        result = scored.result
        output = "\n".join(x for x in (result.message, result.evidence, f"fix: {result.fix}" if result.fix else "") if x) if result else ""
        case = TestCase(scored.item.id, classname=f"{student}.{run.rubric.lab or run.lab}",
                        stdout=f"{scored.awarded:g}/{scored.item.points:g} points. {scored.note}\n{output}")
        if scored.state == "failed":
            case.add_failure_info(message=scored.note or (result.message if result else ""), output=output)
        elif scored.state == "not-observed":
            case.add_error_info(message=scored.note, output=output)
        elif scored.state == "not-applicable":
            case.add_skipped_info(scored.note)
        cases.append(case)
    return to_xml_report_string([TestSuite(f"{student} / {run.rubric.lab or run.lab}", cases)], prettyprint=True)


def append_gradebook(path: Path, student: str, run: GradingRun) -> Path:
    """One row per student and lab; a spreadsheet or Moodle's grade import reads it as is."""
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as out:
        writer = csv.writer(out)
        if new:
            writer.writerow(GRADEBOOK_COLUMNS)
        grade = run.grade
        percent = 100 * grade.awarded / grade.total if grade.total else 0
        writer.writerow([student, run.rubric.lab or run.lab, f"{grade.awarded:g}", f"{grade.total:g}",
                         f"{percent:.1f}", f"{grade.unobserved_points:g}"])
    return path


# -- HTML -----------------------------------------------------------------------------------
STYLE = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}
.passed{color:#17692e}.failed{color:#b3261e}.not-observed{color:#8a5a00}.not-applicable{color:#777}
section.check{border-left:4px solid #ccc;padding:.2em 1em;margin:1em 0}
section.check.failed{border-color:#b3261e}section.check.passed{border-color:#17692e}
section.check.not-observed{border-color:#e0a000}pre{background:#f5f5f5;padding:.5em;white-space:pre-wrap}
.legend span{display:inline-block;margin-right:1em}tr.changed td{background:#fbe3c0}"""
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


def html_report(student: str, run: GradingRun) -> str:
    grade: Grade = run.grade
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(student)}: {_e(run.rubric.lab)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(student)}: lab {_e(run.rubric.lab or run.lab)}</h1>",
        f"<p id='grade'><strong>{_e(grade.summary)}</strong></p>",
        "<table id='summary'><tr><th>check</th><th>points</th><th>state</th></tr>",
        *(f"<tr><td>{_e(s.item.id)}</td><td>{s.awarded:g} / {s.item.points:g}</td>"
          f"<td class='{s.state}'>{s.state}</td></tr>" for s in grade.items),
        "</table>",
        *(_check_section(s, run.timelines) for s in grade.items),
        preservation_section(run.preservation) if run.preservation else "",
        "</body></html>",
    ]
    return "\n".join(parts)


def _check_section(scored: ItemScore, timelines: dict[str, dict[str, Any]]) -> str:
    result = scored.result
    body = [f"<section class='check {scored.state}' id='{_e(scored.item.id)}'>",
            f"<h2>{_e(result.title if result else scored.item.id)}</h2>",
            f"<p class='{scored.state}'>{scored.state}: {scored.awarded:g} / {scored.item.points:g} points. {_e(scored.note)}</p>"]
    if result and result.message and result.message != scored.note:
        body.append(f"<p class='why'>{_e(result.message)}</p>")
    if result and result.evidence:
        body.append(f"<pre class='evidence'>{_e(result.evidence)}</pre>")
    if result and result.fix:
        body.append(f"<p class='fix'><strong>How to fix:</strong> {_e(result.fix)}</p>")
    fault = scored.item.id.removeprefix("fault-")
    if scored.item.id.startswith("fault-") and fault in timelines:
        body.append(timeline_svg(timelines[fault]))
    body.append("</section>")
    return "\n".join(body)


def preservation_section(kept: Preservation) -> str:
    """The cluster as grading found it and as it left it, side by side, and what was put back."""
    before, after = kept.before, kept.after
    rows = []
    if before.resources is not None or after.resources is not None:
        empty = ResourceState((), (), ())
        b, a = before.resources or empty, after.resources or empty
        for unit in sorted({u for u, _ in b.placement} | {u for u, _ in a.placement}):
            rows.append((f"{unit} runs on", ", ".join(b.where(unit)) or "no node", ", ".join(a.where(unit)) or "no node"))
        rows.append(("fail-counts", *("; ".join(f"{r} on {n}: {c}" for n, r, c in s.fail_counts) or "none" for s in (b, a))))
        rows.append(("constraints", ", ".join(b.constraints) or "none", ", ".join(a.constraints) or "none"))
    for was in before.units:
        is_ = after.unit(was.node, was.unit)
        rows.append((f"{was.node} {was.unit}", f"{was.enabled}, {was.active}",
                     f"{is_.enabled}, {is_.active}" if is_ else "not read"))
    verdict = ("<p class='passed'>Left as it was found.</p>" if not kept.differences else
               "<p class='failed'>Not put back: " + _e("; ".join(kept.differences)) + "</p>")
    parts = ["<section id='cluster-state'><h2>The cluster as found and as left</h2>", verdict,
             "<table><tr><th></th><th>before grading</th><th>after grading</th></tr>",
             *(f"<tr{' class=changed' if b != a else ''}><td>{_e(what)}</td><td>{_e(b)}</td><td>{_e(a)}</td></tr>"
               for what, b, a in rows),
             "</table>"]
    if kept.steps:
        parts.append("<p>Put back:</p><ul>" + "".join(
            f"<li class='{'passed' if s.ok else 'failed'}'>{_e(s.step.why)}: <code>{_e(' '.join(s.step.argv))}</code>"
            f" on {_e(s.node or 'no node')}{'' if s.ok else ' failed: ' + _e(s.output)}</li>" for s in kept.steps) + "</ul>")
    unread = before.unreadable + after.unreadable
    if unread:
        parts.append("<p>Could not be read: " + _e("; ".join(unread)) + "</p>")
    return "\n".join(parts + ["</section>"])


def timeline_svg(timeline: dict[str, Any], width: int = 800, height: int = 160) -> str:
    """Probe outcomes over time, coloured by the node that answered (grey: no answer), the
    fault window shaded, the downtime budget marked (Jepsen-style)."""
    run, samples = timeline["run"], timeline["samples"]
    if not samples:
        return "<p>no probe samples</p>"
    t0 = run["injected_at"] - 3
    t1 = max(s["end"] for s in samples)
    scale = (width - 60) / max(t1 - t0, 1e-3)
    x = lambda t: 50 + (t - t0) * scale  # noqa: E731
    nodes = sorted({s["node"] for s in samples if s.get("node")})
    colour = {node: COLOURS[i % len(COLOURS)] for i, node in enumerate(nodes)}
    marks = []
    for sample in samples:
        if sample["start"] < t0:
            continue
        ok = sample["outcome"] == "ok"
        y = 40 + nodes.index(sample["node"]) * 30 if ok and sample.get("node") in colour else height - 40
        fill = colour.get(sample.get("node") or "", "#999") if ok else "#b3261e"
        marks.append(f"<rect x='{x(sample['start']):.1f}' y='{y}' width='2' height='20' fill='{fill}'/>")
    shade = (f"<rect class='fault-window' x='{x(run['injected_at']):.1f}' y='20' "
             f"width='{max(x(run['healed_at']) - x(run['injected_at']), 1):.1f}' height='{height - 40}' fill='#fbe3c0'/>")
    budget = ""
    if run.get("budget_s"):
        bx = x(run["injected_at"] + run["budget_s"])
        budget = f"<line class='budget' x1='{bx:.1f}' x2='{bx:.1f}' y1='15' y2='{height - 15}' stroke='#b3261e' stroke-dasharray='4'/>"
    labels = "".join(f"<text x='2' y='{55 + i * 30}' font-size='11'>{_e(n)}</text>" for i, n in enumerate(nodes))
    labels += f"<text x='2' y='{height - 25}' font-size='11'>failed</text>"
    legend = ("<p class='legend'><span>shaded: fault applied until healed</span>"
              "<span>dashed: downtime budget</span><span>red: no answer</span></p>")
    return (f"<svg class='timeline' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"role='img' aria-label='timeline of {_e(run['fault'])}'>{shade}{budget}{''.join(marks)}{labels}</svg>{legend}")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)

