"""Judging a probe history after the fact, Jepsen-style: outages, who served, dual-active evidence.

Every time here is a `time.monotonic()` reading, the clock the fault timeline uses too. The
resolution is the probe period: an outage shorter than one period can fall between two requests
unseen, and each boundary of a window is known only to within one period.

>>> windows = outage_windows(samples)
>>> downtime_after(samples, fault_at).duration_s
0.84
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import Iterable

from halab.probe.samples import ProbeSample


@dataclass(frozen=True)
class OutageWindow:
    """Clients got no good answer from `start` (the first failed request) to `end` (the start of
    the next successful one; the end of the last request when none followed, and then
    `recovered` is False). Accurate to one probe period."""

    start: float
    end: float
    recovered: bool

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Interleaving:
    """Answers from different nodes alternating: both served the VIP at once (dual-active).

    `start` is the start of the first answer from another node, `end` the end of the answer at
    the last change, `switches` how many times the answering node changed in between."""

    start: float
    end: float
    nodes: tuple[str, ...]
    switches: int


def outage_windows(samples: Iterable[ProbeSample]) -> list[OutageWindow]:
    """Every stretch of failed requests, ordered by time; resolution is the probe period."""
    ordered = sorted(samples, key=_start)
    windows = []
    began: float | None = None
    for sample in ordered:
        if not sample.ok and began is None:
            began = sample.start
        elif sample.ok and began is not None:
            windows.append(OutageWindow(began, sample.start, recovered=True))
            began = None
    if began is not None:
        last_end = max(sample.end for sample in ordered if sample.start >= began)
        windows.append(OutageWindow(began, last_end, recovered=False))
    return windows


def downtime_after(samples: Iterable[ProbeSample], t: float, until: float | None = None) -> OutageWindow | None:
    """The downtime a fault injected at `t` caused: the longest outage that ends after `t` (and
    starts before `until`, when given). None if clients saw no outage. Resolution: the probe period."""
    candidates = [w for w in outage_windows(samples) if w.end > t and (until is None or w.start < until)]
    return max(candidates, key=lambda window: window.duration_s, default=None)


def serving_node(samples: Iterable[ProbeSample], t0: float, t1: float) -> str | None:
    """The node that gave most good answers to requests started in [t0, t1); ties go to the one
    that answered first. None if no node answered."""
    counts = Counter(s.node for s in sorted(samples, key=_start) if s.ok and s.node and t0 <= s.start < t1)
    return counts.most_common(1)[0][0] if counts else None


def first_answer_from_another(samples: Iterable[ProbeSample], victim: str, after: float) -> float | None:
    """Start of the first good answer from a node other than `victim` to a request started after
    `after`: the time until a survivor (whichever of them) serves after a fault. Resolution: the probe period."""
    return min((s.start for s in samples if s.ok and s.node and s.node != victim and s.start > after), default=None)


def interleavings(samples: Iterable[ProbeSample], window_s: float = 2.0) -> list[Interleaving]:
    """Dual-active evidence: the answering node changed and changed again within `window_s`
    (A, B, A). One clean failover (A...A, B...B) changes once and is not evidence; neither is a
    failback more than `window_s` after the failover."""
    answers = [s for s in sorted(samples, key=_start) if s.ok and s.node]
    changes = [(before, after) for before, after in pairwise(answers) if after.node != before.node]
    runs: list[list[tuple[ProbeSample, ProbeSample]]] = []
    for change in changes:
        if runs and change[1].start - runs[-1][-1][1].start <= window_s:
            runs[-1].append(change)
        else:
            runs.append([change])
    return [
        Interleaving(
            start=run[0][1].start,
            end=run[-1][1].end,
            nodes=tuple(sorted({str(sample.node) for change in run for sample in change})),
            switches=len(run),
        )
        for run in runs
        if len(run) >= 2
    ]


def summarize(samples: Iterable[ProbeSample]) -> str:
    """A few plain lines for `halab probe`: requests, success, who answered, outages, dual-active.
    Times are from the first request; durations in ms, good to one probe period."""
    ordered = sorted(samples, key=_start)
    if not ordered:
        return "no requests were sent"
    t0 = ordered[0].start
    span = ordered[-1].start - t0
    ok = [s for s in ordered if s.ok]
    period = f", one every {_ms(span / (len(ordered) - 1))}" if len(ordered) > 1 else ""
    lines = [f"{len(ordered)} requests over {span:.1f} s{period}: {len(ok)} ok ({100 * len(ok) / len(ordered):.1f}%)"]
    answered = Counter(s.node or "an unrecognised page" for s in ok)
    if answered:
        lines.append("answered by: " + ", ".join(f"{node} {count}" for node, count in answered.most_common()))
    failed = Counter(s.error or f"HTTP {s.status}" for s in ordered if not s.ok)
    if failed:
        lines.append("failed: " + ", ".join(f"{kind} {count}" for kind, count in failed.most_common()))
    windows = outage_windows(ordered)
    if not windows:
        lines.append("no outage seen")
    for window in windows:
        how = "recovered" if window.recovered else "not recovered by the last request"
        lines.append(f"outage at +{window.start - t0:.3f} s lasting {_ms(window.duration_s)}, {how}")
    for mix in interleavings(ordered):
        lines.append(
            f"dual-active: {' and '.join(mix.nodes)} took turns answering ({mix.switches} switches)"
            f" from +{mix.start - t0:.3f} s for {_ms(mix.end - mix.start)}"
        )
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _start(sample: ProbeSample) -> float:
    return sample.start
