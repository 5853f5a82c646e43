"""parse_cmapctl on corosync-cmapctl dumps reconstructed for the two labs
(provenance: tests/unit/recorded/README.md)."""

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.stacks.cmap import parse_cmapctl

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_the_pcs_lab_runs_with_the_defaults_and_two_node() -> None:
    cmap = parse_cmapctl(recorded("cmapctl-pcs-two-nodes.txt"))
    assert (cmap.token_ms, cmap.consensus_ms) == (3000, 3600)
    assert cmap.two_node and cmap.wait_for_all
    assert cmap.crypto_cipher == "aes256"
    assert cmap["totem.cluster_name"] == "cluster_web"
    assert cmap["runtime.members.2.ip"] == "r(0) ip(192.168.56.20)"
    entry = cmap.entry("quorum.two_node")
    assert entry is not None and (entry.type, entry.value) == ("u8", 1)
    assert len(cmap) == 133 and "nodelist.node.1.name" in cmap


def test_the_lab_sheets_misspelt_two_nodes_leaves_two_node_off() -> None:
    cmap = parse_cmapctl(recorded("cmapctl-lab-sheet-seed-004.txt"))
    assert cmap["quorum.two_nodes"] == "1"  # stored as text, read by nobody
    assert not cmap.two_node and not cmap.wait_for_all
    assert cmap["quorum.expected_votes"] == 2
    assert cmap["Logging.logger_subsys.subsys"] == "QUORUM"


def test_live_values_win_over_configured_ones() -> None:
    cmap = parse_cmapctl(
        "runtime.config.totem.consensus (u32) = 6000\n"
        "runtime.config.totem.token (u32) = 5000\n"
        "totem.token (u32) = 4000\n"
    )
    assert (cmap.token_ms, cmap.consensus_ms) == (5000, 6000)


def test_without_live_values_corosyncs_defaults_apply() -> None:
    nodes = "".join(f"nodelist.node.{i}.nodeid (u32) = {i + 1}\n" for i in range(3))
    cmap = parse_cmapctl(nodes + "totem.cluster_name (str) = web\n")
    assert cmap.token_ms == 3000 + 650  # token_coefficient for the third node
    assert cmap.consensus_ms == int(1.2 * 3650)
    assert cmap.crypto_cipher is None
    assert not cmap.two_node and not cmap.wait_for_all


def test_wait_for_all_set_explicitly() -> None:
    cmap = parse_cmapctl("quorum.two_node (u8) = 1\nquorum.wait_for_all (u8) = 0\n")
    assert cmap.two_node and not cmap.wait_for_all


def test_one_key_as_corosync_cmapctl_g_prints_it() -> None:
    cmap = parse_cmapctl("runtime.config.totem.token (u32) = 3000\n")
    assert dict(cmap) == {"runtime.config.totem.token": 3000}
    assert parse_cmapctl("totem.cluster_name (str) = \n")["totem.cluster_name"] == ""


@pytest.mark.parametrize(
    "text",
    [
        "Failed to initialize the cmap API. Error CS_ERR_LIBRARY\n",
        "runtime.config.totem.token = 3000\n",
    ],
)
def test_anything_else_is_refused_with_the_line(text: str) -> None:
    with pytest.raises(HalabError) as error:
        parse_cmapctl("totem.version (u32) = 2\n" + text)
    assert "line 2" in error.value.what
    assert text.strip() in error.value.evidence
