"""The table `halab run` prints: one line per fault, plain words, the verdict last."""

from __future__ import annotations

from typing import Sequence

from halab.experiment import FaultRun

COLUMNS = ("fault", "on", "expected", "outcome", "downtime", "budget", "served before -> during -> after", "verdict")


def fault_table(runs: Sequence[FaultRun]) -> str:
    rows = [COLUMNS] + [
        (
            run.fault,
            run.victim,
            " or ".join(run.expected) or "-",
            run.outcome,
            _ms(run.downtime_s),
            _ms(run.budget_s),
            " -> ".join(n or "nobody" for n in (run.served_before, run.served_during, run.served_after)),
            run.verdict.upper(),
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"- {run.fault}: {run.explanation}" for run in runs]
    notes += [f"- {run.fault}: {fence}" for run in runs for fence in run.fences]
    notes += [
        f"- {run.fault}: healing caused a second outage of {run.second_outage_s * 1000:.0f} ms"
        for run in runs if run.second_outage_s
    ]
    notes += [
        f"- {run.fault}: clients got answers from both nodes in turn {run.interleaved_answers} time(s): "
        "two nodes served the VIP at once"
        for run in runs if run.interleaved_answers
    ]
    return "\n".join(lines + [""] + notes)


def _ms(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds * 1000:.0f} ms"
