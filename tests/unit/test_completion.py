"""`halab completion bash|zsh` prints a script generated from the parser itself (shtab), so every
command, flag and choice completes without a list kept by hand."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def script(shell: str) -> str:
    done = subprocess.run([sys.executable, "-m", "halab.cli", "completion", shell], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("words", "expected"), [
    ("halab gr", "grade"),
    ("halab fault po", "power-off"),
    ("halab grade --id", "--id-column"),
    ("halab completion z", "zsh"),
])
def test_bash_completes_commands_flags_and_choices(tmp_path: Path, words: str, expected: str) -> None:
    path = tmp_path / "halab.bash"
    path.write_text(script("bash"))
    typed = words.split()
    probe = (f"source {path}; COMP_WORDS=({words}); COMP_CWORD={len(typed) - 1}; COMP_LINE='{words}'; "
             f"COMP_POINT={len(words)}; _shtab_halab; echo \"${{COMPREPLY[@]}}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert expected in done.stdout.split(), done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_is_valid_zsh(tmp_path: Path) -> None:
    path = tmp_path / "_halab"
    path.write_text(script("zsh"))
    assert "#compdef halab" in path.read_text()
    done = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
