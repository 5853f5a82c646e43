"""The report's pictures, drawn by matplotlib (Agg, no display) as SVG with their text kept as
text, inlined in the page: it stays one file that opens offline, and a browser (or a test) can
read the axis labels.

    svg = timeline_svg(timeline)          # one fault: probes over time, coloured by node
    svg = histogram_svg([71.4, 100, 35])  # the class's grades
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402 - the backend is chosen first

from halab.probe.analysis import outage_windows  # noqa: E402
from halab.report.faults import fault_story, samples_of  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "none",  # text stays <text>, searchable and small
    "svg.hashsalt": "halab",  # the same picture gives the same file
    "font.size": 9,
    "font.family": "sans-serif",
})
NODE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
FAILED = {"timeout": ("#d62728", "x"), "refused": ("#ff7f0e", "v"), "reset": ("#ff7f0e", "^"),
          "http-error": ("#e377c2", "s"), "error": ("#7f7f7f", "D")}


def _figure(width: float, height: float, *, left: float = 0.8, right: float = 0.2) -> Figure:
    """A figure with fixed margins in inches (no "tight" layout: that draws everything twice)."""
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - right / width, bottom=0.5 / height, top=1 - 0.3 / height)
    return figure


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})  # the same picture, the same bytes
    text = out.getvalue()
    return text[text.index("<svg"):]


def timeline_svg(timeline: dict[str, Any]) -> str:
    """One fault, Jepsen-style: time in seconds from the injection; each request a mark on the
    row of the node that answered (a failed one on the "no answer" row, by kind); the injection,
    the heal and the budget marked; each outage shaded and labelled with its length; stretches
    where two nodes took turns answering (split brain) hatched."""
    run = timeline["run"]
    samples = samples_of(timeline)
    if not samples:
        return ""
    t0 = run.get("injected_at", samples[0].start)
    nodes = sorted({s.node for s in samples if s.ok and s.node})
    rows = {node: i + 1 for i, node in enumerate(nodes)}
    figure = _figure(9.0, 1.4 + 0.35 * len(nodes), right=2.0)  # the legend on the right
    axes = figure.add_subplot()
    for node, row in rows.items():
        answered = [s.start - t0 for s in samples if s.ok and s.node == node]
        axes.scatter(answered, [row] * len(answered), marker="|", s=90, linewidths=1.2,
                     color=NODE_COLOURS[(row - 1) % len(NODE_COLOURS)], label=f"answered by {node}")
    unknown = [s.start - t0 for s in samples if s.ok and not s.node]
    if unknown:
        axes.scatter(unknown, [0.5] * len(unknown), marker="|", s=90, color="#555", label="answered, node unknown")
    for kind, (colour, marker) in FAILED.items():
        failed = [s.start - t0 for s in samples if s.outcome == kind]
        if failed:
            axes.scatter(failed, [0] * len(failed), marker=marker, s=14, color=colour, label=kind)
    for window in outage_windows(samples):
        start, end = window.start - t0, window.end - t0
        axes.axvspan(start, end, color="#d62728", alpha=0.10, linewidth=0)
        label = f"outage {window.duration_s:.3f} s" + ("" if window.recovered else " (not recovered)")
        axes.annotate(label, ((start + end) / 2, len(nodes) + 0.55), ha="center", va="bottom", color="#b3261e",
                      fontsize=8, annotation_clip=False)
    for mix in fault_story(timeline).dual:
        axes.axvspan(mix.start - t0, mix.end - t0, facecolor="none", edgecolor="#6a1b9a", hatch="///", linewidth=0.8,
                     label="both answered: split brain")
    healed = run.get("healed_at", t0) - t0
    axes.axvline(0, color="black", linewidth=1)
    above = axes.get_xaxis_transform()  # x in seconds, y in axes fractions
    axes.text(0, 1.02, "injected", transform=above, ha="center", va="bottom", fontsize=8)
    if healed > 0:
        axes.axvline(healed, color="black", linewidth=1, linestyle="-.")
        axes.text(healed, 1.02, "healed", transform=above, ha="center", va="bottom", fontsize=8)
    if run.get("budget_s"):
        axes.axvline(run["budget_s"], color="#b3261e", linewidth=1, linestyle="--", label=f"budget {run['budget_s']:.1f} s")
    axes.set_yticks([0, *rows.values()], ["no answer", *rows])
    axes.set_ylim(-0.6, len(nodes) + 1.2)
    axes.set_xlabel("seconds from the fault's injection")
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return _svg(figure)


def histogram_svg(percents: Sequence[float]) -> str:
    """The class's grades in percent of the total, in bins of 10."""
    figure = _figure(5.5, 2.2)
    axes = figure.add_subplot()
    axes.hist(percents, bins=range(0, 110, 10), color="#1f77b4", edgecolor="white")
    axes.set_xlabel("grade (% of the points at stake)")
    axes.set_ylabel("students")
    axes.set_xlim(0, 100)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def downtime_svg(downtimes: dict[str, list[float]]) -> str:
    """Each fault's downtime across the class: one dot per student, the median as a bar."""
    faults = sorted(downtimes)
    figure = _figure(5.5, 1.0 + 0.4 * len(faults), left=1.1)
    axes = figure.add_subplot()
    for row, fault in enumerate(faults):
        values = sorted(downtimes[fault])
        jitter = [row + 0.15 * ((i % 5) - 2) / 2 for i in range(len(values))]
        axes.scatter(values, jitter, s=12, color="#1f77b4", alpha=0.8)
        if values:
            median = values[len(values) // 2]
            axes.plot([median, median], [row - 0.3, row + 0.3], color="#b3261e", linewidth=2)
    axes.set_yticks(range(len(faults)), faults)
    axes.set_xlabel("downtime (seconds; red: median)")
    axes.set_xlim(left=0)
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
