"""One line on the likely cause of a failed step, from halab/labdoc/hints.toml: judged from
what happened (the command's output and exit status), never from the step's own text."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HINTS = Path(__file__).with_name("hints.toml")


@dataclass(frozen=True)
class Hint:
    pattern: re.Pattern[str] | None
    status: int | None
    why: str

    def matches(self, output: str, exit_status: int | None) -> bool:
        return ((self.pattern is None or bool(self.pattern.search(output)))
                and (self.status is None or self.status == exit_status))


@cache
def _hints() -> tuple[Hint, ...]:
    data = tomllib.loads(HINTS.read_text())
    return tuple(Hint(re.compile(h["pattern"], re.IGNORECASE) if "pattern" in h else None, h.get("status"), h["why"])
                 for h in data["hint"])


def likely_cause(output: str, exit_status: int | None = None) -> str | None:
    """The first hint whose pattern matches `output` and whose status (if it names one) is `exit_status`."""
    return next((hint.why for hint in _hints() if hint.matches(output, exit_status)), None)
