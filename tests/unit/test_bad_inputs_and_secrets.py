"""Issue 13: every bad input is one clear line before anything is touched (exit 2, no traceback),
a FIFO among submissions never blocks, and the lab's secrets never reach what halab writes."""

from __future__ import annotations

import base64
import dataclasses
import os
import signal
import socket
import stat
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from graded_runs import with_failures
from lab_files import PCS_PLAN as PLAN
from lab_files import write_lab as lab
from halab.cli import main
from halab.command import CommandResult
from halab.errors import HalabError
from halab.grading.rubric import load_rubric
from halab.grading.score import score
from halab.labdoc import StepFailed, parse_document, run_document
from halab.labdoc.parser import parse_text
from halab.masking import MASK, NODE_SECRETS_SCRIPT, Secrets, secrets_in_text, secrets_of_lab
from halab.plan import load_plan
from halab.report.grade_reports import write_grade_reports
from halab.report.gradebook import update_gradebook
from halab.report.junit import DocumentOutcome, write_junit
from halab.scenarios import load_scenarios
from halab.submissions.archive import ArchiveRefused, read_archive
from halab.submissions.batch import find_archives

LABS = Path(__file__).parents[2] / "labs"
NODES = ("node1", "node2")


@pytest.fixture(autouse=True)
def never_blocks() -> Iterator[None]:
    """A test that would block on a FIFO fails after 10 s instead of hanging the suite."""
    def stop(*_: object) -> None:
        raise TimeoutError("blocked: something opened a FIFO")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def refused(call, *args: object) -> str:  # type: ignore[no-untyped-def]
    """The one line a bad input gets: a HalabError whose message is a single line, nothing Python-like."""
    with pytest.raises(HalabError) as error:
        call(*args)
    what = error.value.what
    assert "\n" not in what and "Traceback" not in what
    assert not any(word in what for word in ("string indices", "object is not", "UnicodeDecodeError", "Errno"))
    return what


# --- files that are not UTF-8 text, or not regular files -------------------------------------------------

def test_a_binary_lab_document_is_one_line_not_a_unicode_error(tmp_path: Path) -> None:
    folder = lab(tmp_path, document=b"# Lab\n\x89PNG\r\n\x1a\n\xff\xfe")
    what = refused(parse_document, folder / "lab.md", NODES)
    assert "is not UTF-8 text (line 2" in what and "lab.md" in what


def test_a_binary_plan_is_one_line(tmp_path: Path) -> None:
    folder = lab(tmp_path)
    (folder / "plan.toml").write_bytes(b'title = "\xff\xfe"\n')
    assert "lab plan" in refused(load_plan, folder) and "not UTF-8" in refused(load_plan, folder)


@pytest.mark.parametrize("make", ["fifo", "folder"])
def test_a_plan_or_document_that_is_not_a_regular_file_is_refused_unopened(tmp_path: Path, make: str) -> None:
    folder = lab(tmp_path)
    (folder / "lab.md").unlink()
    os.mkfifo(folder / "lab.md") if make == "fifo" else (folder / "lab.md").mkdir()
    what = refused(parse_document, folder / "lab.md", NODES)
    assert ("a FIFO (named pipe), not a regular file" if make == "fifo" else "a folder, not a regular file") in what
    assert "not a regular file" in refused(load_plan, folder)  # the plan names this document


def test_a_rubric_that_is_a_fifo_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "rubric.yaml")
    assert "FIFO" in refused(load_rubric, tmp_path / "rubric.yaml")


# --- numbers of seconds: finite, positive, bounded -------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "0", "1e9", "soon", "90000"])
@pytest.mark.parametrize("key", ["timeout", "interrupt"])
def test_bad_seconds_in_a_step_are_refused_with_the_line(key: str, value: str) -> None:
    what = refused(parse_text, f"# Lab\n\n```sh on=node1 {key}={value}\ntrue\n```\n", Path("lab.md"), NODES)
    assert what.startswith(f"lab.md:3: {key}={value} is not a number of seconds") and "at most 86400" in what


def test_a_day_is_the_longest_timeout() -> None:
    step = parse_text("```sh on=node1 timeout=86400\ntrue\n```\n", Path("lab.md"), NODES).steps[0]
    assert step.timeout_s == 86400.0


@pytest.mark.parametrize("value", ["nan", "inf", "-1.0", "1e9", '"5"'])
def test_bad_seconds_in_a_plan_are_refused(tmp_path: Path, value: str) -> None:
    what = refused(load_plan, lab(tmp_path, PLAN.replace("start_allowance_s = 5.0", f"start_allowance_s = {value}")))
    assert "start_allowance_s = " in what and "is not a number of seconds" in what


@pytest.mark.parametrize(("old", "new", "message"), [
    ("points: 2\n", "points: .nan\n", "points = nan: must be a number from 0 to 1000"),
    ("points: 2\n", "points: .inf\n", "points = inf: must be a number from 0 to 1000"),
    ("downtime_within: 1,", "downtime_within: .nan,", "partial downtime_within = nan"),
    ("downtime_within: 1,", "downtime_within: -1,", "partial downtime_within = -1"),
    ("downtime_within: 1,", "downtime_within: '1',", "partial downtime_within = '1'"),
    ("downtime_within: 1,", "downtime_within: 0,", "must be more than 0"),
    ("  - id: fault-cut-link\n    points: 1\n    requires: [vip-serves]\n    hidden: true",
     "  - id: fault-cut-link\n    points: 1\n    requires: [vip-serves]\n    hidden: maybe", "hidden = 'maybe'"),
])
def test_bad_rubric_numbers_are_refused_with_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (LABS / "pcs/rubric.yaml").read_text()
    assert old in text
    (tmp_path / "rubric.yaml").write_text(text.replace(old, new, 1))
    what = refused(load_rubric, tmp_path / "rubric.yaml")
    assert what.startswith(f"{tmp_path / 'rubric.yaml'}:") and message in what


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e9"])
def test_bad_max_downtime_in_scenarios_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text(f'[[scenario]]\nid = "x"\n[[scenario.step]]\ndo = "kill-apache"\nexpect = {{ max_downtime_s = {value} }}\n')
    what = refused(load_scenarios, load_plan("pcs"), path)
    assert "scenario x, step 1: max_downtime_s" in what and "not a number of seconds" in what


# --- plans: unique values, types, paths, faults -----------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "message"), [
    ('mac = "52:54:00:56:00:20"', 'mac = "52:54:00:56:00:10"',
     "nodes[1].mac = '52:54:00:56:00:10' is already node1's; every node needs its own MAC"),
    ('name = "node2"', 'name = "node1"', "nodes[1].name = 'node1' is already nodes[0]'s; every machine needs its own name"),
    ('address = "192.168.56.254"', 'address = "192.168.56.100"', "vip = '192.168.56.100' is already the router's"),
    ('page_marker = "node2"', "page_marker = 2", "nodes[1].page_marker = 2 is a number; it must be text"),
    ('document = "lab.md"', 'document = "../../../../etc/passwd"',
     "document = '../../../../etc/passwd' leads out of the lab's folder"),
    ('document = "lab.md"', 'document = "/etc/passwd"', "leads out of the lab's folder"),
    ("[expect.power-off]", "[expect.power-of]", "[expect.power-of]: there is no fault called 'power-of'"),
    ('[router]\nname = "router"\naddress = "192.168.56.254"\n', 'router = "gateway"\n',
     "router = 'gateway': must be a table"),
    ('mac = "52:54:00:56:00:20"', 'mac = 52', "nodes[1].mac = 52 is a number; it must be text"),
    ("start_allowance_s = 5.0", "start_alowance_s = 5.0", "the plan has no key 'start_alowance_s'"),
])
def test_bad_plans_are_one_line_with_key_value_and_rule(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in PLAN
    what = refused(load_plan, lab(tmp_path, PLAN.replace(old, new, 1)))
    assert message in what and what.startswith(str(tmp_path / "lab" / "plan.toml"))


def test_nodes_that_are_not_tables_are_named_not_indexed(tmp_path: Path) -> None:
    text = 'nodes = ["node1", "node2"]\n' + PLAN[: PLAN.index("[[nodes]]")] + PLAN[PLAN.index("# Legal outcomes"):]
    assert "nodes[0] = 'node1': each node is a table" in refused(load_plan, lab(tmp_path, text))


def test_a_symbolic_link_out_of_the_lab_is_refused_as_a_document(tmp_path: Path) -> None:
    folder = lab(tmp_path)
    (folder / "lab.md").unlink()
    (tmp_path / "outside.md").write_text("```sh on=all\ntrue\n```\n")
    (folder / "lab.md").symlink_to(tmp_path / "outside.md")
    assert "leads out of the lab's folder" in refused(load_plan, folder)


# --- the command line: exit 2, one line, before anything is touched ---------------------------------------

@pytest.fixture
def untouched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Nothing may be made: a backend opened, privileges asked for, a lab brought up."""
    touched: list[str] = []
    monkeypatch.setenv("HALAB_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    for target in ("halab.run.open_backend", "halab.backends.local.backend.require_privileges"):
        monkeypatch.setattr(target, lambda *a, _t=target, **k: touched.append(_t))
    return touched


def one_line_exit_2(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("halab: error: ") and "Traceback" not in err
    return err.splitlines()[0]


def test_an_unknown_fault_is_said_before_bring_up(untouched: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_exit_2(["run", "--lab", "pcs", "--faults", "kill-apache,power-of"], capsys)
    assert "--faults kill-apache,power-of: there is no fault called 'power-of'" in line and untouched == []


def test_a_binary_document_given_to_doc_run_touches_nothing(
    untouched: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = lab(tmp_path, document=b"\xff\xfe\x00binary")
    line = one_line_exit_2(["doc", "run", str(folder / "lab.md")], capsys)
    assert "is not UTF-8 text" in line and untouched == []


def test_a_plan_with_two_equal_macs_given_to_up_touches_nothing(
    untouched: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = lab(tmp_path, PLAN.replace('mac = "52:54:00:56:00:20"', 'mac = "52:54:00:56:00:10"'))
    line = one_line_exit_2(["up", "--lab", str(folder)], capsys)
    assert "is already node1's; every node needs its own MAC" in line and untouched == []


def test_an_empty_submissions_folder_is_an_input_error(
    untouched: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / ".hidden").write_text("")
    line = one_line_exit_2(["grade", "class"], capsys)
    assert "holds no submission: the folder is empty" in line and untouched == []


# --- submissions: only regular files are read ------------------------------------------------------------

def test_a_fifo_named_like_an_archive_is_refused_by_name_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a.tar.gz")  # opening it for reading would block for ever: no writer
    with pytest.raises(ArchiveRefused) as error:
        read_archive(tmp_path / "a.tar.gz")
    assert str(error.value).startswith("a.tar.gz: refused: it is a FIFO (named pipe), not a regular file")
    assert find_archives(tmp_path) == [tmp_path / "a.tar.gz"]  # listed, so that the batch says why it refused it
    assert find_archives(tmp_path / "a.tar.gz") == [tmp_path / "a.tar.gz"]


def test_a_socket_or_device_named_like_an_archive_is_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "b.tar.gz"))
    try:
        with pytest.raises(ArchiveRefused, match="b.tar.gz: refused: it is a socket, not a regular file"):
            read_archive(tmp_path / "b.tar.gz")
    finally:
        server.close()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(ArchiveRefused, match="null: refused: it is a character device"):
        read_archive(Path("/dev/null"))


# --- secrets ---------------------------------------------------------------------------------------------

PASSWORD = "S3cret-pw"
KEY = bytes(range(256))  # a corosync authkey's 256 bytes


def forms(secret: bytes) -> list[str]:
    return [secret.decode(errors="replace"), secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode()]


def test_the_document_names_its_secrets() -> None:
    found = secrets_in_text(f"echo 'hacluster:{PASSWORD}' | chpasswd\nchown hacluster:haclient /x\n"
                            "pcs host auth node1 node2 -u hacluster -p 'Pa55word'\n"
                            "printf 'auth 1\\n1 sha1 HbKey1234\\n' > /etc/ha.d/authkeys\n")
    assert found.values == {PASSWORD.encode(), b"Pa55word", b"HbKey1234"}  # not haclient
    assert secrets_in_text("passwd hacluster", "hacluster\nAnsw3red\nAnsw3red\n").values == {b"Answ3red"}
    assert secrets_of_lab("pcs").values >= {b"halab-lab"}
    assert b"halab-ipmi" in secrets_of_lab("fencing").values  # the BMCs' password, from the plan
    assert not any(b"ipmi" in value for value in secrets_of_lab("pcs").values)


@pytest.mark.parametrize("secret", [PASSWORD.encode(), KEY])
def test_a_secret_is_masked_in_clear_hex_and_base64(secret: bytes) -> None:
    secrets = Secrets.of([secret])
    for form in forms(secret):
        assert secrets.mask(f"before {form} after") == f"before {MASK} after"
    wrapped = base64.encodebytes(secret).decode()  # base64(1) wraps at 76
    for prefix in (b"", b"x", b"xy"):  # inside a longer base64 stream, at each alignment
        stream = base64.b64encode(prefix + secret + b"tail").decode()
        masked = secrets.mask(stream)
        assert MASK in masked and len(masked.replace(MASK, "")) <= 12, masked  # what is left: the prefix and tail
    assert all(line[4:-4] not in secrets.mask(wrapped) for line in wrapped.splitlines() if len(line) > 16)


class CannedNode:
    """A backend double: each node's authkey is KEY, every shell step prints the secrets it holds."""

    def __init__(self) -> None:
        self.plan = load_plan("pcs")

    def run(self, node: str, argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None) -> CommandResult:
        if tuple(argv) == ("/bin/sh", "-c", NODE_SECRETS_SCRIPT):
            return CommandResult(node, tuple(argv), 0, f"== /etc/corosync/authkey\n{base64.b64encode(KEY).decode()}\n",
                                 "", 0.0)
        out = f"{PASSWORD}\n{PASSWORD.encode().hex()}\n{base64.b64encode(PASSWORD.encode()).decode()}\n{KEY.hex()}\n"
        return CommandResult(node, tuple(argv), 1, out, base64.b64encode(KEY).decode(), 0.1)


DOCUMENT = (f"# Lab\n\n## Users\n\n```sh on=node1\necho 'hacluster:{PASSWORD}' | chpasswd\n"
            "corosync-keygen && xxd -p /etc/corosync/authkey && false\n```\n")


def failed_document(tmp_path: Path) -> tuple[StepFailed, list[str]]:
    document = parse_text(DOCUMENT, tmp_path / "lab.md", NODES)
    console: list[str] = []
    with pytest.raises(StepFailed) as failure:
        run_document(document, CannedNode(), None,  # type: ignore[arg-type]
                     on_step=lambda o: console.append(f"$ {o.result.command_line}\n{o.result.stdout}{o.result.stderr}"))
    return failure.value, console


def leaks(text: str) -> list[str]:
    return [form for secret in (PASSWORD.encode(), KEY) for form in forms(secret) if form in text]


def test_a_failed_step_shows_no_secret_on_the_console_or_in_its_message(tmp_path: Path) -> None:
    failure, console = failed_document(tmp_path)
    message = str(failure)
    assert "exit status 1" in message and MASK in message and "chpasswd" in message
    assert leaks(message) == [] and leaks("".join(console)) == [] and MASK in console[0]
    assert leaks(str(failure.outcome)) == []


def test_the_junit_of_a_failed_document_holds_no_secret_and_is_not_world_readable(tmp_path: Path) -> None:
    failure, _ = failed_document(tmp_path)
    folder = lab(tmp_path, document=DOCUMENT.encode())
    outcome = DocumentOutcome(str(folder / "lab.md"), "pcs", failure.history, failure.outcome, str(failure),
                              error=f"hacluster:{PASSWORD} in an error")
    path = write_junit(tmp_path / "out" / "doc.xml", [outcome])
    text = path.read_text()
    assert "<failure" in text and MASK in text and leaks(text) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_grade_reports_mask_the_labs_password_and_are_0640(tmp_path: Path) -> None:
    run = with_failures()  # a pcs lab: its document's hacluster password is halab-lab
    secret = b"halab-lab"
    evidence = " ".join(forms(secret))
    results = tuple(dataclasses.replace(r, evidence=evidence) if r.state == "failed" else r for r in run.results)
    graded = dataclasses.replace(run, results=results, grade=score(run.rubric, results))
    paths = write_grade_reports(tmp_path, "alice", graded)
    gradebook = update_gradebook(tmp_path / "gradebook.csv", "alice", run)
    for kind, path in {**paths, "gradebook": gradebook}.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, kind
    for kind in ("html", "junit", "json"):
        text = paths[kind].read_text()
        assert MASK in text and not [f for f in forms(secret) if f in text], kind


def test_an_older_world_readable_report_becomes_0640(tmp_path: Path) -> None:
    from halab.masking import write_private

    path = tmp_path / "r.html"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new"
