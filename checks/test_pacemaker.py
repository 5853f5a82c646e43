"""Configuration checks of the Pacemaker variants (pcs and crmsh produce the same CIB)."""

from __future__ import annotations

from typing import Any

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.grading import fail
from halab.plan import LabPlan
from halab.stacks.admin import PacemakerAdmin
from halab.stacks.cib import Cib, Primitive
from halab.stacks.corosync_conf import CorosyncConf, parse_corosync_conf
from halab.stacks.crm_mon import parse_crm_mon
from halab.stacks.quorumtool import parse_quorumtool

COROSYNC_CONF, AUTHKEY = "/etc/corosync/corosync.conf", "/etc/corosync/authkey"


@pytest.fixture(autouse=True)
def pacemaker_only(plan: LabPlan) -> None:
    if plan.stack != "pacemaker":
        pytest.skip(f"not a Pacemaker lab ({plan.stack})")


@pytest.fixture(scope="module")
def corosync(facts: LabFacts, admin: PacemakerAdmin) -> CorosyncConf:
    node = facts.reachable[0]
    text = node.file(COROSYNC_CONF).text
    if text is None:
        fail(f"{COROSYNC_CONF} is missing on {node.node}", fix=f"create the cluster ({admin.setup})")
    return parse_corosync_conf(text, source=f"{node.node}:{COROSYNC_CONF}")


def test_stonith_policy(cib: Cib, expected: dict[str, Any], admin: PacemakerAdmin) -> None:
    """STONITH is as the lab demands, and never on without a fencing device"""
    enabled = (cib.option("stonith-enabled") or cib.option("fencing-enabled") or "true").lower() in ("true", "1", "yes", "on")
    devices = cib.fencing_devices
    if enabled and not devices:
        fail("STONITH is enabled but no fencing device is configured: Pacemaker starts no resource",
             evidence=f"stonith-enabled={cib.option('stonith-enabled') or 'true (default)'}, fencing devices: none",
             fix=f"configure a fence device, or where the lab says so: {admin.set_property('stonith-enabled', 'false')}")
    want = expected.get("stonith_enabled")
    if want is not None and enabled != bool(want):
        fail(f"STONITH is {'on' if enabled else 'off'}; this lab asks for it {'on' if want else 'off'}",
             evidence=f"stonith-enabled={cib.option('stonith-enabled')}",
             fix=admin.set_property("stonith-enabled", "true" if want else "false"))


def test_quorum_policy(cib: Cib, corosync: CorosyncConf, plan: LabPlan, expected: dict[str, Any],
                       admin: PacemakerAdmin) -> None:
    """The cluster keeps running when one node is lost (two nodes: two_node or no-quorum-policy; more: the majority)"""
    policy = cib.option("no-quorum-policy") or "stop"
    want = expected.get("no_quorum_policy")
    if want is not None and policy != want:
        fail(f"no-quorum-policy is {policy}; this lab asks for {want}", evidence=f"no-quorum-policy={policy}",
             fix=admin.set_property("no-quorum-policy", str(want)))
    if policy == "stop" and len(plan.nodes) == 2 and not corosync.two_node and not corosync.quorum_device:
        fail("with two nodes, losing one loses quorum, and no-quorum-policy=stop then stops every resource",
             evidence="no-quorum-policy=stop (default), two_node not set",
             fix=f"two_node: 1 in corosync.conf's quorum section, or {admin.set_property('no-quorum-policy', 'ignore')}")


def test_vip_and_apache_together(cib: Cib, admin: PacemakerAdmin) -> None:
    """The VIP and Apache run on the same node, the VIP first (a group, or colocation + order)"""
    vips, webs = cib.by_type("IPaddr2") + cib.by_type("IPaddr"), cib.by_type("apache")
    if not vips or not webs:
        fail("the cluster has no " + ("VIP resource" if not vips else "Apache resource"),
             evidence="resources: " + ", ".join(f"{p.id} ({p.agent})" for p in cib.primitives),
             fix="create ocf:heartbeat:IPaddr2 and ocf:heartbeat:apache resources")
    vip, web = vips[0], webs[0]
    for group, members in cib.groups:
        if vip.id in members and web.id in members and members.index(vip.id) < members.index(web.id):
            return
    colocated = any(c.kind == "rsc_colocation" and set(c.resources) == {vip.id, web.id} for c in cib.constraints)
    ordered = any(c.kind == "rsc_order" and c.resources == (vip.id, web.id) for c in cib.constraints)
    if not (colocated and ordered):
        fail(f"{vip.id} and {web.id} are not tied together: they may run on different nodes, or Apache before its IP",
             evidence=f"groups: {cib.groups or 'none'}; constraints: {[c.id for c in cib.constraints] or 'none'}",
             fix=f"{admin.group('WebCluster', vip.id, web.id)} (or a colocation and an order constraint)")


def test_no_leftover_move_constraints(cib: Cib, admin: PacemakerAdmin) -> None:
    """No constraint left behind by `resource move` or `ban`"""
    leftovers = [c for c in cib.constraints if c.id.startswith(("cli-prefer-", "cli-ban-"))]
    if leftovers:
        fail("a `resource move`/`ban` left a permanent location constraint: the resource can no longer fail back freely",
             evidence=", ".join(c.id for c in leftovers),
             fix="; ".join(dict.fromkeys(admin.clear(c.resources[0]) for c in leftovers)))


def test_crm_verify_clean(facts: LabFacts, admin: PacemakerAdmin) -> None:
    """crm_verify -L finds no error in the configuration"""
    for node in facts.reachable:
        result = node.command("crm_verify")
        if result is not None and result.exit_status == 0:
            return
    result = facts.reachable[0].command("crm_verify")
    fail("crm_verify -L -V reports errors", evidence=result.output if result else "no output",
         fix=f"read each error: most often STONITH enabled without a device ({admin.set_property('stonith-enabled', 'false')} where the lab has none)")


def test_corosync_crypto_on(corosync: CorosyncConf) -> None:
    """Corosync traffic is encrypted and authenticated"""
    if corosync.crypto_cipher in (None, "none") or corosync.crypto_hash in (None, "none"):
        fail("corosync runs without encryption or authentication: anyone on the network can join or forge messages",
             evidence=f"crypto_cipher={corosync.crypto_cipher}, crypto_hash={corosync.crypto_hash}",
             fix="crypto_cipher: aes256 and crypto_hash: sha256 in totem, with the same authkey on every node")


def test_corosync_keys_known(corosync: CorosyncConf) -> None:
    """corosync.conf has no key corosync 3 ignores silently (e.g. two_nodes)"""
    unknown = corosync.unknown_keys()
    if unknown:
        fail("corosync.conf holds keys corosync ignores without a word: " + ", ".join(k.path for k in unknown),
             evidence="\n".join(f"line {k.line}: {k.key}: {k.value}" for k in unknown),
             fix="correct the spelling (two_node, not two_nodes), or remove the key")


def test_corosync_two_node(corosync: CorosyncConf, plan: LabPlan) -> None:
    """Two-node mode is on (two_node: 1)"""
    if len(plan.nodes) != 2:
        pytest.skip(f"not applicable: {len(plan.nodes)} nodes keep quorum by majority, two_node is for two nodes only")
    if corosync.quorum_device:  # the device's vote is the tie-breaker: votequorum refuses two_node with it
        if corosync.two_node:
            fail("two_node is set beside a quorum device: votequorum does not take both",
                 evidence=f"quorum section: two_node=1, device model {corosync.quorum_device}",
                 fix="remove two_node from the quorum section of corosync.conf on every node "
                     "(pcs quorum device add removes it itself)")
        return
    if not corosync.two_node:
        fail("two_node is not set: the surviving node of two has no quorum",
             evidence=f"quorum section: two_node={corosync.two_node}, expected_votes={corosync.expected_votes}",
             fix="two_node: 1 in the quorum section of corosync.conf, on every node")


def test_corosync_conf_identical(facts: LabFacts, admin: PacemakerAdmin) -> None:
    """corosync.conf is the same on every node"""
    _identical(facts, COROSYNC_CONF, fix=admin.copy_to_peer(COROSYNC_CONF))


def test_authkey_identical_and_private(facts: LabFacts, admin: PacemakerAdmin) -> None:
    """/etc/corosync/authkey is the same on every node, owned by root, mode 0400"""
    _identical(facts, AUTHKEY, fix=admin.copy_to_peer(AUTHKEY))
    loose = [f"{n.node}: {n.file(AUTHKEY).mode} {n.file(AUTHKEY).owner}" for n in facts.reachable
             if n.file(AUTHKEY).mode not in ("400", "600") or n.file(AUTHKEY).owner != "root"]
    if loose:
        fail("the corosync key is readable by others than root", evidence="; ".join(loose),
             fix=f"chown root {AUTHKEY}; chmod 0400 {AUTHKEY} on every node")


def test_cluster_quorate(facts: LabFacts, plan: LabPlan) -> None:
    """Every node sees both nodes in its partition, and the partition is quorate"""
    wrong = []
    for node in facts.reachable:
        shown = node.command("quorum")
        try:
            state = parse_quorumtool(shown.output if shown else "")
        except HalabError as error:
            wrong.append(f"{node.node}: {error.what}")
            continue
        if not state.quorate or {plan.node_called(m) for m in state.members} != set(plan.node_names):
            wrong.append(f"{node.node}: {'quorate' if state.quorate else 'NOT quorate'}, members "
                         f"{', '.join(state.members) or 'none'}, flags {' '.join(state.flags) or 'none'}")
    if wrong:
        fail("the nodes do not form one quorate cluster", evidence="\n".join(wrong),
             fix="corosync-quorumtool -s on each node; check the nodelist addresses, the authkey and the firewall")


def test_no_failed_actions(facts: LabFacts, admin: PacemakerAdmin) -> None:
    """No failed resource action or fail-count is left over (the cluster was cleaned up)"""
    for node in facts.reachable:
        shown = node.command("crm_mon")
        if shown is None or shown.exit_status != 0:
            continue
        status = parse_crm_mon(shown.output)
        left = [f"{f.resource} on {f.node}: fail-count {f.fail_count}" for f in status.fail_counts if f.fail_count] + [
            f"failed {a.operation} of {a.resource} on {a.node}: {a.exit_reason or a.exit_status}" for a in status.failed_actions]
        if left:
            fail("failures are left over: Pacemaker avoids a node where a resource failed until they are cleared",
                 evidence="\n".join(left), fix=f"{admin.cleanup()} once the cause is fixed")
        return
    raise HalabError("no node could show the cluster status (crm_mon)")


def test_vip_address_and_netmask(cib: Cib, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """The VIP resource has the lab's address and netmask"""
    vips = cib.by_type("IPaddr2")
    if not vips:
        fail("no IPaddr2 resource")
    ip, mask = vips[0].param("ip"), vips[0].param("cidr_netmask")
    if ip != str(plan.vip) or (mask is not None and mask != str(plan.subnet.prefixlen)):
        fail(f"the VIP is {ip}/{mask}, the lab's is {plan.vip}/{plan.subnet.prefixlen}",
             evidence=f"{vips[0].id}: ip={ip} cidr_netmask={mask}",
             fix=admin.update(vips[0].id, ip=str(plan.vip), cidr_netmask=str(plan.subnet.prefixlen)))


def test_vip_nic_present(cib: Cib, facts: LabFacts, plan: LabPlan, admin: PacemakerAdmin) -> None:
    """The interface the VIP is bound to (nic=), if given, exists on every node, on the VIP's subnet"""
    for vip in cib.by_type("IPaddr2"):
        nic = vip.param("nic")
        if not nic:
            continue
        wrong = []
        for node in facts.reachable:
            interfaces = node.interfaces()
            if nic not in interfaces:
                wrong.append(f"{node.node} has no interface {nic} (it has {', '.join(sorted(interfaces)) or 'none'})")
            elif not any(plan.vip in address.network for address in interfaces[nic]):
                wrong.append(f"on {node.node}, {nic} has no address on {plan.subnet}")
        if wrong:
            on_subnet = sorted({name for n in facts.reachable for name, addresses in n.interfaces().items()
                                if any(plan.vip in a.network for a in addresses)})
            fail(f"{vip.id} is bound to nic={nic}: the VIP cannot start there", evidence="\n".join(wrong),
                 fix=f"{admin.update(vip.id, nic=on_subnet[0]) if len(on_subnet) == 1 else 'name the interface on the VIP subnet'}"
                     " (or leave nic= out: IPaddr2 finds the interface on the VIP's subnet itself)")


def test_resources_monitored(cib: Cib, admin: PacemakerAdmin) -> None:
    """The VIP and Apache have a monitor operation: Pacemaker notices when they die"""
    relied_on: tuple[Primitive, ...] = cib.by_type("IPaddr2") + cib.by_type("IPaddr") + cib.by_type("apache")
    blind = [p for p in relied_on if not p.monitored]
    if blind:
        fail("; ".join(f"{p.id} has no monitor: Pacemaker will never see {'Apache' if p.agent.endswith('apache') else 'the VIP'} die"
                       for p in blind),
             evidence="\n".join(f"{p.id} ({p.agent}) operations: " + (", ".join(f"{n} interval={i}" for n, i in p.operations) or "none")
                                for p in blind),
             fix="; ".join(admin.add_monitor(p.id, "30s" if p.agent.endswith("apache") else "10s") for p in blind))


def _identical(facts: LabFacts, path: str, fix: str) -> None:
    files = [(n.node, n.file(path)) for n in facts.reachable]
    missing = [node for node, f in files if not f.exists]
    if missing:
        fail(f"{path} is missing on {', '.join(missing)}", fix=fix)
    if len({f.sha256 for _, f in files}) > 1:
        fail(f"{path} differs between the nodes", evidence="; ".join(f"{node}: sha256 {f.sha256[:12]}" for node, f in files),
             fix=fix)
