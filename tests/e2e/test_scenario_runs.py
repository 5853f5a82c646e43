"""Failure-policy scenarios on a real pcs lab (one shared lab, Apache monitored every 5 s and a
20 s failure-timeout to keep it short): migration-threshold=3 moves Apache on the third kill as
Pacemaker predicted; with the default it never moves and the check says why; a move never
cleared is found; failure-timeout=20s resets the fail-count."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from halab.backends import Backend
from halab.errors import HalabError
from halab.grading.session import grade_lab
from halab.report.grade_reports import html_report
from halab.scenarios import ScenarioRun, check_scenarios, load_scenarios, run_scenarios
from halab.scenarios.model import Scenario

pytestmark = pytest.mark.e2e


def pcs(lab: Backend, command: str) -> None:
    lab.run("node1", ["/bin/sh", "-c", command], timeout=120).check()


@pytest.fixture(scope="module")
def lab(pcs_lab: Backend) -> Iterator[Backend]:
    """The shared pcs lab, with a quick monitor and failure-timeout; put back afterwards."""
    pcs(pcs_lab, "pcs resource update WebService op monitor interval=5s && "
                 "pcs resource meta WebCluster migration-threshold=3 failure-timeout=20s")
    yield pcs_lab
    pcs(pcs_lab, "pcs resource update WebService op monitor interval=30s && "
                 "pcs resource meta WebCluster migration-threshold=3 failure-timeout=60s && pcs resource cleanup")


def scenario(lab: Backend, name: str) -> Scenario:
    return next(s for s in load_scenarios(lab.plan) if s.id == name)


def run_one(lab: Backend, name: str) -> ScenarioRun:
    runs, _ = run_scenarios(lab, [scenario(lab, name)])
    return runs[0]


def test_migration_threshold_3_moves_apache_on_the_third_kill_as_predicted(lab: Backend) -> None:
    run = run_one(lab, "migration-threshold")
    assert run.verdict == "pass", run.explanation
    assert [s.predicted_on for s in run.steps] == [(run.home,), (run.home,), (run.other,)]
    assert [s.observed_on for s in run.steps] == [(run.home,), (run.home,), (run.other,)]
    assert [dict(s.fail_counts)[run.home] for s in run.steps] == [1, 2, 3]
    kinds = [e.kind for e in run.timeline]
    assert kinds.count("injected") == 3 and "threshold" in kinds and "migration" in kinds, run.timeline
    assert kinds.index("threshold") < len(kinds) - kinds[::-1].index("migration")
    assert not run.mismatches


def test_failure_timeout_20s_resets_the_fail_count(lab: Backend) -> None:
    run = run_one(lab, "failure-timeout")
    assert run.verdict == "pass", run.explanation
    assert [dict(s.fail_counts)[run.home] for s in run.steps] == [1, 0]
    assert any(e.kind == "expired" for e in run.timeline)
    assert run.duration_s <= 1.3 * run.inherent_s + 10, (run.duration_s, run.inherent_s)


def test_a_move_never_cleared_is_found_and_nothing_is_touched(lab: Backend) -> None:
    where = lab.run("node1", ["crm_resource", "--locate", "--resource", "WebCluster"], timeout=30).check().stdout
    other = "node2" if "node1" in where else "node1"
    pcs(lab, f"pcs resource move-with-constraint WebCluster {other} && crm_resource --wait --timeout=60s")
    try:
        run = run_one(lab, "failback")
        assert run.verdict == "fail" and not run.steps
        assert "cli-prefer-WebCluster" in run.explanation and run.fix.startswith("pcs resource clear WebCluster")
    finally:
        pcs(lab, "pcs resource clear WebCluster && crm_resource --wait --timeout=60s")


def test_a_scenario_naming_a_resource_that_does_not_exist_is_refused_before_anything(lab: Backend) -> None:
    wrong = Scenario("typo", "typo", scenario(lab, "standby").steps, resource="WebClustre", source="scenarios.toml: scenario typo")
    with pytest.raises(HalabError, match="scenario typo: no resource called 'WebClustre'"):
        check_scenarios(lab, [wrong])


def test_with_the_default_threshold_apache_never_moves_and_the_check_says_why(
        lab: Backend, rubric_subset: Callable[..., Path]) -> None:
    pcs(lab, "pcs resource meta WebCluster migration-threshold=")
    try:
        run = grade_lab(lab.lab, rubric_subset("pcs", ("scenario-migration-threshold",)), include_hidden=True)
    finally:
        pcs(lab, "pcs resource meta WebCluster migration-threshold=3")
    scored = next(s for s in run.grade.items if s.item.id == "scenario-migration-threshold")
    assert scored.state == "failed" and scored.result is not None
    assert "your migration-threshold is INFINITY" in scored.result.message
    assert scored.result.message.endswith("(predicted and observed)"), scored.result.message
    assert scored.result.fix == "pcs resource meta WebCluster migration-threshold=3"
    record = run.scenarios["migration-threshold"]
    assert [step["observed_on"] for step in record["steps"]] == [[record["home"]]] * 3
    page = html_report("reference", run)
    assert "Failure timeline, measured" in page and "Pacemaker predicted" in page


def operations(lab: Backend) -> str:
    return lab.run("node1", ["cibadmin", "--query", "--xpath", "//primitive[@id='WebService']/operations"],
                   timeout=30).check().stdout


def test_on_fail_standby_moves_and_on_fail_stop_stops_then_the_lab_s_own_operations_are_back(lab: Backend) -> None:
    before = operations(lab)
    runs, _ = run_scenarios(lab, [scenario(lab, "on-fail-standby"), scenario(lab, "on-fail-stop")])
    standby, stop = runs
    assert standby.verdict == "pass", standby.explanation
    assert standby.steps[-1].predicted_on == standby.steps[-1].observed_on == (standby.other,)
    assert stop.verdict == "pass", stop.explanation
    assert stop.steps[-1].observed_on == (stop.home,) and not stop.steps[-1].served
    assert not standby.mismatches and not stop.mismatches
    assert operations(lab) == before and "on-fail" not in before
