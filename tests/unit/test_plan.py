from pathlib import Path

import pytest

from lab_files import PCS_PLAN as GOOD
from lab_files import write_lab
from halab.errors import HalabError
from halab.plan import load_plan


def test_the_pcs_plan_loads_with_the_seed_addresses() -> None:
    plan = load_plan("pcs")
    assert plan.node_names == ("node1", "node2")
    assert str(plan.vip) == "192.168.56.100"
    assert str(plan.node("node2").address) == "192.168.56.20/24"
    assert plan.expectation("cut-link").outcomes == ("split-brain",)
    assert plan.vip_url == "http://192.168.56.100/"


def test_unknown_lab_names_the_available_ones() -> None:
    with pytest.raises(HalabError) as error:
        load_plan("pcz")
    assert "pcs" in error.value.fix


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('vip = "192.168.56.100"', 'vip = "10.0.0.1"', "not a host address of the lab subnet"),
        ('address = "192.168.56.20"', 'address = "192.168.56.10"', r"nodes\[1\].address = '192.168.56.10' is already node1's"),
        ('mac = "52:54:00:56:00:20"', 'mac = "53:54:00:56:00:20"', "unicast"),
        ('page_marker = "node2"', 'page_marker = "node1"', "own page_marker"),
        ('outcomes = ["failover"]', 'outcomes = ["moves"]', "outcomes must be among"),
        ('stack = "pacemaker"', 'stack = "keepalived"', "stack must be"),
        ('subnet = "192.168.56.0/24"\n', "", "missing key 'subnet'"),
        ('subnet = "192.168.56.0/24"\n', 'subnet = "192.168.56.0/24"\ndomain = "Lab_Local"\n', "domain = 'Lab_Local': must be a DNS domain"),
        ('subnet = "192.168.56.0/24"\n', 'subnet = "192.168.56.0/24"\ndomain = "lab..local"\n', "must be a DNS domain"),
        ('subnet = "192.168.56.0/24"\n', 'subnet = "192.168.56.0/24"\ndhcp = "yes"\n', "dhcp = 'yes': must be true or false"),
    ],
)
def test_malformed_plans_are_refused_with_the_reason(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    folder = write_lab(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(HalabError, match=message):
        load_plan(folder)


def test_a_domain_names_each_machine_in_full_as_debian_s_installer_does(tmp_path: Path) -> None:
    from halab.backends.base import debian_hosts

    plan = load_plan(write_lab(tmp_path, GOOD.replace('subnet = "', 'domain = "lab.local"\nsubnet = "', 1)))
    assert plan.domain == "lab.local" and load_plan("pcs").domain == ""
    hosts = debian_hosts("node1", [("192.168.56.254", "router")], plan.domain).splitlines()
    assert hosts[1].split() == ["127.0.1.1", "node1.lab.local", "node1"]
    assert hosts[2].split() == ["192.168.56.254", "router.lab.local", "router"]


def test_a_cluster_s_names_for_its_nodes_map_to_the_plan_s(tmp_path: Path) -> None:
    """pcs sheets often name nodes by address, others by full name: halab observes in plan names."""
    plan = load_plan(write_lab(tmp_path, GOOD.replace('subnet = "', 'domain = "lab.local"\nsubnet = "', 1)))
    first, second = plan.nodes
    assert plan.node_called(str(first.address.ip)) == first.name
    assert plan.node_called(f"{second.name}.lab.local") == second.name
    assert plan.node_called(second.name) == second.name
    assert plan.node_called("192.0.2.1") == "192.0.2.1" and plan.node_called("node1.other.net") == "node1.other.net"
    fencing = load_plan("fencing")  # its second ring's addresses name the node too
    assert fencing.node_called(str(fencing.nodes[1].interfaces[0].address.ip)) == fencing.nodes[1].name


def test_with_dhcp_the_router_leases_each_node_its_plan_address_and_nothing_else(tmp_path: Path) -> None:
    from halab.backends.local.dhcp import arguments

    assert not load_plan("pcs").dhcp
    plan = load_plan(write_lab(tmp_path, GOOD.replace('subnet = "', 'dhcp = true\nsubnet = "', 1)))
    argv = arguments(plan, tmp_path)
    assert plan.dhcp and "--port=0" in argv and "--interface=eth1" in argv  # no DNS; the router's cable only
    assert [a for a in argv if a.startswith("--dhcp-host=")] == [
        f"--dhcp-host={n.mac},{n.address.ip},{n.name}" for n in plan.nodes]
    assert "--dhcp-range=192.168.56.0,static,255.255.255.0,3600" in argv  # no pool for unknown MACs
    assert "--dhcp-option=option:router,192.168.56.254" in argv


@pytest.mark.parametrize(("user", "message"), [
    ('name = "Etudiant"\npassword = "s3cret-pw"', "user.name = 'Etudiant': must be a login name"),
    ('name = "root"\npassword = "s3cret-pw"', "not root or hacluster"),
    ('name = "etudiant"\npassword = "abc"', "user.password must be at least 4 characters"),
    ('name = "etudiant"\npassword = "a:bcd"', "without ':'"),
    ('name = "etudiant"\npassword = "s3cret-pw"\nshell = "zsh"', "no key 'shell'; the keys are name, password, sudo"),
    ('name = "etudiant"\npassword = "s3cret-pw"\nsudo = "yes"', "user.sudo = 'yes': must be true or false"),
])
def test_a_bad_user_account_is_refused_with_the_key(tmp_path: Path, user: str, message: str) -> None:
    with pytest.raises(HalabError, match=message):
        load_plan(write_lab(tmp_path, GOOD + f"\n[user]\n{user}\n"))


def test_the_installer_s_accounts(tmp_path: Path) -> None:
    plan = load_plan(write_lab(tmp_path, 'root_password = "r00t-pw"\n' + GOOD + '\n[user]\nname = "etudiant"\n'
                                                                              'password = "s3cret-pw"\n'))
    assert plan.user is not None and (plan.user.name, plan.user.sudo, plan.root_password) == ("etudiant", True, "r00t-pw")
    assert load_plan("pcs").user is None and load_plan("pcs").root_password == ""


CLIENT_HOST = '\n[[hosts]]\nname = "client"\naddress = "192.168.56.50"\ninterface = "enp0s3"\nmac = "52:54:00:56:00:50"\n'


def test_a_host_is_a_machine_of_the_lab_with_no_cluster_role(tmp_path: Path) -> None:
    from ipaddress import IPv4Address

    from halab.backends.local.dhcp import arguments
    from halab.backends.local.network import port_name
    from halab.labdoc.parser import parse_lab_document

    folder = write_lab(tmp_path, GOOD + CLIENT_HOST, b"```sh on=client\ncurl -s http://192.168.56.100/\n```\n")
    plan = load_plan(folder)
    assert plan.node_names == ("node1", "node2") and plan.machine_names == ("node1", "node2", "client")
    assert plan.machine("client").address.ip == IPv4Address("192.168.56.50")
    assert IPv4Address("192.168.56.50") in plan.lab_addresses()
    assert parse_lab_document(plan).steps[0].nodes == ("client",)
    assert "--dhcp-host=52:54:00:56:00:50,192.168.56.50,client" in arguments(plan, tmp_path)
    assert port_name(plan, "client") == "port4" and port_name(plan, "node2") == "port1"  # after router and BMCs
    with pytest.raises(HalabError, match="has no node 'client'"):
        plan.node("client")  # not a cluster node: faults, checks and views never pick it
    with pytest.raises(HalabError, match="labs without \\[\\[hosts\\]\\] only for now, and lab lab has client"):
        plan.require_no_hosts("the Vagrant backend")


@pytest.mark.parametrize(("change", "message"), [
    (('"client"', '"node2"'), r"hosts\[0\].name = 'node2' is already"),
    (('"192.168.56.50"', '"192.168.56.20"'), r"hosts\[0\].address = '192.168.56.20' is already node2's"),
    (('"52:54:00:56:00:50"', '"52:54:00:56:00:20"'), r"hosts\[0\].mac = '52:54:00:56:00:20' is already"),
    (('mac = "52:54:00:56:00:50"', 'mac = "52:54:00:56:00:50"\npage_marker = "x"'), r"hosts\[0\] has no key 'page_marker'"),
])
def test_a_bad_host_is_refused_with_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(HalabError, match=message):
        load_plan(write_lab(tmp_path, GOOD + CLIENT_HOST.replace(*change)))


def test_invalid_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = write_lab(tmp_path, GOOD.replace('title = "', 'title = ', 1))
    with pytest.raises(HalabError, match=r"not valid TOML.*line 4"):
        load_plan(folder)


FENCING = (Path(__file__).parents[2] / "labs/fencing/plan.toml").read_text()


def test_the_fencing_plan_gives_each_node_a_bmc_on_the_lab_subnet() -> None:
    plan = load_plan("fencing")
    assert plan.bmc is not None and (plan.bmc.username, plan.bmc.password) == ("fence", "halab-ipmi")
    assert [str(n.bmc) for n in plan.nodes] == ["192.168.56.11/24", "192.168.56.21/24"]
    assert all(n.bmc.ip in plan.lab_addresses() for n in plan.nodes if n.bmc)
    assert load_plan("pcs").bmc is None


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('bmc = "192.168.56.21"', 'bmc = "10.0.0.21"', "BMC of node2 10.0.0.21 is not a host address of the lab subnet"),
        ('bmc = "192.168.56.21"', 'bmc = "192.168.56.10"', "nodes[1].bmc = '192.168.56.10' is already node1's"),
        ('bmc = "192.168.56.21"\n', "\n", "every node needs its bmc address"),
        ('password = "halab-ipmi"', 'password = "a-password-longer-than-16"', "password must be 1-16 characters"),
        ('[bmc]\nusername = "fence"\npassword = "halab-ipmi"\n', "", "have a bmc address but the plan has no [bmc]"),
    ],
)
def test_malformed_bmcs_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in FENCING
    with pytest.raises(HalabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_plan(write_lab(tmp_path, FENCING.replace(old, new)))


def test_the_fencing_plan_has_a_cluster_network_with_an_interface_per_node() -> None:
    plan = load_plan("fencing")
    assert [(n.name, str(n.subnet)) for n in plan.networks] == [("cluster", "192.168.57.0/24")]
    eth1 = [n.interface_on("cluster") for n in plan.nodes]
    assert [(i.name, str(i.address), i.mac) for i in eth1] == [
        ("eth1", "192.168.57.10/24", "52:54:00:57:00:10"), ("eth1", "192.168.57.20/24", "52:54:00:57:00:20")]
    assert all(i.address.ip in plan.lab_addresses() for i in eth1)
    assert plan.expectation("cut-one-link").outcomes == ("no-outage",)


@pytest.mark.parametrize("lab", ["pcs", "crmsh", "heartbeat"])
def test_the_labs_without_a_second_network_still_load_with_none(lab: str) -> None:
    plan = load_plan(lab)
    assert plan.networks == () and all(n.interfaces == () for n in plan.nodes)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('subnet = "192.168.57.0/24"', 'subnet = "192.168.56.128/25"', r"networks\[0\] \(cluster, 192.168.56.128/25\) "
                                                                       "overlaps.*the lab subnet"),
        ('name = "cluster"', 'name = "lan"', r"networks\[0\].name = 'lan': 1-10 lower-case"),
        ('name = "cluster"', 'name = "cluster-network"', r"networks\[0\].name = 'cluster-network'"),
        ('subnet = "192.168.57.0/24"\n', 'subnet = "192.168.57.0/24"\nmtu = 9000\n', r"networks\[0\] has no key 'mtu' "
                                                                                    r"\(keys: name, subnet\)"),
        ('network = "cluster"\nname = "eth1"\naddress = "192.168.57.20"', 'network = "storage"\nname = "eth1"\n'
         'address = "192.168.57.20"', r"nodes\[1\].interfaces\[0\].network = 'storage': must name one of the plan's "
                                      r"\[\[networks\]\] \(cluster\)"),
        ('address = "192.168.57.20"', 'address = "192.168.58.20"', r"nodes\[1\].interfaces\[0\].address = "
                                                                   "'192.168.58.20' is not a host address of cluster"),
        ('address = "192.168.57.20"', 'address = "192.168.57.10"', "is already node1's eth1's; every machine"),
        ('mac = "52:54:00:57:00:20"', 'mac = "52:54:00:56:00:20"', "is already node2's; every node needs its own MAC"),
        ('name = "eth1"\naddress = "192.168.57.20"', 'name = "eth0"\naddress = "192.168.57.20"',
         r"nodes\[1\]: two interfaces are both named 'eth0'"),
        ('mac = "52:54:00:57:00:20"\n', "", r"nodes\[1\].interfaces\[0\] lacks the key 'mac'"),
        ('\n[[nodes.interfaces]]\nnetwork = "cluster"\nname = "eth1"\naddress = "192.168.57.20"\n'
         'mac = "52:54:00:57:00:20"\n', "", r"nodes\[1\] has interfaces on no further network; it needs exactly one "
                                           "on each of the plan's \\[\\[networks\\]\\]: cluster"),
    ],
)
def test_malformed_networks_are_refused_naming_the_key_and_what_is_allowed(tmp_path: Path, old: str, new: str,
                                                                          message: str) -> None:
    assert old in FENCING
    with pytest.raises(HalabError, match=message) as error:
        load_plan(write_lab(tmp_path, FENCING.replace(old, new, 1)))
    assert str(tmp_path / "lab" / "plan.toml") in str(error.value)


def _node(number: int) -> str:
    """One more [[nodes]] table in the pcs plan's style: node3 at .30, and so on."""
    return (f'\n[[nodes]]\nname = "node{number}"\naddress = "192.168.56.{number}0"\ninterface = "eth0"\n'
            f'mac = "52:54:00:56:00:{number}0"\npage_marker = "node{number}"\n')


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_plans_of_two_to_five_nodes_load_in_their_order(tmp_path: Path, count: int) -> None:
    plan = load_plan(write_lab(tmp_path, GOOD + "".join(_node(n) for n in range(3, count + 1))))
    assert plan.node_names == tuple(f"node{n}" for n in range(1, count + 1))


@pytest.mark.parametrize(("plan_text", "count"), [
    (GOOD[:GOOD.index('[[nodes]]\nname = "node2"')] + '[expect.power-off]\noutcomes = ["failover"]\n', 1),
    (GOOD + "".join(_node(n) for n in range(3, 7)), 6),
])
def test_one_node_or_six_are_refused_saying_how_many_a_lab_may_have(tmp_path: Path, plan_text: str,
                                                                    count: int) -> None:
    with pytest.raises(HalabError, match=rf"a lab has 2 to 5 cluster nodes, this plan has {count} "):
        load_plan(write_lab(tmp_path, plan_text))


def test_the_parts_that_know_two_nodes_only_refuse_a_third_in_one_line(tmp_path: Path) -> None:
    plan = load_plan(write_lab(tmp_path, GOOD + _node(3)))
    with pytest.raises(HalabError) as error:
        plan.require_two_nodes("the Vagrant backend")
    assert error.value.what == "the Vagrant backend: two-node labs only for now, and lab lab has 3 nodes"
    assert error.value.fix == "bring this lab up on the local backend (--backend local)"
    load_plan("pcs").require_two_nodes("the Vagrant backend")


def test_a_heartbeat_plan_of_three_nodes_is_refused_as_haresources_runs_two(tmp_path: Path) -> None:
    heartbeat = (Path(__file__).parents[2] / "labs/heartbeat/plan.toml").read_text()
    third = ('[[nodes]]\nname = "srv3"\naddress = "192.168.137.64"\ninterface = "enp0s3"\n'
             'mac = "08:00:27:69:95:64"\npage_marker = "Serveur 3"\n')
    with pytest.raises(HalabError, match=r"Heartbeat's haresources \(v1\) runs two nodes only, and this plan has 3"):
        load_plan(write_lab(tmp_path, heartbeat + "\n" + third))
