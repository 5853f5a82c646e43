from pathlib import Path

from halab.facts.gather import gather_script, parse_facts

RECORDED = Path(__file__).parent / "recorded" / "facts-pcs-node1.txt"


def test_facts_are_parsed_from_a_real_node_mid_fault() -> None:
    """Recorded on node1 of the pcs lab while `stop-stack` had stopped its pacemaker."""
    facts = parse_facts("node1", RECORDED.read_text())
    assert facts.hostname == "node1" and facts.clock > 1.7e9
    assert facts.unit("apache2").enabled == "disabled"
    assert (facts.unit("pacemaker").enabled, facts.unit("pacemaker").active) == ("enabled", "inactive")
    assert facts.unit("nosuch").enabled == "not-found"
    key = facts.file("/etc/corosync/authkey")
    assert (key.exists, key.mode, key.owner, len(key.sha256)) == (True, "400", "root", 64)
    assert key.text is None, "a secret is compared by hash, never collected"
    conf = facts.file("/etc/corosync/corosync.conf")
    assert conf.text is not None and "two_node: 1" in conf.text and conf.text.endswith("}\n")
    assert not facts.file("/etc/ha.d/ha.cf").exists
    assert facts.resolves("node2") == ("192.168.56.20",)
    verify = facts.command("crm_verify")
    assert verify is not None and verify.exit_status == 66 and "CIB query failed" in verify.output


def test_files_without_a_final_newline_do_not_swallow_the_next_section() -> None:
    output = "@@halab@@ hostname\nnode2\n@@halab@@ file /etc/hostname\n644 root\nabc\n" \
             "@@halab@@ text /etc/hostname\nnode2\n@@halab@@ unit apache2\nenabled\nactive\n"
    facts = parse_facts("node2", output)
    assert facts.file("/etc/hostname").text == "node2\n"
    assert facts.unit("apache2").active == "active"


def test_the_script_names_every_node_and_never_reads_a_secret() -> None:
    script = gather_script(("srv", "srv-slave"))
    assert "getent ahostsv4 srv-slave" in script
    assert "cat /etc/corosync/authkey" not in script and "cat /etc/ha.d/authkeys" not in script
