"""The grading table on the terminal (rich): failures first, each with what was seen and the fix,
faults in words, and the grade last, "provisional" when some points were not observed.

    print_grade(student_view(Occasion("alice.martin", backend="local"), run))
"""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from halab.report.view import StudentView

STYLE = {"passed": "green", "failed": "bold red", "not-observed": "yellow", "not-applicable": "dim"}


def grade_table(view: StudentView) -> Table:
    table = Table(title=f"{view.header.student}: the {view.header.variant} lab ({view.header.lab})", title_justify="left")
    table.add_column("state", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("check")
    for check in view.checks:
        detail = Text(check.title)
        lines = [check.story.words if check.story else "", check.note,
                 *(f"{label}{text}" for label, text in (("seen: ", check.evidence), ("fix: ", check.fix))
                   if text and check.state in ("failed", "not-observed"))]
        for line in filter(None, lines):
            detail.append("\n  " + line.replace("\n", "\n  "), style="dim" if check.state == "passed" else "")
        table.add_row(Text(check.state_words, style=STYLE.get(check.state, "")),
                      f"{check.awarded:g} / {check.points:g}", detail)
    return table


def print_grade(view: StudentView, file: IO[str] | None = None) -> None:
    console = Console(file=file, highlight=False)
    console.print(grade_table(view))
    h = view.header
    console.print(Text(f"{h.student}: {h.summary}", style="bold yellow" if h.provisional else "bold"))
