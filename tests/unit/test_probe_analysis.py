"""The after-the-fact judges of a probe history, on synthetic histories with known answers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from halab.probe import (
    ProbeSample,
    downtime_after,
    first_answer_from_another,
    interleavings,
    outage_windows,
    serving_node,
    summarize,
)

T0 = 100.0
PERIOD = 0.02
_KINDS: dict[str, dict[str, Any]] = {
    "1": {"outcome": "ok", "status": 200, "node": "node1"},
    "2": {"outcome": "ok", "status": 200, "node": "node2"},
    "3": {"outcome": "ok", "status": 200, "node": "node3"},
    "x": {"outcome": "refused", "error": "ECONNREFUSED"},
    "t": {"outcome": "timeout", "error": "ReadTimeout"},
    "5": {"outcome": "http-error", "status": 503, "node": "node1"},
}


def history(pattern: str) -> list[ProbeSample]:
    """One request per character, every PERIOD from T0: 1/2/3 = answered by node1/2/3, x = refused,
    t = timed out (after 0.25 s), 5 = HTTP 503."""
    samples = []
    for i, kind in enumerate(pattern):
        start = T0 + i * PERIOD
        latency = 0.25 if kind == "t" else 0.004
        samples.append(ProbeSample(start=start, end=start + latency, **_KINDS[kind]))
    return samples


def at(index: int) -> float:
    return T0 + index * PERIOD


def test_clean_failover_is_one_recovered_outage_and_no_interleaving() -> None:
    samples = history("1" * 50 + "x" * 10 + "2" * 40)
    [window] = outage_windows(samples)
    assert window.start == at(50)
    assert window.end == at(60)
    assert window.recovered
    assert window.duration_s == pytest.approx(0.2)
    assert interleavings(samples) == []
    assert serving_node(samples, at(0), at(50)) == "node1"
    assert serving_node(samples, at(50), at(100)) == "node2"
    assert first_answer_from_another(samples, "node1", after=at(49)) == at(60)
    assert first_answer_from_another(samples, "node2", after=at(49)) is None


def test_in_a_three_node_cluster_the_survivor_that_took_over_is_found_whichever_it_is() -> None:
    samples = history("1" * 50 + "x" * 10 + "3" * 40)
    assert first_answer_from_another(samples, "node1", after=at(49)) == at(60)
    assert serving_node(samples, at(60), at(100)) == "node3"
    assert interleavings(samples) == []


def test_no_outage() -> None:
    samples = history("1" * 100)
    assert outage_windows(samples) == []
    assert downtime_after(samples, at(10)) is None
    text = summarize(samples)
    assert "100 requests" in text and "100 ok (100.0%)" in text
    assert "answered by: node1 100" in text
    assert "no outage seen" in text


def test_outage_at_the_end_is_not_recovered_and_ends_with_the_last_request() -> None:
    samples = history("1" * 10 + "t" * 5)
    [window] = outage_windows(samples)
    assert window.start == at(10)
    assert window.end == pytest.approx(at(14) + 0.25)
    assert not window.recovered
    assert "not recovered" in summarize(samples)


def test_outage_from_the_first_request_and_http_errors_count_as_failures() -> None:
    samples = history("xx5" + "1" * 5)
    [window] = outage_windows(samples)
    assert (window.start, window.end, window.recovered) == (at(0), at(3), True)
    assert "failed: ECONNREFUSED 2, HTTP 503 1" in summarize(samples)


def test_order_of_arrival_does_not_matter() -> None:
    samples = history("1" * 20 + "x" * 7 + "2" * 20 + "t" * 3 + "2" * 5)
    shuffled = samples[:]
    random.Random(4).shuffle(shuffled)
    assert outage_windows(shuffled) == outage_windows(samples)
    assert len(outage_windows(samples)) == 2


def test_downtime_after_picks_the_longest_window_ending_after_the_fault() -> None:
    # outages: [10, 13) of 3 requests, [23, 43) of 20, [53, 58) of 5
    samples = history("1" * 10 + "x" * 3 + "1" * 10 + "x" * 20 + "1" * 10 + "x" * 5 + "1")
    assert len(outage_windows(samples)) == 3
    caused = downtime_after(samples, at(20))
    assert caused is not None and (caused.start, caused.end) == (at(23), at(43))
    late = downtime_after(samples, at(45))
    assert late is not None and (late.start, late.end) == (at(53), at(58))
    bounded = downtime_after(samples, at(0), until=at(15))
    assert bounded is not None and (bounded.start, bounded.end) == (at(10), at(13))
    assert downtime_after(samples, at(58)) is None


def test_a_window_already_under_way_at_the_fault_counts() -> None:
    samples = history("1" * 10 + "x" * 10 + "1" * 10)
    caused = downtime_after(samples, at(15))
    assert caused is not None and caused.start == at(10)


def test_serving_node_counts_only_good_answers_in_the_range() -> None:
    samples = history("1112" + "5555" + "22")
    assert serving_node(samples, at(0), at(4)) == "node1"
    assert serving_node(samples, at(3), at(10)) == "node2"  # node1's 503s are not service
    assert serving_node(samples, at(4), at(8)) is None
    assert serving_node(samples, at(2), at(4)) == "node1"  # a tie goes to who answered first


def test_interleaved_answers_are_dual_active_evidence() -> None:
    samples = history("1" * 20 + "2121" + "1" * 20)
    [mix] = interleavings(samples)
    assert mix.nodes == ("node1", "node2")
    assert mix.switches == 4
    assert mix.start == at(20)
    assert mix.end == pytest.approx(at(23) + 0.004)  # node1 is back at 23
    assert "dual-active: node1 and node2" in summarize(samples)


def test_a_failback_long_after_the_failover_is_not_interleaving() -> None:
    samples = history("1" * 10 + "2" * 150 + "1" * 10)  # node2 served for 3 s
    assert interleavings(samples, window_s=2.0) == []
    [mix] = interleavings(samples, window_s=5.0)
    assert mix.switches == 2


def test_outage_between_answers_of_two_nodes_alternating_is_still_caught() -> None:
    samples = history("1" * 5 + "x" * 10 + "2" + "x" + "1" * 5)
    [mix] = interleavings(samples)
    assert mix.switches == 2
    assert len(outage_windows(samples)) == 2


def test_summary_gives_durations_in_milliseconds() -> None:
    samples = history("1" * 50 + "x" * 10 + "2" * 40)
    text = summarize(samples)
    assert "outage at +1.000 s lasting 200 ms, recovered" in text
    assert "one every 20 ms" in text
    assert "90 ok (90.0%)" in text
    assert "answered by: node1 50, node2 40" in text
    assert summarize([]) == "no requests were sent"
