"""parse_crm_mon on real crm_mon 2.1.5 output (provenance: tests/unit/recorded/README.md)."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.crm_mon import CrmMonFailed, FailCount, FailedAction, parse_crm_mon
from halab.stacks.scores import INFINITY

RECORDED = Path(__file__).parent / "recorded"
VIP = "ocf:heartbeat:IPaddr2"
APACHE = "ocf:heartbeat:apache"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_two_nodes_online_with_the_group_started_on_node1() -> None:
    status = parse_crm_mon(recorded("crm_mon-two-nodes-group-started.xml"))
    assert status.dc == "node1"
    assert status.quorate
    assert status.online_nodes == ("node1", "node2")
    node1 = status.nodes[0]
    assert (node1.name, node1.is_dc, node1.resources_running) == ("node1", True, 2)
    assert not (node1.standby or node1.unclean or node1.maintenance)
    assert [(r.id, r.agent, r.group) for r in status.resources] == [
        ("virtual_ip", VIP, "WebCluster"),
        ("WebService", APACHE, "WebCluster"),
    ]
    web = status.resource("WebService")
    assert web is not None
    assert (web.role, web.active, web.failed, web.managed, web.nodes, web.clone) == (
        "Started",
        True,
        False,
        True,
        ("node1",),
        None,
    )
    assert status.nodes_running(VIP) == ("node1",)
    assert status.fail_counts == ()
    assert status.failed_actions == ()


def test_node1_offline_and_the_group_on_node2() -> None:
    status = parse_crm_mon(recorded("crm_mon-node1-offline-group-on-node2.xml"))
    assert status.dc == "node2"
    assert status.quorate
    assert status.online_nodes == ("node2",)
    assert not status.nodes[0].unclean
    assert status.nodes_running(VIP) == ("node2",)
    assert status.nodes_running(APACHE) == ("node2",)


def test_an_unclean_node_still_holds_what_pacemaker_last_saw_there() -> None:
    status = parse_crm_mon(recorded("crm_mon-node1-offline-unclean.xml"))
    node1, node2 = status.nodes
    assert (node1.online, node1.unclean) == (False, True)
    assert (node2.online, node2.unclean, node2.is_dc) == (True, False, True)
    assert status.nodes_running(VIP) == ("node1",)  # until node1 is fenced
    fence = status.resource("fence_node2")
    assert fence is not None and fence.agent == "stonith:fence_virsh" and fence.group is None


def test_a_failed_apache_monitor_gives_a_fail_count_and_a_failed_action() -> None:
    status = parse_crm_mon(recorded("crm_mon-apache-monitor-failed.xml"))
    web = status.resource("WebService")
    assert web is not None and web.failed and web.active
    assert status.fail_counts == (FailCount(node="node1", resource="WebService", fail_count=1),)
    assert status.failed_actions == (
        FailedAction(
            resource="WebService",
            operation="monitor",
            node="node1",
            exit_reason="",
            status="complete",
            exit_status="not running",
            exit_code=7,
            interval_ms=10000,
        ),
    )


def test_no_dc_while_the_cluster_starts() -> None:
    status = parse_crm_mon(recorded("crm_mon-no-dc-cluster-starting.xml"))
    assert status.dc is None
    assert not status.quorate
    assert status.online_nodes == ()
    assert [r.role for r in status.resources] == ["Stopped", "Stopped"]
    assert status.nodes_running(VIP) == ()


def test_a_start_failure_is_fail_count_infinity_and_carries_the_agents_reason() -> None:
    status = parse_crm_mon(recorded("crm_mon-vip-start-failed-both-nodes.xml"))
    assert {c.node: c.fail_count for c in status.fail_counts} == {"node1": INFINITY, "node2": INFINITY}
    assert [(f.resource, f.operation, f.node, f.exit_code) for f in status.failed_actions] == [
        ("virtual_ip", "start", "node1", 1),
        ("virtual_ip", "start", "node2", 1),
    ]
    assert status.failed_actions[0].exit_reason == "Unable to find nic or netmask."
    assert status.nodes_running(VIP) == ()


def test_the_deprecated_as_xml_output_reads_the_same() -> None:
    legacy = parse_crm_mon(recorded("crm_mon-legacy-as-xml-two-nodes-group-started.xml"))
    assert legacy == parse_crm_mon(recorded("crm_mon-two-nodes-group-started.xml"))


def test_pacemaker_not_running_is_a_crm_mon_failure_with_its_words() -> None:
    with pytest.raises(CrmMonFailed) as error:
        parse_crm_mon(recorded("crm_mon-pacemaker-not-running.xml"))
    assert error.value.code == 102
    assert "Connection to cluster failed" in error.value.what
    assert "systemctl start" in error.value.fix


def test_pacemakerd_still_starting_is_said_so() -> None:
    text = """<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
      <pacemakerd sys_from="pacemakerd" state="starting_daemons" last_updated="Tue Mar  5 10:11:40 2024"/>
      <status code="102" message="Not connected"/>
    </pacemaker-result>"""
    with pytest.raises(CrmMonFailed) as error:
        parse_crm_mon(text)
    assert "pacemakerd is starting_daemons" in error.value.what


def test_two_holders_of_the_vip_are_both_reported() -> None:
    text = recorded("crm_mon-two-nodes-group-started.xml").replace(
        '<node name="node1" id="1" cached="true"/>\n      </resource>\n      <resource id="WebService"',
        '<node name="node1" id="1" cached="true"/>\n        <node name="node2" id="2" cached="true"/>\n'
        '      </resource>\n      <resource id="WebService"',
    )
    assert parse_crm_mon(text).nodes_running(VIP) == ("node1", "node2")


def test_clones_groups_and_bundles_are_flattened() -> None:
    text = """<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
      <summary><current_dc present="true" name="n1" id="1" with_quorum="false"/></summary>
      <resources>
        <clone id="web-clone" multi_state="false" unique="false" managed="false" disabled="false" failed="false">
          <group id="web-group:0" number_resources="1" managed="false" disabled="false">
            <resource id="httpd" resource_agent="ocf:heartbeat:apache" role="Started" active="true"
                      managed="false" failed="false"><node name="n1" id="1" cached="true"/></resource>
          </group>
        </clone>
        <bundle id="b" type="podman" image="i" unique="false" managed="true" failed="false">
          <replica id="0">
            <resource id="b-ip" resource_agent="ocf:heartbeat:IPaddr2" role="Stopped" active="false"/>
          </replica>
        </bundle>
      </resources>
    </pacemaker-result>"""
    status = parse_crm_mon(text)
    assert (status.dc, status.quorate) == ("n1", False)
    assert [(r.id, r.group, r.clone, r.managed) for r in status.resources] == [
        ("httpd", "web-group", "web-clone", False),
        ("b-ip", None, "b", False),
    ]
    assert status.resource("nothing") is None


def test_fail_count_infinity_as_later_pacemakers_print_it() -> None:
    text = recorded("crm_mon-apache-monitor-failed.xml").replace('fail-count="1"', 'fail-count="INFINITY"')
    assert parse_crm_mon(text).fail_counts[0].fail_count == INFINITY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not XML"),
        ("Cluster Summary:\n  * Stack: corosync\n", "not XML"),
        (recorded("crm_mon-two-nodes-group-started.xml")[:900], "not XML"),
        (recorded("cib/cib-two-nodes-group-started.xml"), "root is <cib>"),
    ],
)
def test_malformed_or_foreign_documents_are_refused_with_their_first_lines(text: str, message: str) -> None:
    with pytest.raises(HalabError) as error:
        parse_crm_mon(text)
    assert message in error.value.what
    assert "crm_mon --output-as=xml" in error.value.fix
    assert error.value.evidence == ("\n".join(text.strip().splitlines()[:8]) or "(empty output)")


def test_a_cluster_that_names_its_nodes_by_address_is_read_in_the_plan_s_names() -> None:
    from halab.labdoc.observe import membership_of

    text = recorded("crm_mon-two-nodes-group-started.xml")
    by_address = text.replace('"node1"', '"192.168.56.11"').replace('"node2"', '"192.168.56.12"')
    status = parse_crm_mon(by_address)
    assert status.nodes_running(VIP) == ("192.168.56.11",)
    called = {"192.168.56.11": "node1", "192.168.56.12": "node2"}
    members = membership_of(status, lambda name: called.get(name, name))
    assert members.state("node2") == "online" and members.where("WebCluster") == ("node1",)
    assert membership_of(status).where("WebCluster") == ("192.168.56.11",)
