"""One line on the likely cause of a failed step, from harness/labdoc/hints.toml."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

HINTS = Path(__file__).with_name("hints.toml")


@cache
def _hints() -> tuple[tuple[re.Pattern[str], str], ...]:
    data = tomllib.loads(HINTS.read_text())
    return tuple((re.compile(h["pattern"], re.IGNORECASE), h["why"]) for h in data["hint"])


def likely_cause(output: str) -> str | None:
    for pattern, why in _hints():
        if pattern.search(output):
            return why
    return None
