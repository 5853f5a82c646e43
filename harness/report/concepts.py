"""What each check teaches and where the course says it (concepts.yaml, next to this module):
a student who lost a check is sent to the page of the seed document that explains it.

>>> concept_of("stonith-policy").section
'Fencing / STONITH'
>>> family_of("fault-power-off")
'faults'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

TABLE = Path(__file__).with_name("concepts.yaml")
DEFAULT_SEEDS = Path("/work/shared/seeds")


@dataclass(frozen=True)
class Concept:
    family: str  # nodes, service, corosync, pacemaker, heartbeat, faults
    concept: str
    seed: str  # a file of the seeds folder
    section: str
    line: int

    @property
    def href(self) -> str | None:
        """A file: link to the seed document, when the seeds folder is on this machine."""
        path = seeds_dir() / self.seed
        return path.as_uri() if path.is_file() else None


def seeds_dir() -> Path:
    """The course documents the labs come from (HALAB_SEEDS overrides)."""
    return Path(os.environ.get("HALAB_SEEDS", DEFAULT_SEEDS))


@cache
def _table() -> dict[str, Concept]:
    return {check: Concept(**entry) for check, entry in yaml.safe_load(TABLE.read_text()).items()}


def concept_of(check: str) -> Concept | None:
    return _table().get(check)


def family_of(check: str) -> str:
    """The check's family; for a check not in the table, `fault-*` is a fault, the rest `other`."""
    known = concept_of(check)
    return known.family if known else ("faults" if check.startswith("fault-") else "other")
