"""What CI reads from halab: the exit code (0 all passed, 1 some check or fault failed, 2 usage or
input error, 3 halab could not observe) and --json parsed back; and on a student's own machines
(SSH) nothing is checked, graded or broken unasked. Grading itself is replaced by recorded runs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import pytest

from graded_runs import full_marks, provisional, with_failures
from halab import lab as labs
from halab.cli import main
from halab.command import CommandTimeout
from halab.grading.session import GradingRun
from halab.plan import load_plan
from halab.settings import SETTINGS

LAB = "gr1"


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[str], GradingRun]], list[str]]:
    """A pcs lab on record (nothing runs), whose grading returns the recorded run given."""
    monkeypatch.setenv("HALAB_HOME", str(tmp_path / "state"))
    for setting in SETTINGS.values():  # what the CLI exports is undone after the test
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.chdir(tmp_path)
    inventory = tmp_path / "alice.yaml"  # a student's own VMs (nothing connects to them here)
    inventory.write_text("variant: pcs\nvip: 192.168.56.100\npassword: x\nnodes:\n"
                         "  - {name: node1, address: 192.168.56.10}\n  - {name: node2, address: 192.168.56.20}\n")
    plan = str(load_plan("pcs").folder / "plan.toml")
    labs.save_record(labs.LabRecord(LAB, plan, "local"))
    labs.save_record(labs.LabRecord("alice", plan, "ssh", {"inventory": str(inventory)}))
    monkeypatch.setattr("halab.run.run_faults", hangs)
    graded: list[str] = []

    def use(run: Callable[[str], GradingRun]) -> list[str]:
        def grade_lab(lab: str, rubric: Path, *, include_hidden: bool) -> GradingRun:
            graded.append(lab)
            return run(lab)

        monkeypatch.setattr("halab.grading.session.grade_lab", grade_lab)
        return graded

    return use


@pytest.mark.parametrize(("run", "code"), [(full_marks, 0), (with_failures, 1), (provisional, 3)])
def test_grade_json_is_the_report_record_and_the_exit_code_says_the_outcome(
    recorded: Callable[..., list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    run: Callable[[str], GradingRun], code: int,
) -> None:
    recorded(run)
    assert main(["grade", "--name", LAB, "--student", "ana", "--json", "-o", str(tmp_path / "out")]) == code
    record = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
    assert record["student"] == "ana" and record["lab"] == LAB and record["provisional"] == (code == 3)
    assert (record["awarded"] == record["total"]) == (code == 0)
    assert {item["state"] for item in record["items"]} >= {"passed"}
    assert json.loads(Path(record["reports"]["json"]).read_text())["items"] == record["items"]
    assert Path(record["reports"]["gradebook"]) == tmp_path / "out" / "gradebook.csv"


@pytest.mark.parametrize(("run", "code"), [(full_marks, 0), (with_failures, 1), (provisional, 3)])
def test_check_json_and_its_exit_code(recorded: Callable[..., list[str]], capsys: pytest.CaptureFixture[str],
                                      run: Callable[[str], GradingRun], code: int) -> None:
    recorded(run)
    assert main(["check", "--name", LAB, "--json"]) == code
    assert json.loads(capsys.readouterr().out)["lab"] == LAB


def test_usage_and_input_errors_exit_2(recorded: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["fault", "no-such-fault"])
    assert usage.value.code == 2
    assert main(["grade", "--name", "nosuch", "--student", "ana"]) == 2
    assert main(["grade", "--name", LAB]) == 2  # whose lab? --student is required
    assert "Traceback" not in capsys.readouterr().err


def hangs(backend: object, faults: list[str]) -> None:
    """A fault whose node stops answering mid-way."""
    raise CommandTimeout("on node1: `crm_mon -1` did not finish within 30 s")


def test_a_node_that_stops_answering_exits_3(recorded: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fault", "power-off", "--name", LAB]) == 3
    assert "did not finish within 30 s" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("command", "code"), [(["check"], 0), (["grade", "--student", "alice"], 0), (["fault", "cut-link"], 3)])
def test_a_students_own_machines_are_not_touched_unasked(
    recorded: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: list[str], code: int,
) -> None:
    graded = recorded(full_marks)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal (CI, a pipe): --yes is needed
    assert main([*command, "--name", "alice"]) == 2
    assert "halab does not" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))  # a terminal: asked, and answered no
    assert main([*command, "--name", "alice"]) == 2
    shown = capsys.readouterr()
    assert "lab alice is a student's own machines, reached over SSH" in shown.err and "[y/N]" in shown.err
    assert shown.out == "" and "stopped: nothing was done" in shown.err and graded == []

    assert main([*command, "--name", "alice", "--yes"]) == code  # asked nothing: graded, or the fault tried
    assert "[y/N]" not in capsys.readouterr().err and graded == ([] if command[0] == "fault" else ["alice"])


@pytest.mark.parametrize(("flag", "folder"), [([], "reports/subs"), (["-o", "class"], "class")])
def test_grade_a_folder_json_has_one_entry_per_submission(
    recorded: Callable[..., list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], flag: list[str], folder: str,
) -> None:
    from halab.submissions import Outcome

    (tmp_path / "subs").mkdir()
    for name in ("ana.tar.gz", "bo.tar.gz"):
        (tmp_path / "subs" / name).write_bytes(b"")
    seen: list[Path] = []

    def grade_batch(archives: list[Path], out: Path, **_: object) -> list[Outcome]:
        seen.append(out)
        return [Outcome(tmp_path / "subs/ana.tar.gz", "ana", "pcs", "graded", run=with_failures()),
                Outcome(tmp_path / "subs/bo.tar.gz", "bo", state="refused", reason="bo.tar.gz: not a gzip file")]

    monkeypatch.setattr("halab.submissions.grade_batch", grade_batch)
    monkeypatch.setattr("halab.backends.local.backend.require_privileges", lambda: None)
    assert main(["grade", "subs", "--json", *flag]) == 1  # a failed check, a refused archive
    shown = json.loads(capsys.readouterr().out)
    assert seen == [tmp_path / folder] and shown["gradebook"] == str(tmp_path / folder / "gradebook.csv")
    ana, bo = shown["submissions"]
    assert (ana["student"], ana["state"], ana["awarded"], ana["total"]) == ("ana", "graded", 8, 12)
    assert (bo["state"], bo["grade"], bo["reason"]) == ("refused", None, "bo.tar.gz: not a gzip file")


def test_merge_needs_its_output_folder(recorded: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "merge", "out/1", "out/2"]) == 2
    assert "halab grade merge out/1 out/2 ... -o class" in capsys.readouterr().err


def test_exec_reads_a_pipe_that_gives_something_and_never_waits_on_an_idle_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A script or CI job whose standard input is an open, idle pipe must not hang `halab exec`."""
    import os
    import sys

    from halab.cli import _given_stdin

    idle_read, idle_write = os.pipe()
    with os.fdopen(idle_read) as idle:
        monkeypatch.setattr(sys, "stdin", idle)
        assert _given_stdin(wait_s=0.1) is None
    os.close(idle_write)
    given_read, given_write = os.pipe()
    os.write(given_write, b"echo hi\n")
    os.close(given_write)
    with os.fdopen(given_read) as given:
        monkeypatch.setattr(sys, "stdin", given)
        assert _given_stdin(wait_s=0.1) == "echo hi\n"
