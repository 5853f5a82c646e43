"""halab installs as a package of its own: every Python package of the checkout is in the wheel's
list, under the import name halab, with the labs and checks it grades with."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_package_of_the_checkout_is_shipped() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {value: key for key, value in setuptools["package-dir"].items()}
    found = set()
    for init in [*(ROOT / "harness").rglob("__init__.py"), ROOT / "checks" / "__init__.py", ROOT / "labs" / "__init__.py"]:
        relative = init.parent.relative_to(ROOT)
        top, *rest = relative.parts
        found.add(".".join([folders[top], *rest]))
    assert found == set(setuptools["packages"]), "add to pyproject.toml: " + ", ".join(sorted(found - set(setuptools["packages"])))


def test_the_import_name_is_halab_and_the_bundled_labs_are_found_through_it() -> None:
    from halab.paths import CHECKS_DIR, labs_dir
    from halab.plan import available_labs

    assert {"pcs", "crmsh", "heartbeat"} <= set(available_labs())
    assert (CHECKS_DIR / "conftest.py").is_file() and (labs_dir() / "pcs" / "rubric.yaml").is_file()


def test_a_folder_of_the_current_directory_never_shadows_a_bundled_lab(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from halab.plan import load_plan

    (tmp_path / "pcs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_plan("pcs").folder.parent.name == "labs"


def test_no_two_test_modules_share_a_name() -> None:
    """pytest imports test modules by basename (no __init__.py): two with one name stop the run
    at collection, as a tests/unit and a tests/e2e test_three_nodes.py once did in CI."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
