"""The prober as the harness uses it: a worker process probing the VIP, and its samples collected.

>>> with Prober("http://10.0.0.10/", {"node1": "node1", "node2": "node2"}, netns="halab-pcs") as prober:
...     prober.wait_for_answer(timeout_s=30)
...     fault_at = inject_fault()  # a time.monotonic() reading
>>> downtime_after(prober.samples(), fault_at)

The worker runs as a subprocess so that it can live in the lab's network namespace (through
`nsenter`) while the harness stays in the root namespace; both stamp times with CLOCK_MONOTONIC,
so samples and fault events share one timeline.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import IO, TYPE_CHECKING

from halab.errors import HalabError
from halab.probe.samples import ProbeSample
from halab.wait import wait_until

if TYPE_CHECKING:
    from halab.probe.worker import WorkerConfig

STARTUP_S = 10.0  # Python start-up and imports, on a busy machine, before the first request
STOP_GRACE_S = 2.0  # beyond the request timeout, for the worker to exit after SIGTERM
_NETNS = re.compile(r"^[A-Za-z0-9_.-]+$")


class Prober:
    """Probes `url` every `period_s` from a worker process, in network namespace `netns` if given.

    `macs` maps each node to its NIC's MAC address, to tell who answered from the network;
    `markers` maps each node to a text that only its page contains, the cross-check.
    """

    def __init__(
        self,
        url: str,
        markers: dict[str, str],
        *,
        netns: str | None = None,
        period_s: float = 0.02,
        timeout_s: float = 0.25,
        max_duration_s: float = 3600.0,
        macs: dict[str, str] | None = None,
    ) -> None:
        if netns is not None and not _NETNS.match(netns):
            raise HalabError(
                f"network namespace name {netns!r} is not a plain name", fix="use a name that `ip netns list` shows"
            )
        # Imported here: were the package to import the worker, `python -m halab.probe.worker`
        # would find its own module already loaded and run it twice.
        from halab.probe.worker import WorkerConfig

        self.config: WorkerConfig = WorkerConfig(url, tuple(markers.items()), period_s, timeout_s, max_duration_s,
                                                   tuple((macs or {}).items()))
        self.netns = netns
        self._samples: list[ProbeSample] = []
        self._lock = threading.Lock()
        self._first_line = threading.Event()
        self._reader: threading.Thread | None = None
        self._bad_line = ""
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None
        self._stderr_tail = ""
        self._stopping = False

    @property
    def command(self) -> list[str]:
        worker = [sys.executable, "-m", "halab.probe.worker", *self.config.to_argv()]
        if self.netns is None:
            return worker
        return ["nsenter", f"--net=/run/netns/{self.netns}", "--", *worker]

    def start(self) -> Prober:
        """Launch the worker and return once its first sample is in, so probing is known to run."""
        if self._process is not None:
            raise HalabError("this prober was already started", fix="create a new Prober for each run")
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, text=True
            )
        except OSError as error:
            self._stderr.close()
            raise HalabError(
                f"could not start the prober: {error}", evidence=shlex.join(self.command), fix=_fix(self.netns)
            ) from None
        self._reader = threading.Thread(target=self._read, name="halab-prober-reader", daemon=True)
        self._reader.start()
        allowance = STARTUP_S + self.config.timeout_s
        arrived = self._first_line.wait(allowance)
        with self._lock:
            started = bool(self._samples)
        if not started:
            self._halt()
            if arrived:
                code = self._process.returncode
                raise self._error(f"the prober{self._where} stopped before its first sample (exit status {code})")
            raise self._error(f"the prober{self._where} sent no sample within {allowance:.0f} s")
        return self

    def samples(self) -> list[ProbeSample]:
        """The samples collected so far, by start time; raises if the worker died."""
        if failure := self._failure():
            raise failure
        return self._snapshot()

    def stop(self) -> list[ProbeSample]:
        """Stop the worker (SIGTERM, then kill if it lingers) and return every sample, by start time.

        Raises if the worker had died on its own before; calling it again returns the same samples.
        """
        if self._process is None:
            return []
        failure = self._failure()
        self._halt()
        if failure:
            raise failure
        return self._snapshot()

    def wait_for_answer(self, timeout_s: float) -> ProbeSample:
        """The first sample with outcome "ok" that starts after this call; bounded by `timeout_s`.

        Looks only at samples that arrive after the call, so polling stays cheap in long runs.
        """
        since = time.monotonic()
        with self._lock:
            seen = len(self._samples)

        def first_answer() -> ProbeSample | None:
            if failure := self._failure():
                raise failure
            with self._lock:
                recent = [s for s in self._samples[seen:] if s.start >= since]
            answers = [s for s in recent if s.ok]
            return min(answers, key=lambda s: s.start) if answers else (recent[-1] if recent else None)

        answer = wait_until(
            first_answer,
            lambda sample: sample is not None and sample.ok,
            what=f"an answer from {self.config.url}",
            timeout_s=timeout_s,
            interval_s=max(self.config.period_s, 0.05),
            fix="check that the VIP is up and Apache serves the page",
        )
        assert answer is not None  # accepted only when not None
        return answer

    def __enter__(self) -> Prober:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.stop()
        except HalabError:
            if error is None:
                raise  # otherwise the error already on its way out matters more

    @property
    def _where(self) -> str:
        return f" in network namespace {self.netns}" if self.netns else ""

    def _read(self) -> None:
        """Reader thread: one JSON line per sample, until the worker closes its stdout."""
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                sample = ProbeSample.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as error:
                self._bad_line = self._bad_line or f"unreadable sample line {line!r}: {error}"
                continue
            with self._lock:
                self._samples.append(sample)
            self._first_line.set()
        self._first_line.set()

    def _halt(self) -> None:
        """End the worker and the reader, whatever state they are in; keep the worker's stderr."""
        assert self._process is not None and self._stderr is not None
        self._stopping = True
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(self.config.timeout_s + STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._reader is not None:
            self._reader.join(STOP_GRACE_S)
        if self._process.stdout is not None and not (self._reader and self._reader.is_alive()):
            self._process.stdout.close()
        if not self._stderr.closed:
            self._stderr_tail = self._stderr_text()
            self._stderr.close()

    def _failure(self) -> HalabError | None:
        """The worker's death (a non-zero exit we did not cause) or garbage on its stdout, if any."""
        if self._process is None:
            return None
        code = self._process.poll()
        if code not in (None, 0) and not self._stopping:
            return self._error(f"the prober{self._where} stopped early (exit status {code})")
        if self._bad_line:
            return self._error(f"the prober{self._where} printed something that is not a sample")
        return None

    def _error(self, what: str) -> HalabError:
        evidence = "\n".join(filter(None, [self._bad_line, self._stderr_text()]))
        return HalabError(what, evidence=evidence, fix=_fix(self.netns))

    def _snapshot(self) -> list[ProbeSample]:
        with self._lock:
            return sorted(self._samples, key=lambda sample: sample.start)

    def _stderr_text(self) -> str:
        """The end of what the worker (or nsenter) wrote to stderr."""
        if self._stderr is None or self._stderr.closed:
            return self._stderr_tail
        # pread, not seek and read: the worker shares this file's offset and may still be writing.
        size = os.fstat(self._stderr.fileno()).st_size
        start = max(0, size - 4000)
        return os.pread(self._stderr.fileno(), size - start, start).decode(errors="replace")


def _fix(netns: str | None) -> str:
    if netns is None:
        return "run `python -m halab.probe.worker --help` to check the worker starts"
    return f"check that the lab is up: `ip netns list` should show {netns}; nsenter needs root"
