"""A rubric applied to check results: points, partial credit, dependencies. An item the harness
could not observe is shown as ungraded, never silently scored zero."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from harness.grading.results import ERROR, FAILED, NOT_APPLICABLE, PASSED, CheckResult
from harness.grading.rubric import Rubric, RubricItem

UNGRADED = "ungraded"


@dataclass(frozen=True)
class ItemScore:
    item: RubricItem
    result: CheckResult | None
    state: str  # passed, failed, ungraded or not-applicable
    awarded: float
    note: str


@dataclass(frozen=True)
class Grade:
    items: tuple[ItemScore, ...]

    @property
    def awarded(self) -> float:
        return sum(s.awarded for s in self.items)

    @property
    def total(self) -> float:
        """The points at stake: items not applicable to the variant or not graded are left out."""
        return sum(s.item.points for s in self.items if s.state in (PASSED, FAILED))

    @property
    def ungraded_points(self) -> float:
        return sum(s.item.points for s in self.items if s.state == UNGRADED)

    @property
    def summary(self) -> str:
        text = f"{self.awarded:g} / {self.total:g} points"
        if self.ungraded_points:
            text += f" ({self.ungraded_points:g} more could not be graded: see the errors)"
        return text


def score(rubric: Rubric, results: Sequence[CheckResult]) -> Grade:
    by_id = {result.id: result for result in results}
    scored: dict[str, ItemScore] = {}
    for item in rubric.items:
        scored[item.id] = _score_item(item, by_id.get(item.id), scored)
    return Grade(tuple(scored[item.id] for item in rubric.items))


def _score_item(item: RubricItem, result: CheckResult | None, earlier: dict[str, ItemScore]) -> ItemScore:
    if result is None:
        return ItemScore(item, None, UNGRADED, 0, "the check did not run")
    if result.state == NOT_APPLICABLE:
        return ItemScore(item, result, NOT_APPLICABLE, 0, result.message)
    if result.state == ERROR:
        return ItemScore(item, result, UNGRADED, 0, result.message)
    for needed in item.requires:
        before = earlier.get(needed)
        if before is None or before.state == UNGRADED:
            return ItemScore(item, result, UNGRADED, 0, f"depends on {needed}, which could not be graded")
        if before.state != PASSED:
            return ItemScore(item, result, FAILED, 0, f"no points: depends on {needed}, which did not pass")
    ratio = result.measure("downtime_ratio")
    if item.partial and ratio is not None:
        credit = next((p.credit for p in item.partial if ratio <= p.downtime_within), 0.0)
        note = f"downtime {ratio:.2f}x the budget: {credit:.0%} of the points"
        return ItemScore(item, result, PASSED if credit == 1 else FAILED, round(item.points * credit, 2), note)
    if result.state == PASSED:
        return ItemScore(item, result, PASSED, item.points, "")
    return ItemScore(item, result, FAILED, 0, result.message)


__all__ = ["ERROR", "Grade", "ItemScore", "UNGRADED", "score"]
