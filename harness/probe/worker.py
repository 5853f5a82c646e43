"""The probe process: sends requests to the VIP on a fixed schedule and prints one JSON line each.

    python -m halab.probe.worker --url http://10.0.0.10/ \\
        --marker node1="served by node1" --marker node2="served by node2" \\
        --period 0.02 --timeout 0.25 --max-duration 3600

Open loop, as Jepsen's clients are: request i is sent at t0 + i * period whether or not earlier
requests have answered, so a hung VIP shows up as many timeouts rather than as one slow request
that hides the outage. Each request opens a new connection, so every request sees the current
owner of the VIP (ARP, TCP handshake and all). It runs as its own process so that it can be
started inside the lab's network namespace while the harness stays outside.

It stops by itself after --max-duration; on SIGTERM or SIGINT it stops sending, lets the
requests in flight finish (each is bounded by --timeout) and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import importlib.util
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Sequence, TextIO

import httpx

from halab.probe.identify import mac_of, node_with_mac, which_node
from halab.probe.samples import ProbeSample


@dataclass(frozen=True)
class WorkerConfig:
    url: str
    markers: tuple[tuple[str, str], ...]  # (node, text in that node's page)
    period_s: float = 0.02
    timeout_s: float = 0.25
    max_duration_s: float = 3600.0
    macs: tuple[tuple[str, str], ...] = ()  # (node, MAC of its NIC on the VIP's subnet)
    arp_table: str = "/proc/net/arp"  # the prober's own namespace's neighbour table

    @property
    def slots(self) -> int:
        """How many requests fit in max_duration_s: the bound on what one worker ever sends."""
        return math.ceil(round(self.max_duration_s / self.period_s, 6))

    def to_argv(self) -> list[str]:
        """The command-line arguments that `parse_args` turns back into this config."""
        argv = ["--url", self.url]
        for node, text in self.markers:
            argv += ["--marker", f"{node}={text}"]
        for node, mac in self.macs:
            argv += ["--mac", f"{node}={mac}"]
        argv += ["--period", repr(self.period_s), "--timeout", repr(self.timeout_s)]
        return [*argv, "--max-duration", repr(self.max_duration_s)]

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host


def parse_args(argv: Sequence[str] | None = None) -> WorkerConfig:
    parser = argparse.ArgumentParser(prog="python -m halab.probe.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--marker", action="append", default=[], metavar="NODE=TEXT", type=_marker)
    parser.add_argument("--mac", action="append", default=[], metavar="NODE=MAC", type=_marker,
                        help="tell who answered by the MAC the VIP resolves to")
    parser.add_argument("--period", type=_positive, default=0.02, help="seconds between requests")
    parser.add_argument("--timeout", type=_positive, default=0.25, help="seconds before a request counts as lost")
    parser.add_argument("--max-duration", type=_positive, default=3600.0, help="seconds before stopping anyway")
    args = parser.parse_args(argv)
    return WorkerConfig(args.url, tuple(args.marker), args.period, args.timeout, args.max_duration, tuple(args.mac))


def _marker(value: str) -> tuple[str, str]:
    node, sep, text = value.partition("=")
    if not (node and sep and text):
        raise argparse.ArgumentTypeError(f"expected NODE=TEXT, got {value!r}")
    return node, text


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value!r}")
    return number


def next_slot(slot: int, now: float, t0: float, period_s: float) -> int:
    """The slot to send after `slot`: the next one, or when we are late, the latest one already
    due. Slots missed while late are skipped, so lateness never turns into a burst."""
    return max(slot + 1, int((now - t0) / period_s))


def classify(error: BaseException) -> tuple[str, str]:
    """(outcome, short error kind) for a request that got no HTTP response."""
    if isinstance(error, (httpx.TimeoutException, TimeoutError)):
        return "timeout", type(error).__name__
    code = _errno(error)
    if code == errno.ECONNREFUSED:
        return "refused", "ECONNREFUSED"
    if code in (errno.ECONNRESET, errno.EPIPE):
        return "reset", errno.errorcode[code]
    if isinstance(error, httpx.RemoteProtocolError):
        return "reset", "closed without response"
    if code is not None:
        return "error", errno.errorcode.get(code, str(code))
    return "error", type(error).__name__


def _errno(error: BaseException | None) -> int | None:
    """The errno of the OSError that httpx and httpcore wrapped, found along the cause chain."""
    for _ in range(10):  # the chain is short; the bound is against a cycle
        if error is None or (isinstance(error, OSError) and error.errno is not None):
            break
        error = error.__cause__ or error.__context__
    return error.errno if isinstance(error, OSError) else None


class _Worker:
    def __init__(self, config: WorkerConfig, client: httpx.AsyncClient, out: TextIO) -> None:
        self.config = config
        self.client = client
        self.out = out
        self.in_flight: set[asyncio.Task[None]] = set()
        self.scheduler: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.scheduler = asyncio.create_task(self._send_on_schedule())
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.scheduler.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await self.scheduler
        await asyncio.gather(*self.in_flight)

    async def _send_on_schedule(self) -> None:
        period = self.config.period_s
        t0 = time.monotonic()
        slot = 0
        while slot < self.config.slots:
            delay = t0 + slot * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._probe_and_report())
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
            slot = next_slot(slot, time.monotonic(), t0, period)

    async def _probe_and_report(self) -> None:
        sample = await self._probe()
        try:
            self.out.write(json.dumps(sample.to_json(), separators=(",", ":")) + "\n")
            self.out.flush()
        except BrokenPipeError:
            # Nobody reads the samples any more: stop, and keep Python quiet about stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())
            if self.scheduler is not None:
                self.scheduler.cancel()

    async def _probe(self) -> ProbeSample:
        start = time.monotonic()
        try:
            async with asyncio.timeout(self.config.timeout_s):
                response = await self.client.get(self.config.url)
        except Exception as error:  # every failure is a data point, not a crash
            outcome, kind = classify(error)
            return ProbeSample(start, time.monotonic(), outcome, error=kind)
        end = time.monotonic()
        outcome = "ok" if response.status_code == 200 else "http-error"
        page_node = which_node(response.text, self.config.markers)
        return ProbeSample(start, end, outcome, status=response.status_code,
                           node=self._mac_node() or page_node, page_node=page_node)

    def _mac_node(self) -> str | None:
        """The node whose NIC the VIP resolves to right now: the one that just answered."""
        if not self.config.macs:
            return None
        try:
            with open(self.config.arp_table) as table:
                return node_with_mac(mac_of(self.config.host, table.read()), self.config.macs)
        except OSError:
            return None


async def run(config: WorkerConfig, out: TextIO = sys.stdout) -> None:
    """Probe until max_duration_s has passed or SIGTERM/SIGINT arrives, writing samples to `out`."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(config.timeout_s),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        headers={"Connection": "close"},
        trust_env=False,  # a proxy from the environment must not stand between us and the VIP
        follow_redirects=False,
    )
    async with client:
        await _Worker(config, client, out).run()


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    _remember_that_sniffio_is_missing()
    asyncio.run(run(config))
    return 0


def _remember_that_sniffio_is_missing() -> None:
    """httpcore 1.0.x tries `import sniffio` for every lock it sets up, and anyio >= 4.11 no longer
    brings sniffio along; each failed import searches sys.path again, about a sixth of the worker's
    CPU (encode/httpcore#1103). A None in sys.modules makes that import fail at once."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


if __name__ == "__main__":
    sys.exit(main())
