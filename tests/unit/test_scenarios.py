"""Scenarios: the crm_simulate parser on real Pacemaker 2.1.5 outputs (tests/unit/recorded/README.md),
the scenarios file's loader and its one-line errors, the oracle's commands, the timeline."""

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.plan import load_plan
from halab.scenarios import load_scenarios
from halab.scenarios.observe import Snapshot, watched
from halab.scenarios.on_fail import replace_operations, with_on_fail
from halab.scenarios.oracle import simulation
from halab.scenarios.timeline import changes
from halab.stacks.cib import Cib, parse_cib
from halab.stacks.crm_simulate import parse_crm_simulate

RECORDED = Path(__file__).parent / "recorded"
PCS = load_plan("pcs")


def simulated(name: str):
    return parse_crm_simulate((RECORDED / f"crm_simulate-{name}.xml").read_text())


def test_a_killed_apache_below_the_threshold_is_recovered_in_place() -> None:
    prediction = simulated("kill-default-threshold")
    assert prediction.where("WebCluster") == ("node1",)
    assert prediction.actions == ("recover WebService on node1",)
    assert prediction.events == ("WebService_monitor_30000@node1=7",)


def test_the_third_failure_with_migration_threshold_3_moves_the_group() -> None:
    prediction = simulated("third-kill-moves")
    assert prediction.where("WebCluster") == ("node2",)
    assert prediction.actions == ("move virtual_ip node1 -> node2", "recover WebService node1 -> node2")
    assert len(prediction.events) == 3


@pytest.mark.parametrize("name", ["node-down-active", "standby-active", "move-to-node2"])
def test_losing_or_leaving_the_active_node_puts_the_group_on_the_other(name: str) -> None:
    assert simulated(name).where("WebCluster") == ("node2",)


def test_output_that_is_not_crm_simulate_s_is_one_clear_error() -> None:
    with pytest.raises(HalabError, match="not XML"):
        parse_crm_simulate("Current cluster status:")
    crm_mon = (RECORDED / "crm_mon-two-nodes-group-started.xml").read_text()
    with pytest.raises(HalabError, match="no prediction"):
        parse_crm_simulate(crm_mon)


def test_the_shipped_pcs_scenarios_load_and_expand_times() -> None:
    scenarios = {s.id: s for s in load_scenarios(PCS)}
    assert set(scenarios) == {"migration-threshold", "failure-timeout", "failback", "standby", "move-then-clear",
                              "on-fail-restart", "on-fail-standby", "on-fail-stop"}
    kills = scenarios["migration-threshold"].steps
    assert [s.action for s in kills] == ["kill-apache"] * 3
    assert kills[0].expect.empty and kills[1].expect.runs_on == "home" and kills[2].expect.runs_on == "other"
    assert kills[2].expect.fail_count == (("home", 3),)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("step, message", [
    ('do = "reboot"', "no step called 'reboot'"),
    ('do = "standby"\nnode = "node9"', "no node called 'node9'"),
    ('do = "standby"', "standby needs a node"),
    ('do = "wait"\nwait = "soon"', "wait must be"),
    ('do = "kill-apache"\ntimes = 0', "times must be"),
    ('do = "kill-apache"\nexpect = { runs_on = "node3" }', "runs_on 'node3' is not a node"),
    ('do = "kill-apache"\nexpect = { fail_count = { home = -1 } }', "fail_count maps"),
    ('do = "kill-apache"\nexpect = { downtime = 3 }', "unknown key 'downtime'"),
    ('do = "on-fail"', "on-fail needs on_fail = one of restart"),
    ('do = "on-fail"\non_fail = "reboot"', "got 'reboot'"),
    ('do = "kill-apache"\non_fail = "stop"', "only an on-fail step takes on_fail"),
    ('do = "kill-apache"\nexpect = { serves = "yes" }', "serves must be true or false"),
])
def test_a_bad_step_is_one_line_naming_the_scenario_and_step(tmp_path: Path, step: str, message: str) -> None:
    path = write(tmp_path, f'[[scenario]]\nid = "mine"\n[[scenario.step]]\ndo = "kill-apache"\n[[scenario.step]]\n{step}\n')
    with pytest.raises(HalabError) as error:
        load_scenarios(PCS, path)
    assert error.value.what.startswith("scenarios.toml: scenario mine, step 2")
    assert message in error.value.what and "\n" not in error.value.what


@pytest.mark.parametrize("step, message", [
    ('do = "kill-apache"', "the heartbeat stack cannot do 'kill-apache'"),
    ('do = "standby"\nnode = "home"', "the heartbeat stack cannot do 'standby'"),
    ('do = "hb-standby"\nnode = "home"\nexpect = { fail_count = { home = 1 } }', "fail_count needs Pacemaker"),
    ('do = "wait"\nwait = "failure-timeout"', "the heartbeat stack has no failure-timeout"),
])
def test_heartbeat_steps_are_its_own_and_the_rest_is_refused_before_anything_runs(tmp_path: Path, step: str, message: str) -> None:
    path = write(tmp_path, f'[[scenario]]\nid = "hb"\n[[scenario.step]]\n{step}\n')
    with pytest.raises(HalabError, match=message):
        load_scenarios(load_plan("heartbeat"), path)


def test_the_shipped_heartbeat_scenarios_load(tmp_path: Path) -> None:
    scenarios = {s.id: s for s in load_scenarios(load_plan("heartbeat"))}
    assert set(scenarios) == {"standby-takeover", "auto-failback"}
    assert [s.action for s in scenarios["standby-takeover"].steps] == ["hb-standby", "hb-takeover"]
    assert scenarios["standby-takeover"].steps[0].describe("srv") == "hb_standby all on srv"
    with pytest.raises(HalabError) as error:
        load_scenarios(PCS, write(tmp_path, '[[scenario]]\nid = "x"\n[[scenario.step]]\ndo = "hb-takeover"\nnode = "home"\n'))
    assert "Pacemaker's are standby and unstandby" in error.value.fix


def test_doubled_ids_and_empty_scenarios_are_refused(tmp_path: Path) -> None:
    step = '[[scenario.step]]\ndo = "cleanup"\n'
    with pytest.raises(HalabError, match="used twice"):
        load_scenarios(PCS, write(tmp_path, f'[[scenario]]\nid = "a"\n{step}[[scenario]]\nid = "a"\n{step}'))
    with pytest.raises(HalabError, match="has no"):
        load_scenarios(PCS, write(tmp_path, '[[scenario]]\nid = "a"\n'))


def test_a_lab_without_a_scenarios_file_has_none(tmp_path: Path) -> None:
    assert load_scenarios(PCS, tmp_path / "absent.toml") == ()


def test_the_watched_group_and_apache_come_from_the_cib_and_a_wrong_name_is_refused() -> None:
    cib = parse_cib((RECORDED / "cib/cib-two-nodes-group-started.xml").read_text())
    assert watched(cib, "") == ("WebCluster", "WebService")
    with pytest.raises(HalabError, match="no resource called 'WebClustre'") as error:
        watched(cib, "WebClustre")
    assert "WebCluster" in error.value.fix


def test_the_oracle_injects_a_failed_monitor_or_nothing_when_apache_is_not_monitored() -> None:
    args = dict(unit="WebCluster", service="WebService")
    assert simulation("kill-apache", "node1", monitor_ms=30000, **args)[-1] == "--op-inject=WebService_monitor_30000@node1=7"
    assert simulation("kill-apache", "node1", monitor_ms=None, **args)[-1] == "--live-check"
    assert simulation("stop", "node2", monitor_ms=None, **args)[-1] == "--node-down=node2"
    at = datetime(2026, 12, 3, 20, 0, 0, tzinfo=timezone.utc)
    assert simulation("wait", "", monitor_ms=None, seconds=61, now=at, **args)[-1] == "--set-datetime=2026-12-03T20:01:01Z"


def test_an_action_is_simulated_on_a_copy_of_the_cib_with_the_same_command() -> None:
    script = simulation("move", "node2", unit="WebCluster", service="WebService", monitor_ms=None)[-1]
    assert 'CIB_file="$copy" crm_resource --move --resource WebCluster --node node2' in script
    assert script.endswith('--xml-file="$copy"')


OPERATIONS = """<operations>
  <op name="monitor" interval="30s" id="WebService-monitor-interval-30s"/>
  <op name="monitor" interval="0" id="WebService-probe" timeout="20s"/>
  <op name="start" interval="0s" timeout="40s" id="WebService-start-interval-0s"/>
</operations>"""


def test_on_fail_is_set_on_recurring_monitors_only_and_the_rest_is_kept() -> None:
    changed = with_on_fail(OPERATIONS, "standby")
    assert changed.count('on-fail="standby"') == 1 and 'id="WebService-monitor-interval-30s" on-fail="standby"' in changed
    assert 'id="WebService-start-interval-0s"' in changed and 'id="WebService-probe"' in changed
    assert replace_operations("WebService", changed)[:4] == [
        "cibadmin", "--replace", "--xpath", "//primitive[@id='WebService']/operations"]
    with pytest.raises(HalabError, match="no recurring monitor"):
        with_on_fail('<operations><op name="start" interval="0s" id="s"/></operations>', "stop")
    with pytest.raises(HalabError, match="not valid XML"):
        with_on_fail("Call cib_query failed", "stop")


def test_an_on_fail_step_is_simulated_on_a_copy_with_the_runner_s_own_command() -> None:
    change = replace_operations("WebService", with_on_fail(OPERATIONS, "stop"))
    script = simulation("on-fail", "", unit="WebCluster", service="WebService", monitor_ms=30000, change=change)[-1]
    assert 'CIB_file="$copy" cibadmin --replace --xpath' in script and "on-fail=" in script


def test_pacemaker_predicts_what_each_on_fail_does_to_one_failed_monitor() -> None:
    standby = simulated("on-fail-standby")
    assert standby.where("WebCluster") == ("node2",)
    stop = simulated("on-fail-stop")
    assert stop.where("WebCluster") == ("node1",)  # the VIP stays; Apache is stopped
    assert not any("WebService" in action and "node2" in action for action in stop.actions), stop.actions


def snap(**changes_) -> Snapshot:
    base = Snapshot((("WebCluster", ("node1",)),), (), (), ("node1", "node2"), (), (), Cib((), (), (), ()))
    return replace(base, **changes_)


def test_the_timeline_names_each_increment_the_threshold_and_the_migration() -> None:
    before = snap(fail_counts=(("node1", "WebService", 2),))
    after = snap(placement=(("WebCluster", ("node2",)),), fail_counts=(("node1", "WebService", 3),),
                 constraints=(), failed_actions=("WebService monitor on node1: not running",))
    kinds = [e.kind for e in changes(before, after, unit="WebCluster", service="WebService", threshold=3, at=1.0)]
    assert kinds == ["noticed", "fail-count", "threshold", "migration"]


def test_a_fail_count_falling_is_expiry_unless_halab_cleaned_up() -> None:
    before, after = snap(fail_counts=(("node1", "WebService", 1),)), snap()
    expired = changes(before, after, unit="WebCluster", service="WebService", threshold=3, at=1.0)
    cleaned = changes(before, after, unit="WebCluster", service="WebService", threshold=3, at=1.0, cleaned=True)
    assert [e.kind for e in expired] == ["expired"] and [e.kind for e in cleaned] == ["cleared"]


def test_a_move_constraint_appearing_is_on_the_timeline() -> None:
    after = snap(constraints=("cli-prefer-WebCluster",))
    events = changes(snap(), after, unit="WebCluster", service="WebService", threshold=3, at=1.0)
    assert [e.text for e in events] == ["constraint cli-prefer-WebCluster created"]


def test_a_stack_a_scenario_stops_is_journalled_until_it_is_started_again(tmp_path: Path) -> None:
    from halab.faults import FaultJournal
    from halab.scenarios.stopped import StoppedStacks

    class Stack:
        def __init__(self) -> None:
            self.done: list[str] = []

        def stop(self, backend: object, node: str) -> None:
            self.done.append(f"stop {node}")

        def start(self, backend: object, node: str) -> None:
            self.done.append(f"start {node}")

    journal, stack = FaultJournal(tmp_path / "faults.json"), Stack()
    stopped = StoppedStacks(None, stack, journal)  # type: ignore[arg-type]
    stopped.stop("node1")
    assert "node1" in stopped and [(e.fault, e.node) for e in journal.entries()] == [("stop-stack", "node1")]
    stopped.start_all()
    assert "node1" not in stopped and journal.entries() == [] and stack.done == ["stop node1", "start node1"]
