"""DESIGN.md's time rules as pure functions. All results are aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doctrack.errors import UsageError

MIDNIGHT = time(0, 0)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; an unknown name is a usage error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"unknown time zone {name!r}: use an IANA name such as 'Asia/Tashkent'"
        ) from None


def local_instant(day: date, at: time, tz: str) -> datetime:
    """``day`` at ``at`` in zone ``tz``, as UTC.

    A wall time skipped by a daylight-saving jump is read with the offset before the jump
    (a skipped midnight lands on the first instant after the jump; 02:30 skipped by a jump
    from 02:00 to 03:00 becomes 03:30); an ambiguous one takes its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


def start_of_day(day: date, tz: str) -> datetime:
    """The first instant of ``day`` in ``tz``."""
    return local_instant(day, MIDNIGHT, tz)


def due_before_summit(summit_starts: date, days: int, tz: str) -> datetime:
    """``due: {before_summit: Nd}``: 00:00 of the day N days before the first day."""
    return start_of_day(summit_starts - timedelta(days=days), tz)


def due_end_of_summit(summit_ends: date, tz: str) -> datetime:
    """``due: end_of_summit``: 00:00 of the day after the last day."""
    return start_of_day(summit_ends + timedelta(days=1), tz)


def in_session(now: datetime, starts: date, ends: date, tz: str) -> bool:
    """Whether ``now`` falls within the summit's days in its own zone."""
    return start_of_day(starts, tz) <= now < due_end_of_summit(ends, tz)


def reminder_time(due: datetime, days_before: int, send_at: time, tz: str) -> datetime:
    """Send time of a reminder N days before ``due``: ``send_at`` on the local calendar date
    of (due - N days)."""
    local_day = (due.astimezone(zone(tz)) - timedelta(days=days_before)).date()
    return local_instant(local_day, send_at, tz)


def to_local(value: datetime, tz: str) -> datetime:
    """``value`` shown in zone ``tz``."""
    return value.astimezone(zone(tz))
