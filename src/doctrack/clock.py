"""The one injected clock. Services ask it for the time; nothing else calls ``now()``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from doctrack.errors import UsageError


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant; ``set`` moves it (rehearsals, replays, tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)


class RunningClock:
    """A clock that starts at a chosen instant and then runs at the wall clock's pace.

    The served demo lives on from the end of its replay (June 2016), so that what is due in
    the next minutes of that world comes due while one watches. ``ticks`` is a monotonic
    seconds counter (default :func:`time.monotonic`; tests pass their own).
    """

    def __init__(self, start: datetime, *, ticks: Callable[[], float] = time.monotonic) -> None:
        self._start = as_utc(start)
        self._ticks = ticks
        self._origin = ticks()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._ticks() - self._origin)


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """ISO-8601 date or date-time; without an offset it is UTC."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return as_utc(datetime.fromisoformat(raw))
    except (ValueError, OverflowError):
        raise UsageError(f"not an ISO-8601 time (or out of range): {text!r}") from None
