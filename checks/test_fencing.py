"""Fencing checks of the Pacemaker variants: a fence device for every node that really answers,
and a fence delay for two-node races. Only the fencing lab's rubric names them: the other labs
teach STONITH off."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from halab.backends import Backend
from halab.grading import fail
from halab.plan import LabPlan, NodePlan
from halab.stacks.admin import PacemakerAdmin
from halab.stacks.cib import Cib, Primitive
from halab.stacks.fencing import devices_for, fence_delay_s, stonith_enabled

STATUS_TIMEOUT_S = 30  # fence_ipmilan's own retries end well within it, even with a wrong password


@pytest.fixture(autouse=True)
def pacemaker_only(plan: LabPlan) -> None:
    if plan.stack != "pacemaker":
        pytest.skip(f"not a Pacemaker lab ({plan.stack})")


def test_fence_device_answers(cib: Cib, plan: LabPlan, lab: Backend, admin: PacemakerAdmin) -> None:
    """Each node has a fence device, and its BMC answers another node (fence_ipmilan -o status)"""
    if not stonith_enabled(cib):
        fail("STONITH is off: nothing stops a lost node from keeping the VIP (split brain)",
             evidence=f"stonith-enabled={cib.option('stonith-enabled')}", fix=admin.set_property("stonith-enabled", "true"))
    for index, node in enumerate(plan.nodes):  # each asked from the next node: the other one, of two
        peer = plan.nodes[(index + 1) % len(plan.nodes)]
        _fence_device_answers(cib, plan, lab, admin, node, peer)


def _fence_device_answers(cib: Cib, plan: LabPlan, lab: Backend, admin: PacemakerAdmin, node: NodePlan,
                          peer: NodePlan) -> None:
    devices = devices_for(cib, node.name)
    if not devices:
        fail(f"no fence device can fence {node.name}",
             evidence="fence devices: " + (", ".join(f"{d.id} ({_targets(d)})" for d in cib.fencing_devices) or "none"),
             fix=admin.create_fence_device(f"fence_{node.name}", "fence_ipmilan", ip="BMC-ADDRESS", lanplus="1",
                                           username="USER", password="PASSWORD", pcmk_host_list=node.name))
    device = devices[0]
    address = device.param("ip") or device.param("ipaddr") or ""
    _address_belongs_to(device, address, node.name, plan, admin)
    argv = ["timeout", str(STATUS_TIMEOUT_S), device.agent.split(":")[-1], f"--ip={address}",
            f"--username={device.param('username') or device.param('login') or ''}",
            f"--password={device.param('password') or device.param('passwd') or ''}", "--action=status"]
    if (device.param("lanplus") or "0").lower() in ("1", "true", "yes", "on"):
        argv.append("--lanplus")
    result = lab.run(peer.name, argv, timeout=STATUS_TIMEOUT_S + 10)
    if not result.succeeded:
        output = (result.stdout + result.stderr).strip()
        cause = ("its BMC did not answer (wrong address, or unreachable)" if "timed out" in output.lower()
                 else "its BMC refused the username or password")
        fail(f"{device.id} cannot fence {node.name} from {peer.name}: {cause}",
             evidence=f"on {peer.name}: {device.agent.split(':')[-1]} --ip={address} ... --action=status "
                      f"(exit {result.exit_status})\n{output[-600:]}",
             fix=f"try `ipmitool -I lanplus -H {address} -U USER -P PASSWORD chassis power status` on {peer.name}, "
                 f"then {admin.update_fence_device(device.id, username='USER', password='PASSWORD')}")


def _address_belongs_to(device: Primitive, address: str, node: str, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """A BMC address off the lab subnet, or another node's BMC, is a mistake seen without asking it."""
    right = str(plan.node(node).bmc.ip) if plan.node(node).bmc else "BMC-ADDRESS"
    fix = admin.update_fence_device(device.id, ip=right)
    try:
        ip = IPv4Address(address)
    except ValueError:
        fail(f"{device.id} has no usable BMC address ({address or 'none'})", fix=fix)
    if ip not in plan.subnet:
        fail(f"{device.id} reaches {node}'s BMC at {ip}, which is off the lab subnet {plan.subnet}", fix=fix)
    owner = next((n.name for n in plan.nodes if n.bmc and n.bmc.ip == ip), None)
    if owner and owner != node:
        fail(f"{device.id} fences {node} through {ip}, which is {owner}'s BMC: fencing {node} would power off {owner}",
             fix=fix)


def _targets(device: Primitive) -> str:
    return device.param("pcmk_host_list") or device.param("pcmk_host_map") or "no pcmk_host_list"


def test_fence_delay(cib: Cib, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """A two-node cluster delays fencing (pcmk_delay_max or priority-fencing-delay), so a cut link kills one node, not both"""
    if len(plan.nodes) == 2 and cib.fencing_devices and fence_delay_s(cib) == 0:
        fail("no fence delay: after a link cut both nodes may fence each other at the same moment and both go down",
             evidence="fence devices: " + ", ".join(d.id for d in cib.fencing_devices) + "; no pcmk_delay_max, "
                      "pcmk_delay_base or priority-fencing-delay",
             fix=" ; ".join(admin.update_fence_device(d.id, pcmk_delay_max="5s") for d in cib.fencing_devices))
