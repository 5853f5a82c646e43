"""The prober against a real HTTP server on 127.0.0.1 (loopback only), and its worker's pieces."""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from halab.errors import HalabError
from halab.probe import Prober, ProbeSample
from halab.probe.identify import which_node
from halab.probe.worker import WorkerConfig, classify, next_slot, parse_args

MARKERS = {"node1": "served by node1", "node2": "served by node2"}


class _Node1Page(BaseHTTPRequestHandler):
    delay_s = 0.0
    requests: list[float]  # set per server: when each request came in

    def do_GET(self) -> None:
        self.requests.append(time.monotonic())
        time.sleep(self.delay_s)
        body = b"<html><body><h1>served by node1</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the prober opens a connection per request, many at once when slow


@contextmanager
def serving(delay_s: float = 0.0) -> Iterator[tuple[str, list[float]]]:
    """A page saying "served by node1" on 127.0.0.1, answering after `delay_s`; yields its URL and
    the arrival time of each request."""
    requests: list[float] = []
    handler = type("Page", (_Node1Page,), {"delay_s": delay_s, "requests": requests})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def probe_for(
    url: str, seconds: float, *, period_s: float = 0.02, timeout_s: float = 0.25, max_duration_s: float = 60.0
) -> list[ProbeSample]:
    prober = Prober(url, MARKERS, period_s=period_s, timeout_s=timeout_s, max_duration_s=max_duration_s)
    prober.start()
    time.sleep(seconds)
    return prober.stop()


def test_probes_every_period_and_tells_who_answered() -> None:
    with serving() as (url, requests):
        samples = probe_for(url, 1.0, period_s=0.02)
    assert 40 <= len(samples) <= 60
    assert len(samples) == len(requests)
    assert {(s.outcome, s.status, s.node) for s in samples} == {("ok", 200, "node1")}
    gaps = [b.start - a.start for a, b in itertools.pairwise(samples)]
    assert statistics.median(gaps) == pytest.approx(0.02, abs=0.003)


def test_a_closed_port_is_refused() -> None:
    with serving() as (url, _):
        pass
    samples = probe_for(url, 0.3, period_s=0.02)
    assert len(samples) >= 10
    assert {(s.outcome, s.error, s.node) for s in samples} == {("refused", "ECONNREFUSED", None)}


def test_open_loop_a_slow_server_does_not_slow_the_probe() -> None:
    with serving(delay_s=0.2) as (url, requests):
        samples = probe_for(url, 1.0, period_s=0.02, timeout_s=2.0)
    # Closed loop would send about 1.2 s / 0.2 s = 6; open loop keeps one every 20 ms (about
    # 50; a loaded machine delays some sends, so only a clear margin over closed loop is asked).
    assert len(samples) >= 30
    assert all(s.ok and s.latency_s >= 0.2 for s in samples)
    overlapping = sum(1 for a, b in itertools.pairwise(samples) if b.start < a.end)
    assert overlapping >= len(samples) - 2
    # stop() waited for the requests in flight: each request sent has its sample.
    assert len(samples) == len(requests)


def test_timeouts_are_reported_as_such() -> None:
    with serving(delay_s=0.3) as (url, _):
        samples = probe_for(url, 0.2, period_s=0.05, timeout_s=0.1)
    assert samples and {s.outcome for s in samples} == {"timeout"}
    assert all(s.latency_s < 0.2 for s in samples)


def test_the_worker_stops_by_itself_after_max_duration() -> None:
    with serving() as (url, _):
        samples = probe_for(url, 0.4, period_s=0.05, max_duration_s=0.2)
    assert len(samples) == 4


def test_wait_for_answer_returns_a_fresh_good_answer() -> None:
    with serving() as (url, _), Prober(url, MARKERS) as prober:
        called = time.monotonic()
        answer = prober.wait_for_answer(timeout_s=2.0)
        assert answer.ok and answer.node == "node1" and answer.start >= called


def test_wait_for_answer_gives_up_in_time_with_the_last_sample() -> None:
    with serving() as (url, _):
        pass
    with Prober(url, MARKERS) as prober:
        began = time.monotonic()
        with pytest.raises(HalabError) as raised:
            prober.wait_for_answer(timeout_s=0.5)
        assert time.monotonic() - began < 1.5
    assert "refused" in raised.value.evidence


def test_a_worker_that_dies_is_reported_not_hidden() -> None:
    with serving() as (url, _):
        prober = Prober(url, MARKERS).start()
        assert prober._process is not None
        prober._process.kill()  # as the OOM killer would
        prober._process.wait()
        with pytest.raises(HalabError, match="stopped early"):
            prober.samples()
        with pytest.raises(HalabError, match="stopped early"):
            prober.stop()


def test_a_missing_network_namespace_is_a_clear_error() -> None:
    prober = Prober("http://127.0.0.1:9/", MARKERS, netns="halab-no-such-ns")
    with pytest.raises(HalabError) as raised:
        prober.start()
    assert "halab-no-such-ns" in str(raised.value)
    assert "halab-no-such-ns" in raised.value.evidence  # nsenter's own complaint, or the command
    assert "ip netns list" in raised.value.fix


def test_a_netns_name_cannot_be_a_path() -> None:
    with pytest.raises(HalabError):
        Prober("http://127.0.0.1:9/", MARKERS, netns="../../proc/1/ns/net")


def test_a_worker_that_cannot_start_shows_its_stderr() -> None:
    prober = Prober("http://127.0.0.1:9/", MARKERS, period_s=-1.0)
    with pytest.raises(HalabError) as raised:
        prober.start()
    assert "--period" in raised.value.evidence


def test_the_longest_marker_wins() -> None:
    markers = (("node1", "node1"), ("node10", "node10"))
    assert which_node("this is node10", markers) == "node10"
    assert which_node("this is node1", markers) == "node1"
    assert which_node("this is nobody", markers) is None


def test_late_slots_fire_once_and_missed_ones_are_skipped() -> None:
    assert next_slot(3, now=1.0 + 3 * 0.02 + 0.001, t0=1.0, period_s=0.02) == 4  # on time
    assert next_slot(3, now=1.0 + 4 * 0.02 + 0.001, t0=1.0, period_s=0.02) == 4  # slot 4 late: at once
    assert next_slot(3, now=1.0 + 9.5 * 0.02, t0=1.0, period_s=0.02) == 9  # 4..8 skipped


def test_worker_config_survives_the_command_line() -> None:
    config = WorkerConfig("http://10.0.0.10/", (("node1", "a=b c"), ("node2", "x")), 0.05, 0.5, 12.0)
    assert parse_args(config.to_argv()) == config
    assert config.slots == 240


def test_connection_errors_are_classified_by_errno() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    wrapper = OSError("All connection attempts failed")
    wrapper.__cause__ = refused
    assert classify(wrapper) == ("refused", "ECONNREFUSED")
    assert classify(ConnectionResetError(104, "reset")) == ("reset", "ECONNRESET")
    assert classify(TimeoutError()) == ("timeout", "TimeoutError")
    assert classify(OSError(113, "No route to host")) == ("error", "EHOSTUNREACH")


def test_sample_json_round_trip_rejects_unknown_outcomes() -> None:
    sample = ProbeSample(1.5, 1.6, "http-error", status=503, node="node2")
    assert ProbeSample.from_json(sample.to_json()) == sample
    with pytest.raises(ValueError):
        ProbeSample.from_json({**sample.to_json(), "outcome": "fine"})


def test_who_answered_comes_from_the_mac_the_vip_resolves_to_not_the_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """node2 serving node1's page is still node2: the page is only the cross-check."""
    import asyncio
    import io

    from halab.probe.worker import run

    table = tmp_path / "arp"
    table.write_text("IP address       HW type     Flags       HW address            Mask     Device\n"
                     "127.0.0.1        0x1         0x2         52:54:00:56:00:20     *        br0\n")
    with serving() as (url, _):
        config = WorkerConfig(url, tuple(MARKERS.items()), 0.05, 0.5, 0.3,
                              macs=(("node1", "52:54:00:56:00:10"), ("node2", "52:54:00:56:00:20")), arp_table=str(table))
        out = io.StringIO()
        asyncio.run(run(config, out))
    samples = [ProbeSample.from_json(json.loads(line)) for line in out.getvalue().splitlines()]
    assert samples and all((s.node, s.page_node) == ("node2", "node1") for s in samples if s.ok)


def test_worker_config_with_macs_survives_the_command_line() -> None:
    config = WorkerConfig("http://10.0.0.10/", (("node1", "x"),), macs=(("node1", "52:54:00:56:00:10"),))
    assert parse_args(config.to_argv()) == config
