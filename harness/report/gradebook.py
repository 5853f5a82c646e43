"""The class's gradebook as Moodle's "Import grades from CSV" reads it: a header row, one row per
student, the first column the student's identifier (e-mail address, username or ID number:
mapped in Moodle with "Map from" -> "Map to"), then for each lab a grade column (points) and its
feedback column (the grade in words, "provisional: ..." when some points were not observed).
A second lab adds its two columns; grading a student again replaces their cells.

    update_gradebook(Path("reports/gradebook.csv"), "a.martin@school.fr", run, id_column="email")
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterable

from halab.errors import HalabError
from halab.masking import write_private
from halab.grading.session import GradingRun

# --id-column -> the header Moodle's own grade export gives that identifier.
ID_COLUMNS = {"email": "Email address", "username": "Username", "idnumber": "ID number"}
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


def lab_columns(variant: str) -> tuple[str, str]:
    return f"Lab {variant} (points)", f"Lab {variant} feedback"


def id_header(id_column: str) -> str:
    if id_column not in ID_COLUMNS:
        raise HalabError(f"--id-column {id_column!r} is not one Moodle maps", fix=f"use one of: {', '.join(ID_COLUMNS)}")
    return ID_COLUMNS[id_column]


def checked_id(student: str, id_column: str) -> str:
    """The identifier Moodle will look the student up by: an e-mail address must be one."""
    id_header(id_column)
    if id_column == "email" and not EMAIL.match(student):
        raise HalabError(f"student {student!r} is not an e-mail address, and the gradebook identifies students by e-mail",
                         fix="--student a.martin@school.fr, or --id-column username")
    return student


def update_gradebook(path: Path, student: str, run: GradingRun, id_column: str = "username") -> Path:
    """Put one student's grade for one lab in the gradebook at `path`, creating it, adding the
    lab's columns or the student's row as needed, replacing the cells of an earlier grade."""
    header, rows = _read(path, id_column)
    _put(header, rows, checked_id(student, id_column), run)
    return _write(path, header, rows)


def write_gradebook(path: Path, graded: Iterable[tuple[str, GradingRun]], id_column: str = "username") -> Path:
    """The whole gradebook of a batch, written anew (labs in name order, students in the order given)."""
    runs = list(graded)
    header = [id_header(id_column)]
    for variant in sorted({_variant(run) for _, run in runs}):
        header += lab_columns(variant)
    rows: dict[str, dict[str, str]] = {}
    for student, run in runs:
        _put(header, rows, checked_id(student, id_column), run)
    return _write(path, header, rows)


def _variant(run: GradingRun) -> str:
    return run.rubric.lab or run.lab


def _put(header: list[str], rows: dict[str, dict[str, str]], student: str, run: GradingRun) -> None:
    grade, (points, feedback) = run.grade, lab_columns(_variant(run))
    if points not in header:
        header += [points, feedback]
    rows.setdefault(student, {header[0]: student}).update({points: f"{grade.awarded:g}", feedback: grade.summary})


def _read(path: Path, id_column: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    wanted = id_header(id_column)
    if not path.exists():
        return [wanted], {}
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    header = list(reader.fieldnames or [wanted])
    if header[0] != wanted:
        raise HalabError(f"{path} identifies students by {header[0]!r}, not {wanted!r}",
                         fix="give the same --id-column as before, or another gradebook file")
    return header, {row[wanted]: row for row in reader}


def _write(path: Path, header: list[str], rows: dict[str, dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    write_private(temporary, out.getvalue())
    temporary.replace(path)  # a gradebook is never left half written
    return path
