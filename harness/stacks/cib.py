"""Read what a grader needs from Pacemaker's CIB (`cibadmin --query`): properties, resources,
groups, constraints and fencing devices. The crmsh and pcs labs produce the same CIB."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from halab.errors import HalabError


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: str  # class:provider:type, e.g. ocf:heartbeat:IPaddr2, or stonith:fence_xvm
    params: tuple[tuple[str, str], ...]
    group: str | None
    operations: tuple[tuple[str, str], ...] = ()  # (name, interval) of each op, e.g. ("monitor", "30s")

    def param(self, name: str) -> str | None:
        return dict(self.params).get(name)

    @property
    def monitored(self) -> bool:
        """Pacemaker checks this resource on a schedule (a monitor op with a non-zero interval)."""
        return any(name == "monitor" and interval.strip() not in ("", "0", "0s", "0ms") for name, interval in self.operations)


@dataclass(frozen=True)
class Constraint:
    kind: str  # rsc_colocation, rsc_order, rsc_location
    id: str
    resources: tuple[str, ...]  # colocation: (rsc, with-rsc); order: (first, then); location: (rsc,)
    score: str
    node: str = ""  # location constraints: the node the score is for ("" for rule-based ones)


@dataclass(frozen=True)
class Cib:
    properties: tuple[tuple[str, str], ...]
    primitives: tuple[Primitive, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    constraints: tuple[Constraint, ...]
    resource_defaults: tuple[tuple[str, str], ...] = ()  # rsc_defaults meta attributes
    meta: tuple[tuple[str, str, str], ...] = ()  # (resource id, name, value) of primitives and groups

    def option(self, name: str) -> str | None:
        """A cluster property (crm_config), e.g. stonith-enabled."""
        return dict(self.properties).get(name)

    def by_type(self, agent_type: str) -> tuple[Primitive, ...]:
        return tuple(p for p in self.primitives if p.agent.split(":")[-1] == agent_type)

    def meta_attribute(self, resource: str, name: str) -> str | None:
        """A resource's meta attribute as Pacemaker resolves it: its own, else its group's
        (members inherit them), else the resource default (rsc_defaults)."""
        own = {(r, n): v for r, n, v in self.meta}
        group = next((p.group for p in self.primitives if p.id == resource), None)
        for holder in (resource, group):
            if holder and (holder, name) in own:
                return own[(holder, name)]
        return dict(self.resource_defaults).get(name)

    @property
    def fencing_devices(self) -> tuple[Primitive, ...]:
        return tuple(p for p in self.primitives if p.agent.startswith("stonith:"))


def parse_cib(xml_text: str) -> Cib:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise HalabError(f"the CIB is not valid XML ({error})", evidence=xml_text[:400]) from None
    if root.tag != "cib":
        raise HalabError(f"expected a <cib> document, got <{root.tag}>", evidence=xml_text[:400])
    properties = tuple(
        (nv.get("name", ""), nv.get("value", ""))
        for props in root.iter("cluster_property_set") for nv in props.iter("nvpair")
    )
    groups, primitives, meta = [], [], []
    resources = root.find("configuration/resources")
    for element in resources if resources is not None else []:
        members = element.findall("primitive") if element.tag == "group" else [element] if element.tag == "primitive" else []
        if element.tag == "group":
            groups.append((element.get("id", ""), tuple(p.get("id", "") for p in members)))
        for owner in ([element] if element.tag == "group" else []) + members:
            meta.extend((owner.get("id", ""), nv.get("name", ""), nv.get("value", ""))
                        for attrs in owner.findall("meta_attributes") for nv in attrs.iter("nvpair"))
        for primitive in members:
            agent = ":".join(x for x in (primitive.get("class"), primitive.get("provider"), primitive.get("type")) if x)
            params = tuple(
                (nv.get("name", ""), nv.get("value", ""))
                for attrs in primitive.findall("instance_attributes") for nv in attrs.iter("nvpair")
            )
            operations = tuple((op.get("name", ""), op.get("interval", "0")) for op in primitive.iterfind("operations/op"))
            primitives.append(Primitive(primitive.get("id", ""), agent, params,
                                        element.get("id") if element.tag == "group" else None, operations))
    constraints = []
    found = root.find("configuration/constraints")
    for element in found if found is not None else []:
        keys = {"rsc_colocation": ("rsc", "with-rsc"), "rsc_order": ("first", "then"), "rsc_location": ("rsc",)}
        if element.tag in keys:
            constraints.append(Constraint(
                element.tag, element.get("id", ""), tuple(element.get(k, "") for k in keys[element.tag]),
                element.get("score", element.get("kind", "")), element.get("node", ""),
            ))
    defaults = tuple((nv.get("name", ""), nv.get("value", ""))
                     for attrs in root.findall("configuration/rsc_defaults/meta_attributes") for nv in attrs.iter("nvpair"))
    return Cib(properties, tuple(primitives), tuple(groups), tuple(constraints), defaults, tuple(meta))
