"""Labs live in their own namespaces: two with the same addresses side by side, and nothing
in the root namespace."""

from __future__ import annotations

import subprocess

import pytest

from harness.backends import Backend
from harness.plan import load_plan
from harness.run import bring_up, tear_down
from harness.stacks import stack_for
from tests.e2e.conftest import root_namespace_network

pytestmark = pytest.mark.e2e


def test_a_second_lab_with_the_same_addresses_runs_beside_the_first(pcs_lab: Backend) -> None:
    second = bring_up(load_plan("pcs"), "e2eside", provision=False).backend
    try:
        for backend in (pcs_lab, second):
            ping = backend.run("node1", ["ping", "-c", "1", "-W", "2", "192.168.56.20"])
            assert ping.succeeded, ping
            reach = subprocess.run(
                ["ip", "netns", "exec", backend.client_netns(), "ping", "-c", "1", "-W", "2", str(backend.plan.vip)],
                capture_output=True, text=True,
            )
            # The first lab's VIP answers in its own namespace only: the second lab has no cluster.
            assert (reach.returncode == 0) == (backend is pcs_lab), reach.stdout
        # The first lab's cluster did not notice the second lab's machines.
        view = stack_for("pacemaker").view(pcs_lab)
        assert view.healthy and set(view.online) == {"node1", "node2"}, view.summary
    finally:
        tear_down("e2eside")
    assert not subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count("e2eside")


def test_the_root_namespace_has_no_lab_address_or_route(
    pcs_lab: Backend, root_network_before: tuple[str, str]
) -> None:
    addresses, routes = root_namespace_network()
    assert "192.168.56." not in addresses
    assert (addresses, routes) == root_network_before
