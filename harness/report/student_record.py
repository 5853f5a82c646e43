"""A student's .json report read back (what `halab grade` wrote, or `check --json` printed), as
typed values: for a teacher's script, a gradebook of one's own, a CI step that looks deeper than
the exit code.

    >>> report = read_report(Path("reports/alice.martin-pcs.json"))  # doctest: +SKIP
    >>> report.summary, [item.id for item in report.failed]           # doctest: +SKIP
    ('8 / 12 points (66.7 %)', ['apache-disabled-at-boot', 'stonith-policy', 'fault-cut-link'])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab.errors import HalabError


@dataclass(frozen=True)
class ReportItem:
    id: str
    points: float
    awarded: float
    state: str  # passed, failed, not-observed or not-applicable
    note: str  # why it was scored so, e.g. "not tested: vip-serves failed"
    message: str  # what the check saw
    fix: str


@dataclass(frozen=True)
class Report:
    path: Path
    student: str
    lab: str
    variant: str
    summary: str  # the grade in words, "provisional: ..." when it is
    awarded: float
    total: float
    provisional: bool
    items: tuple[ReportItem, ...]

    @property
    def failed(self) -> tuple[ReportItem, ...]:
        return tuple(item for item in self.items if item.state == "failed")


def read_report(path: str | Path) -> Report:
    """One student's report; a file that is not one is a one-line error naming it."""
    try:
        data = json.loads(Path(path).read_text())
        return Report(Path(path), data["student"], data["lab"], data["variant"], data["grade"], float(data["awarded"]),
                      float(data["total"]), bool(data["provisional"]), tuple(_item(i) for i in data["items"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HalabError(f"{path} is not a report halab wrote ({type(error).__name__}: {error})",
                         fix="give a <student>-<variant>.json of halab grade's reports folder") from None


def _item(data: dict[str, Any]) -> ReportItem:
    result = data["result"] or {}
    return ReportItem(data["id"], float(data["points"]), float(data["awarded"]), data["state"], data["note"],
                      result.get("message", ""), result.get("fix", ""))
