"""The class summary of a batch, for the teacher: every archive handed in (graded, refused or
failed, with the reason and the time it took), students x checks as a heat map with what the
class lost most, the grade distribution, each fault's downtime across the class, and
submissions that look copied (halab.submissions.likeness: a flag to look at, never a
deduction). As one self-contained HTML page and as CSV (one row per archive, then one column
per check: the same matrix, for a spreadsheet).

    html = summary_html(outcomes, Path("reports/class"))
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from halab.errors import HalabError
from halab.report.concepts import family_of
from halab.report.plots import downtime_svg, histogram_svg
from halab.report.render import render
from halab.report.view import STATE_WORDS
from halab.submissions.likeness import Likeness, likenesses

if TYPE_CHECKING:
    from halab.submissions.batch import Outcome

COLUMNS = ("Student", "Lab", "State", "Grade", "Maximum", "Percent", "Provisional", "Points not observed", "Seconds",
           "Archive", "Reason")
SYMBOLS = {"passed": "✓", "failed": "✗", "not-observed": "?", "not-applicable": "–"}
FAMILIES = ("nodes", "service", "corosync", "pacemaker", "heartbeat", "faults", "other")


@dataclass(frozen=True)
class CheckColumn:
    id: str
    title: str
    lost_by: int  # students who did not earn it all
    graded: int  # students whose rubric has it


def rows(outcomes: Sequence["Outcome"]) -> list[list[str]]:
    table = []
    for o in outcomes:
        grade = o.run.grade if o.run else None
        table.append([o.student, o.variant, o.state, f"{grade.awarded:g}" if grade else "", f"{grade.total:g}" if grade else "",
                      f"{grade.percent:.1f}" if grade else "", ("yes" if grade.provisional else "no") if grade else "",
                      f"{grade.unobserved_points:g}" if grade else "", f"{o.duration_s:.0f}", o.archive.name,
                      o.reason or "; ".join(o.notes)])
    return table


def check_columns(outcomes: Sequence["Outcome"]) -> list[CheckColumn]:
    """Every check any graded student's rubric has, most lost first (by family, then id, on ties)."""
    titles: dict[str, str] = {}
    lost: dict[str, int] = {}
    graded: dict[str, int] = {}
    for o in outcomes:
        for s in o.run.grade.items if o.run else ():
            titles.setdefault(s.item.id, s.result.title if s.result and s.result.title else s.item.id)
            graded[s.item.id] = graded.get(s.item.id, 0) + (s.state != "not-applicable")
            lost[s.item.id] = lost.get(s.item.id, 0) + (s.state in ("failed", "not-observed") and s.lost > 0)
    return sorted((CheckColumn(i, titles[i], lost[i], graded[i]) for i in titles),
                  key=lambda c: (-c.lost_by, FAMILIES.index(family_of(c.id)) if family_of(c.id) in FAMILIES else 99, c.id))


def summary_csv(outcomes: Sequence["Outcome"]) -> str:
    columns = check_columns(outcomes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *(c.id for c in columns)])
    for o, row in zip(outcomes, rows(outcomes)):
        states = {s.item.id: s.state for s in o.run.grade.items} if o.run else {}
        writer.writerow([*row, *(states.get(c.id, "") for c in columns)])
    return out.getvalue()


def summary_html(outcomes: Sequence["Outcome"], directory: Path) -> str:
    graded = [o for o in outcomes if o.run]
    percents = [o.run.grade.percent for o in graded if o.run]
    downtimes: dict[str, list[float]] = {}
    for o in graded:
        for fault, timeline in (o.run.timelines if o.run else {}).items():
            if timeline["run"].get("downtime_s") is not None:
                downtimes.setdefault(fault, []).append(timeline["run"]["downtime_s"])
    stats = {name: f(percents) for name, f in (("median", statistics.median), ("mean", statistics.fmean),
                                               ("min", min), ("max", max))} if percents else {}
    return render(
        "class.html.j2", outcomes=outcomes, rows=rows(outcomes), columns=COLUMNS, checks=check_columns(outcomes),
        counts={state: sum(o.state == state for o in outcomes) for state in ("graded", "refused", "failed")},
        reports={o.archive.name: str(o.reports["html"].relative_to(directory)) for o in outcomes if "html" in o.reports},
        states={o.archive.name: ({s.item.id: s.state for s in o.run.grade.items} if o.run else {}) for o in outcomes},
        symbols=SYMBOLS, state_words=STATE_WORDS, stats=stats, histogram=histogram_svg(percents) if percents else "",
        downtime=downtime_svg(downtimes) if downtimes else "", downtimes=downtimes, copied=copied(outcomes),
    )


def copied(outcomes: Sequence["Outcome"]) -> list[Likeness]:
    """Read each graded or failed archive again (safely, as the batch did) and compare them."""
    from halab.plan import available_labs
    from halab.submissions.archive import read_archive
    from halab.submissions.submission import from_members

    variants = tuple(available_labs())
    submissions = {}
    for o in outcomes:
        if o.state != "refused" and o.archive.is_file():
            try:
                submissions[o.student] = from_members(o.archive, read_archive(o.archive), variants)
            except HalabError:
                continue
    return likenesses(submissions)
