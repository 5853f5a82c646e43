"""Pacemaker's view of the cluster: `crm_mon --output-as=xml` (pacemaker 2.1) read into typed facts.

>>> status = parse_crm_mon(run("crm_mon --output-as=xml").stdout)
>>> status.dc, status.online_nodes, status.nodes_running("ocf:heartbeat:IPaddr2")
('node1', ('node1', 'node2'), ('node1',))

Also reads the deprecated `crm_mon --as-xml` (root element <crm_mon>, same children). Fail
counts come from <node_history>, which pacemaker 2.1 prints by default in XML and with
`--include=failcounts`. A document that is not crm_mon's, or crm_mon's own report that it could
not reach the cluster, raises HalabError.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from halab.errors import HalabError
from halab.stacks.scores import parse_score

_ROOTS = ("pacemaker-result", "crm_mon")
_FIX = "pass the standard output of `crm_mon --output-as=xml` alone (pacemaker 2.1)"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    online: bool
    standby: bool
    unclean: bool  # lost without a clean stop and not yet fenced
    maintenance: bool
    is_dc: bool
    resources_running: int


@dataclass(frozen=True)
class ResourceStatus:
    """One primitive resource (one instance, for a clone), flattened out of groups and clones."""

    id: str
    agent: str  # e.g. "ocf:heartbeat:IPaddr2"
    role: str  # Started, Stopped, Promoted...
    active: bool
    failed: bool
    managed: bool
    nodes: tuple[str, ...]  # where Pacemaker believes it runs (it may be an unclean node)
    group: str | None  # the enclosing group's id
    clone: str | None  # the enclosing clone's or bundle's id


@dataclass(frozen=True)
class FailCount:
    node: str
    resource: str
    fail_count: int  # INFINITY (1000000) after a failed start


@dataclass(frozen=True)
class FailedAction:
    resource: str
    operation: str  # start, stop, monitor...
    node: str
    exit_reason: str  # the agent's own words, often empty
    status: str  # how the execution ended: complete, Timed Out, ...
    exit_status: str  # what the agent's exit code means: not running, error, ...
    exit_code: int  # the OCF exit code: 7 not running, 1 generic error, ...
    interval_ms: int  # 0 for start and stop, the monitor's interval otherwise


@dataclass(frozen=True)
class ClusterStatus:
    dc: str | None  # the Designated Controller; None while the cluster is electing one
    quorate: bool
    nodes: tuple[NodeStatus, ...]
    resources: tuple[ResourceStatus, ...]
    fail_counts: tuple[FailCount, ...]
    failed_actions: tuple[FailedAction, ...]

    @property
    def online_nodes(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes if node.online)

    def resource(self, resource_id: str) -> ResourceStatus | None:
        """The resource with this id (a clone's first instance), or None if it is not configured."""
        return next((r for r in self.resources if r.id == resource_id), None)

    def nodes_running(self, agent: str) -> tuple[str, ...]:
        """Nodes where an active resource of this agent runs, e.g. who holds the VIP:
        `nodes_running("ocf:heartbeat:IPaddr2")`. Two names mean two holders (split brain)."""
        found = (node for r in self.resources if r.agent == agent and r.active for node in r.nodes)
        return tuple(dict.fromkeys(found))


class CrmMonFailed(HalabError):
    """crm_mon ran but could not read the cluster (pacemaker stopped on that node, for instance)."""

    def __init__(self, what: str, *, code: int | None, evidence: str) -> None:
        super().__init__(
            what,
            evidence=evidence,
            fix="start the stack on that node (`systemctl start corosync pacemaker`) or ask another node",
        )
        self.code = code


def parse_crm_mon(xml_text: str) -> ClusterStatus:
    """Read crm_mon's XML; raise CrmMonFailed when crm_mon says it could not see the cluster."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise HalabError(f"crm_mon output is not XML ({error})", evidence=_head(xml_text), fix=_FIX) from None
    if root.tag not in _ROOTS:
        raise HalabError(
            f"this XML is not crm_mon's: its root is <{root.tag}>, not <pacemaker-result>",
            evidence=_head(xml_text),
            fix=_FIX,
        )
    summary = root.find("summary")
    if summary is None:
        raise _failed(root, xml_text)
    dc, quorate = None, False
    current_dc = summary.find("current_dc")
    if current_dc is not None and _flag(current_dc, "present"):
        dc, quorate = current_dc.get("name"), _flag(current_dc, "with_quorum")
    return ClusterStatus(
        dc=dc,
        quorate=quorate,
        nodes=tuple(_node(element) for element in root.findall("nodes/node")),
        resources=tuple(_resources(root.find("resources"), group=None, clone=None)),
        fail_counts=tuple(
            FailCount(node.get("name", ""), history.get("id", ""), parse_score(history.get("fail-count", "0")))
            for node in root.findall("node_history/node")
            for history in node.findall("resource_history")
            if history.get("fail-count") is not None
        ),
        failed_actions=tuple(_failure(element) for element in root.findall("failures/failure")),
    )


def _failed(root: ET.Element, xml_text: str) -> CrmMonFailed:
    status = root.find("status")
    code = _int(status.get("code")) if status is not None else None
    message = status.get("message", "") if status is not None else ""
    errors = [e.text or "" for e in root.iter("error")]
    pacemakerd = root.find("pacemakerd")  # present while pacemaker starts or stops
    if pacemakerd is not None:
        errors.insert(0, f"pacemakerd is {pacemakerd.get('state', 'in an unknown state')}")
    return CrmMonFailed(
        f"crm_mon could not read the cluster: {'; '.join(errors) or message or 'no cluster summary'}"
        + (f" (exit {code}, {message})" if code else ""),
        code=code,
        evidence=_head(xml_text),
    )


def _node(element: ET.Element) -> NodeStatus:
    return NodeStatus(
        name=element.get("name", ""),
        online=_flag(element, "online"),
        standby=_flag(element, "standby"),
        unclean=_flag(element, "unclean"),
        maintenance=_flag(element, "maintenance"),
        is_dc=_flag(element, "is_dc"),
        resources_running=_int(element.get("resources_running")) or 0,
    )


def parse_resources(parent: ET.Element | None) -> tuple[ResourceStatus, ...]:
    """The primitives of a <resources> element, wherever it sits (crm_mon's, crm_simulate's)."""
    return tuple(_resources(parent, group=None, clone=None))


def _resources(parent: ET.Element | None, *, group: str | None, clone: str | None) -> list[ResourceStatus]:
    """Flatten groups, clones and bundles (whose members sit in <replica>) into primitives."""
    out: list[ResourceStatus] = []
    for element in parent if parent is not None else ():
        if element.tag == "resource":
            out.append(
                ResourceStatus(
                    id=element.get("id", ""),
                    agent=element.get("resource_agent", ""),
                    role=element.get("role", ""),
                    active=_flag(element, "active"),
                    failed=_flag(element, "failed"),
                    managed=_flag(element, "managed"),
                    nodes=tuple(node.get("name", "") for node in element.findall("node")),
                    group=group,
                    clone=clone,
                )
            )
        elif element.tag == "group":
            # a group cloned shows once per instance, as "id:0", "id:1"...
            out += _resources(element, group=element.get("id", "").partition(":")[0], clone=clone)
        elif element.tag in ("clone", "bundle"):
            out += _resources(element, group=group, clone=element.get("id"))
        elif element.tag == "replica":
            out += _resources(element, group=group, clone=clone)
    return out


def _failure(element: ET.Element) -> FailedAction:
    """One <failure>; its op_key is "<resource>_<task>_<interval ms>", and resource ids may hold "_"."""
    key = element.get("op_key") or element.get("id") or ""
    task, interval = element.get("task"), element.get("interval")
    if task is None or interval is None:  # older output: only the key, split at its last two "_"
        resource, _, rest = key.rpartition("_")
        resource, _, task = resource.rpartition("_")
        interval = rest
    else:
        resource = key.removesuffix(f"_{task}_{interval}")
    return FailedAction(
        resource=resource,
        operation=task,
        node=element.get("node", ""),
        exit_reason=element.get("exitreason", ""),
        status=element.get("status", ""),
        exit_status=element.get("exitstatus", ""),
        exit_code=_int(element.get("exitcode")) or 0,
        interval_ms=_int(interval) or 0,
    )


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(name, "false").lower() == "true"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _head(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[:lines]) or "(empty output)"
