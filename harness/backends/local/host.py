"""Commands the local backend runs on the host itself (ip, mount, ...), failing loudly."""

from __future__ import annotations

import subprocess
from typing import Sequence

from halab.errors import HalabError


def host(argv: Sequence[str], *, check: bool = True, timeout: float = 30.0,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a host command; on failure raise an error that shows the command and its output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    except FileNotFoundError:
        raise HalabError(f"{argv[0]} is not installed on this machine", fix="run ./install.sh") from None
    if check and done.returncode != 0:
        raise HalabError(
            f"host command failed: {' '.join(argv)} (exit status {done.returncode})",
            evidence=(done.stdout + done.stderr).strip(),
        )
    return done
