"""What `apt-get install` of a package the image lacks costs in a node, through the lab's
package cache, cold (the cache has never fetched it) and warm.

    .venv/bin/python benchmarks/apt_install.py [--package figlet] [--name benchapt]

Prints the lab's bring-up, `apt-get update` (cold: the cache fetches the package lists it lacks),
the install cold, the purge, and the install again warm. "Cold" is made by removing the
package's own files from halab's cache (`/var/lib/halab/aptcache`, nothing else of it); the
package lists stay as they are, so a first run on a fresh machine is slower than "cold" here.
Uses the Heartbeat lab (the quickest up) under its own --name, so it never touches a lab of yours.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

from halab.backends import Backend
from halab.backends.local import aptcache
from halab.plan import load_plan
from halab.run import lab_up

NODE = "srv"


def forget(package: str) -> int:
    """Remove the package's own .deb files (and apt-cacher-ng's header files) from the cache."""
    removed = 0
    for path in aptcache.cache_dir().rglob(f"{package}_*"):
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def timed(backend: Backend, script: str) -> float:
    started = time.monotonic()
    backend.run(NODE, ["/bin/sh", "-c", f"DEBIAN_FRONTEND=noninteractive {script}"], timeout=600).check()
    return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="figlet", help="a Debian 12 package the image lacks")
    parser.add_argument("--name", default="benchapt", help="the lab's name (its own, never yours)")
    args = parser.parse_args(argv)
    rows = []
    with lab_up(load_plan("heartbeat"), args.name) as up:
        backend = up.backend
        rows.append(f"bring-up (Heartbeat lab, to the VIP)  {up.phases['up_to_vip_s']:6.1f} s")
        rows.append(f"apt-get update                        {timed(backend, 'apt-get update -q'):6.1f} s")
        dropped = forget(args.package)
        rows.append(f"apt-get install -y {args.package:18} {timed(backend, f'apt-get install -y -q {args.package}'):6.1f} s"
                    f"  cold (removed {dropped} cached files first)")
        rows.append(f"apt-get purge -y {args.package:20} {timed(backend, f'apt-get purge -y -q {args.package}'):6.1f} s")
        rows.append(f"apt-get install -y {args.package:18} {timed(backend, f'apt-get install -y -q {args.package}'):6.1f} s"
                    "  warm")
    print(f"measured {time.strftime('%Y-%m-%d %H:%M')}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
