"""The pieces that keep a grade honest: fixes in the lab's own tool, monitors read from the CIB,
interfaces from `ip -o addr`, and faults not run once their prerequisite failed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from halab.facts.gather import MARK, parse_facts
from halab.grading.plugin import failed_prerequisite
from halab.grading.results import CheckResult
from halab.grading.rubric import Rubric, RubricItem
from halab.stacks.admin import ADMINS, PacemakerAdmin, admin_for
from halab.stacks.cib import parse_cib

CHECKS = Path(__file__).parents[2] / "checks"
RECORDED = Path(__file__).parent / "recorded"


def test_no_check_writes_a_command_of_one_tool_itself() -> None:
    """Every fix comes from halab.stacks.admin, so a crmsh or Heartbeat lab never prints a pcs command."""
    for module in CHECKS.glob("*.py"):
        strings = re.findall(r'"[^"\n]*"|\'[^\'\n]*\'', module.read_text())
        tool_commands = [s for s in strings if re.search(r"\b(pcs|crm) (resource|property|cluster|configure|status)\b", s)]
        assert not tool_commands, f"{module.name}: {tool_commands}"


@pytest.mark.parametrize("tool", ["crmsh", "heartbeat"])
def test_a_crmsh_or_heartbeat_fix_never_names_pcs(tool: str) -> None:
    admin = admin_for(tool)
    said = [admin.enable_at_boot(), admin.copy_to_peer("/etc/corosync/corosync.conf"), admin.status]
    if isinstance(admin, PacemakerAdmin):
        said += [admin.set_property("stonith-enabled", "false"), admin.group("G", "a", "b"), admin.update("a", nic="eth0"),
                 admin.add_monitor("a", "30s"), admin.clear("G"), admin.cleanup(), admin.setup]
    assert said and not [s for s in said if "pcs" in s], said


def test_every_tool_a_plan_may_name_has_its_commands() -> None:
    from halab.plan import TOOLS

    assert {tool for tools in TOOLS.values() for tool in tools} == set(ADMINS)


def test_a_resource_without_a_monitor_interval_is_not_monitored() -> None:
    cib = parse_cib((RECORDED / "cib" / "cib-two-nodes-group-started.xml").read_text())
    assert all(p.monitored for p in cib.primitives), [(p.id, p.operations) for p in cib.primitives]
    stripped = re.sub(r'<op [^>]*name="monitor"[^>]*/>', "", (RECORDED / "cib" / "cib-two-nodes-group-started.xml").read_text())
    assert not any(p.monitored for p in parse_cib(stripped).primitives)


def test_interfaces_come_from_ip_addr() -> None:
    node = parse_facts("node1", f"""{MARK} hostname
node1
{MARK} command addresses
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0@if7    inet 192.168.56.10/24 brd 192.168.56.255 scope global eth0\\       valid_lft forever
2: eth0@if7    inet 192.168.56.100/24 brd 192.168.56.255 scope global secondary eth0
2: eth0@if7    inet6 fe80::5054:ff:fe56:10/64 scope link
{MARK} exit 0
""")
    interfaces = node.interfaces()
    assert set(interfaces) == {"lo", "eth0"}
    assert [str(a) for a in interfaces["eth0"]] == ["192.168.56.10/24", "192.168.56.100/24"]


RUBRIC = Rubric(Path("r.yaml"), "pcs", (
    RubricItem("vip-serves", 2), RubricItem("resources-monitored", 1),
    RubricItem("fault-kill-apache", 1, requires=("vip-serves", "resources-monitored")),
    RubricItem("fault-stop-stack", 2, requires=("vip-serves",)),
    RubricItem("failback-as-configured", 1, requires=("fault-stop-stack",)),
))


def test_a_fault_whose_prerequisite_failed_is_not_run() -> None:
    results = [CheckResult("vip-serves", "", "passed"), CheckResult("resources-monitored", "", "failed", "WebService has no monitor")]
    assert failed_prerequisite(RUBRIC, "fault-kill-apache", results).id == "resources-monitored"  # type: ignore[union-attr]
    assert failed_prerequisite(RUBRIC, "fault-stop-stack", results) is None
    assert failed_prerequisite(None, "fault-kill-apache", results) is None  # plain pytest: no rubric, no skipping


def test_prerequisites_are_followed_through_others() -> None:
    results = [CheckResult("vip-serves", "", "failed", "nothing answers")]
    assert failed_prerequisite(RUBRIC, "failback-as-configured", results).id == "vip-serves"  # type: ignore[union-attr]


def test_the_interface_haresources_names_is_read_without_its_alias() -> None:
    from halab.stacks.heartbeat import address_interfaces

    assert address_interfaces("srv IPaddr::10.0.5.200/24/ens18:0 apache2\n# srv IPaddr::1.2.3.4/24/eth9\n"
                              "srv IPaddr2::10.0.5.201/24 apache2\n") == (("IPaddr::10.0.5.200/24/ens18:0", "ens18"),)


@pytest.mark.parametrize("module", ["halab.stacks.admin", "halab.probe.identify", "halab.backends.base"])
def test_the_examples_in_the_docstrings_hold(module: str) -> None:
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(module)).failed == 0


@pytest.mark.parametrize(("options", "said"), [
    (["--halab-name", "nosuch-lab"], "no lab called 'nosuch-lab'"),
    (["--halab-name", "a", "--halab-lab", "pcs"], "not both"),
    (["--halab-lab", "pcz"], "no lab called 'pcz'"),
])
def test_a_bad_plugin_option_is_one_clear_line(options: list[str], said: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", str(CHECKS), "-q", "-p", "no:cacheprovider", *options],
                          capture_output=True, text=True, timeout=60, env={"HALAB_HOME": "/nonexistent-halab-home",
                                                                           "PATH": "/usr/bin:/bin"})
    assert done.returncode == 4, done.stdout + done.stderr
    assert said in done.stderr and "Traceback" not in done.stdout + done.stderr, done.stderr
