from pathlib import Path

import pytest

from harness.errors import HalabError
from harness.grading.results import CheckResult
from harness.grading.rubric import load_rubric
from harness.grading.score import score

RUBRIC = """lab: pcs
checks:
  - id: vip-serves
    points: 2
  - id: apache-disabled-at-boot
    points: 2
  - id: stonith-policy
    points: 1
    with: {stonith_enabled: false}
  - id: fault-power-off
    points: 4
    requires: [vip-serves]
    partial: [{downtime_within: 2, credit: 0.5}, {downtime_within: 1, credit: 1.0}]
  - id: fault-cut-link
    points: 1
    hidden: true
  - id: authkeys-private
    points: 1
"""
KNOWN = ("vip-serves", "apache-disabled-at-boot", "stonith-policy", "fault-power-off", "fault-cut-link", "authkeys-private")


def rubric(tmp_path: Path, text: str = RUBRIC, known: tuple[str, ...] | None = KNOWN):  # type: ignore[no-untyped-def]
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    return load_rubric(path, known)


def result(check: str, state: str, **more) -> CheckResult:  # type: ignore[no-untyped-def]
    return CheckResult(check, check, state, **more)


def test_a_rubric_loads_with_parameters_partial_credit_and_hidden_items(tmp_path: Path) -> None:
    loaded = rubric(tmp_path)
    assert loaded.total == 11
    assert dict(loaded.item("stonith-policy").params) == {"stonith_enabled": False}
    assert [p.downtime_within for p in loaded.item("fault-power-off").partial] == [1.0, 2.0]
    assert "fault-cut-link" not in [i.id for i in loaded.visible().items]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("points: 1\n    with", "points: -1\n    with"), r"rubric.yaml:7: stonith-policy: points must be a number >= 0"),
        (("    hidden: true", "    hiden: true"), r"rubric.yaml:14: unknown key hiden"),
        (("requires: [vip-serves]", "requires: [vip-answers]"), r"rubric.yaml:10: fault-power-off requires vip-answers"),
        (("  - id: authkeys-private", "  - id: authkeys-privat"), r"rubric.yaml:17: there is no check called authkeys-privat"),
        (("credit: 0.5", "credit: 5"), r"between 0 and 1"),
        (("lab: pcs\nchecks:", "lab: pcs\nchecks:\n  - id: [unclosed"), r"rubric.yaml:4: not valid YAML"),
        (("checks:", "check:"), r"needs a `checks:` list"),
    ],
)
def test_malformed_rubrics_are_refused_with_line_and_reason(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in RUBRIC
    with pytest.raises(HalabError, match=message):
        rubric(tmp_path, RUBRIC.replace(*change))


def test_scores_three_states_partial_credit_and_dependencies(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [
        result("vip-serves", "passed"),
        result("apache-disabled-at-boot", "failed", message="Apache starts at boot on node1"),
        result("stonith-policy", "error", message="could not observe: node2 could not be reached"),
        result("fault-power-off", "failed", measures=(("downtime_ratio", 1.4),)),
        result("fault-cut-link", "passed"),
        result("authkeys-private", "not-applicable", message="not a heartbeat lab (pacemaker)"),
    ])
    states = {s.item.id: (s.state, s.awarded) for s in grade.items}
    assert states == {
        "vip-serves": ("passed", 2), "apache-disabled-at-boot": ("failed", 0), "stonith-policy": ("ungraded", 0),
        "fault-power-off": ("failed", 2.0), "fault-cut-link": ("passed", 1), "authkeys-private": ("not-applicable", 0),
    }
    # The error is not counted against the student, and the variant's not-applicable item is left out.
    assert (grade.awarded, grade.total, grade.ungraded_points) == (5.0, 9.0, 1.0)
    assert "1 more could not be graded" in grade.summary


def test_no_points_when_a_requirement_failed(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [result("vip-serves", "failed"), result("fault-power-off", "passed",
                                                                          measures=(("downtime_ratio", 0.5),))])
    power = next(s for s in grade.items if s.item.id == "fault-power-off")
    assert power.awarded == 0 and "depends on vip-serves" in power.note
    missing = next(s for s in grade.items if s.item.id == "fault-cut-link")
    assert missing.state == "ungraded" and missing.note == "the check did not run"
