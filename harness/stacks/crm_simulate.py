"""What Pacemaker's scheduler says it would do: `crm_simulate --simulate --output-as=xml`
(pacemaker 2.1) read into the transition summary and the placement it leads to.

>>> prediction = parse_crm_simulate(run("crm_simulate -LS --output-as=xml --op-inject WebService_monitor_30000@node1=7").stdout)
>>> prediction.where("WebCluster"), prediction.actions
(('node1',), ('recover WebService on node1',))
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from halab.errors import HalabError
from halab.stacks.cib import Cib
from halab.stacks.crm_mon import ClusterStatus, parse_resources
from halab.stacks.state import pacemaker_state

_FIX = "pass the standard output of `crm_simulate --simulate --output-as=xml` (pacemaker 2.1)"


@dataclass(frozen=True)
class Prediction:
    """The scheduler's answer to one event, on the cluster as it stood."""

    actions: tuple[str, ...]  # the transition summary, e.g. "move WebService node1 -> node2"
    placement: tuple[tuple[str, tuple[str, ...]], ...]  # a group (or lone resource) -> nodes, once done
    events: tuple[str, ...] = ()  # what was injected, e.g. "WebService_monitor_30000@node1=7"

    def where(self, unit: str) -> tuple[str, ...]:
        return dict(self.placement).get(unit, ())

    def describe(self) -> str:
        return "; ".join(self.actions) or "nothing to do"


def parse_crm_simulate(xml_text: str) -> Prediction:
    """Read crm_simulate's XML; its own error (exit status and message) raises HalabError."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise HalabError(f"crm_simulate output is not XML ({error})", evidence=xml_text[:400], fix=_FIX) from None
    revised = root.find("revised_cluster_status")
    if root.tag != "pacemaker-result" or revised is None:
        status = root.find("status")
        said = "; ".join(filter(None, [status.get("message", "") if status is not None else "",
                                       *(e.text or "" for e in root.iter("error"))]))
        raise HalabError(f"crm_simulate gave no prediction ({said or 'no revised cluster status'})",
                         evidence=xml_text[:400], fix=_FIX)
    status = ClusterStatus(None, True, (), parse_resources(revised.find("resources")), (), ())
    return Prediction(
        actions=tuple(_action(a) for a in root.iterfind("actions/rsc_action")),
        placement=pacemaker_state(status, Cib((), (), (), ())).placement,
        events=tuple(spec.get("spec", "") for spec in root.iterfind("modifications/inject_spec")),
    )


def _action(element: ET.Element) -> str:
    action, resource = element.get("action", ""), element.get("resource", "")
    if element.get("source") or element.get("dest"):
        return f"{action} {resource} {element.get('source', '-')} -> {element.get('dest', '-')}"
    return f"{action} {resource} on {element.get('node', '-')}"
