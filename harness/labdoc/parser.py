"""Read a lab document: fenced blocks whose info string carries `on=` (a shell step) or
`file=` (a file step) are steps; every other block and all prose are for the reader only.

    ```sh on=all timeout=120          a shell script, run as root on every node at once
    ```sh on=node1 fails="not valid"  a script that must fail, saying this
    ```sh on=node1 stdin="secret"     its standard input: answers to prompts (\\n between lines)
    ```stdin                          right after a shell block: its standard input, line by line
    ```sh on=node1 interrupt=5        a command that never ends (crm_mon, tail -f): run 5 s, then
                                      Ctrl-C (SIGINT); it passes if it was still running, or had
                                      ended by itself with status 0
    ```sh on=all paste                run line by line as if pasted into a shell: a failing line
                                      does not stop the block, the step passes and names the lines
    ```sh on=node2 reboot             the block reboots the node (a block ending in `reboot`,
                                      `systemctl reboot` or `shutdown -r now` does so as well):
                                      the step waits, within its timeout, for the node to be back
    ```html file=/var/www/html/index.html on=node1 mode=0644
    ```expect                         what must hold, one sentence a line (see sentences.py)

The info string's first word stays a language, so GitHub and GitLab render the block as usual.
A mistake is refused with the document's line number and the fix.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from halab.errors import HalabError
from halab.inputs import DAY_S, read_text, seconds
from halab.labdoc.sentences import EXAMPLES, Expectation, UnknownSentence, read_sentence

if TYPE_CHECKING:
    from halab.plan import LabPlan

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
KNOWN_KEYS = {"on", "file", "mode", "timeout", "fails", "stdin", "interrupt"}
FLAGS = {"paste", "reboot"}  # keys written alone, without a value
DEFAULT_TIMEOUT_S = 120.0
# A block whose last line is one of these reboots its node, as the sheet says.
REBOOT_LINE = re.compile(r"^(sudo\s+)?(reboot|systemctl\s+reboot|shutdown\s+-r(\s+now)?)\s*$")
# Keys that make no sense together: the pair, and why.
CLASHES = {
    ("interrupt", "paste"): "a pasted block runs to its end",
    ("interrupt", "reboot"): "a reboot ends by itself",
    ("fails", "paste"): "a pasted block goes on after a failing line",
    ("fails", "reboot"): "a reboot step passes when the node is back",
    ("fails", "interrupt"): "an interrupted command passes when it was still running",
}


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
    stdin: str | None = None  # what the script reads on its standard input
    interrupt_s: float | None = None  # run this long, then SIGINT
    paste: bool = False
    reboot: bool = False

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


def parse_document(path: Path, node_names: tuple[str, ...], others: tuple[str, ...] = ()) -> LabDocument:
    """Parse a document; any mistake is refused with its line number and the fix. `others`: the
    lab's further machines a step may name (`on=router` when the plan makes it a node); `on=all`
    and the expect sentences stay the cluster's nodes."""
    return parse_text(read_text(path, "lab document"), path, node_names, others)


def parse_lab_document(plan: LabPlan, path: Path | None = None) -> LabDocument:
    """The plan's document (or `path`), whose steps may name the nodes and the plan's other
    machines (the router when it is a node): the one way every caller reads a lab's document."""
    return parse_document(path or plan.document, plan.node_names, plan.machine_names[len(plan.node_names):])


def parse_text(text: str, source: Path, node_names: tuple[str, ...], others: tuple[str, ...] = ()) -> LabDocument:
    lines = text.splitlines()
    title, heading = source.stem, "(start)"
    steps: list[Step] = []
    index = 0
    last_block_end = -2  # the line after the last step's closing fence (a ```stdin block must follow it)
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
        text_of_block = "\n".join(body) + "\n"
        if fence.group("info").strip() == "stdin":
            follows = last_block_end >= 0 and not any(lines[i].strip() for i in range(last_block_end, opening - 1))
            if not follows or steps[-1].kind != "shell":
                _refuse(source, opening, "a ```stdin block must come right after the shell block that reads it",
                        "move it under its ```sh on=NODE block (blank lines between are fine)")
            steps[-1] = _with_stdin(steps[-1], text_of_block, source, opening)
            continue
        step = _step(fence.group("info"), text_of_block, source, opening, heading, len(steps) + 1, node_names,
                     others)
        if step:
            steps.append(step)
            last_block_end = index
    if not steps:
        raise HalabError(
            f"{source}: no steps found", fix="mark blocks to run with on=NODE (```sh on=node1) or file=PATH"
        )
    return LabDocument(source, title, tuple(steps))


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}


def _with_stdin(step: Step, text: str, source: Path, line: int) -> Step:
    if step.stdin is not None:
        _refuse(source, line, "this shell block already has its standard input", "keep either stdin= or the ```stdin block")
    return replace(step, stdin=text)


def _step(
    info: str, body: str, source: Path, line: int, heading: str, number: int, node_names: tuple[str, ...],
    others: tuple[str, ...] = (),
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
    flags = {word for word in words[1:] if "=" not in word}
    valued_flags = attributes.keys() & FLAGS
    if valued_flags:
        _refuse(source, line, f"{', '.join(sorted(valued_flags))} takes no value", "write the word alone, e.g. paste")
    unknown = (attributes.keys() - KNOWN_KEYS) | (flags - FLAGS)
    if unknown:
        _refuse(source, line, f"unknown attribute {', '.join(sorted(unknown))}",
                f"use only {', '.join(sorted(KNOWN_KEYS))} (key=value) and {', '.join(sorted(FLAGS))} (alone)")
    if "on" not in attributes:
        _refuse(source, line, "a file block must say where it goes", "add on=NODE (or on=all)")
    nodes = _nodes(attributes["on"], node_names, source, line, others)
    timeout = _seconds(attributes, "timeout", source, line)
    if "file" in attributes:
        return _file_step(attributes, flags, body, source, line, heading, number, nodes, timeout)
    if _last_line(body) and REBOOT_LINE.match(_last_line(body)):
        flags.add("reboot")
    used = attributes.keys() | flags
    for pair, why in CLASHES.items():
        if set(pair) <= used:
            _refuse(source, line, f"{pair[0]} and {pair[1]} cannot go together: {why}", f"keep one of {' and '.join(pair)}")
    interrupt = _seconds(attributes, "interrupt", source, line) if "interrupt" in attributes else None
    stdin = attributes["stdin"].replace("\\n", "\n").removesuffix("\n") + "\n" if "stdin" in attributes else None
    return Step(number, line, heading, "shell", nodes, body, timeout_s=timeout, fails=attributes.get("fails"),
                stdin=stdin, interrupt_s=interrupt, paste="paste" in flags, reboot="reboot" in flags)


def _file_step(
    attributes: dict[str, str], flags: set[str], body: str, source: Path, line: int, heading: str, number: int,
    nodes: tuple[str, ...], timeout: float,
) -> Step:
    misplaced = (attributes.keys() & {"fails", "stdin", "interrupt"}) | flags
    if misplaced:
        _refuse(source, line, f"{', '.join(sorted(misplaced))} belongs to shell blocks, not to a file block",
                "remove it, or make this a ```sh on=NODE block")
    path, mode = attributes["file"], attributes.get("mode", "0644")
    if not path.startswith("/"):
        _refuse(source, line, f"file={path} is not an absolute path", "write the full path, e.g. file=/etc/hosts")
    if not re.fullmatch(r"0?[0-7]{3}", mode):
        _refuse(source, line, f"mode={mode} is not an octal file mode", "write e.g. mode=0600")
    return Step(number, line, heading, "file", nodes, body, path, mode, timeout)


def _last_line(body: str) -> str:
    lines = [line.strip() for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines[-1] if lines else ""


def _expect_step(
    body: str, source: Path, line: int, heading: str, number: int, node_names: tuple[str, ...],
    attributes: dict[str, str],
) -> Step:
    expectations = []
    for offset, sentence in enumerate(body.splitlines(), start=1):
        if sentence.strip():
            try:
                expectations.append(read_sentence(sentence.strip(), node_names))
            except UnknownSentence as error:
                _refuse(source, line + offset, error.what, error.fix)
    if not expectations:
        _refuse(source, line, "this expect block is empty", "write one of: " + "; ".join(EXAMPLES))
    return Step(number, line, heading, "expect", (), body, timeout_s=_seconds(attributes, "timeout", source, line),
                expectations=tuple(expectations))


def _seconds(attributes: dict[str, str], key: str, source: Path, line: int) -> float:
    if key not in attributes:
        return DEFAULT_TIMEOUT_S
    try:
        return seconds(attributes[key], key, written=True)
    except HalabError:
        _refuse(source, line, f"{key}={attributes[key]} is not a number of seconds: it must be finite, more than 0 "
                f"and at most {DAY_S:g} ({DAY_S / 3600:g} h)", f"write e.g. {key}=30")


def _nodes(value: str, node_names: tuple[str, ...], source: Path, line: int,
           others: tuple[str, ...] = ()) -> tuple[str, ...]:
    if value == "all":
        return node_names
    nodes = tuple(value.split(","))
    unknown = [n for n in nodes if n not in (*node_names, *others)]
    if unknown:
        _refuse(source, line, f"on={value} names no node of this lab: {', '.join(unknown)}",
                f"use all or one of {', '.join((*node_names, *others))}")
    return nodes


def _refuse(source: Path, line: int, what: str, fix: str) -> NoReturn:
    raise HalabError(f"{source}:{line}: {what}", fix=fix)
