"""Heartbeat's ha.cf read the way heartbeat 3.0.6 reads it, keeping every value's line for the grader.

>>> conf = parse_ha_cf(Path("/etc/ha.d/ha.cf").read_text())
>>> conf.deadtime_ms, conf.keepalive_ms, conf.nodes, conf.auto_failback
(10000, 1000, ('srv', 'srv-slave'), 'on')

Like heartbeat's own parser (config.c, parse_config): `#` comments out the rest of any line; a line
is a directive then values separated by blanks or commas, each value applied in turn, so
`node srv srv-slave` declares two nodes and the last `deadtime` wins; a few directives (`ucast`,
`mcast`, `stonith_host`, `respawn`...) take the rest of the line as one value instead. Times are
seconds unless they end in `ms` or `us` (`1500ms`, `0.5`); `10s` is refused. Directive names are
case-sensitive; node names are lowered, and must equal `uname -n`.

What heartbeat refuses to start with (an unknown directive, a time it cannot read, `deadtime` not
above twice `keepalive`, no medium, no node) is listed by `refusals()`; a timing that cannot be
read raises when it is asked for, with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from halab.errors import HalabError

# Defaults of heartbeat 3.0.6 (`heartbeat -D`, config.c init_config).
KEEPALIVE_DEFAULT_MS = 1000
DEADTIME_DEFAULT_MS = 30000
UDPPORT_DEFAULT = 694
AUTO_FAILBACK_DEFAULT = "legacy"

_DELIMITERS = re.compile(r"[,\s]+")
_TIME = re.compile(r"\s*(?P<number>[0-9.]+)\s*(?P<unit>.*)")
_TRUE = frozenset({"true", "on", "yes", "y", "1"})
_FALSE = frozenset({"false", "off", "no", "n", "0"})

# Directives whose value is the rest of the line (config.c WLdirectives, and the media plugins
# that parse their own line); every other directive takes a list of values.
WHOLE_LINE = frozenset(
    {"stonith", "stonith_host", "apiauth", "respawn", "failfast", "ucast", "ucast6", "mcast", "mcast6", "ping_group"}
)
# The communication media heartbeat 3.0.6 ships (/usr/lib/heartbeat/plugins/HBcomm); `udp` is
# an old spelling of `bcast` heartbeat still accepts.
MEDIA = frozenset({"bcast", "udp", "ucast", "ucast6", "mcast", "mcast6", "serial"})
PING_MEDIA = frozenset({"ping", "ping6", "ping_group"})
# Every directive heartbeat 3.0.6 accepts (config.c Directives and WLdirectives, plus the media);
# anything else stops it with "Illegal directive".
KNOWN_DIRECTIVES = WHOLE_LINE | MEDIA | PING_MEDIA | frozenset(
    """
    cluster node hopfudge keepalive deadtime deadping initdead warntime watchdog baud udpport
    logfacility logfile debugfile nice_failback auto_failback rtprio hbgenmethod realtime debug
    msgfmt use_logd conn_logd_time use_apphbd log_badpack syslogmsgfmt coredumps coreroot crm
    pacemaker autojoin uuidfrom compression compression_threshold traditional_compression env
    max_rexmit_delay record_config_changes record_pengine_inputs enable_config_writes memreserve
    quorum_server
    """.split()
)


@dataclass(frozen=True)
class HaCfEntry:
    """One value of a directive: `node srv srv-slave` gives two entries on the same line."""

    directive: str
    value: str
    line: int


@dataclass(frozen=True)
class HaCf:
    source: str
    entries: tuple[HaCfEntry, ...]

    def values(self, directive: str) -> tuple[str, ...]:
        """Every value given to a directive, in file order."""
        return tuple(e.value for e in self.entries if e.directive == directive)

    def entry(self, directive: str) -> HaCfEntry | None:
        """The value heartbeat keeps for a single-valued directive: the last one it reads."""
        found = [e for e in self.entries if e.directive == directive]
        return found[-1] if found else None

    @property
    def nodes(self) -> tuple[str, ...]:
        """The cluster nodes, lowered as heartbeat lowers them; each must equal a node's `uname -n`."""
        return tuple(dict.fromkeys(value.lower() for value in self.values("node")))

    @property
    def keepalive_ms(self) -> int:
        return self._ms("keepalive", KEEPALIVE_DEFAULT_MS)

    @property
    def deadtime_ms(self) -> int:
        """How long a silent node has before it is declared dead: the downtime after a crash."""
        return self._ms("deadtime", DEADTIME_DEFAULT_MS)

    @property
    def warntime_ms(self) -> int:
        return self._ms("warntime", self.deadtime_ms // 2)

    @property
    def initdead_ms(self) -> int:
        """The deadtime heartbeat allows at start-up; its default depends on deadtime (config.c)."""
        deadtime = self.deadtime_ms
        if deadtime > 10000:
            default = deadtime
        else:
            default = 12000 if deadtime < 6000 else 2 * deadtime
        return self._ms("initdead", default)

    @property
    def udpport(self) -> int:
        entry = self.entry("udpport")
        if entry is None:
            return UDPPORT_DEFAULT
        if not entry.value.isdigit() or int(entry.value) == 0:
            raise _bad(self.source, entry, "a UDP port number", "write e.g. `udpport 694`")
        return int(entry.value)

    @property
    def auto_failback(self) -> str:
        """"on", "off" or "legacy" (heartbeat's default, which it warns about)."""
        entry = self.entry("auto_failback")
        if entry is None:
            return AUTO_FAILBACK_DEFAULT
        value = entry.value.lower()
        if value in _TRUE:
            return "on"
        if value in _FALSE:
            return "off"
        if value == "legacy":
            return "legacy"
        raise _bad(self.source, entry, "on, off or legacy", "write `auto_failback on` or `auto_failback off`")

    @property
    def media(self) -> tuple[HaCfEntry, ...]:
        """The heartbeat paths between nodes, e.g. `bcast enp0s3` or `ucast enp0s3 192.168.137.63`."""
        return tuple(e for e in self.entries if e.directive in MEDIA)

    def unknown_directives(self) -> tuple[HaCfEntry, ...]:
        """Directives heartbeat 3.0.6 does not know: each stops it ("Illegal directive")."""
        seen: set[int] = set()
        out = []
        for entry in self.entries:
            if entry.directive not in KNOWN_DIRECTIVES and entry.line not in seen:
                seen.add(entry.line)
                out.append(entry)
        return tuple(out)

    def refusals(self) -> tuple[str, ...]:
        """Why heartbeat would refuse to start with this file, in its own terms; empty if it starts."""
        problems = [
            f"line {e.line}: illegal directive `{e.directive}`" for e in self.unknown_directives()
        ]
        try:
            keepalive, deadtime, initdead = self.keepalive_ms, self.deadtime_ms, self.initdead_ms
            self.warntime_ms
        except HalabError as error:
            problems.append(error.what.removeprefix(f"{self.source} "))
        else:
            if keepalive <= 0:
                problems.append(f"keepalive {keepalive} ms must be above zero")
            if deadtime <= 2 * keepalive:
                problems.append(f"deadtime {deadtime} ms must be more than twice keepalive ({keepalive} ms)")
            if initdead < deadtime:
                problems.append(f"initdead {initdead} ms must be at least deadtime ({deadtime} ms)")
        if not self.media:
            problems.append("no heartbeat medium (bcast, ucast, mcast or serial)")
        if not self.nodes:
            problems.append("no `node` declared")
        return tuple(problems)

    def _ms(self, directive: str, default: int) -> int:
        entry = self.entry(directive)
        if entry is None:
            return default
        ms = parse_time_ms(entry.value)
        if ms is None or ms < 0:
            raise _bad(self.source, entry, "a time", f"write seconds (`{directive} 10`) or milliseconds (`{directive} 10000ms`)")
        return ms


def parse_ha_cf(text: str, *, source: str = "ha.cf") -> HaCf:
    """Read ha.cf text; never refuses (heartbeat's refusals are in `HaCf.refusals()`)."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.partition("#")[0].strip()
        if not line:
            continue
        directive, _, rest = line.replace("\t", " ").partition(" ")
        if directive in WHOLE_LINE:
            entries.append(HaCfEntry(directive, " ".join(rest.split()), number))
            continue
        values = [value for value in _DELIMITERS.split(rest) if value]
        entries += [HaCfEntry(directive, value, number) for value in values] or [HaCfEntry(directive, "", number)]
    return HaCf(source, tuple(entries))


def parse_time_ms(text: str) -> int | None:
    """A heartbeat time in whole milliseconds, as its get_msec() reads it: seconds by default,
    `ms` or `us` after the number; None when heartbeat would refuse it (`10s`, `ten`)."""
    match = _TIME.fullmatch(text)
    if match is None or not re.match(r"\d|\.\d", match["number"]):
        return None
    unit = match["unit"].strip().lower()
    if unit.startswith("ms"):
        factor = 1.0
    elif unit.startswith("us"):
        factor = 0.001
    elif unit == "":
        factor = 1000.0
    else:
        return None
    number = re.match(r"\d*\.?\d*", match["number"])
    assert number is not None
    return int(float(number.group(0)) * factor + 0.5)


def _bad(source: str, entry: HaCfEntry, expected: str, fix: str) -> HalabError:
    return HalabError(
        f"{source} line {entry.line}: {entry.directive} must be {expected}, not {entry.value!r}; "
        "heartbeat refuses to start",
        evidence=f"{entry.line:>4} | {entry.directive} {entry.value}",
        fix=fix,
    )
