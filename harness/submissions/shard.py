"""A class split over the jobs of a CI matrix, and the shards' outputs merged into one.

    halab grade subs/ --shard 3/20 -o out/3     # job 3 of 20 grades its share, writes out/3
    halab grade merge out/* -o class            # one gradebook and class summary for all

An archive's shard comes from a hash of its file name, not from its place in a sorted list:
adding or removing a student moves nobody else to another shard. Each shard writes
`shard.json` (which shard of how many, every archive name it saw, the ones it refused and why)
beside the ledger of what it graded (ledger.py); the merge checks that the shards are one
complete, non-overlapping split of the same folder before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Sequence

from halab.errors import HalabError
from halab.masking import write_private
from halab.submissions.ledger import Ledger

MANIFEST = "shard.json"


def parse_shard(text: str) -> tuple[int, int]:
    """'3/20' -> (3, 20): shard 3 of 20, counted from 1 as CI matrices count jobs."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found[1]) <= int(found[2]) <= 10000:
        raise HalabError(f"--shard {text!r} is not I/N with 1 <= I <= N", fix="e.g. --shard 3/20 (the job's index and the job count)")
    return int(found[1]), int(found[2])


def shard_of(archive_name: str, count: int) -> int:
    """The shard (1..count) an archive belongs to, from its name alone."""
    return int.from_bytes(hashlib.sha256(archive_name.encode()).digest()[:8], "big") % count + 1


def share(archives: Sequence[Path], index: int, count: int) -> list[Path]:
    return [archive for archive in archives if shard_of(archive.name, count) == index]


def write_manifest(out: Path, index: int, count: int, seen: Sequence[Path], refused: Sequence[tuple[str, str, str]]) -> None:
    """What this shard saw and refused (refusals are not in the ledger: they cost nothing to redo)."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"index": index, "count": count, "archives": sorted(a.name for a in seen),
                "refused": [{"archive": a, "student": s, "reason": r} for a, s, r in refused]}
    write_private(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")  # names students


def merge(folders: Sequence[Path], out: Path, id_column: str = "username") -> dict[str, Path]:
    """One gradebook and class summary from every shard's output, refusing a split that is
    incomplete, overlapping or made from different folders."""
    from halab.submissions.batch import Outcome, write_class_files

    manifests = [_manifest(folder) for folder in folders]
    counts = {m["count"] for m in manifests}
    if len(counts) != 1:
        raise HalabError("these shards come from different splits: " + ", ".join(
            f"{f} is {m['index']}/{m['count']}" for f, m in zip(folders, manifests)), fix="merge the outputs of one CI run")
    count = counts.pop()
    indices = sorted(m["index"] for m in manifests)
    twice = sorted({i for i in indices if indices.count(i) > 1})
    missing = sorted(set(range(1, count + 1)) - set(indices))
    if twice:
        raise HalabError(f"shard {', '.join(f'{i}/{count}' for i in twice)} given more than once",
                         fix="give each shard's output folder once")
    if missing:
        raise HalabError(f"shard {', '.join(f'{i}/{count}' for i in missing)} missing: the class would be incomplete",
                         fix="wait for those jobs (or grade them again), then merge every shard's folder")
    if len({tuple(m["archives"]) for m in manifests}) != 1:
        raise HalabError("the shards did not see the same folder of archives",
                         fix="run every job on the same submissions (e.g. one CI artifact), then merge")
    outcomes = [Outcome(Path(r["archive"]), r["student"], state="refused", reason=r["reason"])
                for m in manifests for r in m["refused"]]
    for folder in folders:
        outcomes += Ledger(folder).outcomes()
    outcomes.sort(key=lambda o: (o.student, o.archive.name))
    first: dict[str, str] = {}
    for outcome in outcomes:  # as one batch would: a second archive of a student is refused
        if outcome.state == "refused":
            continue
        if outcome.student in first:
            outcome.state, outcome.run = "refused", None
            outcome.reason = f"{outcome.student} already handed in {first[outcome.student]}"
        else:
            first[outcome.student] = outcome.archive.name
    return write_class_files(out, outcomes, id_column)


def _manifest(folder: Path) -> dict:  # type: ignore[type-arg]
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        int(manifest["index"]), int(manifest["count"]), list(manifest["archives"]), list(manifest["refused"])
    except FileNotFoundError:
        raise HalabError(f"{folder} holds no {MANIFEST}: it is not the output of `halab grade FOLDER --shard I/N`",
                         fix="give the -o folders of the shard jobs") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HalabError(f"{path} is not a shard manifest halab wrote ({error})", fix="grade that shard again") from None
    return manifest  # type: ignore[no-any-return]
