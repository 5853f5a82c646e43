"""The sentences an ```expect block understands, one a line, each read into an Expectation.

    nodes online: node1 node2
    node node2 is offline                     (online, offline, standby or in standby)
    resource virtual_ip runs on node1         (a primitive's id, or its group's)
    resources virtual_ip and WebService run on the same node   (or: on different nodes)
    the VIP serves a page containing "Serveur Master"
    the VIP does not answer
    the output of `pcs status` on node1 contains "Online: [ node1 node2 ]"   (or: does not contain)

Quoted text is matched as written (case and spaces count); words outside quotes are not case-sensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NODE = r"(?P<node>[\w.-]+)"
# The sentences, each with the kind of check it names.
FORMS: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern, re.IGNORECASE)
    for kind, pattern in {
        "vip-serves": r'^the VIP serves a page containing "(?P<text>[^"]+)"$',
        "vip-silent": r"^the VIP does not answer$",
        "online": r"^nodes? online: (?P<nodes>[\w .,-]+)$",
        "node-state": rf"^node {_NODE} is (?:in )?(?P<state>online|offline|standby)$",
        "runs-on": rf"^resource (?P<resource>[\w.:-]+) runs on {_NODE}$",
        "together": r"^resources (?P<resource>[\w.:-]+) and (?P<other>[\w.:-]+) run on (?P<state>the same node|different nodes)$",
        "output": rf'^the output of `(?P<command>[^`]+)` on {_NODE} (?P<state>contains|does not contain) "(?P<text>[^"]+)"$',
    }.items()
}
EXAMPLES = (
    "nodes online: NODE NODE", "node NODE is online|offline|standby", "resource R runs on NODE",
    "resources R and S run on the same node|different nodes", 'the VIP serves a page containing "TEXT"',
    "the VIP does not answer", 'the output of `COMMAND` on NODE contains|does not contain "TEXT"',
)


@dataclass(frozen=True)
class Expectation:
    kind: str  # a key of FORMS
    sentence: str
    text: str = ""
    nodes: tuple[str, ...] = ()  # the nodes the sentence names
    resources: tuple[str, ...] = ()
    state: str = ""  # online/offline/standby, same/different, contains/does not contain (lower case)
    command: str = ""


class UnknownSentence(ValueError):
    """A line no form matches, or one that names a node the lab does not have."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.what, self.fix = what, fix


# How the words of a sentence are kept in Expectation.state.
_STATES = {"the same node": "same", "different nodes": "different"}


def read_sentence(sentence: str, node_names: tuple[str, ...]) -> Expectation:
    for kind, form in FORMS.items():
        if match := form.match(sentence):
            found = match.groupdict()
            if "nodes" in found:
                nodes = tuple(re.split(r"[\s,]+", found["nodes"].strip()))
            else:
                nodes = (found["node"],) if "node" in found else ()
            unknown = [n for n in nodes if n not in node_names]
            if unknown:
                raise UnknownSentence(f"{', '.join(unknown)} is no node of this lab", f"use {', '.join(node_names)}")
            resources = tuple(found[key] for key in ("resource", "other") if found.get(key))
            state = (found.get("state") or "").lower()
            return Expectation(kind, sentence, found.get("text") or "", nodes, resources, _STATES.get(state, state),
                               found.get("command") or "")
    raise UnknownSentence(f"cannot understand the expectation {sentence!r}", "write one of: " + "; ".join(EXAMPLES))
