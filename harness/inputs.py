"""The few rules every file a person hands halab is held to, stated once: a text file is a UTF-8
regular file of a sane size (never a FIFO or a device, which would block or never end), a number
of seconds is finite, positive and bounded, a path named in a lab stays inside the lab's folder,
and things that must differ (names, addresses, MACs) do. Each refusal is one line: the file, the
key, the value and what is allowed.

    read_text(Path("labs/pcs/plan.toml"), "lab plan")      # str, or one line: not UTF-8, a FIFO...
    seconds("nan", "lab.md:12: timeout")                    # refused: finite, > 0, at most 24 h
    inside(Path("labs/pcs"), "../../etc/passwd", "plan.toml: document")   # refused: leads out
    unique([("nodes[0].mac", "node1", m1), ("nodes[1].mac", "node2", m1)], "plan.toml",
           "every node needs its own MAC")                  # refused: ... is already node1's
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Iterable

from halab.errors import HalabError

DAY_S = 24 * 3600.0  # no wait, timeout or budget of a lab is longer than a day
TEXT_LIMIT = 4 * 2**20  # a plan, a document, a rubric or a scenarios file is far smaller


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: Path) -> int:
    """A file descriptor on `path`, opened only once it is known to be a regular file: a FIFO,
    socket or device is refused by its stat, never opened (opening a FIFO blocks), and the check
    is made again on the descriptor (O_NONBLOCK, so a FIFO swapped in between cannot block)."""
    try:
        kind = path.stat().st_mode
    except OSError as error:
        raise HalabError(f"{path}: cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(kind):
        raise HalabError(f"{path} is {file_kind(kind)}, not a regular file", fix="give the path of a plain file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        raise HalabError(f"{path}: cannot be read ({error.strerror})") from None
    opened = os.fstat(fd).st_mode
    if not stat.S_ISREG(opened):
        os.close(fd)
        raise HalabError(f"{path} is {file_kind(opened)}, not a regular file", fix="give the path of a plain file")
    return fd


def read_text(path: Path, what: str, limit: int = TEXT_LIMIT) -> str:
    """The text of a regular UTF-8 file, at most `limit` bytes; `what` names it (lab plan, rubric)."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise HalabError(f"the {what} {path} is larger than {limit // 2**20} MiB", fix="give the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise HalabError(f"the {what} {path} is not UTF-8 text (line {line}, byte {error.start}: "
                         f"{data[error.start:error.start + 1]!r})",
                         fix="save it as UTF-8 text (a binary file is not a lab file)") from None


def seconds(value: object, where: str, *, maximum: float = DAY_S, zero: bool = False, written: bool = False) -> float:
    """A number of seconds: a finite number above 0 (or 0 itself when `zero`), at most `maximum`.
    `where` says the file and key; text is read as a number only when `written` (a document's
    `timeout=30`): in TOML or YAML, "30" in quotes is text, not a number."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and written:
        try:
            number = float(value)
        except ValueError:
            number = None
    low = "0 or more" if zero else "more than 0"
    if number is None or not math.isfinite(number) or number < 0 or (number == 0 and not zero) or number > maximum:
        raise HalabError(f"{where} = {value!r} is not a number of seconds: it must be finite, {low}, "
                         f"and at most {maximum:g} ({maximum / 3600:g} h)", fix=f"write e.g. {where.rsplit(' ', 1)[-1]} = 30")
    return number


def number(value: object, where: str, low: float, high: float) -> float:
    """A finite number from `low` to `high` (points, credits, multiples of a budget)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise HalabError(f"{where} = {value!r}: must be a number from {low:g} to {high:g}")
    return float(value)


def text(value: object, where: str) -> str:
    """A string value (TOML or YAML may hold a number or a table where text was meant)."""
    if not isinstance(value, str):
        raise HalabError(f"{where} = {value!r} is {_type_name(value)}; it must be text in quotes, e.g. \"node1\"")
    return value


def inside(folder: Path, relative: str, where: str) -> Path:
    """`relative` resolved against `folder`, refused when it leads out of it (`..`, an absolute
    path, a symbolic link pointing elsewhere)."""
    base = folder.resolve()
    target = (base / relative).resolve()
    if Path(relative).is_absolute() or not target.is_relative_to(base):
        raise HalabError(f"{where} = {relative!r} leads out of the lab's folder {folder}",
                         fix="name a file inside the lab's folder, e.g. lab.md")
    return target


def unique(entries: Iterable[tuple[str, str, str]], where: str, rule: str) -> None:
    """(key, holder, value) entries whose values must all differ; the second holder of a value
    is named with the first: "plan.toml: nodes[1].mac = '52:..' is already node1's; every node
    needs its own MAC"."""
    seen: dict[str, str] = {}
    prefix = f"{where}: " if where else ""
    for key, holder, value in entries:
        if value in seen:
            raise HalabError(f"{prefix}{key} = {value!r} is already {seen[value]}'s; {rule}",
                             fix="give each its own value")
        seen[value] = holder


def _type_name(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", dict: "a table", list: "a list"}.get(
        type(value), type(value).__name__)
