"""A rubric applied to check results: points, partial credit, dependencies.

The one scoring rule (README and every rubric's header say the same):
- passed: the points (or the partial credit the downtime earns);
- failed: 0 points, counted in the total. A check whose prerequisite (`requires`) failed is
  failed too, "not tested: <prerequisite> failed", whatever its own result;
- not observed: the harness itself could not look (a node unreachable, a tool missing, its own
  error). 0 points for now, counted in the total, and the grade is *provisional* until someone
  looks again: never a percentage of the observed part alone;
- not applicable: the item does not exist on this backend or variant (power-off over SSH), and
  leaves the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from halab.grading.results import ERROR, FAILED, NOT_APPLICABLE, PASSED, CheckResult
from halab.grading.rubric import Rubric, RubricItem

NOT_OBSERVED = "not-observed"


@dataclass(frozen=True)
class ItemScore:
    item: RubricItem
    result: CheckResult | None
    state: str  # passed, failed, not-observed or not-applicable
    awarded: float
    note: str

    @property
    def lost(self) -> float:
        """Points this item did not earn (0 when not applicable)."""
        return 0.0 if self.state == NOT_APPLICABLE else self.item.points - self.awarded


@dataclass(frozen=True)
class Grade:
    items: tuple[ItemScore, ...]

    @property
    def awarded(self) -> float:
        return sum(s.awarded for s in self.items)

    @property
    def total(self) -> float:
        """The points at stake: every item but those not applicable to this backend or variant."""
        return sum(s.item.points for s in self.items if s.state != NOT_APPLICABLE)

    @property
    def unobserved_points(self) -> float:
        return sum(s.item.points for s in self.items if s.state == NOT_OBSERVED)

    @property
    def provisional(self) -> bool:
        """Some points could not be observed: the grade may still go up once they are."""
        return self.unobserved_points > 0

    @property
    def unobserved_reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.note for s in self.items if s.state == NOT_OBSERVED))

    @property
    def percent(self) -> float:
        return 100 * self.awarded / self.total if self.total else 0.0

    @property
    def summary(self) -> str:
        text = f"{self.awarded:g} / {self.total:g} points ({self.percent:.1f} %)"
        if self.provisional:
            text = (f"provisional: {text}; {self.unobserved_points:g} points not observed "
                    f"({'; '.join(self.unobserved_reasons)})")
        return text


def score(rubric: Rubric, results: Sequence[CheckResult]) -> Grade:
    by_id = {result.id: result for result in results}
    scored: dict[str, ItemScore] = {}
    for item in rubric.items:  # load_rubric orders prerequisites first
        scored[item.id] = _score_item(item, by_id.get(item.id), scored)
    return Grade(tuple(scored[item.id] for item in rubric.items))


def _score_item(item: RubricItem, result: CheckResult | None, earlier: dict[str, ItemScore]) -> ItemScore:
    if result is not None and result.state == NOT_APPLICABLE:
        return ItemScore(item, result, NOT_APPLICABLE, 0, result.message)
    for needed in item.requires:
        before = earlier[needed]
        if before.state == FAILED:
            return ItemScore(item, result, FAILED, 0, f"not tested: {needed} failed ({_reason(before)})")
    if result is None:
        return ItemScore(item, None, NOT_OBSERVED, 0, "the check did not run")
    if result.state == ERROR:
        return ItemScore(item, result, NOT_OBSERVED, 0, result.message)
    unseen = [needed for needed in item.requires if earlier[needed].state == NOT_OBSERVED]
    if unseen:
        return ItemScore(item, result, NOT_OBSERVED, 0, f"depends on {unseen[0]}, which could not be observed")
    ratio = result.measure("downtime_ratio")
    if item.partial and ratio is not None:
        credit = next((p.credit for p in item.partial if ratio <= p.downtime_within), 0.0)
        if result.state == FAILED and credit == 1:  # failed for another reason than its downtime
            return ItemScore(item, result, FAILED, 0, result.message)
        note = f"downtime {ratio:.2f}x the budget: {credit:.0%} of the points"
        return ItemScore(item, result, PASSED if credit == 1 else FAILED, round(item.points * credit, 2), note)
    if result.state == PASSED:
        return ItemScore(item, result, PASSED, item.points, "")
    return ItemScore(item, result, FAILED, 0, result.message)


def _reason(scored: ItemScore) -> str:
    return (scored.result.message if scored.result and scored.result.message else scored.note) or "no detail"


__all__ = ["ERROR", "Grade", "ItemScore", "NOT_OBSERVED", "score"]
