"""Rubrics in YAML: which checks count, their points, partial credit, dependencies, and which
are hidden from students. A teacher edits YAML, never Python; a malformed rubric is refused
with the line and the reason.

    lab: pcs
    checks:
      - id: apache-disabled-at-boot
        points: 2
      - id: stonith-policy
        points: 1
        with: {stonith_enabled: false}
      - id: fault-power-off
        points: 4
        partial: [{downtime_within: 1, credit: 1.0}, {downtime_within: 2, credit: 0.5}]
        requires: [vip-serves]
        hidden: true
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, NoReturn

from halab.errors import HalabError
from halab.inputs import number
from halab.yamlfile import LINE, load_yaml

ITEM_KEYS = {"id", "points", "with", "partial", "requires", "hidden"}
MAX_POINTS = 1000  # points of one check
MAX_BUDGETS = 100  # partial credit: downtime within at most this many times the budget


@dataclass(frozen=True)
class Partial:
    downtime_within: float  # times the downtime budget
    credit: float  # share of the points


@dataclass(frozen=True)
class RubricItem:
    id: str
    points: float
    params: tuple[tuple[str, Any], ...] = ()
    partial: tuple[Partial, ...] = ()
    requires: tuple[str, ...] = ()
    hidden: bool = False
    line: int = 0


@dataclass(frozen=True)
class Rubric:
    source: Path
    lab: str
    items: tuple[RubricItem, ...]

    def item(self, check: str) -> RubricItem | None:
        return next((i for i in self.items if i.id == check), None)

    @property
    def total(self) -> float:
        return sum(item.points for item in self.items)

    def visible(self) -> "Rubric":
        """The rubric a student sees with `halab check`: hidden items left out."""
        return Rubric(self.source, self.lab, tuple(i for i in self.items if not i.hidden))


def load_rubric(path: Path, known_checks: tuple[str, ...] | None = None) -> Rubric:
    data = load_yaml(path, "rubric")
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise HalabError(f"{path}: a rubric needs a `checks:` list", fix="see labs/pcs/rubric.yaml")
    items = [_item(raw, path) for raw in data["checks"]]
    ids = [item.id for item in items]
    for item in items:
        if ids.count(item.id) > 1:
            _refuse(path, item.line, f"check {item.id} is listed twice")
        for needed in item.requires:
            if needed not in ids:
                _refuse(path, item.line, f"{item.id} requires {needed}, which is not in the rubric")
        if known_checks is not None and item.id not in known_checks:
            _refuse(path, item.line, f"there is no check called {item.id}",
                    fix=f"known checks: {', '.join(sorted(known_checks))}")
    return Rubric(path, str(data.get("lab", "")), _prerequisites_first(items, path))


def _prerequisites_first(items: list[RubricItem], path: Path) -> tuple[RubricItem, ...]:
    """The teacher's order, except that each prerequisite comes before what needs it (scoring
    reads a prerequisite's state first); a cycle of `requires` is refused."""
    by_id = {item.id: item for item in items}
    try:
        TopologicalSorter({item.id: item.requires for item in items}).prepare()
    except CycleError as error:
        cycle = error.args[1]
        _refuse(path, by_id[cycle[0]].line, "requires: forms a cycle: " + " -> ".join(reversed(cycle)),
                fix="a check cannot depend on itself, even through others: remove one of these requires")
    ordered: dict[str, RubricItem] = {}

    def put(item: RubricItem) -> None:
        if item.id not in ordered:
            for needed in item.requires:
                put(by_id[needed])
            ordered[item.id] = item

    for item in items:
        put(item)
    return tuple(ordered.values())


def _item(raw: Any, path: Path) -> RubricItem:
    if not isinstance(raw, dict):
        raise HalabError(f"{path}: every entry under checks: must be a mapping with id: and points:")
    line = raw.pop(LINE, 0)
    unknown = set(raw) - ITEM_KEYS
    if unknown:
        _refuse(path, line, f"unknown key {', '.join(sorted(unknown))}", fix=f"use {', '.join(sorted(ITEM_KEYS))}")
    if not isinstance(raw.get("id"), str):
        _refuse(path, line, "an entry has no id")
    points = _number(raw.get("points"), path, line, f"{raw['id']}: points", 0, MAX_POINTS)
    partial = []
    steps = raw.get("partial", []) or []
    if not isinstance(steps, list):
        _refuse(path, line, f"{raw['id']}: partial: must be a list of {{downtime_within: N, credit: 0..1}}")
    for step in steps:
        if isinstance(step, dict):
            step.pop(LINE, None)
        if not isinstance(step, dict) or set(step) != {"downtime_within", "credit"}:
            _refuse(path, line, f"{raw['id']}: partial entries are {{downtime_within: N, credit: 0..1}}, "
                    f"not {step!r}")
        within = _number(step["downtime_within"], path, line, f"{raw['id']}: partial downtime_within", 0, MAX_BUDGETS)
        if within == 0:
            _refuse(path, line, f"{raw['id']}: partial downtime_within = 0: a multiple of the budget must be more than 0")
        try:
            credit = _number(step["credit"], path, line, f"{raw['id']}: partial credit", 0, 1)
        except HalabError as error:
            raise HalabError(f"{error.what} (a credit is a share of the points, between 0 and 1)", fix=error.fix) from None
        partial.append(Partial(within, credit))
    if not isinstance(raw.get("hidden", False), bool):
        _refuse(path, line, f"{raw['id']}: hidden = {raw['hidden']!r}: must be true or false")
    params = raw.get("with") or {}
    if not isinstance(params, dict):
        _refuse(path, line, f"{raw['id']}: with: must be a mapping of parameters")
    params.pop(LINE, None)
    requires = raw.get("requires") or []
    if not isinstance(requires, list):
        _refuse(path, line, f"{raw['id']}: requires: must be a list of check ids")
    return RubricItem(raw["id"], float(points), tuple(sorted(params.items())),
                      tuple(sorted(partial, key=lambda p: p.downtime_within)), tuple(requires),
                      bool(raw.get("hidden", False)), line)


def _number(value: Any, path: Path, line: int, where: str, low: float, high: float) -> float:
    try:
        return number(value, where, low, high)
    except HalabError as error:
        _refuse(path, line, error.what)
        raise  # not reached: _refuse raises


def _refuse(path: Path, line: int, what: str, fix: str = "see labs/pcs/rubric.yaml") -> NoReturn:
    raise HalabError(f"{path}:{line}: {what}", fix=fix)
