"""What fencing costs and buys: the fencing lab next to the unfenced pcs lab, on the local backend.

    .venv/bin/python benchmarks/fencing_time.py [--labs pcs,fencing] [--faults cut-link,kill-membership,power-off,bmc-unreachable-cut] [--name benchfence]
    .venv/bin/python benchmarks/fencing_time.py --backend vagrant --labs fencing --faults cut-link,power-off --name vgfence

For each lab: the bring-up until the VIP answers; then per fault the outcome, the downtime a
client saw, and (fencing lab) who fenced whom and the time from the fault to the fence's
completion (the run's own record, read from `stonith_admin --history --verbose`), and what the
victim's BMC did. One lab at a time, under its own --name.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from halab import bmc
from halab.plan import load_plan
from halab.run import lab_up, run_faults

FAULTS = "cut-link,kill-membership,power-off,bmc-unreachable-cut"


def bmc_actions(lab: str, node: str) -> list[str]:
    """The BMC's own record of its chassis commands ("03:01:57 node1: chassis power on" becomes
    "on 03:01:57"). A node the fault already powered off gets "on" only: fence_ipmilan reads the
    status first and does not power off a node that is off."""
    log = bmc.log_file(lab, node)
    lines = log.read_text().splitlines() if log.exists() else []
    return [f"{line.split()[-1]} {line.split()[0]}" for line in lines if ": chassis power " in line]


def measure(variant: str, name: str, faults: list[str], backend: str = "local") -> list[str]:
    rows = []
    plan = load_plan(variant)
    with lab_up(plan, name, backend) as up:
        rows.append(f"{variant:8} bring-up to VIP {up.phases['up_to_vip_s']:6.1f} s ({backend} backend)")
        for fault in (f for f in faults if plan.expectation(f)):  # bmc-unreachable-cut: BMCs only
            done_before = {node: len(bmc_actions(name, node)) for node in up.backend.plan.node_names}
            (run,), _ = run_faults(up.backend, [fault])
            done = bmc_actions(name, run.victim)[done_before.get(run.victim, 0):]
            fenced = "; ".join(run.fences) or "nobody fenced"
            downtime = f"{run.downtime_s:6.1f} s" if run.downtime_s is not None else "   n/a  "
            by_bmc = f"; its BMC: power {', '.join(done)}" if done else ""
            rows.append(f"{variant:8} {fault:16} {run.outcome:16} downtime {downtime}  {fenced}{by_bmc}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default=FAULTS)
    parser.add_argument("--name", default="benchfence")
    parser.add_argument("--labs", default="pcs,fencing")
    parser.add_argument("--backend", default="local", choices=("local", "vagrant"),
                        help="vagrant: libvirt VMs, the BMCs power them off and on with virsh destroy and start")
    args = parser.parse_args()
    rows = []
    for variant in args.labs.split(","):
        rows += measure(variant, args.name, args.faults.split(","), args.backend)
    print(f"measured {datetime.now():%Y-%m-%d %H:%M}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
