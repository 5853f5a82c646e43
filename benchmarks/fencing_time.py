"""What fencing costs and buys: the fencing lab next to the unfenced pcs lab, on the local backend.

    .venv/bin/python benchmarks/fencing_time.py [--labs pcs,fencing] [--faults cut-link,kill-membership,power-off] [--name benchfence]

For each lab: the bring-up until the VIP answers; then per fault the outcome, the downtime a
client saw, and (fencing lab) who fenced whom and the time from the fault to the fence's
completion, read from `stonith_admin --history`. One lab at a time, under its own --name.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from halab import bmc
from halab.backends import Backend
from halab.plan import load_plan
from halab.run import lab_up, run_faults
from halab.stacks.fencing import HISTORY_COMMAND, FenceEvent, parse_stonith_history

FAULTS = "cut-link,kill-membership,power-off"


def fence_history(backend: Backend) -> tuple[FenceEvent, ...]:
    """Every running node's history, merged: a fenced node learns it again only some time after it rejoins."""
    events: set[FenceEvent] = set()
    for node in backend.plan.node_names:
        if backend.is_running(node):
            result = backend.run(node, list(HISTORY_COMMAND))
            if result.succeeded:
                events.update(parse_stonith_history(result.stdout))
    return tuple(events)


def bmc_actions(lab: str, node: str) -> list[str]:
    """The BMC's own record of its chassis commands ("03:01:57 node1: chassis power on" becomes
    "on 03:01:57"). A node the fault already powered off gets "on" only: fence_ipmilan reads the
    status first and does not power off a node that is off."""
    log = bmc.log_file(lab, node)
    lines = log.read_text().splitlines() if log.exists() else []
    return [f"{line.split()[-1]} {line.split()[0]}" for line in lines if ": chassis power " in line]


def epoch(event: FenceEvent) -> float:
    assert event.completed is not None
    return event.completed.replace(tzinfo=timezone.utc).timestamp()


def measure(variant: str, name: str, faults: list[str]) -> list[str]:
    rows = []
    with lab_up(load_plan(variant), name) as up:
        rows.append(f"{variant:8} bring-up to VIP {up.phases['up_to_vip_s']:6.1f} s")
        for fault in faults:
            wall = time.time()
            done_before = {node: len(bmc_actions(name, node)) for node in up.backend.plan.node_names}
            (run,), _ = run_faults(up.backend, [fault])
            done = bmc_actions(name, run.victim)[done_before.get(run.victim, 0):]
            new = sorted((e for e in fence_history(up.backend) if e.completed and e.target == run.victim and epoch(e) >= wall - 1),
                         key=epoch)
            fenced = (f"{new[0].target} fenced by {new[0].delegate} ({new[0].action}, {new[0].status}) "
                      f"{epoch(new[0]) - wall:5.1f} s after the fault" if new else "nobody fenced")
            downtime = f"{run.downtime_s:6.1f} s" if run.downtime_s is not None else "   n/a  "
            by_bmc = f"; its BMC: power {', '.join(done)}" if done else ""
            rows.append(f"{variant:8} {fault:16} {run.outcome:16} downtime {downtime}  {fenced}{by_bmc}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default=FAULTS)
    parser.add_argument("--name", default="benchfence")
    parser.add_argument("--labs", default="pcs,fencing")
    args = parser.parse_args()
    rows = []
    for variant in args.labs.split(","):
        rows += measure(variant, args.name, args.faults.split(","))
    print(f"measured {datetime.now():%Y-%m-%d %H:%M}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
