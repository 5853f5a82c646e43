"""One GET of a URL from where the lab's client stands: the page a person's browser would show.

    python -m halab.probe.fetch URL      (prints the page; run inside the lab namespace)
"""

from __future__ import annotations

import subprocess
import sys

import httpx

from halab.errors import HalabError


def fetch(url: str, netns: str | None, *, timeout_s: float = 3.0) -> str:
    """The body of `url` as seen from network namespace `netns`; raises HalabError when it fails."""
    command = [sys.executable, "-m", "halab.probe.fetch", url, str(timeout_s)]
    if netns is not None:
        command = ["nsenter", f"--net=/run/netns/{netns}", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s + 10)
    if done.returncode != 0:
        raise HalabError(f"GET {url} failed", evidence=done.stderr.strip()[-500:])
    return done.stdout


def main(argv: list[str]) -> int:
    url, timeout_s = argv[0], float(argv[1]) if len(argv) > 1 else 3.0
    try:
        response = httpx.get(url, timeout=timeout_s, trust_env=False)
    except httpx.HTTPError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"HTTP {response.status_code}", file=sys.stderr)
        return 1
    sys.stdout.write(response.text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
