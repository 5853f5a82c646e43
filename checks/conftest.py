"""Grading checks run through halab's pytest plugin (its pytest11 entry point): `halab check`,
`halab grade`, or plainly `pytest checks/ --halab-name NAME`. Each check is one test whose
docstring's first line is its title; its id is its name without `test_`, dashes for underscores
(e.g. apache-disabled-at-boot)."""

from __future__ import annotations

import pytest

from halab.errors import HalabError
from halab.facts import LabFacts
from halab.plan import LabPlan
from halab.stacks.admin import Admin, admin_for
from halab.stacks.cib import Cib, parse_cib


@pytest.fixture(scope="session")
def cib(facts: LabFacts, plan: LabPlan) -> Cib:
    if plan.stack != "pacemaker":
        pytest.skip(f"not a Pacemaker lab ({plan.stack})")
    for node in facts.reachable:
        found = node.command("cib")
        if found and found.exit_status == 0:
            return parse_cib(found.output)
    raise HalabError("no node could show the CIB (cibadmin --query)", evidence="; ".join(n.error for n in facts.nodes))



@pytest.fixture(scope="session")
def admin(plan: LabPlan) -> Admin:
    """The lab's own administration tool, in which every fix is written (pcs, crmsh, Heartbeat)."""
    return admin_for(plan.tool)
