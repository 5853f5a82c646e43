"""What the probe worker costs: CPU and memory while it probes a loopback page for 10 s.

    .venv/bin/python benchmarks/prober_cpu.py [--seconds 10] [--period 0.02]

The page is served by http.server in a thread of this process, on 127.0.0.1 only, so the CPU
counted for children (resource.RUSAGE_CHILDREN) is the worker's alone, start-up included.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from halab.probe import ProbeSample
from halab.probe.worker import WorkerConfig


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--period", type=float, default=WorkerConfig.period_s)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<html><body><h1>served by node1</h1></body></html>\n")
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=root))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        config = WorkerConfig(
            f"http://127.0.0.1:{server.server_port}/",
            (("node1", "served by node1"),),
            period_s=args.period,
            max_duration_s=args.seconds,
        )
        began = time.monotonic()
        worker = subprocess.run(
            [sys.executable, "-m", "halab.probe.worker", *config.to_argv()],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - began
        server.shutdown()
        server.server_close()

    if worker.returncode != 0:
        sys.exit(f"the worker failed (exit status {worker.returncode}):\n{worker.stderr}")
    samples = [ProbeSample.from_json(json.loads(line)) for line in worker.stdout.splitlines()]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    latencies = sorted(s.latency_s for s in samples)
    ok = sum(s.ok for s in samples)
    print(f"samples sent:   {len(samples)} in {wall:.1f} s (expected {config.slots}), {ok} ok")
    print(f"latency:        median {latencies[len(latencies) // 2] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"worker CPU:     {cpu:.2f} s = {100 * cpu / wall:.1f}% of one core", end=" ")
    print(f"(user {usage.ru_utime:.2f} s, sys {usage.ru_stime:.2f} s, start-up included)")
    print(f"worker peak RSS: {usage.ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
