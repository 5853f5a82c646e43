"""Labs live in their own namespaces: two with the same addresses side by side, and nothing
in the root namespace."""

from __future__ import annotations

import subprocess
import time
from typing import Callable

import pytest

from halab.backends import Backend
from halab.plan import load_plan
from halab.run import bring_up, prober_for, tear_down
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e


def test_a_second_lab_with_the_same_addresses_runs_beside_the_first(pcs_lab: Backend) -> None:
    second = bring_up(load_plan("pcs"), "e2eside", provision=False).backend
    try:
        for backend in (pcs_lab, second):
            ping = backend.run("node1", ["ping", "-c", "1", "-W", "2", "192.168.56.20"])
            assert ping.succeeded, ping
            with prober_for(backend, max_duration_s=10) as prober:
                time.sleep(1)
                answered = [sample.node for sample in prober.stop() if sample.ok]
            # Each lab's client reaches its own VIP only: the second lab has no cluster yet.
            if backend is pcs_lab:
                assert answered and set(answered) <= {"node1", "node2"}
            else:
                assert answered == []
        # The first lab's cluster did not notice the second lab's machines.
        view = stack_for("pacemaker").view(pcs_lab)
        assert view.healthy and set(view.online) == {"node1", "node2"}, view.summary
    finally:
        tear_down("e2eside")
    assert not subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count("e2eside")


def test_the_root_namespace_has_no_lab_address_or_route(
    pcs_lab: Backend, root_network_before: tuple[str, str], read_root_network: Callable[[], tuple[str, str]]
) -> None:
    addresses, routes = read_root_network()
    assert "192.168.56." not in addresses
    assert (addresses, routes) == root_network_before
