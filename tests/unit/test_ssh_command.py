"""The SSH backend's command line: quoted once, so the node runs exactly the argv given,
through `sudo -n` when the user is not root."""

import shlex
import subprocess

import pytest

from halab.backends.ssh.connection import command_line
from halab.command import NODE_ENV

TRICKY = ["/bin/sh", "-c", 'echo "$1" \'$2\' `x` ; rm -rf /', "name", "it's a \"test\"", "$(reboot)"]


def test_root_runs_the_argv_in_the_node_environment_without_sudo() -> None:
    words = shlex.split(command_line(["crm_mon", "--output-as=xml"], sudo=False))
    assert words == ["/usr/bin/env", "-i", *NODE_ENV, "crm_mon", "--output-as=xml"]


def test_sudo_never_prompts_and_keeps_the_argv_intact() -> None:
    words = shlex.split(command_line(TRICKY, sudo=True))
    assert words[:3] == ["sudo", "-n", "--"]
    assert words[3:5] == ["/usr/bin/env", "-i"] and words[-len(TRICKY):] == TRICKY


@pytest.mark.parametrize("sudo", [False, True])
def test_a_shell_given_the_line_sees_each_argument_once_unexpanded(sudo: bool) -> None:
    """What sshd does with the line: `$SHELL -c LINE`. Here a stand-in for sudo and env prints
    the arguments the node would run, one per line."""
    line = command_line(["printf", "%s\\n", *TRICKY[2:]], sudo=sudo)
    stand_ins = "sudo() { shift 2; \"$@\"; }; "  # drops -n --, then runs the rest
    done = subprocess.run(["/bin/sh", "-c", stand_ins + line], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == TRICKY[2:]
