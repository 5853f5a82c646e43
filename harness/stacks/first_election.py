"""Pacemaker's first election on a cluster halab has just made, without its 20 s wait.

A fresh cluster waits `dc-deadtime` (20 s by default) for a coordinator that does not exist yet
before electing one: most of a pcs lab's bring-up and of a rebuild. On nodes halab made (never a
student's own machine), halab puts a short `dc-deadtime` in the empty CIB, in a property set of
its own, and removes that set once the coordinator has written its own properties. The CIB that
the document's later steps, the student and the checks read holds nothing halab put there; only
the start step itself (e.g. `pcs cluster start --wait`) sees it, and returns sooner.
"""

from __future__ import annotations

from halab.backends import Backend
from halab.backends.base import run_if_up
from halab.errors import HalabError
from halab.wait import wait_until

SEED_SET = "halab-first-election"
SEED_DEADTIME = "2s"
# In the CIB once a coordinator is elected and has written its own properties (dc-version with
# them): asked of the CIB manager, which answers from its start (crmadmin -D can block for as
# long as the controller is starting).
COORDINATOR_XPATH = "//nvpair[@name='dc-version']"
CLEAR, NOT_FRESH, HOLDS = 0, 3, 10  # what STEP_SCRIPT says of a node (any other status: not yet)
# A node-side script; its argument says when it runs: `step` (between steps), `finish` (the
# document is over, or a rebuild started what it starts), `now` (no more waiting).
# - Where Pacemaker runs: take the set out once the coordinator has written its own properties
#   (at once with `now`); CLEAR once it is out.
# - Where it does not and the CIB on disk holds the set: HOLDS between steps (the start is to
#   come); else take it out of the file (Pacemaker reads a CIB without a signature file as it is).
# - Else, between steps only, seed a fresh Pacemaker node (Pacemaker installed, corosync.conf
#   written, no CIB yet): HOLDS; NOT_FRESH otherwise.
STEP_SCRIPT = f"""
cib=/var/lib/pacemaker/cib/cib.xml
set_xml='<cluster_property_set id="{SEED_SET}"/>'
if systemctl is-active --quiet pacemaker; then
  cibadmin --query --xpath "//cluster_property_set[@id='{SEED_SET}']" >/dev/null 2>&1; rc=$?
  [ $rc = 105 ] && exit {CLEAR}
  [ $rc = 0 ] || exit 4
  [ "$1" = now ] || cibadmin --query --xpath "{COORDINATOR_XPATH}" >/dev/null 2>&1 || exit 4
  cibadmin --delete --xml-text "$set_xml" && exit {CLEAR}
  exit 4
fi
if grep -q '{SEED_SET}' "$cib" 2>/dev/null; then
  [ "$1" = step ] && exit {HOLDS}
  CIB_file="$cib" cibadmin --delete --xml-text "$set_xml" && rm -f "$cib.sig" && exit {CLEAR}
  exit 1
fi
[ "$1" = step ] || exit {NOT_FRESH}
command -v cibadmin >/dev/null && test -e /etc/corosync/corosync.conf && ! test -e "$cib" || exit {NOT_FRESH}
tmp=$(mktemp) || exit 1
cibadmin --empty > "$tmp" \\
  && CIB_file="$tmp" cibadmin --create -o crm_config --xml-text \\
     '<cluster_property_set id="{SEED_SET}"><nvpair id="{SEED_SET}-dc-deadtime" name="dc-deadtime" value="{SEED_DEADTIME}"/></cluster_property_set>' \\
  && install -o hacluster -g haclient -m 0600 "$tmp" "$cib" && rm -f "$tmp" && exit {HOLDS}
rm -f "$tmp"; exit 1
"""
FINISH_TIMEOUT_S = 60


class FirstElection:
    """Seeds a lab's fresh Pacemaker nodes until Pacemaker first runs, then takes the seed out."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.done = backend.plan.stack != "pacemaker"
        self.seeded = False

    def after_step(self) -> bool:
        """Between two steps (and before a rebuild starts the stack): True once Pacemaker has
        run with the seed and no node holds it any more. A seed wiped by a later step (`pcs
        cluster destroy`) is put back once the node is fresh again."""
        return self._look("step")

    def finish(self) -> None:
        """After the document (or a failed step), after a rebuild's CIB: the set goes at once
        where Pacemaker is stopped, within a bounded wait for the coordinator's own properties
        where it runs, then whatever the cluster's state."""
        if self.done or not self.seeded:
            return
        try:
            wait_until(lambda: self._look("finish"), bool, what="Pacemaker to elect a coordinator",
                       timeout_s=FINISH_TIMEOUT_S, interval_s=1)
        except HalabError:
            self._look("now")

    def _look(self, when: str) -> bool:
        if self.done:
            return True
        said = [run_if_up(self.backend, node, ["/bin/sh", "-c", STEP_SCRIPT, "election", when], timeout=30)
                for node in self.backend.plan.node_names]
        states = [r.exit_status if r is not None else None for r in said]
        self.seeded |= HOLDS in states
        self.done = CLEAR in states and all(s in (CLEAR, NOT_FRESH) for s in states)
        return self.done
