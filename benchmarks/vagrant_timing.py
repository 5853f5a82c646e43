"""Where the time and memory of a lab go on the Vagrant backend (libvirt, software emulation),
side by side with the local backend on the same faults.

    .venv/bin/python benchmarks/vagrant_timing.py [--lab pcs] [--runs 1] [--faults stop-stack,power-off] [--cold]

Prints: the box build (with --cold: rebuilt), `vagrant up` of the three machines, the lab
document's provisioning, memory per VM (RSS of its QEMU process), each fault's downtime; then
the same bring-up and faults on the local backend, and a table of both. Uses its own lab names
(vgbench, benchlab), one lab at a time, so it never touches a lab of yours.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

from lab_timing import LAB as LOCAL_LAB
from lab_timing import fault_downtimes, print_bring_up, pss_mib

from halab.backends.vagrant.box import ensure_box
from halab.backends.vagrant.machines import domain_prefix
from halab.plan import load_plan
from halab.run import lab_up

LAB = "vgbench"


def qemu_rss_mib(lab: str) -> dict[str, float]:
    """Each VM's memory as the host pays for it: the RSS of its QEMU process."""
    shown = subprocess.run(["ps", "-eo", "rss=,args="], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in shown.splitlines():
        rss, args = line.split(None, 1)
        if "qemu-system" in args and f"guest={domain_prefix(lab)}" in args:
            vm = args.split(f"guest={domain_prefix(lab)}")[1].split(",")[0]
            found[vm] = int(rss) / 1024
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="pcs")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--faults", default="stop-stack,power-off")
    parser.add_argument("--cold", action="store_true", help="rebuild the box first and time it")
    args = parser.parse_args()
    faults = args.faults.split(",")
    plan = load_plan(args.lab)

    if args.cold:
        started = time.monotonic()
        ensure_box(rebuild=True)
        print(f"box build (cold, base image cached): {time.monotonic() - started:.1f} s")

    figures: dict[str, dict[str, float]] = {"vagrant": {}, "local": {}}
    with lab_up(plan, LAB, "vagrant") as up:
        print("== Vagrant backend (libvirt, TCG) ==")
        print_bring_up(up, plan)
        memory = qemu_rss_mib(LAB)
        print("\nmemory per VM (RSS of its QEMU process):")
        for vm, mib in sorted(memory.items()):
            print(f"  {vm}: {mib:.0f} MiB")
        figures["vagrant"] = {**up.phases, **{f"memory {n}": memory.get(n, 0.0) for n in plan.node_names}}
        for fault, values in fault_downtimes(up.backend, faults, args.runs).items():
            figures["vagrant"][f"{fault} downtime"] = statistics.median(values)

    with lab_up(plan, LOCAL_LAB) as up:
        print("\n== local backend (systemd-nspawn) ==")
        print_bring_up(up, plan)
        figures["local"] = {**up.phases, **{f"memory {n}": pss_mib(LOCAL_LAB, n) for n in plan.node_names}}
        for fault, values in fault_downtimes(up.backend, faults, args.runs).items():
            figures["local"][f"{fault} downtime"] = statistics.median(values)

    print(f"\n{'':<28}{'vagrant':>12}{'local':>12}")
    labels = {"boot_s": "boot (vagrant up) s", "provision_s": "provisioning s", "up_to_vip_s": "up until the VIP s"}
    for key in figures["vagrant"]:
        label = labels.get(key, key + (" MiB (RSS / PSS)" if key.startswith("memory") else " s"))
        print(f"{label:<28}{figures['vagrant'][key]:>12.1f}{figures['local'].get(key, float('nan')):>12.1f}")


if __name__ == "__main__":
    main()
