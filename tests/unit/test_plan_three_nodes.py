"""A cluster of three nodes: the checks that knew two judge it by the majority, and the parts
that still know two only refuse it in one line."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.grading.results import CheckFailed
from halab.plan import load_plan
from halab.stacks.admin import admin_for
from halab.stacks.cib import parse_cib
from halab.stacks.corosync_conf import parse_corosync_conf

THREE = load_plan(Path(__file__).parents[1] / "e2e/documents/pcs-three-nodes")
NO_QUORUM_OPTIONS = parse_corosync_conf("quorum {\n    provider: corosync_votequorum\n}\n")
DEFAULT_POLICY = parse_cib("<cib><configuration><crm_config/><resources/><constraints/></configuration></cib>")


def test_the_three_node_sheet_s_plan_has_three_nodes_on_two_networks() -> None:
    assert THREE.node_names == ("node1", "node2", "node3")
    assert [str(n.interface_on("cluster").address.ip) for n in THREE.nodes] == [
        "192.168.57.10", "192.168.57.20", "192.168.57.30"]


def test_two_node_mode_is_not_applicable_to_three_nodes() -> None:
    from halab.checks.test_pacemaker import test_corosync_two_node

    with pytest.raises(pytest.skip.Exception, match="not applicable: 3 nodes keep quorum by majority"):
        test_corosync_two_node(NO_QUORUM_OPTIONS, THREE)
    with pytest.raises(CheckFailed, match="two_node is not set"):
        test_corosync_two_node(NO_QUORUM_OPTIONS, load_plan("pcs"))


def test_no_quorum_policy_stop_is_right_for_three_nodes_and_wrong_for_two() -> None:
    from halab.checks.test_pacemaker import test_quorum_policy

    test_quorum_policy(DEFAULT_POLICY, NO_QUORUM_OPTIONS, THREE, {}, admin_for("pcs"))
    with pytest.raises(CheckFailed, match="with two nodes, losing one loses quorum"):
        test_quorum_policy(DEFAULT_POLICY, NO_QUORUM_OPTIONS, load_plan("pcs"), {}, admin_for("pcs"))


def test_scenarios_refuse_three_nodes_before_anything_is_touched() -> None:
    from types import SimpleNamespace

    from halab.scenarios.runner import run_scenarios

    with pytest.raises(HalabError) as error:
        run_scenarios(SimpleNamespace(plan=THREE), ())  # type: ignore[arg-type]
    assert error.value.what == ("scenarios (whose steps name the nodes home and other): two-node labs only for now, "
                                "and lab pcs-three-nodes has 3 nodes")


@pytest.mark.parametrize(("make", "what"), [
    ("halab.backends.vagrant.backend:VagrantBackend", "the Vagrant backend"),
    ("halab.backends.ssh.backend:SshBackend", "the SSH backend"),
])
def test_the_vagrant_and_ssh_backends_refuse_three_nodes_in_one_line(make: str, what: str) -> None:
    import importlib

    module, _, name = make.partition(":")
    options = {"inventory": "none.yaml"} if "ssh" in module else {}
    with pytest.raises(HalabError) as error:
        getattr(importlib.import_module(module), name)(THREE, "trix", **options)
    assert error.value.what == f"{what}: two-node labs only for now, and lab pcs-three-nodes has 3 nodes"


def test_a_rebuild_refuses_a_variant_of_three_nodes() -> None:
    from halab.submissions.rebuild import plan_rebuild

    with pytest.raises(HalabError, match="rebuilding a submission: two-node labs only for now"):
        plan_rebuild(None, THREE)  # type: ignore[arg-type]
