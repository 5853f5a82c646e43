"""Scenarios on a Heartbeat v1 lab: the equivalents seed 003's policies have there. `hb-standby`
is `hb_standby all` (the node hands its resources to the peer), `hb-takeover` is `hb_takeover all`
(it takes them back), `stop`/`start` stop and start heartbeat, where `auto_failback` decides
whether the group comes home. v1 keeps no fail-count and no constraint, and has no scheduler
to ask: each step is judged on where the group runs and what clients saw, and the prediction
is ha.cf's and haresources' own rule, read from the nodes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from halab import lab as labs
from halab.backends import Backend
from halab.errors import HalabError
from halab.experiment import READY_S, patience_s, recent_answers, wait_healthy, wait_served, wait_whole_and_served
from halab.probe import Prober
from halab.probe.analysis import downtime_after
from halab.progress import announce, say
from halab.scenarios.model import HOME, NOWHERE, OTHER, Scenario, Step
from halab.scenarios.runner import POLL_S, SLACK_S, ScenarioRun, StepRun
from halab.scenarios.stopped import StoppedStacks
from halab.scenarios.timeline import Event, client_events
from halab.stacks.heartbeat import HeartbeatStack
from halab.stacks.state import HB_TAKEOVER, VIP_RESOURCES
from halab.wait import WaitTimeout

HB_STANDBY = "/usr/share/heartbeat/hb_standby"
STEADY_S = 2.0  # the group's place unchanged this long, nothing in transition: the step is over


@dataclass
class HeartbeatRun:
    backend: Backend
    prober: Prober
    scenario: Scenario
    stack: HeartbeatStack = field(default_factory=HeartbeatStack)
    events: list[Event] = field(default_factory=list)
    home: str = ""
    other: str = ""
    auto_failback: str = ""
    owner: str | None = None  # the node haresources gives the group to
    initdead_s: float = 0.0

    def run(self) -> ScenarioRun:
        say(f"scenario {self.scenario.id}: {self.scenario.title}")
        self.started = time.monotonic()
        self.stopped = StoppedStacks(self.backend, self.stack, labs.journal_for(self.backend.lab))
        try:
            view = wait_whole_and_served(self.backend, self.stack, self.prober, patience_s(self.backend, READY_S))
        except WaitTimeout as error:
            return self._result((), f"not tested: before the scenario the cluster was not whole and serving ({error.what})",
                                "first make the cluster whole and serving: the checks that failed say why")
        names = self.backend.plan.node_names
        self.home = view.active or names[0]
        self.other = next(n for n in names if n != self.home)
        conf, self.owner = self.stack.configuration(self.backend, view.observer)
        self.auto_failback, self.initdead_s = conf.auto_failback, conf.initdead_ms / 1000
        steps: list[StepRun] = []
        try:
            for step in self.scenario.steps:
                steps.append(self._step(step))
                if steps[-1].problems:
                    break
        finally:
            self._restore()
        failed = next((s for s in steps if s.problems), None)
        if failed is None:
            return self._result(tuple(steps), f"{self.scenario.title}: as the lab expects, in {len(steps)} steps", "")
        index = steps.index(failed) + 1
        hint = self.scenario.hint.replace("{auto_failback}", self.auto_failback)
        return self._result(tuple(steps), f"after step {index} ({failed.description}): {'; '.join(failed.problems)}"
                            + (f". {hint}" if hint else ""), self.scenario.fix)

    def _step(self, step: Step) -> StepRun:
        holders = self.stack.resource_state(self.backend).where(VIP_RESOURCES)
        node = self._resolve(step.node) if step.node else (holders[0] if holders else self.home)
        description = step.describe(node)
        predicted = self._predict(step, node, holders)
        announce(f"lab {self.backend.lab}: scenario {self.scenario.id}: {description}; ha.cf and haresources say: "
                 f"{', '.join(predicted) or 'no node'}")
        started = time.monotonic()
        self.events.append(Event(started, "injected" if step.action == "stop" else "action", description))
        self._do(step, node)
        inherent = self.backend.plan.start_allowance_s if step.action != "wait" else float(step.wait)
        observed = self._settle(step, node, holders, started, inherent)
        ended = time.monotonic()
        samples = self.prober.samples()
        outage = downtime_after(samples, started, until=ended)
        downtime = outage.duration_s if outage else None
        served = recent_answers(samples, ended).served
        return StepRun(
            description=description, action=step.action, node=node, started_at=started, ended_at=ended,
            inherent_s=inherent, predicted_on=predicted, predicted_actions=(), prediction_note="",
            observed_on=observed, fail_counts=(), move_constraints=(), downtime_s=downtime,
            problems=self._problems(step, observed, downtime, served), served=served,
        )

    def _predict(self, step: Step, node: str, holders: tuple[str, ...]) -> tuple[str, ...]:
        """Where Heartbeat's own rules put the group after the step."""
        peer = next(n for n in self.backend.plan.node_names if n != node)
        if step.action in ("hb-standby", "stop"):
            return (peer,) if node in holders else holders
        if step.action == "hb-takeover":
            return (node,)
        if step.action == "start":
            return (node,) if self.auto_failback == "on" and node == self.owner else holders
        return holders

    def _do(self, step: Step, node: str) -> None:
        if step.action == "stop":
            self.stopped.stop(node)
        elif step.action == "start":
            self.stopped.start(node)
        elif step.action in ("hb-standby", "hb-takeover"):
            tool = HB_STANDBY if step.action == "hb-standby" else HB_TAKEOVER
            self.backend.run(node, [tool, "all"], timeout=60).check()

    def _settle(self, step: Step, node: str, before: tuple[str, ...], started: float, inherent: float) -> tuple[str, ...]:
        """Poll until the group's place has been steady for STEADY_S with nothing in transition, and
        the step's own reaction is seen; bounded by the step's time, start-up and slack."""
        conf_wait = self.initdead_s if step.action == "start" else 0.0  # a starting node waits for its peer
        deadline = started + (inherent + conf_wait + SLACK_S + STEADY_S) * self.backend.time_scale
        earliest = started + (float(step.wait) if step.action == "wait" else 0.0)
        last: tuple[str, ...] | None = None
        since = started
        while True:
            now = time.monotonic()
            try:
                placed, moving = self._placement()
            except HalabError:
                placed, moving = (last or ()), True
            if placed != last or moving:
                last, since = placed, now
            if now >= deadline or (now >= earliest and now - since >= STEADY_S and self._reacted(step, node, placed, before)):
                break
            time.sleep(POLL_S)
        if last:
            try:
                wait_served(self.prober, max(3.0, deadline - time.monotonic()))
            except WaitTimeout:
                pass  # judged from the probe history: the step's downtime says it
        return last or ()

    def _reacted(self, step: Step, node: str, placed: tuple[str, ...], before: tuple[str, ...]) -> bool:
        """A handover moved the group (none is due when the node did not hold it, or takes it
        back while holding it); a start is over when the cluster is whole and settled as
        auto_failback wants (the stack's own view: with auto_failback on, home holds it)."""
        if step.action in ("hb-standby", "stop"):
            return placed != before or node not in before
        if step.action == "hb-takeover":
            return placed != before or before == (node,)
        if step.action == "start":
            try:
                return self.stack.view(self.backend).healthy
            except HalabError:
                return False
        return True

    def _placement(self) -> tuple[tuple[str, ...], bool]:
        """Who holds the VIP, and whether any running heartbeat says its resources are moving."""
        holders = self.stack.resource_state(self.backend).where(VIP_RESOURCES)
        moving = False
        for node in self.backend.plan.node_names:
            if node not in self.stopped and self.backend.is_running(node):
                status = self.backend.run(node, ["cl_status", "rscstatus"], timeout=10)
                moving = moving or not status.succeeded or status.stdout.strip() == "transition"
        return holders, moving

    def _resolve(self, name: str) -> str:
        return {HOME: self.home, OTHER: self.other}.get(name, name)

    def _problems(self, step: Step, on: tuple[str, ...], downtime: float | None, served: bool) -> tuple[str, ...]:
        expect, problems = step.expect, []
        if expect.runs_on is not None:
            wanted = () if expect.runs_on == NOWHERE else (self._resolve(expect.runs_on),)
            if on != wanted:
                named = self._resolve(expect.runs_on)
                problems.append(f"the VIP's group runs on {', '.join(on) or 'no node'}, the lab expects "
                                f"{named}{f' ({expect.runs_on})' if named != expect.runs_on else ''}")
        if expect.max_downtime_s is not None and (downtime or 0) > expect.max_downtime_s:
            problems.append(f"clients saw {downtime:.1f} s without service, the lab allows {expect.max_downtime_s:g} s")
        if expect.serves is not None and served != expect.serves:
            problems.append("clients of the VIP get answers" if served else "clients of the VIP get no answer")
        return tuple(problems)

    def _restore(self) -> None:
        """Start what the scenario stopped (hb_standby leaves no state to lift); then wait
        (bounded) for a whole cluster."""
        try:
            self.stopped.start_all()
            wait_healthy(self.backend, self.stack, patience_s(self.backend, 60 + self.initdead_s))
        except HalabError as error:
            say(f"scenario {self.scenario.id}: could not put the cluster back: {error.what}")

    def _result(self, steps: tuple[StepRun, ...], explanation: str, fix: str) -> ScenarioRun:
        ended = time.monotonic()
        timeline = sorted(self.events + client_events(self.prober.samples(), self.started, ended), key=lambda e: e.at)
        passed = bool(steps) and not any(s.problems for s in steps)
        mismatches = tuple(f"{s.description}: ha.cf and haresources say {', '.join(s.predicted_on or ()) or 'no node'}, "
                           f"the cluster ran it on {', '.join(s.observed_on) or 'no node'}" for s in steps if not s.as_predicted)
        say(f"scenario {self.scenario.id}: {'pass' if passed else 'FAIL'}: {explanation}")
        return ScenarioRun(
            id=self.scenario.id, title=self.scenario.title, unit=VIP_RESOURCES, service="apache2",
            home=self.home, other=self.other, started_at=self.started, ended_at=ended, steps=steps,
            timeline=tuple(timeline), verdict="pass" if passed else "fail", explanation=explanation, fix=fix,
            settings=(("auto_failback", self.auto_failback),), mismatches=mismatches,
        )
