"""`labs/<variant>/scenarios.toml`: the lab's scenarios, checked against its plan before
anything is touched. Each mistake is one line naming the scenario and step.

    [[scenario]]
    id = "migration-threshold"
    title = "Apache killed until it moves"
    [[scenario.step]]
    do = "kill-apache"
    times = 3
    expect = { runs_on = "other", fail_count = { home = 3 } }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.inputs import read_text, seconds
from halab.plan import LabPlan
from halab.scenarios.model import (ACTIONS, FAILURE_TIMEOUT, HEARTBEAT_ACTIONS, NODE_ACTIONS, NOWHERE, ON_FAIL, ROLES, Expect,
                                   Scenario, Step)

FILE = "scenarios.toml"
# What each stack can be asked to do. Heartbeat v1 keeps no fail-count and no constraints,
# monitors nothing and has no standby: a node hands its resources over with hb_standby and takes
# them back with hb_takeover, and auto_failback decides what a start does
# (harness/scenarios/heartbeat_runner.py).
CAPABLE = {"pacemaker": frozenset(ACTIONS) - HEARTBEAT_ACTIONS,
           "heartbeat": frozenset({*HEARTBEAT_ACTIONS, "stop", "start", "wait"})}
_FIXES = {"heartbeat": "Heartbeat v1 has no standby, fail-count or monitor: its steps are hb-standby, hb-takeover, "
                       "stop, start and wait",
          "pacemaker": "hb-standby and hb-takeover are Heartbeat's: Pacemaker's are standby and unstandby"}
PACEMAKER_ONLY = {"fail_count": "fail-counts", "move_constraint": "constraints", "resource": "resource names"}
_EXPECT_KEYS = {"runs_on", "fail_count", "max_downtime_s", "move_constraint", "serves"}
_STEP_KEYS = {"do", "node", "wait", "on_fail", "times", "expect"}
_SCENARIO_KEYS = {"id", "title", "resource", "hint", "fix", "step"}


def scenarios_file(plan: LabPlan) -> Path:
    return plan.folder / FILE


def load_scenarios(plan: LabPlan, path: Path | None = None) -> tuple[Scenario, ...]:
    """The lab's scenarios (none when it has no scenarios file)."""
    path = path or scenarios_file(plan)
    if not path.exists():
        return ()
    try:
        data = tomllib.loads(read_text(path, "scenarios file"))
    except tomllib.TOMLDecodeError as error:
        raise HalabError(f"{path}: not valid TOML ({error})", fix="see the example in README (Scenarios)") from None
    raw = data.get("scenario", [])
    if not isinstance(raw, list) or set(data) - {"scenario"}:
        raise HalabError(f"{path}: expected only [[scenario]] tables", fix="see the example in README (Scenarios)")
    scenarios = tuple(_scenario(item, plan, f"{path.name}: scenario {index}") for index, item in enumerate(raw, 1))
    ids = [s.id for s in scenarios]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise HalabError(f"{path.name}: scenario id {doubled[0]!r} is used twice", fix="give each scenario its own id")
    return scenarios


def _scenario(raw: Any, plan: LabPlan, where: str) -> Scenario:
    if not isinstance(raw, dict):
        raise HalabError(f"{where}: a scenario is a table")
    _only(raw, _SCENARIO_KEYS, where)
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident.replace("-", "").isalnum():
        raise HalabError(f"{where}: needs an id of letters, digits and dashes, e.g. id = \"migration-threshold\"")
    where = f"{where.split(':')[0]}: scenario {ident}"
    steps: list[Step] = []
    for index, step in enumerate(raw.get("step", []), 1):
        steps += _steps(step, plan, f"{where}, step {index}")
    if not steps:
        raise HalabError(f"{where}: has no [[scenario.step]]", fix="add at least one step, e.g. do = \"kill-apache\"")
    _pacemaker_keys(raw, plan, where)
    return Scenario(ident, str(raw.get("title", ident)), tuple(steps), str(raw.get("resource", "")),
                    str(raw.get("hint", "")), str(raw.get("fix", "")), where)


def _steps(raw: Any, plan: LabPlan, where: str) -> list[Step]:
    """One step, or `times` copies of it (the expectation is checked after the last)."""
    if not isinstance(raw, dict):
        raise HalabError(f"{where}: a step is a table")
    _only(raw, _STEP_KEYS, where)
    action = raw.get("do")
    if action not in ACTIONS:
        raise HalabError(f"{where}: no step called {action!r}", fix=f"choose one of: {', '.join(ACTIONS)}")
    if action not in CAPABLE[plan.stack]:
        raise HalabError(f"{where}: the {plan.stack} stack cannot do {action!r}", fix=_FIXES[plan.stack])
    node = str(raw.get("node", ""))
    if node and node not in ROLES and node not in plan.node_names:
        raise HalabError(f"{where}: no node called {node!r} in this lab",
                         fix=f"say home, other, or one of: {', '.join(plan.node_names)}")
    if action in NODE_ACTIONS - {"kill-apache"} and not node:
        raise HalabError(f"{where}: {action} needs a node", fix='add node = "home" (or "other", or a node name)')
    wait = raw.get("wait", "")
    if wait == FAILURE_TIMEOUT and plan.stack != "pacemaker":
        raise HalabError(f"{where}: the {plan.stack} stack has no failure-timeout", fix="wait a number of seconds")
    if action == "wait":
        if wait != FAILURE_TIMEOUT and not (isinstance(wait, (int, float)) and not isinstance(wait, bool)
                                            and 0 < wait <= 3600):
            raise HalabError(f"{where}: wait must be \"failure-timeout\" or a number of seconds (1 to 3600), got {wait!r}")
    elif wait:
        raise HalabError(f"{where}: only a wait step takes wait =")
    on_fail = raw.get("on_fail", "")
    if action == "on-fail":
        if on_fail not in ON_FAIL:
            raise HalabError(f"{where}: on-fail needs on_fail = one of {', '.join(ON_FAIL)}, got {on_fail!r}")
    elif on_fail:
        raise HalabError(f"{where}: only an on-fail step takes on_fail =")
    times = raw.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 20:
        raise HalabError(f"{where}: times must be a whole number from 1 to 20, got {times!r}")
    expect = _expect(raw.get("expect", {}), plan, where)
    _pacemaker_keys(raw.get("expect", {}), plan, where)
    return [Step(action, node, str(wait), on_fail, expect if count == times else Expect(), count, times)
            for count in range(1, times + 1)]


def _expect(raw: Any, plan: LabPlan, where: str) -> Expect:
    if not isinstance(raw, dict):
        raise HalabError(f"{where}: expect is a table, e.g. expect = {{ runs_on = \"other\" }}")
    _only(raw, _EXPECT_KEYS, f"{where}, expect")
    places = (*ROLES, *plan.node_names)
    runs_on = raw.get("runs_on")
    if runs_on is not None and runs_on not in (*places, NOWHERE):
        raise HalabError(f"{where}: runs_on {runs_on!r} is not a node of this lab",
                         fix=f"say home, other, nowhere, or one of: {', '.join(plan.node_names)}")
    counts = raw.get("fail_count", {})
    if not isinstance(counts, dict) or any(k not in places or type(v) is not int or v < 0 for k, v in counts.items()):
        raise HalabError(f"{where}: fail_count maps home/other (or node names) to counts, e.g. {{ home = 3 }}, got {counts!r}")
    downtime = raw.get("max_downtime_s")
    if downtime is not None:
        try:
            downtime = seconds(downtime, f"{where}: max_downtime_s", zero=True)
        except HalabError as error:
            raise HalabError(f"{error.what} (got {downtime!r})") from None
    constraint, serves = raw.get("move_constraint"), raw.get("serves")
    for key, value in (("move_constraint", constraint), ("serves", serves)):
        if value is not None and not isinstance(value, bool):
            raise HalabError(f"{where}: {key} must be true or false, got {value!r}")
    return Expect(runs_on, tuple(sorted(counts.items())), None if downtime is None else float(downtime), constraint,
                  serves)


def _pacemaker_keys(raw: dict[str, Any], plan: LabPlan, where: str) -> None:
    if plan.stack == "pacemaker":
        return
    used = next((key for key in PACEMAKER_ONLY if raw.get(key)), None)
    if used:
        raise HalabError(f"{where}: {used} needs Pacemaker; the {plan.stack} stack has no {PACEMAKER_ONLY[used]}",
                         fix="expect runs_on, max_downtime_s or serves")


def _only(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise HalabError(f"{where}: unknown key {unknown[0]!r}", fix=f"known keys: {', '.join(sorted(known))}")
