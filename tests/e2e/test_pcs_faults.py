"""The pcs lab of seed 000, broken fault by fault on real nodes while a client probes the VIP."""

from __future__ import annotations

import pytest

from halab.backends import Backend
from halab.plan import load_plan
from halab.run import expected_faults, run_faults
from halab.stacks import stack_for
from halab.stacks.first_election import SEED_SET

pytestmark = pytest.mark.e2e


def test_the_document_brought_the_cluster_up(pcs_lab: Backend) -> None:
    view = stack_for("pacemaker").view(pcs_lab)
    assert view.healthy, view.summary
    assert set(view.online) == {"node1", "node2"}
    enabled = pcs_lab.run("node1", ["systemctl", "is-enabled", "apache2"])
    assert enabled.stdout.strip() == "disabled"
    corosync = pcs_lab.run("node2", ["cat", "/etc/corosync/corosync.conf"]).check().stdout
    assert "crypto_cipher: aes256" in corosync and "two_node: 1" in corosync
    # halab's short first election left nothing in the CIB the checks read
    cib = pcs_lab.run("node1", ["cibadmin", "--query"]).check().stdout
    assert SEED_SET not in cib and 'name="dc-deadtime"' not in cib


@pytest.mark.parametrize("fault", expected_faults(load_plan("pcs")))
def test_fault_outcome_and_downtime(pcs_lab: Backend, fault: str) -> None:
    (run,), samples = run_faults(pcs_lab, [fault])
    expected = pcs_lab.plan.expectation(fault)
    assert expected is not None
    assert run.outcome in expected.outcomes, run
    # A client saw an outage, bounded by what the running configuration allows. In a split
    # brain the old node may go on answering until the new one's gratuitous ARP: no outage.
    if run.outcome not in ("split-brain", "no-outage"):
        assert run.downtime_s is not None and run.downtime_s > 0, run
    assert run.budget_s is not None and (run.downtime_s or 0) <= run.budget_s, run
    # Served again, by the node the stack should choose.
    other = next(n for n in pcs_lab.plan.node_names if n != run.victim)
    if run.outcome == "failover":
        assert run.served_during == other, run
    if run.outcome == "restart-in-place":
        assert run.served_during == run.victim, run
    assert run.served_after is not None, "the VIP did not answer after the heal"
    # Heal restored both nodes online, and the journal is empty.
    view = stack_for("pacemaker").view(pcs_lab)
    assert view.healthy and set(view.online) == {"node1", "node2"}, view.summary
    assert len(samples) > 100

