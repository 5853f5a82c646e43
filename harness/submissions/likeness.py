"""Submissions that share what each student should have made for themselves: the same corosync
authkey, the same Heartbeat key, the same MAC address, or a CIB identical once node names are
set aside. Shown side by side for the teacher to look at; never a deduction by itself (two
students may follow the same sheet to the letter, or start from the same image).

    flags = likenesses({"alice": submission_a, "bob": submission_b})
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from halab.submissions.submission import AUTHKEYS, COROSYNC_AUTHKEY, Submission

# What changes on every commit or restart of the same configuration: not the student's work.
VOLATILE_ATTRIBUTES = {"epoch", "num_updates", "admin_epoch", "cib-last-written", "update-origin", "update-client",
                       "update-user", "have-quorum", "dc-uuid", "crm_feature_set", "validate-with", "execution-date"}
VOLATILE_OPTIONS = {"dc-version", "cluster-infrastructure", "cluster-name", "last-lrm-refresh"}
NOT_A_MAC = {"", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


@dataclass(frozen=True)
class Likeness:
    what: str  # "the same corosync authkey"
    students: tuple[str, ...]
    detail: str  # the shared value (a hash prefix, a MAC)


def likenesses(submissions: Mapping[str, Submission]) -> list[Likeness]:
    shared: dict[tuple[str, str], set[str]] = defaultdict(set)
    for student, submission in submissions.items():
        for what, value in fingerprints(submission):
            shared[(what, value)].add(student)
    return sorted((Likeness(what, tuple(sorted(students)), value) for (what, value), students in shared.items()
                   if len(students) > 1), key=lambda flag: (flag.what, flag.students))


def fingerprints(submission: Submission) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for node in submission.nodes:
        key = node.secret(COROSYNC_AUTHKEY)
        if key and key.sha256:
            found.add(("the same corosync authkey", f"sha256 {key.sha256[:12]}"))
        authkeys = node.file(AUTHKEYS)  # each key already replaced by its hash when collected
        if authkeys:
            found.add(("the same Heartbeat key (authkeys)", f"sha256 {hashlib.sha256(authkeys).hexdigest()[:12]}"))
        found.update(("the same MAC address", i.mac) for i in node.interfaces if i.mac not in NOT_A_MAC and i.name != "lo")
    cib = next((n.cib for n in submission.nodes if n.cib), None)
    if cib:
        found.add(("an identical CIB (node names aside)", f"sha256 {cib_fingerprint(cib, submission)[:12]}"))
    return found


def cib_fingerprint(cib: str, submission: Submission) -> str:
    """The CIB's configuration with node names and hostnames replaced by their place in the
    submission, volatile attributes and the status section left out, attributes sorted."""
    try:
        root = ET.fromstring(cib)
    except ET.ParseError:
        return hashlib.sha256(cib.encode()).hexdigest()
    names = {}
    for index, node in enumerate(submission.nodes, 1):
        names[node.name] = names[node.hostname] = f"node-{index}"
    for status in root.findall("status"):
        root.remove(status)
    for parent in root.iter():
        for child in list(parent):
            if child.tag == "nvpair" and child.get("name") in VOLATILE_OPTIONS:
                parent.remove(child)
    for element in root.iter():
        for attribute in VOLATILE_ATTRIBUTES & set(element.attrib):
            del element.attrib[attribute]
        for attribute, value in element.attrib.items():
            for name, placeholder in names.items():
                value = value.replace(name, placeholder)
            element.attrib[attribute] = value
    return hashlib.sha256(_canonical(root).encode()).hexdigest()


def _canonical(element: ET.Element) -> str:
    attributes = " ".join(f"{k}={v!r}" for k, v in sorted(element.attrib.items()))
    return f"<{element.tag} {attributes}>" + "".join(_canonical(child) for child in element) + f"</{element.tag}>"
