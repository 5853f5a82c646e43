"""Defaults from a config file, each also a flag and a variable: flag > HALAB_* > ./halab.toml >
the user's config.toml > built-in; `halab config` says which one won; a malformed file is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from halab import progress
from halab.errors import HalabError
from halab.settings import SETTINGS, config_files, exported, resolve


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A working directory and a user config directory of the test's own, no HALAB_* set."""
    for setting in SETTINGS.values():
        monkeypatch.delenv(setting.env, raising=False)
    work, user = tmp_path / "work", tmp_path / "xdg"
    (user / "halab").mkdir(parents=True)
    work.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    monkeypatch.chdir(work)
    return work, user / "halab" / "config.toml"


def test_each_level_overrides_the_one_below(folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    work, user_file = folders
    assert config_files() == (work / "halab.toml", user_file)
    built_in = resolve()
    assert (built_in.backend, built_in.parallel, built_in.reports, built_in.id_column) == ("local", None, work / "reports", "username")
    assert set(built_in.sources.values()) == {"built-in"}

    user_file.write_text('backend = "vagrant"\nparallel = 2\nid-column = "email"\n')
    (work / "halab.toml").write_text("parallel = 3\n")
    monkeypatch.setenv("HALAB_ID_COLUMN", "idnumber")
    chosen = resolve({"backend": "local"})
    assert (chosen.backend, chosen.sources["backend"]) == ("local", "flag --backend")
    assert (chosen.id_column, chosen.sources["id-column"]) == ("idnumber", "HALAB_ID_COLUMN")
    assert (chosen.parallel, chosen.sources["parallel"]) == (3, str(work / "halab.toml"))
    assert resolve().backend == "vagrant"  # the user's file, under nothing else


def test_a_path_in_a_file_is_relative_to_the_file_and_children_inherit_it(folders: tuple[Path, Path]) -> None:
    work, user_file = folders
    user_file.write_text('reports = "graded"\n')
    decided = resolve()
    assert decided.reports == user_file.parent / "graded"
    with exported(decided):  # what halab's own child processes (pytest, batch workers) will see
        assert os.environ["HALAB_REPORTS"] == str(user_file.parent / "graded")
    assert "HALAB_REPORTS" not in os.environ  # the caller's environment, as it was
    assert resolve({"reports": "here"}).reports == work / "here"


@pytest.mark.parametrize(("text", "said"), [
    ("backnd = 'local'\n", "halab.toml: unknown key 'backnd'; allowed: backend, reports, parallel"),
    ("parallel = 'lots'\n", "halab.toml: parallel = 'lots' is not allowed; allowed: a whole number of labs, 1 or more"),
    ("backend = 'kvm'\n", "halab.toml: backend = 'kvm' is not allowed; allowed: \"local\" or \"vagrant\""),
    ("parallel = [\n", "halab.toml: not valid TOML"),
])
def test_a_malformed_file_is_one_line_naming_file_key_and_what_is_allowed(folders: tuple[Path, Path], text: str, said: str) -> None:
    work, _ = folders
    (work / "halab.toml").write_text(text)
    with pytest.raises(HalabError, match="halab.toml"):
        resolve()
    done = subprocess.run([sys.executable, "-m", "halab.cli", "list"], capture_output=True, text=True, timeout=60, cwd=work)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"halab: error: {work / 'halab.toml'}: ") and said in done.stderr, done.stderr


def test_a_bad_variable_or_flag_is_refused_the_same_way(folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_PARALLEL", "0")
    with pytest.raises(HalabError, match=r"^HALAB_PARALLEL: parallel = '0' is not allowed"):
        resolve()
    monkeypatch.delenv("HALAB_PARALLEL")
    with pytest.raises(HalabError, match="flag --id-column: id-column = 'mail' is not allowed"):
        resolve({"id-column": "mail"})


def test_halab_config_shows_each_value_and_where_it_came_from(folders: tuple[Path, Path]) -> None:
    work, user_file = folders
    user_file.write_text("parallel = 4\n")
    done = subprocess.run([sys.executable, "-m", "halab.cli", "config", "--backend", "vagrant", "-q"],
                          capture_output=True, text=True, timeout=60, cwd=work, env={**os.environ, "HALAB_ID_COLUMN": "email"})
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in done.stdout.splitlines() if line.strip()}
    assert rows["backend"] == ["vagrant", "flag --backend"]
    assert rows["parallel"] == ["4", str(user_file)]
    assert rows["id-column"] == ["email", "HALAB_ID_COLUMN"]
    assert rows["reports"] == [str(work / "reports"), "built-in"]
    assert rows["verbosity"] == ["quiet", "flag -q/-v"]
    assert "HALAB_HOME" in rows and "config files" in done.stdout


@pytest.mark.parametrize(("verbosity", "shown"), [
    ("quiet", ["fault on node1"]),
    ("normal", ["step 1", "fault on node1"]),
    ("verbose", ["step 1", "$ systemctl start pacemaker", "fault on node1"]),
])
def test_q_and_v_choose_how_much_progress_is_shown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                   verbosity: str, shown: list[str]) -> None:
    monkeypatch.setenv("HALAB_VERBOSITY", verbosity)
    progress.say("step 1")
    progress.detail("$ systemctl start pacemaker")
    progress.announce("fault on node1")  # which lab and node are about to be broken: always said
    assert capsys.readouterr().err.splitlines() == [f"halab: {line}" for line in shown]


@pytest.mark.parametrize(("argv", "verbosity"), [
    (["-q", "config"], "quiet"), (["config", "-q"], "quiet"), (["config", "-v"], "verbose"), (["-v", "config"], "verbose"),
])
def test_q_and_v_go_before_or_after_any_command(folders: tuple[Path, Path], argv: list[str], verbosity: str) -> None:
    done = subprocess.run([sys.executable, "-m", "halab.cli", *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and f"verbosity   {verbosity}" in done.stdout, done.stdout + done.stderr


def test_a_fault_inside_a_check_is_announced_live_through_pytests_capture(tmp_path: Path) -> None:
    """The plugin runs faults and scenarios out of pytest's capture: their lines reach the terminal at once."""
    (tmp_path / "test_live.py").write_text(
        "from halab.grading.plugin import live\nfrom halab.progress import announce, say\n\n"
        "def test_breaks(request):\n    say('captured')\n    with live(request.config):\n"
        "        announce('lab demo: fault power-off: power node1 off hard')\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_live.py")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "halab: lab demo: fault power-off: power node1 off hard" in done.stderr and "captured" not in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run halab as another user")
def test_another_users_config_folder_kept_through_setpriv_is_not_this_users(tmp_path: Path) -> None:
    """HOME and XDG_CONFIG_HOME survive sudo and setpriv: a folder this user cannot enter holds no config of theirs."""
    (tmp_path / "halab").mkdir()
    (tmp_path / "halab" / "config.toml").write_text("parallel = 2\n")
    tmp_path.chmod(0o700)
    done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m",
                           "halab.cli", "config"], capture_output=True, text=True, timeout=60, cwd="/",
                          env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "parallel    auto" in done.stdout
