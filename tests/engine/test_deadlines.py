"""Deadlines of a workflow against a summit: due times (UTC) and status at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from doctrack.domain import DeadlineStatus
from doctrack.engine.deadlines import deadline_status, due_times
from doctrack.engine.loader import parse_workflow
from doctrack.engine.registry import Workflows

DUE = datetime(2016, 6, 8, 19, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def test_convention_due_times_for_tashkent_2016(workflows: Workflows) -> None:
    got = due_times(
        workflows.get("convention"),
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
    )
    assert got == [
        ("agreed", datetime(2016, 5, 8, 19, 0, tzinfo=UTC)),  # 45d: 9 May 00:00 +05
        ("approved", datetime(2016, 6, 8, 19, 0, tzinfo=UTC)),  # 14d: 9 June 00:00 +05
        ("signed", datetime(2016, 6, 24, 19, 0, tzinfo=UTC)),  # 25 June 00:00 +05
    ]


def test_programme_due_times_for_astana_2017(workflows: Workflows) -> None:
    got = due_times(
        workflows.get("programme"), starts=date(2017, 6, 8), ends=date(2017, 6, 9), tz="Asia/Almaty"
    )
    assert got == [
        ("agreed", datetime(2017, 5, 8, 18, 0, tzinfo=UTC)),  # 30d: 9 May 00:00 +06
        ("approved", datetime(2017, 5, 28, 18, 0, tzinfo=UTC)),  # 10d: 29 May 00:00 +06
        ("adopted", datetime(2017, 6, 9, 18, 0, tzinfo=UTC)),  # 10 June 00:00 +06
    ]


def test_due_times_are_aware_utc(workflows: Workflows) -> None:
    got = due_times(
        workflows.get("convention"),
        starts=date(2025, 4, 3),
        ends=date(2025, 4, 4),
        tz="Europe/Berlin",
    )
    assert all(due.tzinfo is UTC for _, due in got)


def test_due_times_use_the_summit_zone_across_dst(workflows: Workflows) -> None:
    # Summit 10-11 April 2025 in Berlin: 14d before is 27 March 00:00 CET, the end is CEST.
    got = dict(
        due_times(
            workflows.get("convention"),
            starts=date(2025, 4, 10),
            ends=date(2025, 4, 11),
            tz="Europe/Berlin",
        )
    )
    assert got["approved"] == datetime(2025, 3, 26, 23, 0, tzinfo=UTC)
    assert got["signed"] == datetime(2025, 4, 11, 22, 0, tzinfo=UTC)


def test_due_times_follow_file_order_and_skip_states_without_due() -> None:
    wf = parse_workflow(
        """
name: tiny
initial: a
states:
  a: {}
  c: {due: end_of_summit, final: true}
  b: {due: {before_summit: 0d}}
transitions:
  - {trigger: go, source: a, dest: b, roles: [admin]}
  - {trigger: end, source: b, dest: c, roles: [admin]}
"""
    )
    got = due_times(wf, starts=date(2016, 6, 23), ends=date(2016, 6, 24), tz="Asia/Tashkent")
    assert got == [
        ("c", datetime(2016, 6, 24, 19, 0, tzinfo=UTC)),
        ("b", datetime(2016, 6, 22, 19, 0, tzinfo=UTC)),
    ]


def test_no_milestones_no_due_times() -> None:
    wf = parse_workflow(
        "name: t\ninitial: a\nstates: {a: {}, b: {}}\n"
        "transitions: [{trigger: go, source: a, dest: b, roles: [admin]}]\n"
    )
    assert due_times(wf, starts=date(2016, 6, 23), ends=date(2016, 6, 24), tz="UTC") == []


@pytest.mark.parametrize(
    ("met_at", "now", "expected"),
    [
        (None, DUE - TICK, DeadlineStatus.PENDING),
        (None, DUE, DeadlineStatus.MISSED),
        (None, DUE + timedelta(days=3), DeadlineStatus.MISSED),
        (DUE - TICK, DUE - TICK, DeadlineStatus.MET),
        (DUE - timedelta(days=2), DUE + timedelta(days=30), DeadlineStatus.MET),
        (DUE, DUE, DeadlineStatus.MISSED),
        (DUE + timedelta(hours=1), DUE + timedelta(hours=2), DeadlineStatus.MISSED),
    ],
    ids=[
        "pending-just-before",
        "missed-at-due",
        "missed-after",
        "met-just-before",
        "met-stays-met",
        "entered-at-due-is-missed",
        "entered-late-is-missed",
    ],
)
def test_deadline_status(met_at: datetime | None, now: datetime, expected: DeadlineStatus) -> None:
    assert deadline_status(DUE, met_at, now) is expected


def test_deadline_status_compares_instants_not_wall_times() -> None:
    # 8 June 23:59 in Tashkent is 18:59 UTC: before the due time of 19:00 UTC.
    met_at = datetime(2016, 6, 8, 23, 59, tzinfo=ZoneInfo("Asia/Tashkent"))
    assert deadline_status(DUE, met_at, DUE) is DeadlineStatus.MET
