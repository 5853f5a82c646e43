from datetime import datetime
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.cib import Primitive, parse_cib
from halab.stacks.fencing import (FENCE_ACTION_S, FenceEvent, devices_for, fence_delay_s, fencing_time_s, parse_stonith_history,
                                  stonith_enabled)

RECORDED = Path(__file__).parent / "recorded"


def test_history_says_who_fenced_whom_and_when() -> None:
    (event,) = parse_stonith_history((RECORDED / "stonith-history-node1-rebooted-by-node2.xml").read_text())
    assert (event.action, event.target, event.delegate, event.origin) == ("reboot", "node1", "node2", "node2")
    assert event.succeeded and event.completed == datetime(2026, 12, 3, 20, 19, 53)
    assert event.describe() == "reboot of node1 by node2: success at 20:19:53"


def test_an_empty_history_has_no_events() -> None:
    assert parse_stonith_history((RECORDED / "stonith-history-empty.xml").read_text()) == ()


def test_a_history_that_is_not_xml_is_refused() -> None:
    with pytest.raises(HalabError, match="not valid XML"):
        parse_stonith_history("reboot of node1 successful: delegate=node2")


def test_the_fencing_lab_has_one_delayed_device_per_node() -> None:
    cib = parse_cib((RECORDED / "cib" / "fencing-lab-two-ipmi-devices.xml").read_text())
    assert stonith_enabled(cib)
    assert [d.id for d in devices_for(cib, "node1")] == ["fence_node1"]
    assert [d.id for d in devices_for(cib, "node2")] == ["fence_node2"]
    assert fence_delay_s(cib) == 5.0
    assert fencing_time_s(cib) == 5.0 + FENCE_ACTION_S


def test_without_stonith_fencing_adds_nothing() -> None:
    cib = parse_cib((RECORDED / "cib" / "cib-two-nodes-group-started.xml").read_text())
    assert not cib.fencing_devices and fencing_time_s(cib) == 0.0


@pytest.mark.parametrize(
    "address,message",
    [
        ("192.168.56.21", "fence_node1 fences node1 through 192.168.56.21, which is node2's BMC"),
        ("10.1.1.11", "off the lab subnet 192.168.56.0/24"),
        ("", "has no usable BMC address"),
    ],
)
def test_a_fence_device_aimed_at_the_wrong_bmc_is_named(address: str, message: str) -> None:
    from halab.checks.test_fencing import _address_belongs_to
    from halab.grading.results import CheckFailed
    from halab.plan import load_plan
    from halab.stacks.admin import admin_for

    device = Primitive("fence_node1", "stonith:fence_ipmilan", (("ip", address),), None)
    with pytest.raises(CheckFailed, match=message) as failed:
        _address_belongs_to(device, address, "node1", load_plan("fencing"), admin_for("pcs"))
    assert failed.value.fix == "pcs stonith update fence_node1 ip=192.168.56.11"


def test_the_history_lists_every_fence_not_only_the_first() -> None:
    """Recorded on the fencing lab after power-off, cut-link and power-off again: without
    --verbose, stonith_admin showed only the oldest of the three fences."""
    from halab.stacks.fencing import HISTORY_COMMAND

    assert "--verbose" in HISTORY_COMMAND
    events = parse_stonith_history((RECORDED / "stonith-history-verbose-three-fences.xml").read_text())
    assert [e.describe() for e in events] == ["reboot of node1 by node2: success at 03:00:20",
                                               "reboot of node2 by node1: success at 03:01:08",
                                               "reboot of node1 by node2: success at 03:01:59"]
    (only,) = parse_stonith_history((RECORDED / "stonith-history-not-verbose-three-fences.xml").read_text())
    assert only == events[0]


def test_a_fence_is_told_with_who_and_how_long_after_the_fault() -> None:
    *_, last = parse_stonith_history((RECORDED / "stonith-history-verbose-three-fences.xml").read_text())
    fault_at = last.epoch - 14.2  # type: ignore[operator]
    assert last.told_after(fault_at) == "node1 fenced (reboot) by node2 14 s after the fault"
    failed = FenceEvent("reboot", "node2", "failed", "node1", "node1", None)
    assert failed.told_after(fault_at) == "node2: reboot by node1 failed"
