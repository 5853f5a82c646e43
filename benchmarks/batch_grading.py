"""What grading a class from submissions costs: wall time of a batch of 6 and of 12 at the
default parallelism, peak memory of the rebuilt labs, time per submission, and the
extrapolation to a class of 30.

    .venv/bin/python benchmarks/batch_grading.py [--sizes 6,12] [--archives DIR] [--parallel N] [--with-faults]

The class is made of the three variants in turn, copied from one archive of each: collected
from labs brought up here (subbpcs, subbcrm, subbhb) unless --archives holds pcs.tar.gz,
crmsh.tar.gz and heartbeat.tar.gz. Rubrics: each variant's own without its fault items, or with
--with-faults each variant's whole rubric (its fault matrix and scenarios, as a teacher grades by
default). Rebuilt labs are called subb1, subb2...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import yaml
from lab_timing import pss_mib

from halab import interrupt
from halab.lab import running_labs
from halab.plan import load_plan
from halab.run import lab_up
from halab.submissions import collect_lab, default_parallelism, find_archives, grade_batch, write_submission
from halab.submissions.archive import read_archive, write_archive
from halab.submissions.batch import Outcome, _available_mib

VARIANTS = {"pcs": "subbpcs", "crmsh": "subbcrm", "heartbeat": "subbhb"}
PREFIX = "subb"


class MemorySampler(threading.Thread):
    """Every second: PSS of every rebuilt lab's nodes; keeps the peak total and each variant's biggest node."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mib, self.node_mib, self.stopped = 0.0, dict[str, float](), threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            total = 0.0
            for record in running_labs():
                if not record.name.startswith(PREFIX) or record.name in VARIANTS.values():
                    continue
                variant = Path(record.plan).parent.name
                for node in ("node1", "node2", "serv1", "serv2", "srv", "srv-slave"):
                    mib = pss_mib(record.name, node)
                    total += mib
                    self.node_mib[variant] = max(self.node_mib.get(variant, 0.0), mib)
            self.peak_mib = max(self.peak_mib, total)


def archives(folder: Path | None, work: Path) -> dict[str, Path]:
    if folder is not None:
        return {variant: folder / f"{variant}.tar.gz" for variant in VARIANTS}
    found = {}
    for variant, lab in VARIANTS.items():
        with lab_up(load_plan(variant), lab) as up:
            found[variant] = write_submission(work / f"{variant}.tar.gz", collect_lab(up.backend, variant))
    return found


def config_rubric(variant: str, folder: Path) -> Path:
    data = yaml.safe_load((load_plan(variant).folder / "rubric.yaml").read_text())
    faults = {item["id"] for item in data["checks"] if item["id"].startswith("fault-")}
    data["checks"] = [i for i in data["checks"] if i["id"] not in faults and not faults & set(i.get("requires", []))]
    path = folder / f"{variant}-config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def make_class(sources: dict[str, Path], size: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    variants = list(sources)
    for index in range(size):
        variant = variants[index % len(variants)]
        members = read_archive(sources[variant])
        manifest = {**json.loads(members["manifest.json"]), "student": f"student{index + 1:02d}"}
        write_archive(folder / f"student{index + 1:02d}.tar.gz", {**members, "manifest.json": json.dumps(manifest).encode()}, 0)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6,12")
    parser.add_argument("--archives", type=Path, help="a folder with pcs.tar.gz, crmsh.tar.gz, heartbeat.tar.gz")
    parser.add_argument("--parallel", type=int, help="default: halab's own default")
    parser.add_argument("--with-faults", action="store_true", help="each variant's whole rubric, fault matrix included")
    args = parser.parse_args()
    interrupt.install()  # Ctrl-C removes the rebuilt labs, as `halab grade` does
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = archives(args.archives, work)
        rubrics = {variant: load_plan(variant).folder / "rubric.yaml" if args.with_faults else config_rubric(variant, work)
                   for variant in VARIANTS}
        parallel = args.parallel or default_parallelism(list(VARIANTS))
        print(f"{len(os.sched_getaffinity(0))} cores, {_available_mib():.0f} MiB available: {parallel} labs at once; "
              f"rubrics {'with' if args.with_faults else 'without'} the fault matrix")
        for size in (int(s) for s in args.sizes.split(",")):
            sampler = MemorySampler()
            sampler.start()
            started = time.monotonic()
            outcomes = grade_batch(find_archives(make_class(sources, size, work / f"class{size}")), work / f"out{size}",
                                   rubrics=rubrics, parallel=parallel, name_prefix=PREFIX)
            wall = time.monotonic() - started
            sampler.stopped.set()
            sampler.join()
            graded = [o for o in outcomes if o.state == "graded"]
            each = [o.duration_s for o in graded]
            print(f"batch of {size}: {wall:.0f} s wall ({wall / size:.1f} s per submission), "
                  f"{len(graded)}/{size} graded; one submission {min(each):.0f}-{max(each):.0f} s "
                  f"(median {statistics.median(each):.0f}); peak PSS of the rebuilt labs {sampler.peak_mib:.0f} MiB; "
                  f"biggest node: " + ", ".join(f"{v} {m:.0f} MiB" for v, m in sorted(sampler.node_mib.items()))
                  + f"; a class of 30 at this rate: {wall / size * 30 / 60:.1f} min")
            print_grades(outcomes)


def print_grades(outcomes: list[Outcome]) -> None:
    """Each student's grade and what it lost: every copy of a variant is the same submission, so
    any difference between them is the machine's doing (contention), not the student's."""
    for outcome in sorted(outcomes, key=lambda o: o.student):
        if outcome.run is None:
            print(f"  {outcome.student} {outcome.variant}: {outcome.state} ({outcome.reason})")
            continue
        grade = outcome.run.grade
        lost = ", ".join(f"{s.item.id} ({s.state})" for s in grade.items if s.lost)
        print(f"  {outcome.student} {outcome.variant}: {grade.awarded:g}/{grade.total:g} in {outcome.duration_s:.0f} s"
              + (f"; lost: {lost}" if lost else ""))


if __name__ == "__main__":
    main()
