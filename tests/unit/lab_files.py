"""A lab folder of a test's own: a plan (the pcs lab's unless given) and a one-step document,
for the tests that feed the plan reader a changed plan."""

from __future__ import annotations

from pathlib import Path

PCS_PLAN = (Path(__file__).parents[2] / "labs/pcs/plan.toml").read_text()
ONE_STEP = b"```sh on=all\ntrue\n```\n"


def write_lab(tmp_path: Path, plan: str = PCS_PLAN, document: bytes = ONE_STEP) -> Path:
    folder = tmp_path / "lab"
    folder.mkdir(exist_ok=True)
    (folder / "plan.toml").write_text(plan)
    (folder / "lab.md").write_bytes(document)
    return folder
