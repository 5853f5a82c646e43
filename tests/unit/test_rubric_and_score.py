from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.grading.results import CheckResult
from halab.grading.rubric import load_rubric
from halab.grading.score import score

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
        (("points: 1\n    with", "points: -1\n    with"), r"rubric.yaml:7: stonith-policy: points = -1: must be a number from 0 to 1000"),
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


def test_scores_four_states_partial_credit_and_dependencies(tmp_path: Path) -> None:
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
        "vip-serves": ("passed", 2), "apache-disabled-at-boot": ("failed", 0), "stonith-policy": ("not-observed", 0),
        "fault-power-off": ("failed", 2.0), "fault-cut-link": ("passed", 1), "authkeys-private": ("not-applicable", 0),
    }
    # What could not be observed stays in the total and makes the grade provisional; only the
    # variant's not-applicable item leaves it.
    assert (grade.awarded, grade.total, grade.unobserved_points, grade.provisional) == (5.0, 10.0, 1.0, True)
    assert grade.summary == ("provisional: 5 / 10 points (50.0 %); 1 points not observed "
                             "(could not observe: node2 could not be reached)")


def test_a_failed_prerequisite_fails_its_dependants_and_counts_them(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [
        result("vip-serves", "failed", message="nothing answers on http://192.168.56.100/"),
        # Whatever the fault check itself said (here: it could not observe), it was not tested.
        result("fault-power-off", "error", message="could not observe: gave up after 150 s"),
        result("apache-disabled-at-boot", "passed"), result("stonith-policy", "passed"),
        result("fault-cut-link", "passed"), result("authkeys-private", "passed"),
    ])
    power = next(s for s in grade.items if s.item.id == "fault-power-off")
    assert (power.state, power.awarded) == ("failed", 0)
    assert power.note == "not tested: vip-serves failed (nothing answers on http://192.168.56.100/)"
    assert (grade.awarded, grade.total, grade.provisional) == (5.0, 11.0, False)
    assert grade.summary == "5 / 11 points (45.5 %)"


def test_a_check_that_did_not_run_is_not_observed(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [result("vip-serves", "passed")])
    missing = next(s for s in grade.items if s.item.id == "fault-cut-link")
    assert missing.state == "not-observed" and missing.note == "the check did not run"
    assert grade.provisional and grade.total == 11


def test_an_unobserved_prerequisite_leaves_its_dependants_unobserved(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [result("vip-serves", "error", message="could not observe: no client namespace"),
                                     result("fault-power-off", "passed")])
    power = next(s for s in grade.items if s.item.id == "fault-power-off")
    assert power.state == "not-observed" and "depends on vip-serves" in power.note


def test_prerequisites_are_scored_first_wherever_they_are_listed(tmp_path: Path) -> None:
    text = RUBRIC.replace("  - id: vip-serves\n    points: 2\n", "") + "  - id: vip-serves\n    points: 2\n"
    loaded = rubric(tmp_path, text)
    ids = [i.id for i in loaded.items]
    assert ids.index("vip-serves") < ids.index("fault-power-off")
    grade = score(loaded, [result("vip-serves", "failed", message="no page"), result("fault-power-off", "passed")])
    assert next(s for s in grade.items if s.item.id == "fault-power-off").state == "failed"


def test_a_cycle_of_requires_is_one_clear_line(tmp_path: Path) -> None:
    text = RUBRIC.replace("  - id: vip-serves\n    points: 2\n", "  - id: vip-serves\n    points: 2\n    requires: [fault-power-off]\n")
    with pytest.raises(HalabError, match=r"rubric.yaml:\d+: requires: forms a cycle: .*vip-serves.*fault-power-off"):
        rubric(tmp_path, text)


def test_a_fault_failed_for_another_reason_earns_no_partial_credit(tmp_path: Path) -> None:
    grade = score(rubric(tmp_path), [result("vip-serves", "passed"),
                                     result("fault-power-off", "failed", message="did not recover",
                                            measures=(("downtime_ratio", 0.5),))])
    power = next(s for s in grade.items if s.item.id == "fault-power-off")
    assert (power.state, power.awarded, power.note) == ("failed", 0, "did not recover")
