"""The faults halab injects, each acting from outside the victim where it matters."""

from __future__ import annotations

from halab import bmc
from halab.backends import Backend
from halab.errors import HalabError
from halab.plan import LabPlan
from halab.faults.base import GRACEFUL, MEMBERSHIP, MONITOR, Fault
from halab.stacks import Stack
from halab.wait import WaitTimeout, wait_until


class StopStack(Fault):
    name = "stop-stack"
    detection = GRACEFUL

    def describe(self, stack: Stack, node: str) -> str:
        return f"systemctl stop {stack.daemon} on {node} (a clean stop of the cluster stack)"

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        stack.stop(backend, node)

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        if backend.is_running(node):
            stack.start(backend, node)


class KillMembership(Fault):
    name = "kill-membership"
    detection = MEMBERSHIP

    def describe(self, stack: Stack, node: str) -> str:
        return (f"kill -9 {stack.membership_daemon}'s main process on {node} "
                "(the membership layer dies without a word)")

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        # The oldest process of that name is the daemon itself: corosync has no other, and
        # heartbeat's master control process leaves its reader and writer children orphaned.
        backend.run(node, ["pkill", "--signal", "KILL", "--oldest", "--exact", stack.membership_daemon]).check()

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        if backend.is_running(node):
            stack.start(backend, node)


class PowerOff(Fault):
    name = "power-off"
    detection = MEMBERSHIP
    needs_power_cycle = True

    def describe(self, stack: Stack, node: str) -> str:
        return f"power {node} off hard (every process killed at once, no shutdown)"

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.power_off(node)

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.power_on(node)


class CutLink(Fault):
    name = "cut-link"
    detection = MEMBERSHIP

    def describe(self, stack: Stack, node: str) -> str:
        return f"cut {node}'s network links at the switch (both directions, the node sees no link event)"

    def network(self, plan: LabPlan) -> str | None:
        """The network whose cable is cut; None: every cable of the node."""
        return None

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.cut_link(node, self.network(backend.plan))

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.heal_link(node, self.network(backend.plan))
        stack.rejoin(backend, node)


class CutOneLink(CutLink):
    """One of two corosync links lost: knet carries on over the other, nobody notices but corosync."""

    name = "cut-one-link"

    def describe(self, stack: Stack, node: str) -> str:
        return (f"cut {node}'s link on the cluster network only, at the switch (its link on the lab subnet, "
                "where the VIP is served, stays)")

    def network(self, plan: LabPlan) -> str:
        if not plan.networks:
            raise HalabError(f"cut-one-link needs a second network, and lab {plan.name} has only its subnet",
                             fix="give the plan a [[networks]] entry and each node an interface on it, or leave "
                                 "cut-one-link out (--faults)")
        return plan.networks[0].name


class BmcUnreachableCut(CutLink):
    """The victim's BMC stops answering, then its links are cut: its peer must fence it before
    starting anything, and cannot, so nobody serves until the BMC answers again. The heal gives
    the BMC back first and waits (bounded) for the fence and the failover, then the cables."""

    name = "bmc-unreachable-cut"
    blocks_recovery = ("the other node may not start the service before it has fenced the victim, and the victim's "
                       "BMC does not answer: the outage lasts until the BMC is back")
    FAILOVER_WAIT_S = 90.0  # a fence retried every few seconds, a reboot, the group started: well within

    def describe(self, stack: Stack, node: str) -> str:
        return (f"make {node}'s BMC stop answering, then cut {node}'s network links at the switch (its peer "
                "cannot fence it)")

    @staticmethod
    def check_bmcs(plan: LabPlan) -> None:
        if plan.bmc is None:
            raise HalabError(f"bmc-unreachable-cut needs virtual BMCs, and lab {plan.name}'s plan has none",
                             fix="give the plan a [bmc] and each node a bmc address (see labs/fencing), or leave "
                                 "bmc-unreachable-cut out (--faults)")

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        self.check_bmcs(backend.plan)
        bmc.silence(backend.lab, node)
        super().inject(backend, stack, node)

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        bmc.resume(backend.lab, node)
        try:
            wait_until(lambda: stack.view(backend), lambda view: view.active is not None,
                       what=f"the service to start again once {node} is fenced",
                       timeout_s=self.FAILOVER_WAIT_S * backend.time_scale, interval_s=1.0)
        except WaitTimeout:
            pass  # the heal goes on: the cables must come back whatever the cluster did
        super().heal(backend, stack, node)


class KillService(Fault):
    name = "kill-apache"
    detection = MONITOR

    def describe(self, stack: Stack, node: str) -> str:
        return f"kill -9 every apache2 process on {node}"

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.run(node, ["pkill", "--signal", "KILL", "--exact", "apache2"]).check()

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        stack.recover_service(backend, node)


class StopService(Fault):
    name = "stop-apache"
    detection = MONITOR

    def describe(self, stack: Stack, node: str) -> str:
        return f"systemctl stop apache2 on {node} (a clean stop, as an administrator would)"

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.run(node, ["systemctl", "stop", "apache2"], timeout=60).check()

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        stack.recover_service(backend, node)


class StopQnetd(Fault):
    """The quorum device's arbiter goes away (corosync-qnetd on the router, a node of its own):
    the nodes lose its vote, not each other, so two votes of three keep them quorate. The
    active node is named as the victim (what clients saw is judged there); the act is on the router."""

    name = "stop-qnetd"
    detection = GRACEFUL

    def describe(self, stack: Stack, node: str) -> str:
        return (f"systemctl stop corosync-qnetd on the router (the quorum device's arbiter; {node} and its peer "
                "lose its vote, not each other)")

    @staticmethod
    def router(plan: LabPlan) -> str:
        if not plan.router.node:
            raise HalabError(f"stop-qnetd needs a router that is a node running corosync-qnetd, and lab {plan.name}'s "
                             "router is a bare namespace",
                             fix="set node = true in the plan's [router] and set up a quorum device (see labs/fencing), "
                                 "or leave stop-qnetd out (--faults)")
        return plan.router.name

    def inject(self, backend: Backend, stack: Stack, node: str) -> None:
        backend.run(self.router(backend.plan), ["systemctl", "stop", "corosync-qnetd"], timeout=60).check()

    def heal(self, backend: Backend, stack: Stack, node: str) -> None:
        router = self.router(backend.plan)
        if backend.is_running(router):
            backend.run(router, ["systemctl", "start", "corosync-qnetd"], timeout=60).check()


class FencedOff(PowerOff):
    """Not a fault of the matrix: a node's virtual BMC powered it off (the cluster fenced it).
    Journalled like a fault so that nothing stays off once halab and the BMC are gone."""

    name = "bmc-power-off"

    def describe(self, stack: Stack, node: str) -> str:
        return f"{node} powered off by its virtual BMC (fenced)"


FAULTS: dict[str, Fault] = {
    f.name: f for f in (KillService(), StopService(), StopStack(), KillMembership(), CutLink(), CutOneLink(),
                        StopQnetd(), BmcUnreachableCut(), PowerOff())
}
FENCED_OFF = FencedOff()


def fault_named(name: str) -> Fault:
    if name == FENCED_OFF.name:
        return FENCED_OFF
    if name not in FAULTS:
        raise HalabError(f"no fault called {name!r}", fix=f"choose one of: {', '.join(FAULTS)}")
    return FAULTS[name]
