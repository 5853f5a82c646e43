"""A graded lab as its reader sees it: the header (who, which lab, which rubric, when, the
grade), and the checks failures first, each with its title, the points lost, the evidence, the
fix, the concept it teaches and, for a fault, the story and the timeline. The HTML page, the
JUnit and the terminal table all read this one view.

    view = student_view(Occasion("alice.martin", backend="local"), run)
    view.checks[0].state    # "failed" if anything failed
"""

from __future__ import annotations

import hashlib
from importlib import metadata
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from halab.grading.score import ItemScore
from halab.grading.session import GradingRun
from halab.report.concepts import Concept, concept_of, family_of
from halab.report.faults import FaultStory, fault_story
from halab.report.scenarios import ScenarioStory, scenario_story

# The order a reader wants: what cost points, then what earned them, then what was not graded.
ORDER = ("failed", "passed", "not-observed", "not-applicable")
STATE_WORDS = {"passed": "passed", "failed": "failed", "not-observed": "not observed", "not-applicable": "not applicable"}


@dataclass(frozen=True)
class Occasion:
    """What a report says beyond the grading run itself: whose lab, graded where and when."""

    student: str
    backend: str = ""
    started_at: float = field(default_factory=time.time)  # epoch seconds
    duration_s: float | None = None  # None: the sum of the checks' own times


@dataclass(frozen=True)
class CheckView:
    id: str
    title: str
    family: str
    state: str
    state_words: str
    awarded: float
    points: float
    lost: float
    note: str
    message: str
    evidence: str
    fix: str
    duration_s: float
    concept: Concept | None
    story: FaultStory | None
    timeline: dict[str, Any] | None
    scenario: ScenarioStory | None = None


@dataclass(frozen=True)
class Header:
    student: str
    lab: str  # the lab's name on this machine
    variant: str  # pcs, crmsh, heartbeat
    rubric: str
    rubric_sha256: str
    halab_version: str
    backend: str
    date: str
    duration_s: float
    awarded: float
    total: float
    percent: float
    provisional: bool
    unobserved_points: float
    unobserved_reasons: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class StudentView:
    header: Header
    checks: tuple[CheckView, ...]
    counts: dict[str, int]


def student_view(occasion: Occasion, run: GradingRun) -> StudentView:
    checks = tuple(sorted((_check(scored, run.timelines, run.scenarios) for scored in run.grade.items),
                          key=lambda c: (ORDER.index(c.state), -c.lost if c.state == "failed" else 0)))
    grade = run.grade
    duration = occasion.duration_s if occasion.duration_s is not None else sum(c.duration_s for c in checks)
    header = Header(
        student=occasion.student, lab=run.lab, variant=run.rubric.lab or run.lab, rubric=str(run.rubric.source),
        rubric_sha256=file_sha256(str(run.rubric.source)), halab_version=halab_version(),
        backend=occasion.backend or "not recorded",
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(occasion.started_at)), duration_s=duration,
        awarded=grade.awarded, total=grade.total, percent=grade.percent, provisional=grade.provisional,
        unobserved_points=grade.unobserved_points, unobserved_reasons=grade.unobserved_reasons, summary=grade.summary,
    )
    return StudentView(header, checks, {state: sum(c.state == state for c in checks) for state in ORDER})


def _check(scored: ItemScore, timelines: dict[str, dict[str, Any]], scenarios: dict[str, dict[str, Any]]) -> CheckView:
    result = scored.result
    fault = scored.item.id.removeprefix("fault-") if scored.item.id.startswith("fault-") else None
    timeline = timelines.get(fault) if fault else None
    message = result.message if result else ""
    return CheckView(
        id=scored.item.id, title=result.title if result and result.title else scored.item.id,
        family=family_of(scored.item.id), state=scored.state, state_words=STATE_WORDS.get(scored.state, scored.state),
        awarded=scored.awarded, points=scored.item.points, lost=scored.lost, note=scored.note,
        message="" if message == scored.note else message, evidence=result.evidence if result else "",
        fix=result.fix if result else "", duration_s=_duration(result.duration_s if result else 0.0, timeline),
        concept=concept_of(scored.item.id), story=fault_story(timeline) if timeline else None, timeline=timeline,
        scenario=scenario_story(scenarios[name]) if (name := scored.item.id.removeprefix("scenario-")) in scenarios
        and scored.item.id.startswith("scenario-") else None,
    )


def _duration(measured: float, timeline: dict[str, Any] | None) -> float:
    """A fault's own time (injection to recovery): its check's time holds every fault run at once."""
    if timeline:
        run = timeline["run"]
        return max(0.0, run.get("recovered_at", run.get("healed_at", 0.0)) - run.get("injected_at", 0.0))
    return measured


def file_sha256(path: str) -> str:
    """The rubric's fingerprint: two reports graded with the same bytes show the same hash."""
    try:
        with open(path, "rb") as source:
            return hashlib.sha256(source.read()).hexdigest()[:12]
    except OSError:
        return "file not found"


@cache
def halab_version() -> str:
    try:
        return metadata.version("halab")
    except metadata.PackageNotFoundError:
        return "unknown"
