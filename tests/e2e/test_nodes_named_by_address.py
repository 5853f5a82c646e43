"""A pcs sheet that names its nodes by address, as many do (`pcs host auth 192.168.56.10
192.168.56.20`, `pcs cluster setup webcluster 192.168.56.10 192.168.56.20`, `pcs node standby
192.168.56.10`): the cluster's names are addresses, halab observes in the plan's names, so the
sheet's sentences, the faults and the failback read as on any lab.

Its lab is called <HALAB_E2E_PREFIX>addr (default e2eaddr)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from halab.plan import load_plan
from halab.run import LabUp, lab_up, run_faults
from halab.stacks import stack_for

pytestmark = pytest.mark.e2e

LAB = f"{os.environ.get('HALAB_E2E_PREFIX', 'e2e')}addr"
ADDRESSES = {"node1": "192.168.56.10", "node2": "192.168.56.20"}
STANDBY = """
## Maintenance by address

```sh on=node1 timeout=60
pcs node standby 192.168.56.10
```

```expect timeout=90
node node1 is standby
resource WebCluster runs on node2
```

```sh on=node1 timeout=60
pcs node unstandby 192.168.56.10
```

```expect timeout=90
node node1 is online
```
"""


def by_address(document: str) -> str:
    """The pcs lab's document with every pcs command naming the nodes by their addresses."""
    document = document.replace("pcs host auth node1 addr=192.168.56.10 node2 addr=192.168.56.20",
                                "pcs host auth 192.168.56.10 192.168.56.20")
    document = document.replace("pcs cluster setup webcluster node1 addr=192.168.56.10 node2 addr=192.168.56.20",
                                "pcs cluster setup webcluster 192.168.56.10 192.168.56.20")
    assert "pcs cluster setup webcluster 192.168.56.10 192.168.56.20" in document, "the pcs lab's setup line changed"
    return document + STANDBY


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabUp]:
    folder = tmp_path_factory.mktemp("by-address") / "pcs"
    shutil.copytree(load_plan("pcs").folder, folder)
    (folder / "lab.md").write_text(by_address((folder / "lab.md").read_text()))
    with lab_up(load_plan(folder), LAB) as up:
        yield up


def test_the_cluster_names_its_nodes_by_address_and_halab_reads_them_as_the_plan_s(lab: LabUp) -> None:
    listed = lab.backend.run("node1", ["crm_node", "-l"]).check().stdout
    assert set(re.findall(r"\d+\.\d+\.\d+\.\d+", listed)) == set(ADDRESSES.values()), listed
    assert [step.passed for step in lab.steps if step.step.kind == "expect"] and all(s.passed for s in lab.steps)
    view = stack_for("pacemaker").view(lab.backend)
    assert view.healthy and set(view.online) == set(ADDRESSES) and view.active in ADDRESSES, view.summary


@pytest.mark.parametrize("fault", ["stop-stack", "power-off"])
def test_faults_fail_over_between_nodes_named_by_address(lab: LabUp, fault: str) -> None:
    (run,), _ = run_faults(lab.backend, [fault])
    assert run.verdict == "pass" and run.outcome == "failover", run.explanation
    assert run.victim in ADDRESSES and run.served_during in ADDRESSES and run.served_during != run.victim, run
