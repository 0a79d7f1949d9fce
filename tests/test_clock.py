"""The clocks: fixed, and running on from a chosen instant (the served demo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from doctrack.clock import FixedClock, RunningClock


class Ticks:
    """A monotonic counter the test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_a_running_clock_starts_at_its_instant_and_runs_at_the_tick_pace() -> None:
    ticks = Ticks()
    start = datetime(2016, 6, 24, 11, 0, tzinfo=timezone(timedelta(hours=5)))
    clock = RunningClock(start, ticks=ticks)
    assert clock.now() == datetime(2016, 6, 24, 6, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    ticks.value += 90.5
    assert clock.now() == datetime(2016, 6, 24, 6, 1, 30, 500000, tzinfo=UTC)


def test_a_running_clock_takes_a_naive_start_as_utc() -> None:
    clock = RunningClock(datetime(2016, 1, 15, 4, 0), ticks=Ticks())
    assert clock.now() == datetime(2016, 1, 15, 4, 0, tzinfo=UTC)


def test_a_fixed_clock_stays_until_set() -> None:
    clock = FixedClock(datetime(2016, 1, 15, 9, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2016, 1, 15, 9, 0, tzinfo=UTC)
    clock.set(datetime(2016, 2, 1, tzinfo=UTC))
    assert clock.now() == datetime(2016, 2, 1, tzinfo=UTC)
