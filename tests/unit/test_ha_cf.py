"""parse_ha_cf on the heartbeat lab's own ha.cf and on the mistakes heartbeat 3.0.6 refuses or
reads otherwise than a student expects (config.c: parse_config, get_msec, init_config)."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.ha_cf import HaCfEntry, parse_ha_cf, parse_time_ms
from halab.stacks.heartbeat import group_owner

LAB = (Path(__file__).parents[2] / "labs/heartbeat/lab.md").read_text()


def lab_file(path: str) -> str:
    """The body of the lab document's `file=PATH` block."""
    after = LAB.split(f"file={path} ", 1)[1]
    return after.split("\n", 1)[1].split("```", 1)[0]


def test_the_lab_ha_cf() -> None:
    conf = parse_ha_cf(lab_file("/etc/heartbeat/ha.cf"), source="srv:/etc/ha.d/ha.cf")
    assert (conf.keepalive_ms, conf.deadtime_ms, conf.warntime_ms, conf.initdead_ms) == (1000, 10000, 5000, 20000)
    assert conf.nodes == ("srv", "srv-slave")
    assert conf.auto_failback == "on" and conf.udpport == 694
    assert conf.media == (HaCfEntry("bcast", "enp0s3", 7),)
    assert conf.refusals() == () and conf.unknown_directives() == ()


def test_the_lab_haresources_gives_the_group_to_srv() -> None:
    assert group_owner(lab_file("/etc/heartbeat/haresources"), "192.168.137.200") == "srv"
    assert group_owner("# srv-slave 192.168.137.200\nSRV 192.168.137.200 apache2\n", "192.168.137.200") == "srv"
    assert group_owner("srv IPaddr::192.168.137.2001/24 apache2\n", "192.168.137.200") is None


def test_defaults_when_nothing_is_said() -> None:
    conf = parse_ha_cf("bcast eth0\nnode a\nnode b\n")
    assert (conf.keepalive_ms, conf.deadtime_ms, conf.warntime_ms, conf.initdead_ms) == (1000, 30000, 15000, 30000)
    assert conf.auto_failback == "legacy"  # heartbeat warns about it at every start
    assert conf.udpport == 694


@pytest.mark.parametrize(
    ("deadtime", "initdead"),
    [("5", 12000), ("6", 12000), ("8", 16000), ("10", 20000), ("11", 11000)],  # init_config's rule
)
def test_initdead_defaults_from_deadtime(deadtime: str, initdead: int) -> None:
    assert parse_ha_cf(f"deadtime {deadtime}\n").initdead_ms == initdead


@pytest.mark.parametrize(
    ("text", "ms"),
    [("10", 10000), ("1500ms", 1500), ("1500 ms", 1500), ("0.5", 500), ("2MS", 2), ("1500us", 2), ("499us", 0),
     ("10s", None), ("ten", None), ("", None), ("-1", None)],
)
def test_times_read_as_heartbeat_reads_them(text: str, ms: int | None) -> None:
    assert parse_time_ms(text) == ms


def test_comments_commas_several_values_and_the_last_value_wins() -> None:
    conf = parse_ha_cf(
        "# whole line\n"
        "  keepalive 2   # after a value\n"
        "node SRV, srv-slave\tother\n"
        "deadtime 20\n"
        "deadtime 15\n"
        "ucast enp0s3 192.168.137.63   # the peer\n"
        "auto_failback Off\n"
    )
    assert conf.keepalive_ms == 2000
    assert conf.nodes == ("srv", "srv-slave", "other")  # lowered, as heartbeat does
    assert conf.deadtime_ms == 15000
    assert conf.entry("deadtime") == HaCfEntry("deadtime", "15", 5)
    assert conf.media == (HaCfEntry("ucast", "enp0s3 192.168.137.63", 6),)  # whole-line directive
    assert conf.auto_failback == "off"


def test_a_time_with_a_unit_heartbeat_does_not_know_is_refused_with_its_line() -> None:
    conf = parse_ha_cf("bcast eth0\nnode a\ndeadtime 10s\n", source="srv:/etc/ha.d/ha.cf")
    with pytest.raises(HalabError) as error:
        conf.deadtime_ms
    assert "srv:/etc/ha.d/ha.cf line 3: deadtime must be a time" in error.value.what
    assert error.value.evidence == "   3 | deadtime 10s"
    assert conf.refusals() == ("line 3: deadtime must be a time, not '10s'; heartbeat refuses to start",)


def test_a_blank_between_number_and_unit_is_two_values() -> None:
    # heartbeat splits values at blanks: `deadtime 10 s` sets 10, then fails on `s`
    assert parse_ha_cf("deadtime 10 s\n").values("deadtime") == ("10", "s")
    with pytest.raises(HalabError, match="deadtime must be a time, not 's'"):
        parse_ha_cf("deadtime 10 s\n").deadtime_ms


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("bcast eth0\nnode a\nkeepalive 5\ndeadtime 10\n", "deadtime 10000 ms must be more than twice keepalive (5000 ms)"),
        ("bcast eth0\nnode a\ndeadtime 30\ninitdead 20\n", "initdead 20000 ms must be at least deadtime (30000 ms)"),
        ("node a\n", "no heartbeat medium (bcast, ucast, mcast or serial)"),
        ("bcast eth0\n", "no `node` declared"),
        ("bcast eth0\nnode a\nDeadtime 10\n", "line 3: illegal directive `Deadtime`"),  # names are case-sensitive
        ("bcast eth0\nnode a\ndead_time 10\n", "line 3: illegal directive `dead_time`"),
    ],
)
def test_what_heartbeat_refuses_to_start_with(text: str, refusal: str) -> None:
    assert refusal in parse_ha_cf(text).refusals()


def test_auto_failback_must_be_a_boolean_or_legacy() -> None:
    with pytest.raises(HalabError, match="line 1: auto_failback must be on, off or legacy"):
        parse_ha_cf("auto_failback maybe\n").auto_failback
