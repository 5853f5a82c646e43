"""Where the time and memory of a lab go, on the local backend.

    .venv/bin/python benchmarks/lab_timing.py [--lab pcs] [--runs 3] [--cold] [--name benchlab]

Prints: the base image build (with --cold: rebuilt from Debian's packages), the warm bring-up
until the VIP answers split into boot and each document step, memory per node (PSS, summed
over the node's processes), and each fault's downtime over --runs runs (min / median / max; --runs 0: bring-up and memory only).
Uses its own lab name (--name), so it never touches a lab of yours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from halab.backends import Backend
from halab.backends.local import cgroups
from halab.image import ensure_image
from halab.paths import state_root
from halab.plan import LabPlan, load_plan
from halab.run import LabUp, expected_faults, lab_up, run_faults

LAB = "benchlab"


def pss_mib(lab: str, node: str) -> float:
    total_kib = 0
    for pid in cgroups.pids(lab, node):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def print_bring_up(up: LabUp, plan: LabPlan) -> None:
    """The bring-up until the VIP answers: boot, then each document step."""
    print(f"\nbring-up of lab {plan.name} until the VIP answers: {up.phases['up_to_vip_s']:.1f} s")
    print(f"  boot of the machines (parallel): {up.phases['boot_s']:.1f} s")
    for step in up.steps:
        print(f"  step {step.step.number:>2} on {step.node}: {step.result.duration_s:5.1f} s  "
              f"{step.step.heading} | {step.step.body.strip().splitlines()[0][:60]}")
    # A step for several nodes runs on them at once: it costs its slowest node.
    slowest: dict[int, float] = defaultdict(float)
    for step in up.steps:
        slowest[step.step.number] = max(slowest[step.step.number], step.result.duration_s)
    accounted = up.phases["boot_s"] + sum(slowest.values())
    print(f"  waiting for the VIP after the last step, and harness overhead: {up.phases['up_to_vip_s'] - accounted:.1f} s")


def fault_downtimes(backend: Backend, faults: Sequence[str], runs: int) -> dict[str, list[float]]:
    """Each fault's downtime in seconds, `runs` times over (0 when clients saw no outage)."""
    downtimes: dict[str, list[float]] = defaultdict(list)
    started = time.monotonic()
    for _ in range(runs):
        fault_runs, _samples = run_faults(backend, faults)
        for run in fault_runs:
            downtimes[run.fault].append(run.downtime_s or 0.0)
    print(f"\nfault downtime over {runs} runs (matrix took {time.monotonic() - started:.0f} s):")
    for fault, values in downtimes.items():
        ms = [v * 1000 for v in values]
        print(f"  {fault:<16} min {min(ms):7.0f} ms  median {statistics.median(ms):7.0f} ms  max {max(ms):7.0f} ms")
    return dict(downtimes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="pcs")
    parser.add_argument("--runs", type=int, default=3, help="fault matrix runs (0: none)")
    parser.add_argument("--name", default=LAB, help=f"the lab's name (default {LAB})")
    parser.add_argument("--cold", action="store_true", help="rebuild the base image first and time it")
    args = parser.parse_args()

    if args.cold:
        started = time.monotonic()
        ensure_image(rebuild=True)
        print(f"base image build (cold): {time.monotonic() - started:.1f} s")

    plan = load_plan(args.lab)
    with lab_up(plan, args.name) as up:
        print_bring_up(up, plan)
        print("\nper node: memory (PSS of every process in the node), tasks, writable layer used:")
        for node in plan.node_names:
            tasks = len(cgroups.pids(args.name, node))
            layer = os.statvfs(state_root() / "labs" / args.name / "nodes" / node / "layer")
            used = (layer.f_blocks - layer.f_bfree) * layer.f_frsize / 2**20
            print(f"  {node}: {pss_mib(args.name, node):.0f} MiB, {tasks} processes, {used:.0f} MiB written")
        if args.runs > 0:
            fault_downtimes(up.backend, expected_faults(plan), args.runs)


if __name__ == "__main__":
    main()
