"""What a batch has graded so far, one small JSON file per archive in the output folder, so that
a batch stopped at minute 47 loses nothing and `halab grade FOLDER --resume` grades only what is
new or changed: an entry counts only for the same archive bytes and the same rubric bytes.

    ledger = Ledger(out)
    done = ledger.find(archive, rubric)     # the earlier Outcome, or None
    ledger.keep(outcome, archive_digest, rubric_path)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halab.errors import HalabError
from halab.grading.results import CheckResult
from halab.grading.rubric import load_rubric
from halab.grading.score import score
from halab.grading.session import GradingRun
from halab.masking import NONE, secrets_of_lab, write_private
from halab.plan import load_plan

if TYPE_CHECKING:
    from halab.submissions.batch import Outcome

FOLDER = ".halab-graded"
FORMAT = 1


def digest(path: Path) -> str:
    """SHA-256 of a regular file's bytes (an archive is at most a few MiB: read_archive caps it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Ledger:
    def __init__(self, out: Path) -> None:
        self.folder = out / FOLDER

    def _entry(self, archive: Path) -> Path:
        return self.folder / f"{archive.name}.json"

    def keep(self, outcome: "Outcome", rubric: Path | None) -> None:
        """Record a graded or failed outcome (refusals are cheap to find again: they are not kept)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        run = outcome.run
        record: dict[str, Any] = {
            "format": FORMAT, "archive_sha256": digest(outcome.archive),
            "rubric": str(rubric) if rubric else None, "rubric_sha256": digest(rubric) if rubric else None,
            "student": outcome.student, "variant": outcome.variant, "state": outcome.state, "reason": outcome.reason,
            "notes": list(outcome.notes), "duration_s": outcome.duration_s,
            "lab": run.lab if run else None, "results": [asdict(r) for r in run.results] if run else None,
            "timelines": run.timelines if run else None,
        }
        entry = self._entry(outcome.archive)
        temporary = entry.with_suffix(".tmp")
        write_private(temporary, json.dumps(record), secrets_of_lab(outcome.variant) if outcome.variant else NONE)
        temporary.replace(entry)

    def find(self, archive: Path, rubric: Path) -> "Outcome | None":
        """The earlier outcome of this very archive under this very rubric, else None."""
        entry = self._entry(archive)
        try:
            record = json.loads(entry.read_text())
        except (OSError, ValueError):
            return None
        if (not isinstance(record, dict) or record.get("format") != FORMAT
                or record.get("archive_sha256") != digest(archive) or record.get("rubric_sha256") != digest(rubric)):
            return None
        return _outcome(record, archive, rubric)

    def outcomes(self) -> list["Outcome"]:
        """Every outcome kept here, graded again from its results under the rubric it names
        (`halab grade merge`: the archives themselves stay on the runners)."""
        found = []
        for entry in sorted(self.folder.glob("*.json")):
            try:
                record = json.loads(entry.read_text())
            except (OSError, ValueError) as error:
                raise HalabError(f"{entry} is not a record halab wrote ({error})", fix="grade that shard again") from None
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                raise HalabError(f"{entry} is not a record of this halab (format {FORMAT})", fix="grade that shard again")
            rubric = _same_rubric(record)
            found.append(_outcome(record, Path(entry.name.removesuffix(".json")), rubric))
        return found


def _same_rubric(record: dict[str, Any]) -> Path | None:
    """The rubric a record was graded with, byte for byte: at its recorded path, or the lab's
    bundled one (another runner's checkout may sit elsewhere)."""
    if not record.get("rubric"):
        return None
    for candidate in (Path(record["rubric"]), load_plan(record["variant"]).folder / "rubric.yaml"):
        if candidate.is_file() and digest(candidate) == record["rubric_sha256"]:
            return candidate
    raise HalabError(f"{record['student']} was graded with {record['rubric']}, which is not here as it was (same bytes)",
                     fix="merge where that rubric is, unchanged")


def _outcome(record: dict[str, Any], archive: Path, rubric: Path | None) -> "Outcome":
    from halab.submissions.batch import Outcome

    run = None
    if record["results"] is not None and rubric is not None:
        loaded = load_rubric(rubric)
        results = tuple(CheckResult(**{**r, "measures": tuple(tuple(m) for m in r["measures"])}) for r in record["results"])
        run = GradingRun(record["lab"], loaded, results, score(loaded, results), record["timelines"] or {})
    return Outcome(archive, record["student"], record["variant"], record["state"], record["reason"], run,
                   tuple(record["notes"]), record["duration_s"])
