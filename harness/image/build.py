"""Build the bookworm base tree once per recipe and reuse it: nodes mount it read-only, under overlays.

The image's identity is a hash of its recipe, so editing `recipe.toml` is all it takes to rebuild.
debootstrap installs only a minimal systemd system (its resolver fails on long lists); the
cluster stack then goes in through apt inside the tree, which resolves dependencies properly.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError
from halab.paths import state_root
from halab.progress import run_with_progress, say

RECIPE = Path(__file__).with_name("recipe.toml")
# Bump when the build steps below change in a way the recipe does not show.
BUILD_STEPS_VERSION = "2"


@dataclass(frozen=True)
class BaseImage:
    """A finished base tree: `rootfs` is never written once complete."""

    name: str
    rootfs: Path


@dataclass(frozen=True)
class Recipe:
    suite: str
    mirror: str
    bootstrap: tuple[str, ...]
    packages: tuple[str, ...]
    disable: tuple[str, ...]
    digest: str

    @classmethod
    def load(cls, path: Path = RECIPE) -> "Recipe":
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode())
        digest = hashlib.sha256(raw + BUILD_STEPS_VERSION.encode()).hexdigest()[:12]
        return cls(
            suite=data["suite"],
            mirror=os.environ.get("HALAB_MIRROR", data["mirror"]),
            bootstrap=tuple(data["bootstrap"]),
            packages=tuple(data["packages"]),
            disable=tuple(data["disable"]),
            digest=digest,
        )


def ensure_image(*, rebuild: bool = False) -> BaseImage:
    """Return the cached base image for the current recipe, building it first if needed."""
    recipe = Recipe.load()
    images = state_root() / "images"
    images.mkdir(parents=True, exist_ok=True)
    name = f"{recipe.suite}-{recipe.digest}"
    final = images / name
    with (images / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "complete").exists() and not rebuild:
            return BaseImage(name, final / "rootfs")
        _require_tools()
        if final.exists():
            shutil.rmtree(final)
        building = images / f"{name}.building"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            _build(recipe, building)
        except BaseException:
            shutil.rmtree(building / "rootfs", ignore_errors=True)
            raise
        building.rename(final)
        (final / "complete").write_text(recipe.digest + "\n")
    say(f"base image {name} ready in {final / 'rootfs'}")
    return BaseImage(name, final / "rootfs")


def _require_tools() -> None:
    if os.geteuid() != 0:
        raise HalabError("building the base image needs root", fix="run halab as root (sudo halab ...)")
    if shutil.which("debootstrap") is None:
        raise HalabError("debootstrap is not installed", fix="apt-get install debootstrap (or run ./install.sh)")


def _build(recipe: Recipe, workdir: Path) -> None:
    rootfs = workdir / "rootfs"
    log = workdir / "build.log"
    say(f"building base image {recipe.suite}-{recipe.digest} (once per recipe; about 2 minutes), log in {log}")
    run_with_progress(
        [
            "debootstrap", "--variant=minbase", f"--include={','.join(recipe.bootstrap)}",
            recipe.suite, str(rootfs), recipe.mirror,
        ],
        "debootstrap of a minimal bookworm",
        log,
    )
    etc = rootfs / "etc"
    (etc / "apt/sources.list").write_text(
        f"deb {recipe.mirror} {recipe.suite} main\n"
        f"deb {recipe.mirror} {recipe.suite}-updates main\n"
    )
    shutil.copyfile("/etc/resolv.conf", etc / "resolv.conf")
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# no service starts while the image is built\nexit 101\n")
    policy.chmod(0o755)
    install = (
        "mount -t proc proc /proc && export DEBIAN_FRONTEND=noninteractive && apt-get update -q && "
        "apt-get install -y -q --no-install-recommends " + " ".join(recipe.packages) + " && apt-get clean"
    )
    run_with_progress(
        ["unshare", "--mount", "--propagation", "private", "chroot", str(rootfs), "sh", "-c", install],
        f"apt-get install of {len(recipe.packages)} packages in the image",
        log,
    )
    policy.unlink()
    _finish_tree(recipe, rootfs)


def _finish_tree(recipe: Recipe, rootfs: Path) -> None:
    """Make the tree a neutral starting point that the lab's own steps then configure."""
    for unit in recipe.disable:
        subprocess.run(
            ["systemctl", f"--root={rootfs}", "disable", unit],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
    etc = rootfs / "etc"
    (etc / "resolv.conf").write_text("# halab: no DNS on the lab network; names come from /etc/hosts\n")
    # An empty machine-id gives every node its own at first boot.
    (etc / "machine-id").write_text("")

