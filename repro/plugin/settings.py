"""The plugin's options, read in one place: the command line first, then the ini file.

A test's ``joinstall`` marker turns watching on for that test (or off, with ``enabled=False``)
and may set its own interval and stacks. A bad value names where it came from.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from joinstall import defaults

#: One table of defaults: the same interval and bound for ``watch`` and the plugin.
INTERVAL = defaults.INTERVAL
MAX_INTERVAL = defaults.MAX_INTERVAL

ENABLE_HELP = "watch every test's process tree and fail a test the moment a hang in it is proven"
INTERVAL_HELP = f"seconds between two samples of a test's process tree (default {INTERVAL})"
STACKS_HELP = "leave py-spy's stacks out of a hang's report (py-spy needs ptrace)"
SAVE_HELP = (
    "save the diagnosis of each hanging or timed-out test to a file in this folder (made if missing),"
    " for `joinstall explain FILE` later, on any machine"
)
MARKER = (
    "joinstall(enabled=True, interval=None, stacks=None): watch this test's process tree and fail"
    " it the moment a hang is proven (enabled=False opts out of a session-wide --joinstall)"
)


@dataclasses.dataclass(frozen=True)
class Settings:
    enabled: bool
    interval: float
    stacks: bool
    #: The folder diagnoses are saved to (session-wide), or None.
    save: Path | None = None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("joinstall", "prove hangs (join-before-get stalls, deadlocks) while tests run")
    group.addoption("--joinstall", action="store_true", default=None, help=ENABLE_HELP)
    group.addoption("--joinstall-interval", default=None, metavar="SECONDS", help=INTERVAL_HELP)
    group.addoption("--joinstall-no-stacks", action="store_true", default=None, help=STACKS_HELP)
    group.addoption("--joinstall-save", default=None, metavar="DIR", help=SAVE_HELP)
    parser.addini("joinstall", "true: " + ENABLE_HELP, default="false")
    parser.addini("joinstall_interval", INTERVAL_HELP, default=str(INTERVAL))
    parser.addini("joinstall_stacks", "false: " + STACKS_HELP, default="true")
    parser.addini("joinstall_save", SAVE_HELP + " (relative to the ini file)", default="")


def from_config(config: pytest.Config) -> Settings:
    """The session's settings: each option from the command line if given there, else from the ini file."""
    ini = f"the ini file ({config.inipath.name})" if config.inipath else "the ini file"

    def pick(flag: str, key: str) -> tuple[object, str]:
        value = config.getoption(flag.lstrip("-").replace("-", "_"))
        return (value, flag) if value is not None else (config.getini(key), f"{key} in {ini}")

    enabled, where = pick("--joinstall", "joinstall")
    interval, interval_where = pick("--joinstall-interval", "joinstall_interval")
    no_stacks = config.getoption("joinstall_no_stacks")
    stacks = False if no_stacks else _boolean(config.getini("joinstall_stacks"), f"joinstall_stacks in {ini}")
    return Settings(_boolean(enabled, where), _interval(interval, interval_where), stacks, _save(config, ini))


def for_item(item: pytest.Item, session: Settings) -> Settings:
    """A test's settings: its ``joinstall`` marker, if any, over the session's."""
    marker = item.get_closest_marker("joinstall")
    if marker is None:
        return session
    where = f"the joinstall marker of {item.nodeid}"
    unknown = set(marker.kwargs) - {"enabled", "interval", "stacks"}
    if marker.args or unknown:
        given = ", ".join([*map(repr, marker.args), *sorted(unknown)])
        raise pytest.UsageError(f"Invalid argument {given} in {where}: it takes enabled=, interval=, stacks=")
    return Settings(
        _boolean(marker.kwargs.get("enabled", True), where),
        _interval(marker.kwargs.get("interval", session.interval), where),
        _boolean(marker.kwargs.get("stacks", session.stacks), where),
        session.save,
    )


def _save(config: pytest.Config, ini: str) -> Path | None:
    """The save folder: from the command line (relative to where pytest was started), else the ini
    file (relative to it); a path that exists must be a folder."""
    given = config.getoption("joinstall_save")
    if given is not None:
        folder, where = config.invocation_params.dir / str(given), "--joinstall-save"
    else:
        given = str(config.getini("joinstall_save")).strip()
        if not given:
            return None
        base = config.inipath.parent if config.inipath else config.rootpath
        folder, where = base / given, f"joinstall_save in {ini}"
    if folder.exists() and not folder.is_dir():
        raise pytest.UsageError(
            f"Invalid joinstall save folder {str(given)!r} from {where}: it is a file; name a folder"
            " (it is made if missing)"
        )
    return folder


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise pytest.UsageError(f"Invalid joinstall value {value!r} from {where}: use true or false")


def _interval(value: object, where: str) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds <= MAX_INTERVAL:
        raise pytest.UsageError(
            f"Invalid joinstall interval {value!r} from {where}:"
            f" use seconds, more than 0 and at most {MAX_INTERVAL:g} (default {INTERVAL})"
        )
    return seconds
