"""One client request to the VIP, as the prober saw it: when, what came back, and who answered.

Times are `time.monotonic()` seconds (CLOCK_MONOTONIC), the same clock in every process of the
machine, so the prober (a subprocess, maybe in another network namespace) and the harness that
injects faults share one timeline.

>>> sample = ProbeSample(start=12.0, end=12.004, outcome="ok", status=200, node="node1")
>>> ProbeSample.from_json(sample.to_json()) == sample
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK = "ok"
OUTCOMES = (OK, "http-error", "timeout", "refused", "reset", "error")


@dataclass(frozen=True, slots=True)
class ProbeSample:
    start: float
    end: float
    outcome: str  # one of OUTCOMES; "ok" means HTTP 200
    status: int | None = None  # HTTP status, when a response came back
    error: str | None = None  # short error kind, when none did
    node: str | None = None  # which node answered: from the MAC the VIP resolved to, else the page
    page_node: str | None = None  # the node the page's text names (a cross-check of `node`)

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @property
    def latency_s(self) -> float:
        return self.end - self.start

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeSample:
        """Rebuild a sample from `to_json` output; rejects unknown outcomes so bad lines fail loudly."""
        if data["outcome"] not in OUTCOMES:
            raise ValueError(f"unknown probe outcome {data['outcome']!r}")
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            outcome=data["outcome"],
            status=data.get("status"),
            error=data.get("error"),
            node=data.get("node"),
            page_node=data.get("page_node"),
        )
