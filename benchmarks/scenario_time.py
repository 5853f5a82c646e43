"""How long each scenario takes against its inherent time: what the cluster itself needs (a
monitor interval and a restart per kill, the failure-timeout, a failover per action), which
halab cannot shorten. The issue's bar: within 1.3x.

    .venv/bin/python benchmarks/scenario_time.py [--lab pcs] [--name hsbench] [--monitor 5s] [--failure-timeout 20s]

Brings up its own lab (--name), sets Apache's monitor interval and the group's failure-timeout
as given on the pcs lab (short, to keep the run short; the inherent time follows them; the
Heartbeat lab has neither), runs every scenario of the lab's scenarios.toml once, prints one
line per scenario and removes the lab.
"""

from __future__ import annotations

import argparse

from halab.plan import load_plan
from halab.run import lab_up
from halab.scenarios import load_scenarios, run_scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="pcs")
    parser.add_argument("--name", default="hsbench")
    parser.add_argument("--monitor", default="5s", help="Apache's monitor interval for the run")
    parser.add_argument("--failure-timeout", default="20s", help="the group's failure-timeout for the run")
    args = parser.parse_args()
    plan = load_plan(args.lab)
    with lab_up(plan, args.name) as up:
        lab = up.backend
        if plan.tool == "pcs":
            lab.run(plan.node_names[0], ["/bin/sh", "-c", f"pcs resource update WebService op monitor interval={args.monitor} && "
                                         f"pcs resource meta WebCluster failure-timeout={args.failure_timeout}"],
                    timeout=120).check()
        runs, _ = run_scenarios(lab, load_scenarios(plan))
    settings = f"Apache monitored every {args.monitor}, failure-timeout {args.failure_timeout}" if plan.tool == "pcs" else "as the lab sets them"
    print(f"\nscenarios of lab {plan.name}: {settings}")
    print(f"{'scenario':<22} {'verdict':<7} {'measured':>9} {'inherent':>9} {'ratio':>6}  steps")
    for run in runs:
        ratio = run.duration_s / run.inherent_s if run.inherent_s else float("nan")
        print(f"{run.id:<22} {run.verdict:<7} {run.duration_s:8.1f}s {run.inherent_s:8.1f}s {ratio:6.2f}  "
              + ", ".join(f"{s.action} {s.ended_at - s.started_at:.1f}s/{s.inherent_s:.0f}s" for s in run.steps))
    total, inherent = sum(r.duration_s for r in runs), sum(r.inherent_s for r in runs)
    print(f"{'all':<22} {'':<7} {total:8.1f}s {inherent:8.1f}s {total / inherent:6.2f}")


if __name__ == "__main__":
    main()
