"""halab's defaults, in one table: each setting is a flag, an environment variable and a key of a
config file, and the first of them that says something wins:

    flag > HALAB_* variable > ./halab.toml > $XDG_CONFIG_HOME/halab/config.toml > built-in

(XDG_CONFIG_HOME defaults to ~/.config). `halab config` shows each effective value and where it
came from. halab's own child processes (the checks' pytest, batch workers) inherit the effective
values through the environment, since they may run in another folder.

    >>> SETTINGS["parallel"].parse("4", Path.cwd())
    4
    >>> SETTINGS["parallel"].parse("auto", Path.cwd()) is None
    True
"""

from __future__ import annotations

import argparse
import os
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from halab.errors import HalabError

BUILT_IN = "built-in"
VERBOSITIES = ("quiet", "normal", "verbose")


def _choice(*allowed: str) -> Callable[[object, Path], str]:
    def parse(raw: object, _base: Path) -> str:
        if raw not in allowed:
            raise ValueError
        return str(raw)

    return parse


def _folder(raw: object, base: Path) -> Path:
    """A folder; relative to the config file's folder (a file) or the current directory."""
    if not isinstance(raw, str) or not raw:
        raise ValueError
    return base / Path(raw).expanduser()


def _parallel(raw: object, _base: Path) -> int | None:
    if raw == "auto":
        return None
    number = int(raw) if isinstance(raw, str) and raw.isdigit() else raw
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError
    return number


@dataclass(frozen=True)
class Setting:
    key: str  # in halab.toml; the attribute of Settings is the same with _ for -
    env: str
    flags: tuple[str, ...]  # the flag of the commands that use it; empty: every command's -q/-v
    default: str  # as it would be written, parsed like any other value
    allowed: str  # in words, for the one-line error
    parse: Callable[[object, Path], object]
    help: str

    @property
    def attr(self) -> str:
        return self.key.replace("-", "_")


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("backend", "HALAB_BACKEND", ("--backend",), "local", '"local" or "vagrant"',
            _choice("local", "vagrant"), "where `up` and `run` start the nodes"),
    Setting("reports", "HALAB_REPORTS", ("-o", "--out"), "reports", "a folder",
            _folder, "where reports go (a folder of submissions: a subfolder named after it)"),
    Setting("parallel", "HALAB_PARALLEL", ("--parallel",), "auto", 'a whole number of labs, 1 or more, or "auto"',
            _parallel, "labs rebuilt at once when grading submissions (auto: from cores and memory)"),
    Setting("id-column", "HALAB_ID_COLUMN", ("--id-column",), "username", '"email", "username" or "idnumber"',
            _choice("email", "username", "idnumber"), "what identifies students in gradebook.csv (Moodle's import)"),
    Setting("verbosity", "HALAB_VERBOSITY", (), "normal", '"quiet", "normal" or "verbose"',
            _choice(*VERBOSITIES), "progress shown on stderr: -q only results and errors, -v each step's command too"),
)}


@dataclass(frozen=True)
class Settings:
    backend: str
    reports: Path
    parallel: int | None
    id_column: str
    verbosity: str
    sources: Mapping[str, str]  # key -> where its value came from: a flag, a variable, a file, built-in


def _working_directory() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise HalabError("the current directory no longer exists", fix="cd to a folder that does") from None


def config_files(cwd: Path | None = None) -> tuple[Path, Path]:
    """Where halab looks, most specific first: the working directory's, then the user's."""
    user = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return (cwd or _working_directory()) / "halab.toml", user / "halab" / "config.toml"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except PermissionError as error:
        if not os.access(path.parent, os.X_OK):  # another user's home, kept through sudo or setpriv: not this user's file
            return {}
        raise HalabError(f"{path}: cannot be read ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HalabError(f"{path}: cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise HalabError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise HalabError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(SETTINGS)}")
    return data


def _parsed(setting: Setting, raw: object, source: str, base: Path) -> object:
    try:
        return setting.parse(raw, base)
    except ValueError:
        raise HalabError(f"{source}: {setting.key} = {raw!r} is not allowed; allowed: {setting.allowed}") from None


def flag_values(args: argparse.Namespace | None) -> dict[str, object]:
    """What the command line said, by setting key (absent: not said)."""
    if args is None:
        return {}
    given = {key: getattr(args, s.attr) for key, s in SETTINGS.items() if getattr(args, s.attr, None) is not None}
    if getattr(args, "quiet", False) and getattr(args, "verbose", 0):
        raise HalabError("-q and -v contradict each other", fix="give one of them")
    if getattr(args, "quiet", False):
        given["verbosity"] = "quiet"
    elif getattr(args, "verbose", 0):
        given["verbosity"] = "verbose"
    return given


def resolve(flags: Mapping[str, object] | None = None, *, cwd: Path | None = None) -> Settings:
    """Every setting's effective value and its source. `flags` are the command line's, by key;
    a malformed file or variable is one line naming it, the key and what is allowed."""
    here = cwd or _working_directory()
    files = [(path, _read_file(path)) for path in config_files(here)]
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for key, setting in SETTINGS.items():
        raw, source, base = _first(setting, flags or {}, files, here)
        values[setting.attr], sources[key] = _parsed(setting, raw, source, base), source
    return Settings(**values, sources=sources)  # type: ignore[arg-type]


def _first(setting: Setting, flags: Mapping[str, object], files: list[tuple[Path, dict[str, Any]]],
           here: Path) -> tuple[object, str, Path]:
    """The raw value that wins, where it came from, and the folder a relative path is relative to."""
    if setting.key in flags:
        return flags[setting.key], f"flag {setting.flags[0] if setting.flags else '-q/-v'}", here
    if os.environ.get(setting.env):
        return os.environ[setting.env], setting.env, here
    for path, data in files:
        if setting.key in data:
            return data[setting.key], str(path), path.parent
    return setting.default, BUILT_IN, here


@contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """Hand what was decided to halab's child processes, whatever folder they run in, for as long
    as the command runs: a caller of `halab.cli.main` (a test, a notebook) gets its environment
    back as it was, so one command's `-o` never becomes the next command's default."""
    before = {setting.env: os.environ.get(setting.env) for setting in SETTINGS.values()}
    try:
        for key, setting in SETTINGS.items():
            if settings.sources[key] != BUILT_IN:
                value = getattr(settings, setting.attr)
                os.environ[setting.env] = "auto" if value is None else str(value)
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def add_flag(parser: argparse.ArgumentParser, key: str, *aliases: str) -> None:
    """The setting's own flag on a command, documented from the table (default: not given)."""
    setting = SETTINGS[key]
    parser.add_argument(*setting.flags, *aliases, dest=setting.attr, default=None, metavar=key.upper().replace("-", "_"),
                        help=f"{setting.help} ({setting.env}; halab.toml: {key}; default {setting.default})")


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-q and -v, before or after the command (`halab -q check`, `halab check -q`)."""
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="show only the result and errors (HALAB_VERBOSITY=quiet)")
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="show more: each step's command, every line of long commands (HALAB_VERBOSITY=verbose)")


def _shown(value: object) -> str:
    return "auto" if value is None else str(value)


def table(settings: Settings) -> str:
    """What `halab config` prints: each setting, its value, where it came from; then the
    locations only the environment sets (every folder and every halab process must agree on them)."""
    from halab.paths import labs_dir, state_root

    rows = [(key, _shown(getattr(settings, s.attr)), settings.sources[key]) for key, s in SETTINGS.items()]
    rows += [(name, str(where), name if os.environ.get(name) else f"{BUILT_IN} (environment only: {name})")
             for name, where in (("HALAB_HOME", state_root()), ("HALAB_LABS", labs_dir()))]
    width = max(len(value) for _, value, _ in rows)
    lines = [f"{key:<11} {value:<{width}}  {source}" for key, value, source in rows]
    looked = ", ".join(f"{path}{'' if os.path.isfile(path) else ' (none)'}" for path in config_files())
    return "\n".join([*lines, "", f"config files, the first one that sets a key wins: {looked}"])
