"""README's "Python API" stays true: the example that needs no lab runs as written (on a recorded
report), and every `api.` call of the others exists in halab.api and binds to its signature."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
from pathlib import Path

import pytest

from graded_runs import with_failures
from halab import api
from halab.report.grade_reports import write_grade_reports

README = Path(__file__).parents[2] / "README.md"
NEEDS_NO_LAB = {"read_report"}


def examples() -> list[str]:
    section = README.read_text().split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def api_calls(code: str) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "api"]


def test_every_function_of_the_api_has_an_example() -> None:
    shown = {call.func.attr for code in examples() for call in api_calls(code)}  # type: ignore[attr-defined]
    functions = {name for name in api.__all__ if inspect.isfunction(getattr(api, name))}
    assert functions == shown, f"README lacks an example of {functions - shown}, or shows {shown - functions}"
    assert all(inspect.getdoc(getattr(api, name)) for name in functions)


@pytest.mark.parametrize("code", examples())
def test_each_call_binds_to_the_signature(code: str) -> None:
    for call in api_calls(code):
        function = getattr(api, call.func.attr)  # type: ignore[attr-defined]
        inspect.signature(function).bind(*call.args, **{k.arg: k.value for k in call.keywords if k.arg})


def test_the_example_without_a_lab_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (code,) = [c for c in examples() if {call.func.attr for call in api_calls(c)} <= NEEDS_NO_LAB]  # type: ignore[attr-defined]
    write_grade_reports(tmp_path / "reports", "alice.martin", with_failures())
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[0] == "alice.martin: 8 / 12 points (66.7 %)"
    assert "  apache-disabled-at-boot: Apache starts at boot on node2 (fix: systemctl disable apache2 (on node2))" in lines


def test_a_file_that_is_not_a_report_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"student": "a"}')
    with pytest.raises(api.HalabError, match=r"x.json is not a report halab wrote \(KeyError"):
        api.read_report(tmp_path / "x.json")
