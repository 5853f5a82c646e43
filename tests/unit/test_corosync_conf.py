"""parse_corosync_conf on the file pcs 0.11.5 writes and on seed 004's lab sheet
(provenance: tests/unit/recorded/README.md)."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.corosync_conf import CorosyncNode, parse_corosync_conf

RECORDED = Path(__file__).parent / "recorded"
PCS = (RECORDED / "corosync-pcs-0.11.5-setup-two-nodes.conf").read_text()
SHEET = (RECORDED / "corosync-lab-sheet-seed-004.conf").read_text()


def test_the_file_pcs_setup_writes_on_debian_12() -> None:
    conf = parse_corosync_conf(PCS)
    assert (conf.version, conf.cluster_name, conf.transport) == (2, "cluster_web", "knet")
    assert (conf.crypto_cipher, conf.crypto_hash, conf.secauth) == ("aes256", "sha256", None)
    assert (conf.token_ms, conf.consensus_ms) == (3000, 3600)
    assert (conf.provider, conf.two_node, conf.wait_for_all, conf.expected_votes) == (
        "corosync_votequorum",
        True,
        True,
        None,
    )
    assert conf.nodes == (
        CorosyncNode(name="node1", nodeid=1, ring0_addr="192.168.56.10", line=11),
        CorosyncNode(name="node2", nodeid=2, ring0_addr="192.168.56.20", line=17),
    )
    assert conf.unknown_keys() == ()
    assert conf.unknown_sections() == ()


def test_the_lab_sheet_keeps_order_and_line_numbers() -> None:
    conf = parse_corosync_conf(SHEET, source="serv1:/etc/corosync/corosync.conf")
    entries = conf.entries()
    assert [e.path for e in entries[:6]] == [
        "totem.version",
        "totem.cluster_name",
        "totem.crypto_cipher",
        "totem.crypto_hash",
        "totem.clear_node_high_bit",
        "Logging.fileline",
    ]
    high_bit = conf.entry("totem.clear_node_high_bit")
    assert high_bit is not None and (high_bit.value, high_bit.line) == ("yes", 6)  # no space after ':'
    subsys = conf.entry("Logging.logger_subsys.subsys")
    assert subsys is not None and (subsys.value, subsys.line) == ("QUORUM", 16)
    assert [(n.name, n.nodeid, n.ring0_addr) for n in conf.nodes] == [
        ("serv1", 1, "172.16.0.10"),
        ("serv2", 2, "172.16.0.11"),
    ]


def test_the_lab_sheet_mistakes_a_grader_can_flag() -> None:
    conf = parse_corosync_conf(SHEET)
    assert [(s.name, s.line) for s in conf.unknown_sections()] == [("Logging", 8), ("service", 37)]
    assert [(e.path, e.value, e.line) for e in conf.unknown_keys()] == [("quorum.two_nodes", "1", 23)]
    assert not conf.two_node and not conf.wait_for_all  # the misspelling switched nothing on
    assert conf.expected_votes == 2
    assert conf.crypto_hash == "sha1"
    assert conf.transport == "knet"  # absent: corosync 3's default


def test_corosync_2_leftovers_and_timings() -> None:
    conf = parse_corosync_conf(
        "totem {\n  secauth: on\n  rrp_mode: passive\n  threads: 0\n  nodeid: 1\n  token: 5000\n  interface {\n"
        "    ringnumber: 0\n    mcastport: 5405\n  }\n}\n"
        "nodelist {\n" + "".join(f"  node {{\n    ring0_addr: 10.0.0.{i}\n  }}\n" for i in range(1, 5)) + "}\n"
    )
    assert conf.secauth == "on"
    assert [e.path for e in conf.unknown_keys()] == ["totem.rrp_mode", "totem.threads", "totem.nodeid"]
    assert conf.token_ms == 5000 + 2 * 650  # token_coefficient per node beyond two
    assert conf.consensus_ms == int(1.2 * 6300)
    assert conf.nodes[0] == CorosyncNode(name=None, nodeid=None, ring0_addr="10.0.0.1", line=13)


def test_explicit_values_win_over_implied_ones() -> None:
    conf = parse_corosync_conf(
        "totem {\n token: 1000\n consensus: 1500\n token: 2000\n}\nquorum {\n two_node: 1\n wait_for_all: 0\n}\n"
    )
    assert (conf.token_ms, conf.consensus_ms) == (2000, 1500)  # the last `token` wins, as in corosync
    assert conf.two_node and not conf.wait_for_all


def test_section_names_are_case_sensitive() -> None:
    conf = parse_corosync_conf("Totem {\n token: 9000\n}\n")
    assert conf.token_ms == 3000
    assert [s.name for s in conf.unknown_sections()] == ["Totem"]


def test_comments_blank_lines_and_odd_spacing_are_accepted() -> None:
    conf = parse_corosync_conf("# header\n\n  totem:{\n\t# inside\n\tcluster_name :  web  \r\n}\n")
    name = conf.entry("totem.cluster_name")
    assert name is not None and (name.value, name.line) == ("web", 5)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("totem {\n version: 2\n", 1, "never closed"),
        ("totem {\n}\n}\n", 3, "closes no section"),
        ("totem {\n version 2\n}\n", 2, "neither"),
        ("totem { version: 2 }\n", 1, "text follows `{`"),
        ("{\n}\n", 1, "section name is missing"),
        ("totem {\n : 2\n}\n", 2, "key name is missing"),
        ("totem {\n version: 2 }\n}\n", 2, "must be a whole number"),
        ("totem {\n}}\n", 2, "beside `}`"),
        ("quorum {\n two_node: yes\n}\n", 2, "must be a whole number"),
    ],
)
def test_what_corosync_would_refuse_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(HalabError) as error:
        conf = parse_corosync_conf(text, source="node1:corosync.conf")
        _ = (conf.version, conf.two_node)  # the typed accessors check the values
    assert message in error.value.what
    assert f"line {line}" in error.value.what and "node1:corosync.conf" in error.value.what
    assert error.value.evidence.startswith(f"{line:>4} | ")


def test_the_seed_as_printed_on_one_line_is_refused() -> None:
    flattened = " ".join(SHEET.split())  # how seed 004 shows the file
    with pytest.raises(HalabError) as error:
        parse_corosync_conf(flattened)
    assert "line 1: text follows `{`" in error.value.what
