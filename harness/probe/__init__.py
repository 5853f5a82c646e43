"""The VIP prober: a client that requests the VIP on a fixed schedule, and the judging of what it saw.

>>> with Prober(plan.vip_url, {"node1": "node1", "node2": "node2"}, netns="halab-pcs") as prober:
...     prober.wait_for_answer(timeout_s=30)
...     fault_at = inject_fault()
>>> print(summarize(prober.samples()))
"""

from halab.probe.analysis import (
    Interleaving,
    OutageWindow,
    downtime_after,
    first_answer_from_another,
    interleavings,
    outage_windows,
    serving_node,
    summarize,
)
from halab.probe.prober import Prober
from halab.probe.samples import OUTCOMES, ProbeSample

__all__ = [
    "OUTCOMES",
    "Interleaving",
    "OutageWindow",
    "ProbeSample",
    "Prober",
    "downtime_after",
    "first_answer_from_another",
    "interleavings",
    "outage_windows",
    "serving_node",
    "summarize",
]
