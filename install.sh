#!/usr/bin/env bash
# Install everything halab needs on a Debian 12 machine, as root: Debian packages, a virtual
# environment with halab in it, and the local backend's base image. Idempotent and cached: a
# second run only checks, in seconds.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
  echo "install.sh: halab runs clusters in containers and namespaces: run as root (sudo ./install.sh)" >&2
  exit 1
fi

# apt_install WHY [apt-get options...] -- PACKAGE...: install those not installed yet.
apt_install() {
  local why=$1; shift
  local options=() missing=()
  while [ "$1" != "--" ]; do options+=("$1"); shift; done; shift
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]} ($why)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${options[@]}" "${missing[@]}" >/dev/null
  fi
}

apt_install "local backend" -- debootstrap systemd-container iproute2 util-linux procps python3-venv
# The nodes' package cache: halab runs its own apt-cacher-ng on the loopback (see
# harness/backends/local/aptcache.py), so the system service the package starts is not wanted.
if ! dpkg-query -W -f='${Status}' apt-cacher-ng 2>/dev/null | grep -q "install ok installed"; then
  apt_install "package cache for the nodes" --no-install-recommends -- apt-cacher-ng
  if [ -d /run/systemd/system ]; then systemctl disable --now apt-cacher-ng >/dev/null 2>&1 || true
  else update-rc.d apt-cacher-ng disable >/dev/null 2>&1 || true; service apt-cacher-ng stop >/dev/null 2>&1 || true; fi
fi
apt_install "package cache path" -- socat
# The report tests load every page in a real browser, headless and offline.
apt_install "report tests" --no-install-recommends -- chromium

# The Vagrant backend on libvirt with software emulation. Without recommends: they would bring
# libvirt-daemon-system and nfs-kernel-server, whose start-up scripts run a system libvirtd
# (and its default network) in the root namespace; halab starts each lab's own libvirtd in the
# lab's namespace instead. That leaves two system users to make, as libvirt-daemon-system would.
apt_install "Vagrant backend" --no-install-recommends -- vagrant vagrant-libvirt libvirt-daemon \
  libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base iptables e2fsprogs
for user in libvirt-qemu libvirt-dnsmasq; do
  getent passwd "$user" >/dev/null || useradd --system --user-group --no-create-home \
    --home-dir /var/lib/libvirt --shell /usr/sbin/nologin "$user"
done

# The venv is rebuilt only when the project's dependencies change.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "install.sh: creating the virtual environment .venv"
  rm -rf .venv
  python3 -m venv .venv
  log=$(mktemp)
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[test]'; } >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2
    exit 1
  fi
  touch "$stamp"
fi

.venv/bin/halab image build
