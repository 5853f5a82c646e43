"""apt works in a node as on a VM, through the lab's package cache and nothing else: a lab
sheet's `apt-get update` and `apt-get install` of a package the image lacks, and a package that
is not in Debian 12 stopping its step with that said. The Heartbeat lab's own document (the
fastest to come up) with the steps of a sheet added.

Its labs are called <HALAB_E2E_PREFIX>apt and <HALAB_E2E_PREFIX>nopkg (default e2e...)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from halab.backends.local import aptcache
from halab.image.build import Recipe
from halab.plan import load_plan

pytestmark = pytest.mark.e2e

PREFIX = os.environ.get("HALAB_E2E_PREFIX", "e2e")
HALAB = [sys.executable, "-m", "halab.cli"]


@pytest.fixture(scope="module", autouse=True)
def warm_cache() -> None:
    """The cache must be able to fetch from the recipe's mirror; say so plainly if it cannot."""
    aptcache.ensure_cache(Recipe.load().mirror)
    url = f"http://127.0.0.1:{aptcache.CACHE_PORT}/debian/dists/bookworm/InRelease"
    try:
        urllib.request.urlopen(url, timeout=30).read(64)
    except OSError as error:
        pytest.skip(f"the package cache cannot be filled from {Recipe.load().mirror} ({error}): apt tests need the mirror once")


def document(tmp_path: Path, steps: str) -> Path:
    folder = tmp_path / "heartbeat"
    shutil.copytree(load_plan("heartbeat").folder, folder)
    with (folder / "lab.md").open("a") as lab:
        lab.write(f"\n## Packages\n\n{steps}")
    return folder / "lab.md"


def test_a_sheet_installs_a_package_the_image_lacks(
    tmp_path: Path, read_root_network: Callable[[], tuple[str, str]], root_network_before: tuple[str, str]
) -> None:
    steps = (
        "```sh on=srv timeout=300\napt-get update\nDEBIAN_FRONTEND=noninteractive apt-get install -y hello\n```\n\n"
        "```sh on=srv\nhello | grep -q 'Hello, world'\n```\n\n"
        "```sh on=srv timeout=120\napt-get purge -y hello\n! command -v hello\n```\n\n"
        # the cache is the one way out: no other address outside the lab answers
        "```sh on=srv\n! curl -s -m 3 -o /dev/null http://127.0.0.1:13142/\n"
        "! curl -s -m 3 -o /dev/null --noproxy '*' http://deb.debian.org/debian/\n```\n"
    )
    done = subprocess.run([*HALAB, "doc", "run", str(document(tmp_path, steps)), "--name", f"{PREFIX}apt"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert read_root_network() == root_network_before


def test_a_package_not_in_debian_stops_its_step_and_says_so(tmp_path: Path) -> None:
    steps = "```sh on=srv timeout=300\napt-get install -y halab-no-such-package\n```\n"
    done = subprocess.run([*HALAB, "doc", "run", str(document(tmp_path, steps)), "--name", f"{PREFIX}nopkg"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "Unable to locate package halab-no-such-package" in done.stderr
    assert "not in Debian 12" in done.stderr
