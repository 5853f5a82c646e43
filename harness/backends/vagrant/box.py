"""Build the offline libvirt box once per recipe and reuse it: no box can be downloaded here.

The box is the local backend's base image (harness/image) plus a kernel and a small initrd for
direct kernel boot (no bootloader), systemd-networkd for the management NIC, and a `vagrant`
user with Vagrant's insecure key and passwordless sudo. Its identity is a hash of box.toml and
of the base image's name, so a change to either rebuilds it:

>>> ensure_box().name
'halab/bookworm-3f1c0a9e2b7d'
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError
from halab.image import ensure_image
from halab.image.build import Recipe as ImageRecipe
from halab.paths import state_root
from halab.progress import run_with_progress, say

RECIPE = Path(__file__).with_name("box.toml")
# Bump when the build steps below change in a way box.toml does not show.
BUILD_STEPS_VERSION = "3"
INSECURE_KEYS = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub"
# The management NIC is the second in PCI order (the backend puts the lab's NIC first); the lab
# NIC is configured by the backend at hand-over, from the plan.
# The lease follows the MAC, as libvirt's DHCP server expects, not the machine-id.
MGMT_NETWORK = "[Match]\nName=eth1\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n\n[DHCPv4]\nClientIdentifier=mac\n"


@dataclass(frozen=True)
class Box:
    name: str  # as `vagrant box list` shows it
    directory: Path  # where the build log and the completion marker live


@dataclass(frozen=True)
class BoxRecipe:
    packages: tuple[str, ...]
    initrd_modules: tuple[str, ...]
    cmdline: str
    prune_modules: tuple[str, ...]
    disk_gib: int
    pcs_request_timeout_s: int
    digest: str

    @classmethod
    def load(cls, image_name: str, path: Path = RECIPE) -> "BoxRecipe":
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode())
        digest = hashlib.sha256(raw + image_name.encode() + BUILD_STEPS_VERSION.encode()).hexdigest()[:12]
        return cls(
            packages=tuple(data["packages"]), initrd_modules=tuple(data["initrd_modules"]), cmdline=data["cmdline"],
            prune_modules=tuple(data["prune_modules"]), disk_gib=int(data["disk_gib"]),
            pcs_request_timeout_s=int(data["pcs_request_timeout_s"]), digest=digest,
        )


def vagrant_home() -> Path:
    """Vagrant's own state (boxes), under halab's state root rather than ~/.vagrant.d."""
    return state_root() / "vagrant"


def vagrant_env() -> dict[str, str]:
    return {**os.environ, "VAGRANT_HOME": str(vagrant_home()), "VAGRANT_CHECKPOINT_DISABLE": "1"}


def box_name(recipe: BoxRecipe) -> str:
    return f"halab/bookworm-{recipe.digest}"


def ensure_box(*, rebuild: bool = False) -> Box:
    """Return the box for the current recipes, building and adding it to Vagrant first if needed."""
    image = ensure_image()
    recipe = BoxRecipe.load(image.name)
    name = box_name(recipe)
    boxes = state_root() / "boxes"
    boxes.mkdir(parents=True, exist_ok=True)
    final = boxes / name.replace("/", "-")
    with (boxes / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "complete").exists() and _is_added(name) and not rebuild:
            return Box(name, final)
        _require_tools()
        shutil.rmtree(final, ignore_errors=True)
        final.mkdir()
        try:
            _build(recipe, image.rootfs, final, name)
        finally:
            for leftover in ("tree", "disk.raw", "contents", "box.tar"):
                path = final / leftover
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        (final / "complete").write_text(recipe.digest + "\n")
        _remove_older_boxes(name)
    say(f"box {name} ready (vagrant box list, with VAGRANT_HOME={vagrant_home()})")
    return Box(name, final)


def _remove_older_boxes(current: str) -> None:
    """Older halab boxes, their build folders and their volumes in the libvirt pool (~0.8 GB
    each), unless a Vagrant lab is up that may boot from them."""
    from halab.lab import running_labs

    if any(record.backend == "vagrant" for record in running_labs()):
        return
    for folder in (state_root() / "boxes").glob("halab-bookworm-*"):
        old = folder.name.replace("halab-", "halab/", 1)
        if old == current:
            continue
        subprocess.run(["vagrant", "box", "remove", "--force", "--all", old], capture_output=True, env=vagrant_env(),
                       timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)
        for volume in (vagrant_home() / "pool").glob(f"{old.replace('/', '-VAGRANTSLASH-')}_*"):
            volume.unlink()


def _is_added(name: str) -> bool:
    listed = subprocess.run(["vagrant", "box", "list", "--machine-readable"], capture_output=True, text=True,
                            env=vagrant_env(), timeout=120, check=False)
    return any(line.split(",")[3:4] == [name] for line in listed.stdout.splitlines() if ",box-name," in line)


def _require_tools() -> None:
    if os.geteuid() != 0:
        raise HalabError("building the box needs root (chroot, file ownership)", fix="run halab as root")
    for tool, package in (("vagrant", "vagrant"), ("qemu-img", "qemu-utils"), ("mke2fs", "e2fsprogs")):
        if shutil.which(tool) is None:
            raise HalabError(f"{tool} is not installed", fix=f"apt-get install {package} (or ./install.sh)")
    if not glob.glob(INSECURE_KEYS):
        raise HalabError(f"Vagrant's insecure public key is not at {INSECURE_KEYS}", fix="apt-get install vagrant")


def _build(recipe: BoxRecipe, base: Path, work: Path, name: str) -> None:
    log = work / "build.log"
    tree, contents = work / "tree", work / "contents"
    say(f"building box {name} from the base image (once per recipe; about 3 minutes), log in {log}")
    run_with_progress(["cp", "-a", f"{base}/.", str(tree)], "copy of the base image", log)
    _install_kernel(recipe, tree, log)
    _add_vagrant_user(tree)
    _configure_boot(tree)
    _raise_pcs_timeout(tree, recipe.pcs_request_timeout_s)
    contents.mkdir()
    kernel = sorted((tree / "boot").glob("vmlinuz-*"))[-1]
    shutil.copyfile(kernel, contents / "vmlinuz")
    shutil.copyfile(tree / "boot" / kernel.name.replace("vmlinuz", "initrd.img"), contents / "initrd.img")
    raw = work / "disk.raw"
    run_with_progress(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "halabroot", "-d", str(tree), str(raw),
                       f"{recipe.disk_gib}G"], "mke2fs of the VM disk", log)
    shutil.rmtree(tree)
    run_with_progress(["qemu-img", "convert", "-O", "qcow2", str(raw), str(contents / "box.img")],
                      "qemu-img convert to qcow2", log)
    raw.unlink()
    (contents / "metadata.json").write_text(
        json.dumps({"provider": "libvirt", "format": "qcow2", "virtual_size": recipe.disk_gib}) + "\n"
    )
    (contents / "Vagrantfile").write_text(_box_vagrantfile(recipe))
    tar = work / "box.tar"
    run_with_progress(["tar", "-cf", str(tar), "-C", str(contents), "."], "tar of the box", log)
    run_with_progress(["vagrant", "box", "add", "--force", "--name", name, "--provider", "libvirt", str(tar)],
                      "vagrant box add", log, env=vagrant_env())


def _install_kernel(recipe: BoxRecipe, tree: Path, log: Path) -> None:
    """A kernel and initrd through apt inside the tree, then the modules no lab VM needs pruned
    and the initrd made again (small: only the modules listed)."""
    etc = tree / "etc"
    mirror = ImageRecipe.load()
    (etc / "apt/sources.list").write_text(f"deb {mirror.mirror} {mirror.suite} main\n")
    shutil.copyfile("/etc/resolv.conf", etc / "resolv.conf")
    (etc / "initramfs-tools/conf.d").mkdir(parents=True, exist_ok=True)
    (etc / "initramfs-tools/conf.d/halab").write_text("MODULES=list\nCOMPRESS=gzip\n")
    (etc / "initramfs-tools/modules").write_text("\n".join(recipe.initrd_modules) + "\n")
    policy = tree / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# no service starts while the box is built\nexit 101\n")
    policy.chmod(0o755)
    prune = " ".join(f"/lib/modules/*/{path}" for path in recipe.prune_modules)
    script = (
        "mount -t proc proc /proc && export DEBIAN_FRONTEND=noninteractive && apt-get update -q && "
        f"apt-get install -y -q --no-install-recommends {' '.join(recipe.packages)} && apt-get clean && "
        f"rm -rf {prune} && for v in $(ls /lib/modules); do depmod -a $v; done && update-initramfs -u -k all"
    )
    run_with_progress(["unshare", "--mount", "--propagation", "private", "chroot", str(tree), "sh", "-c", script],
                      f"apt-get install of {', '.join(recipe.packages)} in the box", log)
    policy.unlink()
    (etc / "apt/sources.list").write_text("# halab: lab VMs have no route to a mirror.\n")
    (etc / "resolv.conf").write_text("# halab: no DNS on the lab network; names come from /etc/hosts\n")
    shutil.rmtree(tree / "var/lib/apt/lists", ignore_errors=True)
    (tree / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


def _add_vagrant_user(tree: Path) -> None:
    subprocess.run(["chroot", str(tree), "useradd", "--create-home", "--shell", "/bin/bash", "vagrant"],
                   check=True, capture_output=True)
    ssh = tree / "home/vagrant/.ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(Path(glob.glob(INSECURE_KEYS)[0]).read_text())
    (ssh / "authorized_keys").chmod(0o600)
    subprocess.run(["chroot", str(tree), "chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh"], check=True)
    sudoers = tree / "etc/sudoers.d/vagrant"
    sudoers.write_text("vagrant ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)


def _configure_boot(tree: Path) -> None:
    """What a VM needs that a container did not: its root file system, its own machine-id, a
    DHCP client on the management NIC (vagrant finds the VM by its lease), and no wait for a network that the lab
    NIC will only get at hand-over."""
    (tree / "etc/fstab").write_text("/dev/vda / ext4 rw,noatime 0 1\n")
    # Each VM gets its own machine-id at first boot: the image's D-Bus copy would give them all one.
    (tree / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (tree / "var/lib/dbus/machine-id").symlink_to("/etc/machine-id")
    (tree / "etc/systemd/network/90-halab-mgmt.network").write_text(MGMT_NETWORK)
    subprocess.run(["systemctl", f"--root={tree}", "enable", "systemd-networkd"], check=True, capture_output=True)
    subprocess.run(["systemctl", f"--root={tree}", "mask", "systemd-networkd-wait-online"], check=True,
                   capture_output=True)
    _drop_redundant_init_scripts(tree)


def _raise_pcs_timeout(tree: Path, seconds: int) -> None:
    settings = tree / "usr/lib/python3/dist-packages/pcs/settings.py"
    text = settings.read_text()
    if "default_request_timeout = 60\n" not in text:
        raise HalabError(f"{settings} no longer sets default_request_timeout = 60",
                         fix="update _raise_pcs_timeout in harness/backends/vagrant/box.py for this pcs version")
    settings.write_text(text.replace("default_request_timeout = 60\n", f"default_request_timeout = {seconds}\n"))


def _drop_redundant_init_scripts(tree: Path) -> None:
    """SysV scripts of services that have a systemd unit of their own are never run under
    systemd, but make every `systemctl enable/disable` of them (pcs cluster destroy, the lab's
    own steps) call update-rc.d, a Perl program that takes 10-20 s under emulation: long
    enough for pcs's 60 s request timeout to expire during `pcs cluster setup`."""
    for script in (tree / "etc/init.d").iterdir():
        if (tree / "lib/systemd/system" / f"{script.name}.service").exists():
            script.unlink()
            for link in tree.glob(f"etc/rc?.d/[SK][0-9][0-9]{script.name}"):
                link.unlink()


def _box_vagrantfile(recipe: BoxRecipe) -> str:
    """The box's own Vagrantfile: direct kernel boot from the files beside it."""
    return (
        "# Written by halab's box builder: direct kernel boot, no bootloader in the disk image.\n"
        'Vagrant.configure("2") do |config|\n'
        "  config.vm.provider :libvirt do |libvirt|\n"
        '    libvirt.kernel = File.expand_path("vmlinuz", __dir__)\n'
        '    libvirt.initrd = File.expand_path("initrd.img", __dir__)\n'
        f'    libvirt.cmd_line = "{recipe.cmdline}"\n'
        "  end\n"
        "end\n"
    )
