"""IANA time zones as phones take them: a standard offset and, where the zone has daylight
saving time, the rule that starts and ends it.

Phones do not read the IANA database: each vendor has a table of its own (an offset, a
code such as Snom's ``USA-5``, a name such as Yealink's) and DST rules of the form "the
last Sunday of March at 02:00". The rule in force today is the POSIX TZ string at the end
of every TZif file (RFC 8536 §3.3, e.g. ``EST5EDT,M3.2.0,M11.1.0``); `zone_rule` reads it
from the same database `zoneinfo` uses, once per zone, and each vendor module turns the
result into its own keys.

A zone whose DST is negative (Europe/Dublin: summer is "standard") is turned around, as
phones only add an hour. Only the ``Mm.w.d`` form of a DST rule is what phones can express; the Julian forms
(``Jn``, ``n``) are not used by any zone in the database today and are refused here.
Transition times can lie outside 0:00–23:59 (Israel's ``/26``, Greenland's ``/-1``):
`Transition.hour_of_day` clamps them for vendors that take an hour of the day, and
`Transition.exact` says whether that lost anything.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Transition:
    """``Mm.w.d/time``: month 1–12, week 1–5 (5: the last), weekday 0–6 (0: Sunday),
    local time in seconds after midnight (may be negative or past 24 h)."""

    month: int
    week: int
    weekday: int
    time: int  # seconds, local time in force before the transition

    @property
    def hour_of_day(self) -> int:
        """The hour (0–23) for vendors that take only an hour: clamped to the day."""
        return min(23, max(0, self.time // 3600))

    @property
    def exact(self) -> bool:
        """The transition falls on a whole hour of its own day."""
        return self.time % 3600 == 0 and 0 <= self.time < 86400

    @property
    def iso_weekday(self) -> int:
        """1 Monday … 7 Sunday."""
        return self.weekday or 7


@dataclass(frozen=True)
class DaylightSaving:
    save: int  # seconds added to the standard offset while in force (usually 3600)
    start: Transition
    end: Transition
    abbreviation: str


@dataclass(frozen=True)
class ZoneRule:
    """One IANA zone as phones take it. Offsets in seconds east of UTC."""

    name: str  # the IANA name
    offset: int  # the standard (winter) offset
    abbreviation: str
    dst: DaylightSaving | None
    posix: str  # the POSIX TZ string this was read from

    @property
    def offset_minutes(self) -> int:
        return self.offset // 60

    def offset_text(self, sep: str = ":", always_minutes: bool = True) -> str:
        """``-05:00``, ``+05:30`` (``-5``, ``+5:30`` with always_minutes False)."""
        return format_offset(self.offset, sep, always_minutes)


def format_offset(seconds: int, sep: str = ":", always_minutes: bool = True) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    if always_minutes:
        return f"{sign}{hours:02d}{sep}{minutes:02d}"
    return f"{sign}{hours}{sep}{minutes:02d}" if minutes else f"{sign}{hours}"


class UnknownTimeZone(ValueError):
    pass


def _tzif(name: str) -> bytes:
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone")
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            return path.read_bytes()
    try:  # the tzdata package, where zoneinfo finds it when the system has no database
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        return resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, OSError):
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone") from None


_NAME = r"(?:<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"[+-]?\d{1,2}(?::\d{2}){0,2}"
_RULE = r"M\d{1,2}\.\d\.\d(?:/[+-]?\d{1,3}(?::\d{2}){0,2})?"
_POSIX = re.compile(
    rf"(?P<std>{_NAME})(?P<offset>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?,(?P<start>{_RULE}),(?P<end>{_RULE}))?"
)


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    parts += [0] * (3 - len(parts))
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _transition(text: str) -> Transition:
    date, _, time = text.partition("/")
    month, week, weekday = (int(part) for part in date[1:].split("."))
    return Transition(month, week, weekday, _seconds(time) if time else 7200)


def _abbreviation(text: str) -> str:
    return text.strip("<>")


def parse_posix(name: str, posix: str) -> ZoneRule:
    """A POSIX TZ string (the TZif footer's form) as a `ZoneRule`."""
    found = _POSIX.fullmatch(posix)
    if found is None:
        raise UnknownTimeZone(f"{name}: the rule {posix!r} cannot be given to a phone")
    offset = -_seconds(found["offset"])  # POSIX counts west of UTC
    dst = None
    if found["dst"]:
        dst_offset = -_seconds(found["dst_offset"]) if found["dst_offset"] else offset + 3600
        start, end = _transition(found["start"]), _transition(found["end"])
        std, summer = _abbreviation(found["std"]), _abbreviation(found["dst"])
        if dst_offset < offset:  # Europe/Dublin: "standard" is summer time; phones add
            offset, dst_offset, start, end, std, summer = (  # a positive DST only
                dst_offset,
                offset,
                end,
                start,
                summer,
                std,
            )
        dst = DaylightSaving(dst_offset - offset, start, end, summer)
        return ZoneRule(name, offset, std, dst, posix)
    return ZoneRule(name, offset, _abbreviation(found["std"]), None, posix)


@functools.lru_cache(maxsize=1024)
def zone_rule(name: str) -> ZoneRule:
    """The rule in force for the IANA zone `name` (``America/New_York``)."""
    data = _tzif(name)
    if not data.startswith(b"TZif"):
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone")
    footer = data.rstrip(b"\n").rpartition(b"\n")[2].decode("ascii", "replace")
    if data[4:5] in (b"\x00",) or not footer:  # a version 1 file has no footer
        raise UnknownTimeZone(f"{name}: the database has no rule for today")
    return parse_posix(name, footer)
