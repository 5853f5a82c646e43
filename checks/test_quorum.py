"""The quorum device: corosync-qnetd on the router breaks the tie of two nodes, each node's
corosync-qdevice connected to it and its vote counted. Only rubrics that name it use it (the
fencing lab's)."""

from __future__ import annotations

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.grading import fail
from halab.plan import LabPlan
from halab.stacks.admin import PacemakerAdmin
from halab.stacks.qdevice import COMMAND, parse_qdevice_status
from halab.stacks.quorumtool import parse_quorumtool

QUORUMTOOL = "corosync-quorumtool -s"


@pytest.fixture(autouse=True)
def pacemaker_only(plan: LabPlan) -> None:
    if plan.stack != "pacemaker":
        pytest.skip(f"not a Pacemaker lab ({plan.stack})")


def test_qdevice_connected(facts: LabFacts, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """A quorum device on the router casts its vote, each node's qdevice connected to it (corosync-quorumtool -s)"""
    host = plan.router.name
    for node in facts.reachable:
        shown = node.command("quorum")
        evidence = f"{QUORUMTOOL} on {node.node}:\n{shown.output.strip() if shown else ''}"
        try:
            state = parse_quorumtool(shown.output if shown else "")
        except HalabError as error:
            fail(f"{node.node}: {error.what}", evidence=error.evidence,
                 fix=f"start the cluster ({admin.enable_at_boot()}), then {QUORUMTOOL} on {node.node}")
        if not state.qdevice:
            fail(f"{node.node} has no quorum device: two nodes alone have no tie-breaker", evidence=evidence,
                 fix=admin.add_qdevice(host))
        device = node.command("qdevice")
        try:
            status = parse_qdevice_status(device.output if device else "")
        except HalabError as error:
            fail(f"{node.node}: corosync-qdevice does not answer ({error.what})", evidence=error.evidence,
                 fix=f"systemctl enable --now corosync-qdevice on {node.node}")
        if not status.connected or not state.qdevice_votes:
            fail(f"{node.node}'s quorum device is not counted: {status.describe()}, its vote "
                 f"{state.qdevice_votes or 0}",
                 evidence=f"{evidence}\n{COMMAND} on {node.node}:\n{device.output.strip() if device else ''}",
                 fix=f"on {host}: systemctl enable --now corosync-qnetd (corosync-qnetd-tool -l lists the "
                     f"clusters it serves); {node.node} must reach {host} on TCP 5403")
