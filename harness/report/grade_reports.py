"""A graded lab, written for each audience: JSON (the record, enough to render it all again),
JUnit (CI servers, halab.report.grade_junit), and a self-contained HTML page per student
(header, failures first with evidence, fix and concept, each fault in words and as a timeline,
the cluster's state before and after grading). The class's gradebook is halab.report.gradebook.

    paths = write_grade_reports(Path("reports"), "alice.martin", run, backend="local")
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from halab.grading.preserve import Preservation
from halab.masking import NONE, secrets_of_lab, write_private
from halab.grading.session import GradingRun
from halab.report.grade_junit import junit_report
from halab.report.gradebook import update_gradebook
from halab.report.render import render
from halab.report.view import Occasion, StudentView, student_view
from halab.stacks.state import ResourceState

__all__ = ["Occasion", "html_report", "json_record", "junit_report", "update_gradebook", "write_grade_reports"]


def write_grade_reports(directory: Path, student: str, run: GradingRun, *, backend: str = "",
                        started_at: float | None = None, duration_s: float | None = None) -> dict[str, Path]:
    """`student` names the files (<student>-<variant>.html ...): a regrade replaces them."""
    occasion = Occasion(student, backend, started_at or time.time(), duration_s)
    view = student_view(occasion, run)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{student}-{view.header.variant}"
    paths = {"json": directory / f"{stem}.json", "junit": directory / f"{stem}.junit.xml", "html": directory / f"{stem}.html"}
    secrets = secrets_of_lab(view.header.variant) if view.header.variant else NONE
    write_private(paths["json"], json.dumps(_record(view, occasion, run), indent=1), secrets)
    write_private(paths["junit"], junit_report(view, occasion), secrets)
    write_private(paths["html"], _html(view, run), secrets)
    return paths


def json_record(student: str, run: GradingRun, occasion: Occasion | None = None) -> str:
    """The JSON record alone (`halab check --json`): what the .json report file holds."""
    occasion = occasion or Occasion(student)
    return json.dumps(_record(student_view(occasion, run), occasion, run), indent=1)


def html_report(student: str, run: GradingRun, occasion: Occasion | None = None) -> str:
    return _html(student_view(occasion or Occasion(student), run), run)


def _html(view: StudentView, run: GradingRun) -> str:
    kept = run.preservation
    return render("report.html.j2", view=view, preservation=kept, preservation_rows=preservation_rows(kept) if kept else [])


def _record(view: StudentView, occasion: Occasion, run: GradingRun) -> dict[str, object]:
    h = view.header
    return {
        "student": h.student, "lab": run.lab, "variant": h.variant, "rubric": h.rubric, "rubric_sha256": h.rubric_sha256,
        "halab_version": h.halab_version, "backend": h.backend, "started_at": occasion.started_at,
        "duration_s": h.duration_s, "grade": h.summary, "awarded": h.awarded, "total": h.total, "percent": h.percent,
        "provisional": h.provisional, "not_observed": h.unobserved_points,
        "items": [{"id": s.item.id, "points": s.item.points, "awarded": s.awarded, "state": s.state, "note": s.note,
                   "result": asdict(s.result) if s.result else None} for s in run.grade.items],
        "timelines": run.timelines,
        "scenarios": run.scenarios,
        "cluster_state": run.preservation.to_json() if run.preservation else None,
    }


def preservation_rows(kept: Preservation) -> list[tuple[str, str, str]]:
    """The cluster as grading found it and as it left it, row by row: where each resource ran,
    fail-counts, constraints, and every unit's is-enabled and is-active."""
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
        now = after.unit(was.node, was.unit)
        rows.append((f"{was.node} {was.unit}", f"{was.enabled}, {was.active}", f"{now.enabled}, {now.active}" if now else "not read"))
    return rows
