from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.plan import load_plan

GOOD = (Path(__file__).parents[2] / "labs/pcs/plan.toml").read_text()


def write_lab(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "plan.toml").write_text(text)
    (folder / "lab.md").write_text("```sh on=all\ntrue\n```\n")
    return folder


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
        ('address = "192.168.56.20"', 'address = "192.168.56.10"', "two of the lab's addresses are equal"),
        ('mac = "52:54:00:56:00:20"', 'mac = "53:54:00:56:00:20"', "unicast"),
        ('page_marker = "node2"', 'page_marker = "node1"', "own page_marker"),
        ('outcomes = ["failover"]', 'outcomes = ["moves"]', "outcomes must be among"),
        ('stack = "pacemaker"', 'stack = "keepalived"', "stack must be"),
        ('subnet = "192.168.56.0/24"\n', "", "missing key 'subnet'"),
    ],
)
def test_malformed_plans_are_refused_with_the_reason(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    folder = write_lab(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(HalabError, match=message):
        load_plan(folder)


def test_invalid_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = write_lab(tmp_path, GOOD.replace('title = "', 'title = ', 1))
    with pytest.raises(HalabError, match=r"not valid TOML.*line 4"):
        load_plan(folder)
