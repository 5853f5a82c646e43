"""The SSH backend: a student's own cluster (their VMs), graded live where it runs. halab neither
creates nor destroys these machines; it reaches them over SSH as the inventory says, does
faults only from inside them, and cannot power them off (nothing could power them back on).

    halab connect --inventory alice.yaml --name alice
    halab grade --name alice --student alice
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from halab.backends.base import MachineStatus
from halab.backends.netns import namespace_exists
from halab.backends.ssh import linkcut
from halab.backends.ssh.connection import NodeConnection
from halab.backends.ssh.inventory import Inventory, load_inventory
from halab.command import DEFAULT_TIMEOUT_S, CommandResult
from halab.errors import HalabError
from halab.paths import state_root
from halab.plan import LabPlan
from halab.probe.fetch import fetch
from halab.progress import say
from halab.wait import wait_until

# What each stack leaves on a node: the command that says it is installed.
STACK_COMMANDS = {"pacemaker": ("crm_mon", "corosync"), "heartbeat": ("cl_status",)}
REACH_AGAIN_S = linkcut.SELF_HEAL_S + 30.0


class SshBackend:
    can_power_cycle = False
    time_scale = 1.0

    def __init__(self, plan: LabPlan, lab: str, inventory: str) -> None:
        plan.require_two_nodes("the SSH backend")
        plan.require_no_hosts("the SSH backend")
        self.lab = lab
        self.inventory: Inventory = load_inventory(Path(inventory))
        self.plan = self.inventory.apply(plan)
        known_hosts = state_root() / "labs" / lab / "known_hosts"
        self._nodes = {n.name: NodeConnection(self.inventory.login(n), known_hosts) for n in self.inventory.nodes}

    # -- the lab as a whole ---------------------------------------------------------------
    def preflight(self) -> None:
        """Before anything is touched: every node reachable, logged in, root or passwordless
        sudo, the variant's stack installed. All problems at once, one line per node. The VIP
        not answering is only a warning: it is the student's to lose points for, not a reason
        not to grade."""
        netns = self.inventory.netns
        if netns is not None and not namespace_exists(netns):
            raise HalabError(f"the network namespace {netns} named by {self.inventory.source} does not exist",
                             fix="ip netns list shows the namespaces; remove netns: to connect from here")
        with ThreadPoolExecutor(len(self._nodes)) as pool:
            problems = [p for p in pool.map(self._node_problem, self._nodes) if p]
        if problems:
            raise HalabError(
                f"{len(problems)} of the {len(self._nodes)} nodes cannot be graded over SSH",
                evidence="\n".join(p.what + (f" ({p.evidence.strip().splitlines()[-1]})" if p.evidence.strip() else "")
                                   for p in problems),
                fix=problems[0].fix,
            )
        try:
            fetch(self.plan.vip_url, netns)
        except HalabError as error:
            say(f"warning: the VIP does not answer on {self.plan.vip_url}: grading will find it out "
                f"({error.evidence.splitlines()[-1] if error.evidence else error.what})")

    def up(self) -> None:
        raise HalabError("the ssh backend grades machines that already exist; it creates none",
                         fix="halab connect --inventory FILE (see README: Grading a student's own cluster)")

    def down(self) -> None:
        """Forget the connection: the student's machines are left running, as found."""
        for node in self._nodes.values():
            node.close()

    def status(self) -> list[MachineStatus]:
        machines = []
        for name, node in self._nodes.items():
            try:
                state = self.run(name, ["systemctl", "is-system-running"], timeout=15).stdout.strip()
                cut = self.run(name, linkcut.is_cut_argv(), timeout=15).succeeded
                machines.append(MachineStatus(name, True, node.login.address, cut, f"{state}, ssh {node.target}"))
            except HalabError as error:
                machines.append(MachineStatus(name, False, node.login.address, False, error.what))
        return machines

    # -- one node -------------------------------------------------------------------------
    def run(
        self, node: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, stdin: str | None = None
    ) -> CommandResult:
        return self._node(node).run(argv, timeout=timeout, stdin=stdin)

    def is_running(self, node: str) -> bool:
        """Whether it answers over SSH: from here, a machine that does not is as good as off."""
        try:
            self._node(node).connect()
        except HalabError:
            return False
        return True

    def power_off(self, node: str) -> None:
        raise HalabError(f"the ssh backend cannot power {node} off: nothing could power it back on",
                         fix="power-off is graded on the local or vagrant backend only")

    def power_on(self, node: str) -> None:
        """Nothing to do for a node that answers (a power-off is never done here)."""
        if not self.is_running(node):
            raise HalabError(f"{node} does not answer over SSH, and the ssh backend cannot power it on",
                             fix="start the machine by hand (VirtualBox, the hypervisor), then halab heal")

    def cut_link(self, node: str, on: str | None = None) -> None:
        """Schedule the heal on the node, then cut its interface on the lab subnet (or on network
        `on` of the plan) but for our SSH."""
        connection = self._node(node)
        peer = linkcut.SshPeer.parse(connection.execute('echo "$SSH_CONNECTION"', timeout=15).check().stdout)
        planned = self.plan.node(node)
        address = planned.interface_on(on).address.ip if on else planned.address.ip
        shown = self.run(node, linkcut.interface_argv(address), timeout=15).check().stdout
        interface = linkcut.parse_interface(shown, address)
        self.run(node, linkcut.cut_argv(), stdin=linkcut.ruleset(interface, peer), timeout=30).check()

    def heal_link(self, node: str, on: str | None = None) -> None:
        """Undo the cut; should the node not answer (our SSH cut too), wait for its own heal."""
        wait_until(
            lambda: self.is_running(node), bool, what=f"{node} to answer over SSH again (it heals itself "
            f"{linkcut.SELF_HEAL_S} s after the cut)", timeout_s=REACH_AGAIN_S, interval_s=5.0,
            fix=f"on {node}: nft delete table inet {linkcut.TABLE}; nft delete table arp {linkcut.TABLE}",
        )
        self.run(node, linkcut.heal_argv(), timeout=30).check()

    def bmc_netns(self) -> None:
        return None  # virtual BMCs run on the local backend only

    def client_netns(self) -> str | None:
        return self.inventory.netns

    # -- internals ------------------------------------------------------------------------
    def _node(self, name: str) -> NodeConnection:
        self.plan.node(name)
        return self._nodes[name]

    def _node_problem(self, name: str) -> HalabError | None:
        """What stops grading this node, or None."""
        try:
            self._node(name).connect()
            if self.inventory.sudo:
                sudo = self._node(name).execute("sudo -n true", timeout=15)
                if not sudo.succeeded:
                    return HalabError(
                        f"{name}: {self.inventory.user} has no passwordless sudo ({(sudo.stdout + sudo.stderr).strip()})",
                        fix=f"on each node: echo '{self.inventory.user} ALL=(ALL) NOPASSWD: ALL' > "
                            f"/etc/sudoers.d/halab, or log in as root",
                    )
            wanted = STACK_COMMANDS[self.plan.stack]
            found = self.run(name, ["sh", "-c", 'for c in "$@"; do command -v "$c" >/dev/null && echo "$c"; done', "probe",
                                    *sorted({c for cs in STACK_COMMANDS.values() for c in cs})], timeout=15).stdout.split()
            if not set(wanted) <= set(found):
                installed = [stack for stack, cs in STACK_COMMANDS.items() if set(cs) <= set(found)]
                return HalabError(
                    f"{name}: lab {self.plan.name} needs {self.plan.stack} ({', '.join(wanted)}), "
                    f"but the node has {', '.join(installed) or 'no cluster stack'} installed",
                    fix=f"check variant: in {self.inventory.source}, or the node's packages",
                )
        except HalabError as error:
            return error
        return None
