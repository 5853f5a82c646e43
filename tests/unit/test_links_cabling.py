"""A plan's further networks as the local backend cables them, and cut-one-link: the cluster
network's cable only, journalled and healed like every fault. No lab is needed."""

from pathlib import Path

import pytest

from halab.backends.base import debian_interfaces
from halab.backends.local import network
from halab.backends.local.container import wait_for_cable
from halab.errors import HalabError
from halab.faults import FaultJournal, heal_journal
from halab.faults.catalog import fault_named
from halab.plan import LabPlan, load_plan


class CableRecorder:
    """A backend double that records which cables were cut and healed."""

    def __init__(self, plan: LabPlan) -> None:
        self.plan, self.log = plan, []

    def cut_link(self, node: str, on: str | None = None) -> None:
        self.log.append(f"cut {node} {on or 'every cable'}")

    def heal_link(self, node: str, on: str | None = None) -> None:
        self.log.append(f"heal {node} {on or 'every cable'}")


class Rejoin:
    def rejoin(self, backend: object, node: str) -> None:
        pass


def test_each_node_has_a_port_per_network_and_others_only_the_lab_subnet() -> None:
    plan = load_plan("fencing")
    assert network.networks_of(plan, "node2") == ["lan", "cluster"]
    assert [network.port_name(plan, "node2", n) for n in network.networks_of(plan, "node2")] == ["port1", "p1-cluster"]
    assert network.networks_of(plan, "router") == ["lan"] and network.bridge_of("cluster") == "cluster"


def test_a_node_waits_for_every_cable_and_addresses_each_without_a_second_gateway() -> None:
    script = wait_for_cable(["eth0", "eth1"])
    assert "'^ *eth0:'" in script and "'^ *eth1:'" in script and script.endswith("exec /sbin/init")
    text = debian_interfaces("eth0", "192.168.56.10/24", "192.168.56.254", further=[("eth1", "192.168.57.10/24")])
    assert "auto eth1\niface eth1 inet static\n\taddress 192.168.57.10/24\n" in text
    assert text.count("gateway") == 1


def test_cut_one_link_cuts_and_heals_the_cluster_cable_only(tmp_path: Path) -> None:
    backend, journal = CableRecorder(load_plan("fencing")), FaultJournal(tmp_path / "faults.json")
    fault = fault_named("cut-one-link")
    journal.record(fault.name, "node1")
    fault.inject(backend, Rejoin(), "node1")  # type: ignore[arg-type]
    # The harness dies here; `halab heal` finds the entry and heals the same cable.
    assert heal_journal(backend, Rejoin(), journal)[0].startswith("cut-one-link on node1")  # type: ignore[arg-type]
    assert backend.log == ["cut node1 cluster", "heal node1 cluster"] and journal.entries() == []


def test_cut_link_still_cuts_every_cable() -> None:
    backend = CableRecorder(load_plan("fencing"))
    fault_named("cut-link").inject(backend, Rejoin(), "node2")  # type: ignore[arg-type]
    assert backend.log == ["cut node2 every cable"]


def test_cut_one_link_on_a_lab_with_one_network_says_what_it_needs() -> None:
    with pytest.raises(HalabError, match="cut-one-link needs a second network, and lab pcs has only its subnet"):
        fault_named("cut-one-link").inject(CableRecorder(load_plan("pcs")), Rejoin(), "node1")  # type: ignore[arg-type]
