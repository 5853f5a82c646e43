"""The crmsh lab (seed 004) as data: its document parses, and what it writes agrees with its plan
and with corosync 3.1. The end-to-end test runs it for real (tests/e2e/test_crmsh_lab.py)."""

from halab.labdoc.parser import parse_document
from halab.plan import load_plan
from halab.stacks.corosync_conf import parse_corosync_conf

PLAN = load_plan("crmsh")
DOCUMENT = parse_document(PLAN.document, PLAN.node_names)


def test_the_plan_keeps_the_sheets_network() -> None:
    assert [(n.name, str(n.address)) for n in PLAN.nodes] == [("serv1", "172.16.0.10/24"), ("serv2", "172.16.0.11/24")]
    assert (str(PLAN.vip), str(PLAN.client.ip), str(PLAN.subnet)) == ("172.16.0.12", "172.16.0.1", "172.16.0.0/24")
    assert PLAN.enable_at_install == ("apache2",)
    # The same fault matrix as the pcs lab: the same stack, configured with another tool.
    assert {fault for fault, _ in PLAN.expectations} == {fault for fault, _ in load_plan("pcs").expectations}


def test_the_corosync_conf_block_is_the_sheets_corrected_for_corosync_3() -> None:
    (block,) = [s for s in DOCUMENT.steps if s.path == "/etc/corosync/corosync.conf"]
    assert block.nodes == PLAN.node_names and block.mode == "0644"
    conf = parse_corosync_conf(block.body)
    assert conf.unknown_sections() == () and conf.unknown_keys() == ()
    assert conf.two_node and conf.wait_for_all and conf.expected_votes == 2
    assert (conf.cluster_name, conf.transport, conf.crypto_cipher, conf.crypto_hash) == (
        "cluster_web", "knet", "aes256", "sha1"
    )
    assert [(n.name, n.nodeid, n.ring0_addr) for n in conf.nodes] == [
        (n.name, i, str(n.address.ip)) for i, n in enumerate(PLAN.nodes, start=1)
    ]


def test_the_steps_come_in_the_sheets_order() -> None:
    text = [s.body for s in DOCUMENT.steps]

    def first(fragment: str) -> int:
        return next(i for i, body in enumerate(text) if fragment in body)

    assert first("/etc/hosts") < first("corosync-keygen") < first("scp -p /etc/corosync/authkey")
    assert first("scp -p") < first("systemctl start corosync pacemaker") < first('test "$status" -eq 78')
    assert first('test "$status" -eq 78') < first("stonith-enabled=false") < first("crm configure primitive")
    assert "crm cluster start" not in "".join(text)
    hosts = DOCUMENT.steps[first("/etc/hosts")].body
    for node in PLAN.nodes:
        assert f"{node.address.ip} {node.name}" in hosts
