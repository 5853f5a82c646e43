"""A scenario: named steps, each a fault or an administrator's action, with what must hold
after it. Nodes are named by their role in the scenario, so one file fits whichever node the
cluster happened to choose: `home` ran the resource when the scenario began, `other` did not."""

from __future__ import annotations

from dataclasses import dataclass

HOME, OTHER = "home", "other"
ROLES = (HOME, OTHER)
NOWHERE = "nowhere"  # runs_on: the resource is stopped everywhere

# action -> what it does, in a teacher's words (the node, when it takes one, is appended)
ACTIONS = {
    "kill-apache": "kill -9 every apache2 process",
    "wait": "wait",
    "standby": "put in standby",
    "unstandby": "bring out of standby",
    "move": "move the resource",
    "clear": "clear the constraints a move left",
    "cleanup": "clean up the resource's failures",
    "stop": "stop the cluster stack",
    "start": "start the cluster stack",
    "on-fail": "set on-fail of Apache's monitor to",
    "hb-standby": "hb_standby all",  # the node hands its resources to the peer
    "hb-takeover": "hb_takeover all",  # the node takes them back
}
NODE_ACTIONS = {"kill-apache", "standby", "unstandby", "move", "stop", "start", "hb-standby", "hb-takeover"}
HEARTBEAT_ACTIONS = {"hb-standby", "hb-takeover"}  # Heartbeat v1's own; Pacemaker's standby is not theirs
FAILURE_TIMEOUT = "failure-timeout"  # wait = "failure-timeout": the resource's own, read from the CIB
# on-fail = "standby": what Pacemaker does when Apache's monitor fails (seed 003); the scenario
# sets it for its own steps and puts the student's own operations back at its end.
ON_FAIL = ("restart", "stop", "standby", "block", "ignore", "fence")


@dataclass(frozen=True)
class Expect:
    """What is measured after a step; None (or empty) means: not checked."""

    runs_on: str | None = None  # a role, a node name, or "nowhere"
    fail_count: tuple[tuple[str, int], ...] = ()  # (role or node, the service's fail-count there)
    max_downtime_s: float | None = None  # the longest outage clients may see during the step
    move_constraint: bool | None = None  # whether a cli- constraint on the resource remains
    serves: bool | None = None  # whether clients of the VIP get answers once the step is over

    @property
    def empty(self) -> bool:
        return self == Expect()


@dataclass(frozen=True)
class Step:
    action: str
    node: str = ""  # a role or a node name; "" = where the resource runs (kill-apache) / not needed
    wait: str = ""  # wait: "failure-timeout" or a number of seconds
    on_fail: str = ""  # on-fail: one of ON_FAIL
    expect: Expect = Expect()
    count: int = 1  # this step is the count-th of a `times = N` series
    times: int = 1

    def describe(self, node: str = "") -> str:
        """What is done, on `node` (the resolved name) or the step's own role."""
        what = ACTIONS[self.action]
        if self.action == "wait":
            what = f"wait {self.wait if self.wait == FAILURE_TIMEOUT else self.wait + ' s'}"
        if self.action == "on-fail":
            return f"{what} {self.on_fail} (the lab's own operations are put back at the end)"
        target = node or self.node or "the node running Apache"
        where = f" {'to' if self.action == 'move' else 'on'} {target}" if self.action in NODE_ACTIONS else ""
        series = f" ({self.count} of {self.times})" if self.times > 1 else ""
        return what + where + series


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    steps: tuple[Step, ...]
    resource: str = ""  # the group (or resource) watched; "" = the one holding the VIP
    hint: str = ""  # said when it fails; {migration-threshold}, {failure-timeout}... read from the CIB
    fix: str = ""  # what the student should do, in the lab's own tool
    source: str = ""  # file and scenario index, for error messages
