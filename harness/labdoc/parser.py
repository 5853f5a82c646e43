"""Read a lab document: fenced blocks whose info string carries `on=` (a shell step) or
`file=` (a file step) are steps; every other block and all prose are for the reader only.

    ```sh on=all timeout=120          a shell script, run as root on every node at once
    ```sh on=node1 fails="not valid"  a script that must fail, saying this
    ```html file=/var/www/html/index.html on=node1 mode=0644
    ```expect                         what must hold, one sentence a line (see EXPECTATIONS)

The info string's first word stays a language, so GitHub and GitLab render the block as usual.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from halab.errors import HalabError

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
KNOWN_KEYS = {"on", "file", "mode", "timeout", "fails"}
DEFAULT_TIMEOUT_S = 120.0
# The sentences an expect block understands, each with the check it names.
EXPECTATIONS = {
    "vip-serves": re.compile(r'^the VIP serves a page containing "(?P<text>[^"]+)"$', re.IGNORECASE),
    "online": re.compile(r"^nodes? online: (?P<nodes>[\w .,-]+)$", re.IGNORECASE),
}
EXPECTATION_FORMS = ('the VIP serves a page containing "TEXT"', "nodes online: NODE NODE")


@dataclass(frozen=True)
class Expectation:
    kind: str  # a key of EXPECTATIONS
    sentence: str
    text: str = ""
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    number: int
    line: int
    heading: str
    kind: str  # "shell", "file" or "expect"
    nodes: tuple[str, ...]
    body: str
    path: str | None = None
    mode: str = "0644"
    timeout_s: float = DEFAULT_TIMEOUT_S
    fails: str | None = None  # a shell step that must fail with this text in its output
    expectations: tuple[Expectation, ...] = ()

    @property
    def title(self) -> str:
        where = f" on {', '.join(self.nodes)}" if self.nodes else ""
        what = {"file": f"write {self.path}", "shell": "run a shell script", "expect": "check"}[self.kind]
        return f"step {self.number} (line {self.line}, '{self.heading}'): {what}{where}"


@dataclass(frozen=True)
class LabDocument:
    source: Path
    title: str
    steps: tuple[Step, ...]


def parse_document(path: Path, node_names: tuple[str, ...]) -> LabDocument:
    """Parse a document; any mistake is refused with its line number and the fix."""
    try:
        text = path.read_text()
    except OSError as error:
        raise HalabError(f"cannot read the lab document {path}: {error.strerror}") from None
    return parse_text(text, path, node_names)


def parse_text(text: str, source: Path, node_names: tuple[str, ...]) -> LabDocument:
    lines = text.splitlines()
    title, heading = source.stem, "(start)"
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if not fence:
            if match := HEADING.match(line):
                heading = match.group("title")
                if title == source.stem and line.startswith("# "):
                    title = heading
            index += 1
            continue
        opening = index + 1
        marker = fence.group("fence")
        body: list[str] = []
        index += 1
        while index < len(lines) and not _closes(lines[index], marker):
            body.append(lines[index])
            index += 1
        if index == len(lines):
            _refuse(source, opening, f"the block opened here with {marker} is never closed", f"add a line {marker}")
        index += 1
        step = _step(fence.group("info"), "\n".join(body) + "\n", source, opening, heading, len(steps) + 1, node_names)
        if step:
            steps.append(step)
    if not steps:
        raise HalabError(
            f"{source}: no steps found", fix="mark blocks to run with on=NODE (```sh on=node1) or file=PATH"
        )
    return LabDocument(source, title, tuple(steps))


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}


def _step(
    info: str, body: str, source: Path, line: int, heading: str, number: int, node_names: tuple[str, ...]
) -> Step | None:
    try:
        words = shlex.split(info)
    except ValueError as error:
        _refuse(source, line, f"cannot read the block's first line: {error}", "balance the quotes")
    attributes = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    if words and words[0] == "expect":
        return _expect_step(body, source, line, heading, number, node_names, attributes)
    if not attributes.keys() & {"on", "file"}:
        return None
    unknown = attributes.keys() - KNOWN_KEYS
    if unknown:
        _refuse(source, line, f"unknown attribute {', '.join(sorted(unknown))}", f"use only {', '.join(sorted(KNOWN_KEYS))}")
    if "on" not in attributes:
        _refuse(source, line, "a file block must say where it goes", "add on=NODE (or on=all)")
    nodes = _nodes(attributes["on"], node_names, source, line)
    timeout = _timeout(attributes, source, line)
    if "file" in attributes:
        path, mode = attributes["file"], attributes.get("mode", "0644")
        if not path.startswith("/"):
            _refuse(source, line, f"file={path} is not an absolute path", "write the full path, e.g. file=/etc/hosts")
        if not re.fullmatch(r"0?[0-7]{3}", mode):
            _refuse(source, line, f"mode={mode} is not an octal file mode", "write e.g. mode=0600")
        return Step(number, line, heading, "file", nodes, body, path, mode, timeout)
    return Step(number, line, heading, "shell", nodes, body, timeout_s=timeout, fails=attributes.get("fails"))


def _expect_step(
    body: str, source: Path, line: int, heading: str, number: int, node_names: tuple[str, ...],
    attributes: dict[str, str],
) -> Step:
    expectations = []
    for offset, sentence in enumerate(body.splitlines(), start=1):
        sentence = sentence.strip()
        if not sentence:
            continue
        for kind, form in EXPECTATIONS.items():
            if match := form.match(sentence):
                found = match.groupdict()
                nodes = tuple(re.split(r"[\s,]+", found.get("nodes", "").strip())) if "nodes" in found else ()
                unknown = [n for n in nodes if n not in node_names]
                if unknown:
                    _refuse(source, line + offset, f"{', '.join(unknown)} is no node of this lab",
                            f"use {', '.join(node_names)}")
                expectations.append(Expectation(kind, sentence, found.get("text", ""), nodes))
                break
        else:
            _refuse(source, line + offset, f"cannot understand the expectation {sentence!r}",
                    "write one of: " + "; ".join(EXPECTATION_FORMS))
    if not expectations:
        _refuse(source, line, "this expect block is empty", "write one of: " + "; ".join(EXPECTATION_FORMS))
    return Step(number, line, heading, "expect", (), body, timeout_s=_timeout(attributes, source, line),
                expectations=tuple(expectations))


def _timeout(attributes: dict[str, str], source: Path, line: int) -> float:
    try:
        return float(attributes.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError:
        _refuse(source, line, f"timeout={attributes['timeout']} is not a number of seconds", "write timeout=120")


def _nodes(value: str, node_names: tuple[str, ...], source: Path, line: int) -> tuple[str, ...]:
    if value == "all":
        return node_names
    nodes = tuple(value.split(","))
    unknown = [n for n in nodes if n not in node_names]
    if unknown:
        _refuse(source, line, f"on={value} names no node of this lab: {', '.join(unknown)}",
                f"use all or one of {', '.join(node_names)}")
    return nodes


def _refuse(source: Path, line: int, what: str, fix: str) -> NoReturn:
    raise HalabError(f"{source}:{line}: {what}", fix=fix)
