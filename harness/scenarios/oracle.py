"""The oracle: before each step, Pacemaker's own scheduler says what the student's
configuration should do, on the live CIB. A fault is injected into the simulation
(`--op-inject` a failed monitor, `--node-down`, `--node-up`, `--set-datetime` for time passing);
an administrator's action is applied with the very same command to a copy of the CIB
(`CIB_file=copy crm_resource --move ...`), and that copy is simulated."""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta, timezone

from halab.backends import Backend
from halab.command import shell
from halab.stacks.crm_simulate import Prediction, parse_crm_simulate
from halab.stacks.pacemaker import PacemakerStack

NO_SUCH_OBJECT = 105  # a cleanup with no failure to delete, a clear with no constraint: nothing changes
SIMULATE = ("crm_simulate", "--simulate", "--output-as=xml")


def simulation(action: str, node: str, *, unit: str, service: str, monitor_ms: int | None,
               seconds: float = 0.0, now: datetime | None = None, change: list[str] | None = None) -> list[str]:
    """The argv that asks the scheduler about one step, run on any member of the cluster. An
    action whose command the runner composes itself (on-fail) passes it as `change`."""
    live = [*SIMULATE, "--live-check"]
    if action == "kill-apache":
        # Without a monitor nothing notices the kill: the prediction is that nothing happens.
        return live + ([f"--op-inject={service}_monitor_{monitor_ms}@{node}=7"] if monitor_ms else [])
    if action == "stop":
        return live + [f"--node-down={node}"]
    if action == "start":
        return live + [f"--node-up={node}"]
    if action == "wait":
        later = (now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)
        return live + [f"--set-datetime={later.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    change = change if change is not None else {
        "standby": ["crm_attribute", "--node", node, "--name", "standby", "--update", "on"],
        "unstandby": ["crm_attribute", "--node", node, "--name", "standby", "--update", "off"],
        "move": ["crm_resource", "--move", "--resource", unit, "--node", node],
        "clear": ["crm_resource", "--clear", "--resource", unit],
        "cleanup": ["cibadmin", "--delete-all", "--force", "--xpath",
                    f"//transient_attributes//nvpair[starts-with(@name, 'fail-count-{service}#')]"],
    }[action]
    return shell(
        'set -e; copy=$(mktemp); trap \'rm -f "$copy"\' EXIT; cibadmin --query > "$copy"; '
        f'CIB_file="$copy" {shlex.join(change)} >/dev/null || test $? -eq {NO_SUCH_OBJECT}; {shlex.join(SIMULATE)} --xml-file="$copy"'
    )


def predict(backend: Backend, stack: PacemakerStack, argv: list[str]) -> Prediction:
    return parse_crm_simulate(stack.ask(backend, argv).stdout)
