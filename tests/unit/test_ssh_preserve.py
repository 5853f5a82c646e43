"""Leave it as found: the state read from recorded crm_mon and CIB outputs, and the steps
planned to put back what grading changed, and only that."""

import dataclasses
import json
from pathlib import Path

from halab.grading.preserve import ClusterState, Preservation, StepOutcome, UnitState, differences, unit_steps
from halab.grading.rubric import Rubric
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.report.grade_reports import html_report, write_grade_reports
from halab.stacks.cib import parse_cib
from halab.stacks.crm_mon import parse_crm_mon
from halab.stacks.state import (
    HB_TAKEOVER, VIP_RESOURCES, WAIT, ResourceState, heartbeat_restore, heartbeat_state, pacemaker_restore,
    pacemaker_state,
)

RECORDED = Path(__file__).parent / "recorded"


def recorded_state(situation: str) -> ResourceState:
    """crm_mon-<situation>.xml read with the CIB it was made from (tests/unit/recorded/README.md)."""
    return pacemaker_state(parse_crm_mon((RECORDED / f"crm_mon-{situation}.xml").read_text()),
                           parse_cib((RECORDED / "cib" / f"cib-{situation}.xml").read_text()))


BEFORE = recorded_state("two-nodes-group-started")  # WebCluster on node1, nothing failed


def test_the_state_says_where_each_group_runs_and_what_failed() -> None:
    assert BEFORE == ResourceState((("WebCluster", ("node1",)),), (), ())
    assert recorded_state("apache-monitor-failed").fail_counts == (("node1", "WebService", 1),)
    assert recorded_state("node1-offline-group-on-node2").where("WebCluster") == ("node2",)


def test_nothing_to_do_when_nothing_changed() -> None:
    assert pacemaker_restore(BEFORE, BEFORE) == ()


def test_a_moved_group_goes_back_without_leaving_its_constraint() -> None:
    steps = pacemaker_restore(BEFORE, recorded_state("node1-offline-group-on-node2"))
    assert [s.argv for s in steps] == [
        WAIT,
        ("crm_resource", "--move", "--resource", "WebCluster", "--node", "node1"),
        WAIT,
        ("crm_resource", "--clear", "--resource", "WebCluster"),
        WAIT,
    ]
    assert "WebCluster ran on node1, now on node2" in steps[1].why


def test_a_fail_count_the_faults_left_is_cleaned() -> None:
    steps = pacemaker_restore(BEFORE, recorded_state("apache-monitor-failed"))
    assert [s.argv for s in steps][1:-1] == [("crm_resource", "--cleanup", "--resource", "WebService", "--node", "node1")]


def test_the_students_own_fail_count_is_left_alone() -> None:
    failed = recorded_state("apache-monitor-failed")
    worse = dataclasses.replace(failed, fail_counts=(("node1", "WebService", 2),))
    assert pacemaker_restore(failed, worse) == ()
    assert differences(ClusterState(failed, ()), ClusterState(worse, ())) == ("fail-count of WebService on node1: 1 -> 2",)


def test_new_constraints_go_and_the_students_own_stay() -> None:
    before = dataclasses.replace(BEFORE, constraints=("location-web-prefers-node1",))
    now = dataclasses.replace(BEFORE, constraints=("cli-ban-WebCluster-on-node1", "location-web-prefers-node1"))
    steps = pacemaker_restore(before, now)
    assert [s.argv for s in steps][1:-1] == [
        ("cibadmin", "--delete", "--xpath", "//constraints/*[@id='cli-ban-WebCluster-on-node1']")]


def test_a_group_pinned_by_the_students_own_move_constraint_is_not_moved() -> None:
    """Moving it would overwrite cli-prefer-WebCluster, which the student's grade depends on."""
    before = dataclasses.replace(BEFORE, constraints=("cli-prefer-WebCluster",))
    now = ResourceState((("WebCluster", ("node2",)),), (), ("cli-prefer-WebCluster",))
    assert pacemaker_restore(before, now) == ()
    assert differences(ClusterState(before, ()), ClusterState(now, ())) == ("WebCluster: ran on node1, now on node2",)


def test_heartbeat_asks_for_its_group_back_on_the_node_that_had_it() -> None:
    steps = heartbeat_restore(heartbeat_state(("srv",)), heartbeat_state(("srv-slave",)))
    assert [(s.node, s.argv) for s in steps] == [("srv", (HB_TAKEOVER, "all"))]
    assert heartbeat_restore(heartbeat_state(("srv",)), heartbeat_state(("srv",))) == ()
    assert heartbeat_state(()).where(VIP_RESOURCES) == ()


def units(*states: tuple[str, str, str, str]) -> ClusterState:
    return ClusterState(BEFORE, tuple(UnitState(*s) for s in states))


def test_units_go_back_to_how_they_were_found_but_the_clusters_service_is_left_to_it() -> None:
    before = units(("node1", "pacemaker", "enabled", "active"), ("node2", "pacemaker", "enabled", "inactive"),
                   ("node1", "apache2", "disabled", "inactive"), ("node2", "pcsd", "enabled", "active"))
    now = units(("node1", "pacemaker", "enabled", "failed"), ("node2", "pacemaker", "enabled", "active"),
                ("node1", "apache2", "enabled", "active"), ("node2", "pcsd", "disabled", "active"))
    assert [(s.node, s.argv) for s in unit_steps(before, now)] == [
        ("node1", ("systemctl", "start", "pacemaker")),
        ("node2", ("systemctl", "stop", "pacemaker")),
        ("node1", ("systemctl", "disable", "apache2")),  # its boot setting, not its activity
        ("node2", ("systemctl", "enable", "pcsd")),
    ]
    assert differences(before, now) == (
        "node1 pacemaker: enabled/active -> enabled/failed",
        "node2 pacemaker: enabled/inactive -> enabled/active",
        "node1 apache2: disabled/inactive -> enabled/active",
        "node2 pcsd: enabled/active -> disabled/active",
    )
    assert unit_steps(before, before) == () and differences(before, before) == ()


def test_what_could_not_be_read_is_said() -> None:
    before, after = ClusterState(BEFORE, ()), ClusterState(None, (), ("the cluster's resources: no node answered",))
    assert differences(before, after) == ("could not read the cluster's resources: no node answered",)


def test_the_report_shows_the_cluster_before_and_after_grading(tmp_path: Path) -> None:
    before = units(("node1", "pacemaker", "enabled", "active"))
    after = ClusterState(recorded_state("node1-offline-group-on-node2"), before.units)
    step = pacemaker_restore(BEFORE, after.resources)[1]  # type: ignore[arg-type]
    kept = Preservation(before, after, (StepOutcome(step, "node2", False, "Error performing operation"),),
                        differences(before, after))
    rubric = Rubric(Path("rubric.yaml"), "pcs", ())
    run = GradingRun("grd", rubric, (), score(rubric, ()), {}, kept)
    page = html_report("alice", run)
    assert '<section id="cluster-state">' in page and "Not put back: WebCluster: ran on node1, now on node2" in page
    assert '<tr class="changed"><td>WebCluster runs on</td><td>node1</td><td>node2</td></tr>' in page
    assert "crm_resource --move --resource WebCluster --node node1</code> on node2 failed" in page
    record = json.loads(write_grade_reports(tmp_path, "alice", run)["json"].read_text())["cluster_state"]
    assert record["before"]["resources"]["placement"] == [["WebCluster", ["node1"]]]
    assert record["after"]["resources"]["placement"] == [["WebCluster", ["node2"]]]
    assert record["differences"] == ["WebCluster: ran on node1, now on node2"]
