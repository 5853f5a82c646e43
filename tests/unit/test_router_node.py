"""The router as a machine of its own ([router] node = true): the plan says so, a document's
steps may name it, every node's /etc/hosts knows it, and stop-qnetd refuses a bare router."""

from pathlib import Path

import pytest

from lab_files import PCS_PLAN as PCS
from lab_files import write_lab
from halab.backends.base import debian_hosts, known_names
from halab.errors import HalabError
from halab.faults import fault_named
from halab.labdoc.parser import parse_lab_document, parse_text
from halab.plan import load_plan


def test_the_fencing_plan_makes_the_router_a_machine_the_others_keep_it_bare() -> None:
    fencing = load_plan("fencing")
    assert fencing.router.node and fencing.machine_names == ("node1", "node2", "router")
    assert fencing.expectation("stop-qnetd").outcomes == ("no-outage",)
    assert fencing.expectation("kill-membership").outcomes == ("failover", "no-outage")  # qdevice restarts corosync
    for lab in ("pcs", "crmsh", "heartbeat"):
        plan = load_plan(lab)
        assert not plan.router.node and plan.machine_names == plan.node_names


@pytest.mark.parametrize(("value", "message"), [("node = 1", "must be true or false"),
                                                ("qnetd = true", "router has no key 'qnetd'")])
def test_a_malformed_router_is_refused(tmp_path: Path, value: str, message: str) -> None:
    text = PCS.replace('address = "192.168.56.254"', f'address = "192.168.56.254"\n{value}')
    with pytest.raises(HalabError, match=message):
        load_plan(write_lab(tmp_path, text))


def test_steps_may_run_on_the_router_node_but_all_stays_the_cluster() -> None:
    text = "```sh on=router\npcs qdevice setup model net --enable --start\n```\n```sh on=all\ntrue\n```\n"
    steps = parse_text(text, Path("lab.md"), ("node1", "node2"), others=("router",)).steps
    assert [step.nodes for step in steps] == [("router",), ("node1", "node2")]
    with pytest.raises(HalabError, match="on=router names no node of this lab") as refused:
        parse_text(text, Path("lab.md"), ("node1", "node2"))
    assert "node1, node2" in refused.value.fix


def test_the_fencing_document_sets_up_the_quorum_device_on_the_router() -> None:
    plan = load_plan("fencing")  # read as bring-up, the runner and the secrets read it: the router named
    steps = parse_lab_document(plan).steps
    on_router = [step.body for step in steps if step.nodes == ("router",)]
    assert any("pcs qdevice setup model net --enable\n" in body and "pcs qdevice start net" in body for body in on_router)
    assert any("pcs quorum device add model net host=router algorithm=ffsplit" in step.body for step in steps
               if step.nodes == ("node1",))


def test_every_node_knows_the_router_by_name_and_still_has_debians_127_0_1_1() -> None:
    hosts = debian_hosts("node1", [("192.168.56.254", "router")])
    assert "127.0.1.1\tnode1\n" in hosts and "192.168.56.254\trouter\n" in hosts
    assert debian_hosts("node1") == debian_hosts("node1", [])
    assert "\trouter" not in debian_hosts("node1")


def test_every_backend_names_the_same_machines_in_each_machines_hosts() -> None:
    fencing, pcs = load_plan("fencing"), load_plan("pcs")
    assert known_names(fencing, "node2") == [("192.168.56.254", "router")]
    assert known_names(fencing, "router") == [("192.168.56.10", "node1"), ("192.168.56.20", "node2")]
    assert known_names(pcs, "node1") == []  # a bare router has no name; the nodes are the document's to name


def test_stop_qnetd_refuses_a_lab_whose_router_is_a_bare_namespace() -> None:
    with pytest.raises(HalabError, match="router is a bare namespace") as refused:
        fault_named("stop-qnetd").router(load_plan("pcs"))
    assert "node = true" in refused.value.fix
    assert fault_named("stop-qnetd").router(load_plan("fencing")) == "router"
