"""The SSH backend's inventory: a good file overrides the variant's plan; each malformed one is
refused at its line (or flag) with the reason."""

from pathlib import Path

import pytest

from halab.backends.ssh.inventory import dump_inventory, load_inventory, parse_inventory
from halab.errors import HalabError
from halab.plan import load_plan
from halab.yamlfile import parse_yaml

GOOD = """\
# alice's cluster
variant: pcs
vip: 192.168.56.100
user: teacher
key: {key}
netns: halab-e2essh
nodes:
  - name: alpha
    address: 192.168.56.11
  - name: beta
    address: 192.168.56.12
    port: 2222
    page_marker: Beta
"""


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519"
    path.write_text("not read until a connection is made\n")
    return path


def inventory_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def test_a_good_inventory_overrides_the_plan_with_the_students_names_and_addresses(tmp_path: Path, key: Path) -> None:
    inventory = load_inventory(inventory_file(tmp_path, GOOD.format(key=key)))
    assert (inventory.user, inventory.sudo, inventory.netns, inventory.key) == ("teacher", True, "halab-e2essh", key)
    assert [(n.name, str(n.address), n.port) for n in inventory.nodes] == [
        ("alpha", "192.168.56.11", 22), ("beta", "192.168.56.12", 2222)]
    plan = inventory.apply(load_plan("pcs"))
    assert plan.node_names == ("alpha", "beta")
    assert [str(n.address) for n in plan.nodes] == ["192.168.56.11/24", "192.168.56.12/24"]
    assert [n.page_marker for n in plan.nodes] == ["node1", "Beta"]  # the variant's, unless given
    assert plan.vip_url == "http://192.168.56.100/"


def test_flags_override_the_file_and_errors_then_name_the_flag(tmp_path: Path, key: Path) -> None:
    path = inventory_file(tmp_path, GOOD.format(key=key))
    assert load_inventory(path, {"user": "root", "sudo": None}).sudo is False
    with pytest.raises(HalabError, match=r"^--vip: vip: '192.168.56.300' is not an IPv4 address"):
        load_inventory(path, {"vip": "192.168.56.300"})


def test_an_inventory_written_by_connect_reads_back_the_same(tmp_path: Path, key: Path) -> None:
    inventory = load_inventory(inventory_file(tmp_path, GOOD.format(key=key)))
    again = load_inventory(inventory_file(tmp_path, dump_inventory(inventory)))
    assert (again.vip, again.user, again.key, again.nodes) == (inventory.vip, inventory.user, inventory.key, inventory.nodes)


MALFORMED = {
    "not YAML": ("variant: pcs\nnodes: [\n", r":3: not valid YAML"),
    "not a mapping": ("- node1\n- node2\n", r"inventory.yaml: an inventory is a mapping"),
    "unknown setting": ("{good}hosts: 2\n", r":14: unknown setting hosts"),
    "no variant": ("vip: 192.168.56.100\nnodes: []\n", r"missing setting variant:"),
    "unknown variant": ("{good}", r":2: variant: no lab called 'pcz'", "pcs", "pcz"),
    "variant not a name": ("{good}", r":2: variant: '../pcs' is not a lab name", "variant: pcs", "variant: ../pcs"),
    "VIP not an address": ("{good}", r":3: vip: '192.168.56.1000' is not an IPv4 address", ".100", ".1000"),
    "VIP off the subnet": ("{good}", r":3: vip: 10.0.0.1 is outside the subnet 192.168.56.0/24", "192.168.56.100", "10.0.0.1"),
    "VIP is a node's address": ("{good}", r":3: vip: 192.168.56.11 is also node alpha's address", "vip: 192.168.56.100", "vip: 192.168.56.11"),
    "user not a name": ("{good}", r":4: user: 'te acher' is not a user name", "teacher", "te acher"),
    "key missing": ("{good}", r":5: key: no private key file at /nonexistent", "{key}", "/nonexistent"),
    "no key nor password": ("{good}", r"give key: .* or password:", "key: {key}\n", ""),
    "sudo not boolean": ("{good}sudo: yes please\n", r":14: sudo: must be true or false"),
    "non-root without sudo": ("{good}sudo: false\n", r":14: sudo: false, but user teacher is not root"),
    "netns not a name": ("{good}", r":6: netns: 'halab e2essh' is not a network namespace name", "halab-e2essh", "halab e2essh"),
    "port out of range": ("{good}port: 70000\n", r":14: port: 70000 is not a TCP port"),
    "node port not a number": ("{good}", r":12: port: '2222' is not a TCP port", "port: 2222", "port: '2222'"),
    "one node only": ("{good}", r":7: nodes: must list the 2 nodes of lab pcs",
                      "  - name: beta\n    address: 192.168.56.12\n    port: 2222\n    page_marker: Beta\n", ""),
    "node entry not a mapping": ("{good}", r":7: nodes: each entry is a mapping", "  - name: alpha\n    address: 192.168.56.11\n", "  - alpha\n"),
    "unknown node setting": ("{good}", r":9: unknown node setting addr", "address: 192.168.56.11", "addr: 192.168.56.11"),
    "node name not a host name": ("{good}", r":8: node name 'Alpha_1'", "name: alpha", "name: Alpha_1"),
    "node without address": ("{good}", r":8: node alpha has no address:", "    address: 192.168.56.11\n", ""),
    "node address not an address": ("{good}", r":9: node alpha's address: 'node1.lan' is not an IPv4 address", "192.168.56.11", "node1.lan"),
    "node address off the subnet": ("{good}", r":7: node alpha's address 10.1.1.1 is outside the subnet 192.168.56.0/24 \(lab pcs's; give subnet: for your own\)", "192.168.56.11", "10.1.1.1"),
    "two nodes, one address": ("{good}", r":7: nodes: two nodes share the address", "192.168.56.12", "192.168.56.11"),
    "empty page marker": ("{good}", r":13: node beta: page_marker must be text", "page_marker: Beta", "page_marker: ''"),
    "subnet not a network": ("{good}subnet: 192.168.56.0/33\n", r":14: subnet: '192.168.56.0/33' is not a network"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_each_malformed_inventory_is_refused_at_its_line(tmp_path: Path, key: Path, case: str) -> None:
    text, expected, *edit = MALFORMED[case]
    good = GOOD.format(key=key)
    if edit:
        old = edit[0].format(key=key)
        assert old in good, case
        good = good.replace(old, edit[1], 1)
    with pytest.raises(HalabError, match=expected) as refused:
        load_inventory(inventory_file(tmp_path, text.format(good=good)))
    assert refused.value.fix, case


def test_flags_alone_are_checked_the_same_way() -> None:
    given = {"variant": "pcs", "vip": "192.168.56.100", "password": "secret",
             "nodes": [{"name": "node1", "address": "192.168.56.10"}, {"name": "node2", "address": "192.168.56.10"}]}
    with pytest.raises(HalabError, match=r"^--nodes: nodes: two nodes share the address 192.168.56.10"):
        parse_inventory(given, "the command line", {key: f"--{key}" for key in given})
    assert "secret" not in repr(parse_inventory({**given, "nodes": given["nodes"][:1] + [
        {"name": "node2", "address": "192.168.56.20"}]}, "the command line"))


def test_yaml_keeps_the_line_of_every_key() -> None:
    data = parse_yaml("a: 1\n\nb:\n  - x: 2\n    y: 3\n", "example")
    assert data.key_lines == {"a": 1, "b": 3} and data["b"][0].key_lines == {"x": 4, "y": 5}
