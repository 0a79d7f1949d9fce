"""DESIGN.md's time rules, with hand-computed UTC instants across zones; Days and --now parsing.

Offsets used below: Asia/Tashkent +05 (no DST); Asia/Almaty +06 until 1 March 2024, +05
after; Europe/Berlin +01 / +02 from 30 March to 26 October 2025 (clocks jump at 02:00);
America/Havana -05 / -04, the jump at 00:00 local on 9 March 2025 (midnight does not exist)
and back at 01:00 on 2 November 2025 (midnight happens twice); Asia/Beirut +02 / +03, jump
at 00:00 on 30 March 2025.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from doctrack.clock import parse_instant
from doctrack.domain import Days
from doctrack.errors import UsageError
from doctrack.timerules import (
    due_before_summit,
    due_end_of_summit,
    in_session,
    local_instant,
    reminder_time,
    start_of_day,
    to_local,
    zone,
)

NINE = time(9, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- due_before_summit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (45, utc(2016, 5, 8, 19, 0)),  # 9 May 00:00 +05
        (14, utc(2016, 6, 8, 19, 0)),  # 9 June 00:00 +05
        (0, utc(2016, 6, 22, 19, 0)),  # the first day itself
    ],
)
def test_due_before_summit_tashkent(days: int, expected: datetime) -> None:
    assert due_before_summit(date(2016, 6, 23), days, "Asia/Tashkent") == expected


def test_due_before_summit_is_aware_utc() -> None:
    assert due_before_summit(date(2016, 6, 23), 14, "Asia/Tashkent").tzinfo is UTC


def test_due_before_summit_almaty_moved_from_utc6_to_utc5() -> None:
    in_2023 = due_before_summit(date(2023, 7, 4), 14, "Asia/Almaty")
    in_2025 = due_before_summit(date(2025, 7, 4), 14, "Asia/Almaty")
    assert in_2023 == utc(2023, 6, 19, 18, 0)  # 20 June 00:00 +06
    assert in_2025 == utc(2025, 6, 19, 19, 0)  # 20 June 00:00 +05
    assert in_2025.time().hour - in_2023.time().hour == 1


def test_due_before_summit_across_spring_forward_is_local_midnight() -> None:
    # Summit 3 April 2025 (CEST); 7 days before is 27 March 00:00 CET.
    due = due_before_summit(date(2025, 4, 3), 7, "Europe/Berlin")
    assert due == utc(2025, 3, 26, 23, 0)
    assert start_of_day(date(2025, 4, 3), "Europe/Berlin") - due == timedelta(days=6, hours=23)


def test_due_before_summit_across_fall_back_is_local_midnight() -> None:
    # Summit 30 October 2025 (CET); 7 days before is 23 October 00:00 CEST.
    due = due_before_summit(date(2025, 10, 30), 7, "Europe/Berlin")
    assert due == utc(2025, 10, 22, 22, 0)
    assert start_of_day(date(2025, 10, 30), "Europe/Berlin") - due == timedelta(days=7, hours=1)


def test_due_before_summit_on_a_skipped_midnight_is_the_jump() -> None:
    # 9 March 2025 in Havana starts at 01:00 CDT: 00:00 CST would be 05:00 UTC, which is it.
    due = due_before_summit(date(2025, 3, 16), 7, "America/Havana")
    assert due == utc(2025, 3, 9, 5, 0)
    assert to_local(due, "America/Havana").replace(tzinfo=None) == datetime(2025, 3, 9, 1, 0)


# -- due_end_of_summit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends", "tz", "expected"),
    [
        (date(2016, 6, 24), "Asia/Tashkent", utc(2016, 6, 24, 19, 0)),
        (date(2017, 6, 9), "Asia/Almaty", utc(2017, 6, 9, 18, 0)),
        (date(2025, 6, 10), "Asia/Almaty", utc(2025, 6, 10, 19, 0)),
        (date(2025, 3, 29), "Europe/Berlin", utc(2025, 3, 29, 23, 0)),  # 30 Mar 00:00 CET
        (date(2025, 3, 30), "Europe/Berlin", utc(2025, 3, 30, 22, 0)),  # 31 Mar 00:00 CEST
        (date(2025, 10, 26), "Europe/Berlin", utc(2025, 10, 26, 23, 0)),  # 27 Oct 00:00 CET
        (date(2024, 2, 29), "Asia/Almaty", utc(2024, 2, 29, 19, 0)),  # 1 Mar 00:00 +05
        (date(2025, 3, 8), "America/Havana", utc(2025, 3, 9, 5, 0)),  # skipped midnight
        (date(2025, 3, 29), "Asia/Beirut", utc(2025, 3, 29, 22, 0)),  # skipped midnight
    ],
)
def test_due_end_of_summit_is_midnight_after_the_last_day(
    ends: date, tz: str, expected: datetime
) -> None:
    assert due_end_of_summit(ends, tz) == expected


def test_ambiguous_midnight_takes_its_first_occurrence() -> None:
    # 2 November 2025 in Havana: 00:00 CDT (04:00 UTC), then at 01:00 CDT back to 00:00 CST.
    assert start_of_day(date(2025, 11, 2), "America/Havana") == utc(2025, 11, 2, 4, 0)
    assert due_end_of_summit(date(2025, 11, 1), "America/Havana") == utc(2025, 11, 2, 4, 0)


# -- local_instant -------------------------------------------------------------------------


def test_local_instant_skipped_wall_time_uses_the_offset_before_the_jump() -> None:
    # 02:30 does not exist in Berlin on 30 March 2025; read as +01:00 it is 03:30 CEST.
    got = local_instant(date(2025, 3, 30), time(2, 30), "Europe/Berlin")
    assert got == utc(2025, 3, 30, 1, 30)


def test_local_instant_ambiguous_wall_time_takes_the_first_occurrence() -> None:
    got = local_instant(date(2025, 10, 26), time(2, 30), "Europe/Berlin")
    assert got == utc(2025, 10, 26, 0, 30)  # 02:30 CEST


def test_local_instant_skipped_midnight_is_the_first_instant_after_the_jump() -> None:
    got = local_instant(date(2025, 3, 30), time(0, 0), "Asia/Beirut")
    assert got == utc(2025, 3, 29, 22, 0)
    before_jump = to_local(got - timedelta(microseconds=1), "Asia/Beirut")
    assert before_jump.date() == date(2025, 3, 29)  # the instant before is still the 29th


def test_to_local_shows_the_zone_offset() -> None:
    shown = to_local(utc(2016, 6, 22, 19, 0), "Asia/Tashkent")
    assert shown.replace(tzinfo=None) == datetime(2016, 6, 23, 0, 0)
    assert shown.utcoffset() == timedelta(hours=5)


# -- reminder_time -------------------------------------------------------------------------


def test_reminder_uses_the_local_date_of_the_due_time() -> None:
    # Due 9 May 00:00 +05 = 8 May 19:00 UTC: 14 days before is 25 April local, not 24.
    got = reminder_time(utc(2016, 5, 8, 19, 0), 14, NINE, "Asia/Tashkent")
    assert got == utc(2016, 4, 25, 4, 0)


def test_reminder_before_spring_forward_is_sent_at_9_cet() -> None:
    due = utc(2025, 3, 31, 22, 0)  # 1 April 00:00 CEST
    assert reminder_time(due, 7, NINE, "Europe/Berlin") == utc(2025, 3, 25, 8, 0)


def test_reminder_on_the_day_the_clocks_go_forward_is_sent_at_9_cest() -> None:
    due = utc(2025, 3, 31, 22, 0)
    assert reminder_time(due, 2, NINE, "Europe/Berlin") == utc(2025, 3, 30, 7, 0)


def test_reminder_on_the_day_the_clocks_go_back_is_sent_at_9_cet() -> None:
    due = utc(2025, 10, 26, 23, 0)  # 27 October 00:00 CET
    assert reminder_time(due, 1, NINE, "Europe/Berlin") == utc(2025, 10, 26, 8, 0)
    assert reminder_time(due, 2, NINE, "Europe/Berlin") == utc(2025, 10, 25, 7, 0)


def test_reminder_in_almaty_follows_the_offset_of_its_year() -> None:
    in_2023 = reminder_time(utc(2023, 6, 19, 18, 0), 7, NINE, "Asia/Almaty")
    in_2025 = reminder_time(utc(2025, 6, 19, 19, 0), 7, NINE, "Asia/Almaty")
    assert in_2023 == utc(2023, 6, 13, 3, 0)
    assert in_2025 == utc(2025, 6, 13, 4, 0)


def test_reminder_honours_the_configured_send_time() -> None:
    got = reminder_time(utc(2016, 6, 8, 19, 0), 1, time(17, 30), "Asia/Tashkent")
    assert got == utc(2016, 6, 8, 12, 30)  # 8 June 17:30 +05


def test_reminder_zero_days_before_is_on_the_due_date() -> None:
    got = reminder_time(utc(2016, 6, 8, 19, 0), 0, NINE, "Asia/Tashkent")
    assert got == utc(2016, 6, 9, 4, 0)


def test_reminder_of_a_due_time_that_is_not_midnight() -> None:
    # Due 10 June 03:00 +05 (9 June 22:00 UTC): the local date, not the UTC date, counts.
    got = reminder_time(utc(2016, 6, 9, 22, 0), 1, NINE, "Asia/Tashkent")
    assert got == utc(2016, 6, 9, 4, 0)


# -- in_session ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2016, 6, 22, 18, 59, 59), False),
        (utc(2016, 6, 22, 19, 0, 0), True),
        (utc(2016, 6, 24, 18, 59, 59), True),
        (utc(2016, 6, 24, 19, 0, 0), False),
    ],
)
def test_in_session_tashkent(now: datetime, expected: bool) -> None:
    assert in_session(now, date(2016, 6, 23), date(2016, 6, 24), "Asia/Tashkent") is expected


def test_in_session_accepts_a_non_utc_now() -> None:
    now = datetime(2016, 6, 23, 0, 0, tzinfo=ZoneInfo("Asia/Tashkent"))
    assert in_session(now, date(2016, 6, 23), date(2016, 6, 24), "Asia/Tashkent")


def test_in_session_almaty_last_day_of_25_hours() -> None:
    # 29 Feb 2024 in Almaty: 23:00-24:00 happened twice; the day ended at 19:00 UTC.
    days = (date(2024, 2, 29), date(2024, 2, 29), "Asia/Almaty")
    assert in_session(utc(2024, 2, 28, 18, 0), *days)
    assert in_session(utc(2024, 2, 29, 18, 30), *days)  # 23:30 +05, the second time
    assert not in_session(utc(2024, 2, 29, 19, 0), *days)


def test_in_session_havana_day_that_starts_at_1am() -> None:
    days = (date(2025, 3, 9), date(2025, 3, 9), "America/Havana")
    assert not in_session(utc(2025, 3, 9, 4, 59, 59), *days)  # 8 March 23:59:59 CST
    assert in_session(utc(2025, 3, 9, 5, 0), *days)  # 9 March 01:00 CDT
    assert in_session(utc(2025, 3, 10, 3, 59, 59), *days)
    assert not in_session(utc(2025, 3, 10, 4, 0), *days)


def test_midnight_dst_dates_in_the_tests_really_skip_or_repeat_midnight() -> None:
    havana, beirut = ZoneInfo("America/Havana"), ZoneInfo("Asia/Beirut")

    def skipped(day: date, z: ZoneInfo) -> bool:
        wall = datetime.combine(day, time(0), tzinfo=z)
        return wall.astimezone(UTC).astimezone(z).replace(tzinfo=None) != wall.replace(tzinfo=None)

    def repeated(day: date, z: ZoneInfo) -> bool:
        wall = datetime.combine(day, time(0), tzinfo=z)
        return not skipped(day, z) and wall.utcoffset() != wall.replace(fold=1).utcoffset()

    assert skipped(date(2025, 3, 9), havana)
    assert skipped(date(2025, 3, 30), beirut)
    assert repeated(date(2025, 11, 2), havana)
    assert not skipped(date(2025, 3, 30), ZoneInfo("Europe/Berlin"))


# -- zone ----------------------------------------------------------------------------------


def test_zone_returns_the_iana_zone() -> None:
    assert zone("Asia/Tashkent") == ZoneInfo("Asia/Tashkent")


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Asia/"])
def test_unknown_zone_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="unknown time zone"):
        zone(name)


def test_zone_naming_a_folder_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown time zone 'America'"):
        zone("America")


# -- Days.parse ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "days"), [("0d", 0), ("1d", 1), ("14d", 14), ("9999d", 9999)])
def test_days_parse_accepts_whole_days(text: str, days: int) -> None:
    parsed = Days.parse(text)
    assert parsed == Days(days=days)
    assert str(parsed) == text


@pytest.mark.parametrize(
    "text",
    [
        "14",
        14,
        14.0,
        None,
        "",
        "d",
        "14 d",
        " 14d",
        "14D",
        "-3d",
        "+3d",
        "1w",
        "45 days",
        "1.5d",
        "10000d",
        "14dd",
        "14d\n",
    ],
)
def test_days_parse_rejects_anything_else(text: object) -> None:
    with pytest.raises(ValueError, match=r"bad duration .*expected whole days such as '14d'"):
        Days.parse(text)


# -- clock.parse_instant -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-06-23T10:00", utc(2016, 6, 23, 10, 0)),
        ("2016-06-23 10:00:30", utc(2016, 6, 23, 10, 0, 30)),
        ("2016-06-23T10:00:00+05:00", utc(2016, 6, 23, 5, 0)),
        ("2016-06-23T01:00-04:00", utc(2016, 6, 23, 5, 0)),
        ("2016-06-23T10:00Z", utc(2016, 6, 23, 10, 0)),
        ("2016-06-23", utc(2016, 6, 23, 0, 0)),
        ("  2016-06-23  ", utc(2016, 6, 23, 0, 0)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    got = parse_instant(text)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2016-13-01",
        "2016-06-31",
        "2016-06-23T25:00",
        "23/06/2016",
        "now",
        "2016-06-23T10:00+25:00",
    ],
)
def test_parse_instant_garbage_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="not an ISO-8601 time"):
        parse_instant(text)


@pytest.mark.parametrize("text", ["0001-01-01T00:00+01:00", "9999-12-31T23:00-05:00"])
def test_parse_instant_out_of_range_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_instant(text)
