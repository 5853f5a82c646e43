"""halab's pytest plugin: the fixtures checks use (the lab, its plan, its facts, its faults) and
the collection of every check's result. Registered through the `pytest11` entry point, so plain
`pytest` in any project can use it:

    pytest checks/ --halab-name mylab [--halab-rubric labs/pcs/rubric.yaml] [--halab-results out.json]
    pytest checks/ --halab-lab pcs -m "not fault"      # a fresh pcs lab for the run, quick checks only
    pytest checks/ --halab-name mylab -k "vip-serves or fault-power-off"

Each check is marked `configuration` or `fault` (and `hidden` when the rubric hides it), and can
be selected with -k by its id as well as by its test name. A failing check shows its evidence
and its fix, not a Python traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import pytest

from halab.backends import Backend
from halab.errors import HalabError
from halab.experiment import FaultRun
from halab.facts import LabFacts, gather_facts
from halab.grading.results import ERROR, FAILED, NOT_APPLICABLE, PASSED, CheckFailed, CheckResult, fail
from halab.grading.rubric import Rubric, load_rubric
from halab.lab import find_lab
from halab.masking import write_private
from halab.plan import LabPlan
from halab.progress import say
from halab.stacks import Stack, stack_for

TIMELINE_BEFORE_S = 3.0  # how much of the calm before a fault its plot shows
RESULTS = pytest.StashKey[list[CheckResult]]()
FRESH = pytest.StashKey["LabPlan"]()  # --halab-lab: the plan of the lab to bring up
FRESH_NAME = pytest.StashKey[str]()
TIMELINES = pytest.StashKey[dict[str, dict[str, Any]]]()
SCENARIOS = pytest.StashKey[dict[str, dict[str, Any]]]()


HALAB_FIXTURES = {"lab", "plan", "stack", "facts", "cib", "fault_run", "scenario_run", "admin"}
# Checks that change the cluster, in the order they run after every other check: the faults
# of the matrix, then the scenarios (several steps each).
CHANGING = ("fault_run", "scenario_run")
MARKERS = {
    "configuration": "a halab check of the configuration and state, before any fault (quick)",
    "fault": "a halab check that injects faults into the lab and judges what clients saw",
    "hidden": "a halab check the rubric hides from students",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("halab", "grading a halab lab")
    group.addoption("--halab-name", help="the running lab to check (halab status lists them)")
    group.addoption("--halab-lab", help="a lab variant (pcs, crmsh, heartbeat) or a lab folder: a fresh lab of it "
                                        "is brought up for this run, and removed afterwards")
    group.addoption("--halab-rubric", type=Path, help="the rubric whose parameters the checks follow")
    group.addoption("--halab-results", type=Path, help="write every check's result here as JSON")
    group.addoption("--halab-checks", help="comma-separated check ids to run (default: all)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []
    config.stash[TIMELINES] = {}
    config.stash[SCENARIOS] = {}
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    name, variant = config.getoption("--halab-name"), config.getoption("--halab-lab")
    if name and variant:
        raise pytest.UsageError("give --halab-name (a running lab) or --halab-lab (a fresh one), not both")
    try:  # a bad value is one clear line, before anything is collected
        if name:
            find_lab(name)
        elif variant:
            from halab.plan import load_plan

            config.stash[FRESH] = load_plan(variant)
    except HalabError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_sessionstart(session: pytest.Session) -> None:
    """With --halab-lab, bring a lab of that variant up under a name of this run's own."""
    plan = session.config.stash.get(FRESH, None)
    if plan is not None:
        from halab.run import bring_up

        name = f"pytest{os.getpid() % 100000}"
        try:
            bring_up(plan, name)
        except HalabError as error:
            raise pytest.UsageError(f"could not bring up a {plan.name} lab: {error}") from None
        session.config.stash[FRESH_NAME] = name


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--halab-results")
    if path:
        checks = [{"id": check_id(item), "title": _title(item), "kind": "fault" if item.get_closest_marker("fault") else "configuration"}
                  for item in session.items if HALAB_FIXTURES & set(getattr(item, "fixturenames", ()))]
        record = {"checks": checks, "results": [asdict(r) for r in session.config.stash[RESULTS]],
                  "timelines": session.config.stash[TIMELINES], "scenarios": session.config.stash[SCENARIOS]}
        write_private(Path(path), json.dumps(record, indent=1))  # evidence read from a student's nodes
    name = session.config.stash.get(FRESH_NAME, None)
    if name is not None:
        from halab.run import tear_down

        tear_down(name)


def check_id(item: pytest.Item) -> str:
    return check_id_from_nodeid(item.name)


def check_id_from_nodeid(nodeid: str) -> str:
    """test_apache_disabled_at_boot -> apache-disabled-at-boot; test_fault[power-off] -> fault-power-off."""
    name = re.sub(r"^test_", "", nodeid.rpartition("::")[2].strip())
    base, _, param = name.partition("[")
    return "-".join(filter(None, [base.replace("_", "-"), param.rstrip("]")]))


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or check_id(item)
    title = doc.strip().splitlines()[0]
    param = check_id(item).removeprefix(re.sub(r"^test_", "", item.name).partition("[")[0].replace("_", "-"))
    return title + (f" ({param.lstrip('-')})" if param else "")


def _lab_name(config: pytest.Config) -> str:
    name = config.getoption("--halab-name") or config.stash.get(FRESH_NAME, None)
    if not name:
        raise pytest.UsageError("halab checks need a lab: pytest checks/ --halab-name NAME (a running lab, "
                                "halab status lists them) or --halab-lab pcs (a fresh one)")
    return str(name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Behaviour checks take one fault each, from the lab plan's fault matrix; scenario checks
    one scenario each, from the lab's scenarios.toml."""
    if "fault_name" in metafunc.fixturenames:
        from halab.run import expected_faults

        plan = find_lab(_lab_name(metafunc.config)).open().plan
        metafunc.parametrize("fault_name", expected_faults(plan))
    if "scenario_id" in metafunc.fixturenames:
        from halab.scenarios import load_scenarios

        try:
            scenarios = load_scenarios(find_lab(_lab_name(metafunc.config)).open().plan)
        except HalabError as error:
            raise pytest.UsageError(str(error)) from None
        metafunc.parametrize("scenario_id", [s.id for s in scenarios])


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: they see the ids and markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    hidden = _hidden_checks(config)
    for item in items:
        if HALAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.extra_keyword_matches.add(check_id(item))
            item.add_marker("fault" if set(CHANGING) & set(getattr(item, "fixturenames", ())) else "configuration")
            if check_id(item) in hidden:
                item.add_marker("hidden")
    # A lab without scenarios (Heartbeat's): no scenario check at all, rather than an empty one.
    items[:] = [item for item in items if "scenario_id" not in getattr(item, "fixturenames", ())
                or isinstance(getattr(getattr(item, "callspec", None), "params", {}).get("scenario_id"), str)]
    wanted = config.getoption("--halab-checks")
    if wanted:
        keep = set(wanted.split(","))
        selected = [item for item in items if check_id(item) in keep]
        config.hook.pytest_deselected(items=[item for item in items if item not in selected])
        items[:] = selected
    # Faults, then scenarios, last: the facts must show the lab as the student left it.
    items.sort(key=lambda item: next((i + 1 for i, f in enumerate(CHANGING) if f in getattr(item, "fixturenames", ())), 0))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # The check's own run, or a fixture that could not be set up (then the check never ran).
    if report.when == "call" or (report.when == "setup" and not report.passed):
        result = replace(_result(item, report, call), duration_s=round(report.duration, 3))
        item.config.stash[RESULTS].append(result)
        if item.config.getoption("--halab-results"):  # under halab check/grade: show each check as it ends
            say(f"check {result.id}: {result.state}{f' ({report.duration:.1f} s)' if report.duration >= 1 else ''}")
        if result.state in (FAILED, ERROR) and not _broke(call):
            # What a student reads: the finding, the evidence, the fix; no Python traceback.
            report.longrepr = "\n".join(x for x in (f"{result.id}: {result.message}", result.evidence,
                                                     f"fix: {result.fix}" if result.fix else "") if x)


def _broke(call: pytest.CallInfo[None]) -> bool:
    """The check itself has a bug (not a finding, not an observation error): keep the traceback."""
    error = call.excinfo.value if call.excinfo else None
    return error is not None and not isinstance(error, (AssertionError, HalabError))


def _hidden_checks(config: pytest.Config) -> set[str]:
    path = config.getoption("--halab-rubric")
    if not path:
        return set()
    try:
        return {item.id for item in load_rubric(path).items if item.hidden}
    except HalabError as error:
        raise pytest.UsageError(str(error)) from None


def _result(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]) -> CheckResult:
    ident, title = check_id(item), _title(item)
    measures = tuple((k, float(v)) for k, v in item.user_properties if isinstance(v, (int, float)))
    if report.passed:
        return CheckResult(ident, title, PASSED, measures=measures)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return CheckResult(ident, title, NOT_APPLICABLE, message=reason.removeprefix("Skipped: "))
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, CheckFailed):
        return CheckResult(ident, title, FAILED, error.what, error.evidence, error.fix, measures)
    if isinstance(error, AssertionError):
        return CheckResult(ident, title, FAILED, str(error).splitlines()[0] if str(error) else "check failed",
                           str(error), measures=measures)
    if isinstance(error, HalabError):
        return CheckResult(ident, title, ERROR, f"could not observe: {error.what}", error.evidence, error.fix)
    return CheckResult(ident, title, ERROR, f"the check itself broke: {error!r}", str(report.longrepr)[-1500:])


def failed_prerequisite(rubric: Rubric | None, check: str, results: list[CheckResult]) -> CheckResult | None:
    """The first check `check` requires (directly or through others) that has already failed."""
    item = rubric.item(check) if rubric else None
    if item is None or rubric is None:
        return None
    by_id = {r.id: r for r in results}
    for needed in item.requires:
        result = by_id.get(needed)
        if result is not None and result.state == FAILED:
            return result
        deeper = failed_prerequisite(rubric, needed, results)
        if deeper is not None:
            return deeper
    return None


def live(config: pytest.Config) -> ContextManager[None]:
    """Out of pytest's capture: a fault or scenario says as it happens which lab and node it
    breaks, and how it goes, under `halab check` and plain pytest alike."""
    capture = config.pluginmanager.getplugin("capturemanager")
    return capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Backend:
    return find_lab(_lab_name(request.config)).open()


@pytest.fixture(scope="session")
def plan(lab: Backend) -> LabPlan:
    return lab.plan


@pytest.fixture(scope="session")
def stack(lab: Backend) -> Stack:
    return stack_for(lab.plan.stack)


@pytest.fixture(scope="session")
def facts(lab: Backend) -> LabFacts:
    return gather_facts(lab)


@pytest.fixture(scope="session")
def rubric(request: pytest.FixtureRequest, plan: LabPlan) -> Rubric | None:
    path = request.config.getoption("--halab-rubric")
    return load_rubric(path) if path else None


@pytest.fixture
def expected(request: pytest.FixtureRequest, rubric: Rubric | None) -> dict[str, Any]:
    """This check's parameters from the rubric (`with:`), e.g. {"stonith_enabled": False}."""
    if rubric is None:
        return {}
    item = rubric.item(check_id(request.node))
    return dict(item.params) if item else {}


@pytest.fixture(scope="session")
def fault_run(lab: Backend, request: pytest.FixtureRequest) -> Callable[[str], FaultRun]:
    """Run a fault once per session (probed, healed, judged); keep its record and its timeline
    (the probe samples around it) for the report's plot. The first fault asked for runs every
    fault the session's checks will ask for, one after the other under one prober: starting a
    prober and reading the timing once, not once per fault."""
    from halab.faults import fault_named
    from halab.run import run_faults

    done: dict[str, FaultRun] = {}
    timelines = request.config.stash[TIMELINES]
    rubric: Rubric | None = request.getfixturevalue("rubric")
    wanted = [item.callspec.params["fault_name"] for item in request.session.items
              if hasattr(item, "callspec") and "fault_name" in item.callspec.params]

    def applicable(name: str) -> bool:
        """A power-off needs a backend that can power the node back on (not a student's VM over SSH)."""
        return lab.can_power_cycle or not fault_named(name).needs_power_cycle

    def run(name: str) -> FaultRun:
        if not applicable(name):
            pytest.skip(f"{name} is not applicable here: this backend cannot power a node back on")
        failed = failed_prerequisite(rubric, f"fault-{name}", request.config.stash[RESULTS])
        if failed:
            fail(f"not tested: {failed.id} failed ({failed.message})", evidence=failed.evidence,
                 fix=f"see {failed.id} first: this fault is run once it passes")
        if name not in done:
            # Faults whose prerequisites already failed are not run at all: a broken cluster is
            # graded at once, not waited for.
            names = [n for n in dict.fromkeys([*wanted, name]) if n not in done and applicable(n)
                     and not failed_prerequisite(rubric, f"fault-{n}", request.config.stash[RESULTS])]
            with live(request.config):
                runs, samples = run_faults(lab, names)
            for index, fault in enumerate(runs):
                done[fault.fault] = fault
                # Each plot shows its own fault: from just before it to just before the next one.
                start = fault.injected_at - TIMELINE_BEFORE_S
                end = runs[index + 1].injected_at - TIMELINE_BEFORE_S if index + 1 < len(runs) else float("inf")
                timelines[fault.fault] = {"run": asdict(fault),
                                          "samples": [s.to_json() for s in samples if start <= s.start < end]}
        return done[name]

    return run


@pytest.fixture(scope="session")
def scenario_run(lab: Backend, request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """Run a scenario once per session; the first asked for runs every scenario the session's
    checks want (those whose prerequisites passed), under one prober. Records go to the
    results' `scenarios`, for the report's timeline."""
    from halab.scenarios import load_scenarios, run_scenarios

    done: dict[str, Any] = {}
    rubric: Rubric | None = request.getfixturevalue("rubric")
    results = request.config.stash[RESULTS]
    wanted = [item.callspec.params["scenario_id"] for item in request.session.items
              if hasattr(item, "callspec") and "scenario_id" in item.callspec.params]
    scenarios = {s.id: s for s in load_scenarios(lab.plan)}

    def run(name: str) -> Any:
        failed = failed_prerequisite(rubric, f"scenario-{name}", results)
        if failed:
            fail(f"not tested: {failed.id} failed ({failed.message})", evidence=failed.evidence,
                 fix=f"see {failed.id} first: this scenario is run once it passes")
        if name not in done:
            names = [n for n in dict.fromkeys([*wanted, name]) if n not in done
                     and not failed_prerequisite(rubric, f"scenario-{n}", results)]
            with live(request.config):
                runs, _ = run_scenarios(lab, [scenarios[n] for n in names])
            for scenario in runs:
                done[scenario.id] = scenario
                request.config.stash[SCENARIOS][scenario.id] = asdict(scenario)
        return done[name]

    return run
