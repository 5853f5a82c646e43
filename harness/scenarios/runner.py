"""Run scenarios on a live Pacemaker lab under one prober: before each step ask the oracle,
do the step, poll the cluster (bounded) until it has reacted, measure, judge. Whatever happens,
each scenario ends by undoing what it did (nodes started, the operations it changed put back,
standby lifted, its constraints cleared, its failures cleaned up), so the next one starts from the lab as the student left it."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from typing import Sequence

from halab import lab as labs
from halab.backends import Backend
from halab.errors import HalabError
from halab.experiment import READY_S, patience_s, recent_answers, wait_healthy, wait_served, wait_whole_and_served
from halab.faults import fault_named
from halab.probe import ProbeSample, Prober
from halab.probe.analysis import downtime_after
from halab.progress import announce, say
from halab.scenarios.model import FAILURE_TIMEOUT, HOME, NOWHERE, OTHER, Expect, Scenario, Step
from halab.scenarios.observe import Snapshot, snapshot, watched
from halab.scenarios.on_fail import query_operations, replace_operations, with_on_fail
from halab.scenarios.stopped import StoppedStacks
from halab.scenarios.oracle import predict, simulation
from halab.scenarios.timeline import Event, changes, client_events
from halab.stacks import stack_for
from halab.stacks.admin import PacemakerAdmin, admin_for
from halab.stacks.pacemaker import PacemakerStack, parse_duration
from halab.stacks.scores import parse_score
from halab.wait import WaitTimeout

POLL_S = 1.0
SLACK_S = 15.0  # beyond a step's inherent time, before halab stops waiting for the cluster
UNMONITORED_S = 10.0  # how long a kill of an unmonitored Apache is watched for a reaction
SETTINGS = ("migration-threshold", "failure-timeout", "resource-stickiness")
DEFAULTS = {"migration-threshold": "INFINITY", "failure-timeout": "0 (never)", "resource-stickiness": "0"}


@dataclass(frozen=True)
class StepRun:
    description: str
    action: str
    node: str
    started_at: float
    ended_at: float
    inherent_s: float  # what the cluster itself needs: a monitor interval, a failure-timeout, a failover
    predicted_on: tuple[str, ...] | None  # None: the oracle could not answer (prediction_note says why)
    predicted_actions: tuple[str, ...]
    prediction_note: str
    observed_on: tuple[str, ...]
    fail_counts: tuple[tuple[str, int], ...]  # node -> the service's fail-count after the step
    move_constraints: tuple[str, ...]
    downtime_s: float | None
    problems: tuple[str, ...]  # expectations not met
    served: bool = True  # clients of the VIP were answered once the step was over

    @property
    def as_predicted(self) -> bool:
        return self.predicted_on is None or self.predicted_on == self.observed_on


@dataclass(frozen=True)
class ScenarioRun:
    id: str
    title: str
    unit: str
    service: str
    home: str
    other: str
    started_at: float
    ended_at: float
    steps: tuple[StepRun, ...]
    timeline: tuple[Event, ...]
    verdict: str  # pass or fail
    explanation: str
    fix: str
    settings: tuple[tuple[str, str], ...]  # the configuration that decides (migration-threshold...)
    mismatches: tuple[str, ...]  # where the cluster did not do what the scheduler predicted

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at

    @property
    def inherent_s(self) -> float:
        return sum(step.inherent_s for step in self.steps)


def check_scenarios(backend: Backend, scenarios: Sequence[Scenario]) -> None:
    """Every resource the scenarios name exists in the live CIB: checked before anything is touched."""
    stack = _pacemaker(backend)
    cib = snapshot(backend, stack).cib
    for scenario in scenarios:
        try:
            watched(cib, scenario.resource)
        except HalabError as error:
            raise HalabError(f"{scenario.source}: {error.what}", fix=error.fix) from None


def run_scenarios(backend: Backend, scenarios: Sequence[Scenario]) -> tuple[tuple[ScenarioRun, ...], list[ProbeSample]]:
    # Imported here: the prober's runner and Heartbeat's scenario runner both import this module.
    from halab.run import prober_for
    from halab.scenarios.heartbeat_runner import HeartbeatRun

    backend.plan.require_two_nodes("scenarios (whose steps name the nodes home and other)",
                                    fix="leave the scenarios out of this lab's rubric (halab scenario takes none)")
    heartbeat = backend.plan.stack == "heartbeat"
    if not heartbeat:
        check_scenarios(backend, scenarios)
    runs = []
    with prober_for(backend) as prober:
        for scenario in scenarios:
            runs.append((HeartbeatRun if heartbeat else _Run)(backend, prober, scenario).run())
        samples = prober.stop()
    return tuple(runs), samples


def _pacemaker(backend: Backend) -> PacemakerStack:
    stack = stack_for(backend.plan.stack)
    if not isinstance(stack, PacemakerStack):
        raise HalabError(f"scenarios need a Pacemaker lab; this one runs {backend.plan.stack}")
    return stack


@dataclass
class _Run:
    backend: Backend
    prober: Prober
    scenario: Scenario
    events: list[Event] = field(default_factory=list)
    standby: list[str] = field(default_factory=list)  # nodes the scenario put in standby
    operations: dict[str, str] = field(default_factory=dict)  # resource -> its <operations> before on-fail
    unit: str = ""  # read from the CIB once the cluster is ready
    service: str = ""
    home: str = ""
    other: str = ""
    settings: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        self.stack = _pacemaker(self.backend)
        admin = admin_for(self.backend.plan.tool)
        assert isinstance(admin, PacemakerAdmin)
        self.admin = admin
        self.stopped = StoppedStacks(self.backend, self.stack, labs.journal_for(self.backend.lab))

    def run(self) -> ScenarioRun:
        scenario = self.scenario
        say(f"scenario {scenario.id}: {scenario.title}")
        self.started = time.monotonic()
        try:
            wait_whole_and_served(self.backend, self.stack, self.prober, patience_s(self.backend, READY_S))
        except WaitTimeout as error:
            return self._result((), f"not tested: before the scenario the cluster was not whole and serving ({error.what})",
                                "first make the cluster whole and serving: the checks that failed say why")
        self.last = snapshot(self.backend, self.stack)
        cib = self.last.cib
        self.unit, self.service = watched(cib, scenario.resource)
        self.settings = tuple((name, cib.meta_attribute(self.service, name) or DEFAULTS[name]) for name in SETTINGS)
        self.threshold = parse_score(dict(self.settings)["migration-threshold"].split()[0])
        placed = self.last.where(self.unit)
        others = [n for n in self.backend.plan.node_names if n not in placed]
        self.home, self.other = (placed[0] if placed else ""), (others[0] if others else "")
        pinned = self.last.move_constraints(self.unit)
        if pinned:
            return self._result(
                (), f"not tested: {', '.join(pinned)} pins {self.unit} to a node, left by a move that was never "
                    f"cleared: the cluster cannot fail over as configured while it is there",
                f"{self.admin.clear(self.unit)} (a move leaves this constraint until it is cleared)")
        steps: list[StepRun] = []
        try:
            for step in scenario.steps:
                steps.append(self._step(step))
                if steps[-1].problems:
                    break
        finally:
            self._restore()
        return self._judged(tuple(steps))

    # -- one step ---------------------------------------------------------------------------
    def _step(self, step: Step) -> StepRun:
        node = self._node(step)
        inherent, seconds = self._inherent(step)
        description = step.describe(node)
        predicted, note, actions = self._predict(step, node, seconds)
        announce(f"lab {self.backend.lab}: scenario {self.scenario.id}: {description}; Pacemaker predicts: {note or '; '.join(actions) or 'nothing to do'}")
        started = time.monotonic()
        before = self.last
        self.events.append(Event(started, "injected" if step.action in ("kill-apache", "stop") else "action", description))
        self._do(step, node)
        after = self._settle(step, node, before, started, inherent, seconds)
        ended = time.monotonic()
        samples = self.prober.samples()
        outage = downtime_after(samples, started, until=ended)
        downtime = outage.duration_s if outage else None
        served = recent_answers(samples, ended).served
        fail_counts = tuple((n, after.fail_count(self.service, n)) for n in self.backend.plan.node_names)
        return StepRun(
            description=description, action=step.action, node=node, started_at=started, ended_at=ended,
            inherent_s=inherent, predicted_on=predicted, predicted_actions=actions, prediction_note=note,
            observed_on=after.where(self.unit), fail_counts=fail_counts,
            move_constraints=after.move_constraints(self.unit), downtime_s=downtime,
            problems=self._problems(step.expect, after, downtime, served), served=served,
        )

    def _node(self, step: Step) -> str:
        if step.node:
            return self._resolve(step.node)
        running = self.last.where(self.unit)
        return running[0] if running else self.home

    def _resolve(self, name: str) -> str:
        return {HOME: self.home, OTHER: self.other}.get(name, name)

    def _inherent(self, step: Step) -> tuple[float, float]:
        """(the time the cluster itself needs for this step, the seconds a wait step waits)."""
        allowance = self.backend.plan.start_allowance_s
        if step.action == "kill-apache":
            monitor = self._monitor_s()
            return (monitor + allowance if monitor else UNMONITORED_S), 0.0
        if step.action == "wait":
            if step.wait == FAILURE_TIMEOUT:
                value = self.last.cib.meta_attribute(self.service, "failure-timeout")
                seconds = parse_duration(value) if value else 0.0
                return seconds, seconds
            return float(step.wait), float(step.wait)
        return allowance, 0.0

    def _monitor_s(self) -> float | None:
        primitive = next(p for p in self.last.cib.primitives if p.id == self.service)
        intervals = [parse_duration(i) for name, i in primitive.operations if name == "monitor"]
        return next((i for i in intervals if i > 0), None)

    def _predict(self, step: Step, node: str, seconds: float) -> tuple[tuple[str, ...] | None, str, tuple[str, ...]]:
        monitor = self._monitor_s()
        argv = simulation(step.action, node, unit=self.unit, service=self.service,
                          monitor_ms=int(monitor * 1000) if monitor else None, seconds=seconds + 1,
                          change=self._on_fail(step.on_fail) if step.action == "on-fail" else None)
        try:
            prediction = predict(self.backend, self.stack, argv)
        except HalabError as error:
            return None, f"the oracle could not answer: {error.what}", ()
        return prediction.where(self.unit), "", prediction.actions

    def _do(self, step: Step, node: str) -> None:
        action = step.action
        if action == "kill-apache":
            fault_named("kill-apache").inject(self.backend, self.stack, node)
        elif action == "stop":
            self.stopped.stop(node)
        elif action == "start":
            self.stopped.start(node)
        elif action == "on-fail":
            self._tool(self._on_fail(step.on_fail))
        elif action != "wait":
            command = {
                "standby": lambda: self.admin.standby(node), "unstandby": lambda: self.admin.unstandby(node),
                "move": lambda: self.admin.move(self.unit, node), "clear": lambda: self.admin.clear(self.unit),
                "cleanup": lambda: self.admin.cleanup(self.service),
            }[action]()
            if action == "standby":
                self.standby.append(node)
            self._tool(command)
            if action == "unstandby" and node in self.standby:
                self.standby.remove(node)

    def _tool(self, command: str | list[str]) -> None:
        """The lab's own tool (pcs or crm), or Pacemaker's, on a node whose stack runs."""
        node = next(n for n in self.backend.plan.node_names if n not in self.stopped)
        self.backend.run(node, shlex.split(command) if isinstance(command, str) else command, timeout=60).check()

    def _on_fail(self, value: str) -> list[str]:
        """The command that sets on-fail on the service's monitors; their XML as the student left
        it is kept, once, for the end."""
        if self.service not in self.operations:
            self.operations[self.service] = self.stack.ask(self.backend, query_operations(self.service)).stdout
        return replace_operations(self.service, with_on_fail(self.operations[self.service], value))

    def _settle(self, step: Step, node: str, before: Snapshot, started: float, inherent: float,
                seconds: float) -> Snapshot:
        """Poll until the cluster has reacted to the step and is idle again, bounded by the
        step's inherent time and some slack; record what changed on the way."""
        deadline = started + (inherent + SLACK_S) * self.backend.time_scale
        wait_until = started + seconds
        while True:
            now = time.monotonic()
            current = self._observe(step)
            if now >= deadline or self._reacted(step, node, before, current, now >= wait_until):
                break
            time.sleep(POLL_S)
        if step.action != "wait":
            self.stack.settle(self.backend, max(5.0, deadline - time.monotonic()))
            self._observe(step)
        if self.last.where(self.unit) and step.expect.serves is not False:
            try:
                wait_served(self.prober, max(3.0, deadline - time.monotonic()))
            except WaitTimeout:
                pass  # judged from the probe history: the step's downtime says it
        return self.last

    def _observe(self, step: Step) -> Snapshot:
        """One poll of the cluster; what changed since the last one goes on the timeline."""
        try:
            current = snapshot(self.backend, self.stack)
        except HalabError:  # a node stopping or starting: ask again at the next poll
            return self.last
        self.events += changes(self.last, current, unit=self.unit, service=self.service,
                               threshold=self.threshold, at=time.monotonic(), cleaned=step.action == "cleanup")
        self.last = current
        return current

    def _reacted(self, step: Step, node: str, before: Snapshot, now: Snapshot, waited: bool) -> bool:
        if step.action == "kill-apache":
            return now.fail_count(self.service, node) > before.fail_count(self.service, node)
        if step.action == "wait":
            if step.wait == FAILURE_TIMEOUT and waited:
                return not any(c for _, r, c in now.fail_counts if r == self.service) or not step.expect.fail_count
            return waited
        return True

    def _problems(self, expect: Expect, after: Snapshot, downtime: float | None, served: bool) -> tuple[str, ...]:
        problems = []
        on = after.where(self.unit)
        if expect.runs_on is not None:
            wanted = () if expect.runs_on == NOWHERE else (self._resolve(expect.runs_on),)
            if on != wanted:
                problems.append(f"{self.unit} runs on {', '.join(on) or 'no node'}, the lab expects "
                                f"{self._named(expect.runs_on)}")
        for role, count in expect.fail_count:
            node = self._resolve(role)
            got = after.fail_count(self.service, node)
            if got != count:
                problems.append(f"the fail-count of {self.service} on {node} is {got}, the lab expects {count}")
        if expect.max_downtime_s is not None and (downtime or 0) > expect.max_downtime_s:
            problems.append(f"clients saw {downtime:.1f} s without service, the lab allows {expect.max_downtime_s:g} s")
        if expect.move_constraint is not None:
            left = after.move_constraints(self.unit)
            if bool(left) != expect.move_constraint:
                problems.append(f"{', '.join(left)} remains" if left else
                                f"no cli- constraint on {self.unit}, the lab expects the move's constraint")
        if expect.serves is not None and served != expect.serves:
            problems.append("clients of the VIP get answers" if served else "clients of the VIP get no answer")
        return tuple(problems)

    def _named(self, place: str) -> str:
        if place == NOWHERE:
            return "it stopped everywhere"
        node = self._resolve(place)
        return f"{node} ({place})" if node != place else node

    # -- the end ----------------------------------------------------------------------------
    def _restore(self) -> None:
        """Undo the scenario: start what it stopped, lift its standby, clear its move, clean up
        the failures it caused; then wait (bounded) for a whole cluster."""
        try:
            self.stopped.start_all()
            for resource, operations in list(self.operations.items()):
                self._tool(replace_operations(resource, operations))
                del self.operations[resource]
            for node in list(self.standby):
                self._tool(self.admin.unstandby(node))
                self.standby.remove(node)
            if snapshot(self.backend, self.stack).move_constraints(self.unit):
                self._tool(self.admin.clear(self.unit))
            self.stack.ask(self.backend, ["crm_resource", "--cleanup", "--resource", self.service])
            wait_healthy(self.backend, self.stack, patience_s(self.backend, 60))
        except HalabError as error:
            say(f"scenario {self.scenario.id}: could not put the cluster back: {error.what}")

    def _judged(self, steps: tuple[StepRun, ...]) -> ScenarioRun:
        mismatches = tuple(
            f"{s.description}: Pacemaker predicted {_on(s.predicted_on)} ({'; '.join(s.predicted_actions) or 'nothing to do'}), "
            f"the cluster ran it on {_on(s.observed_on)}" for s in steps if not s.as_predicted)
        failed = next((s for s in steps if s.problems), None)
        if failed is None:
            return self._result(steps, f"{self.scenario.title}: as the lab expects, in {len(steps)} steps "
                                       f"({'predicted and observed' if not mismatches else 'but not as predicted'})",
                                "", mismatches)
        index = steps.index(failed) + 1
        agreed = ("predicted and observed" if failed.as_predicted and failed.predicted_on is not None
                  else f"Pacemaker predicted {_on(failed.predicted_on)}" if failed.predicted_on is not None
                  else failed.prediction_note)
        hint = self._hint()
        explanation = f"after step {index} ({failed.description}): {'; '.join(failed.problems)}"
        explanation += f". {hint} ({agreed})" if hint else f" ({agreed})"
        return self._result(steps, explanation, self.scenario.fix, mismatches)

    def _hint(self) -> str:
        settings = dict(self.settings)
        return re.sub(r"\{([a-z-]+)\}", lambda m: settings.get(m.group(1), m.group(0)), self.scenario.hint)

    def _result(self, steps: tuple[StepRun, ...], explanation: str, fix: str,
                mismatches: tuple[str, ...] = ()) -> ScenarioRun:
        ended = time.monotonic()
        timeline = sorted(self.events + client_events(self.prober.samples(), self.started, ended), key=lambda e: e.at)
        passed = bool(steps) and not any(s.problems for s in steps)
        say(f"scenario {self.scenario.id}: {'pass' if passed else 'FAIL'}: {explanation}")
        return ScenarioRun(
            id=self.scenario.id, title=self.scenario.title, unit=self.unit, service=self.service,
            home=self.home, other=self.other,
            started_at=self.started, ended_at=ended, steps=steps, timeline=tuple(timeline),
            verdict="pass" if passed else "fail", explanation=explanation, fix=fix,
            settings=self.settings, mismatches=mismatches,
        )


def _on(nodes: tuple[str, ...] | None) -> str:
    return ", ".join(nodes) if nodes else "no node"
