"""What a check concludes, in three states: passed; failed (the student loses the points);
error (the harness could not observe, which never costs a student points silently)."""

from __future__ import annotations

from dataclasses import dataclass

PASSED, FAILED, ERROR, NOT_APPLICABLE = "passed", "failed", "error", "not-applicable"


class CheckFailed(AssertionError):
    """Raised by a check: what is wrong, the evidence seen, and how to fix it."""

    def __init__(self, what: str, evidence: str = "", fix: str = "") -> None:
        super().__init__(what)
        self.what, self.evidence, self.fix = what, evidence, fix


def fail(what: str, *, evidence: str = "", fix: str = "") -> None:
    raise CheckFailed(what, evidence, fix)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    state: str
    message: str = ""
    evidence: str = ""
    fix: str = ""
    measures: tuple[tuple[str, float], ...] = ()  # e.g. ("downtime_ratio", 0.6) for partial credit
    duration_s: float = 0.0  # how long the check took (JUnit's time; a fault check includes the fault)

    def measure(self, name: str) -> float | None:
        return dict(self.measures).get(name)
