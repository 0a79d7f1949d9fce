"""Scheduled status reports: planning from crontab rules, once per period and recipient."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tracking_support import set_clock

from doctrack.config import load_settings
from doctrack.errors import ConfigError
from doctrack.services.reminders import ReminderDesk
from doctrack.services.report_schedule import (
    NO_LONGER_SCHEDULED,
    ReportSchedule,
    check_cron,
    next_fire,
    plan_scheduled_reports,
)
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import REMINDER, USER

WEEKLY = ReportSchedule(default="0 8 * * mon")


def report_rows(t: Tracker) -> list[tuple[str, str, datetime, str, str | None]]:
    """(summit id, user name, send_at, status, note) of every report row, in send order."""
    with t.db.read() as conn:
        rows = conn.execute(
            select(
                REMINDER.c.summit_id,
                USER.c.name,
                REMINDER.c.send_at,
                REMINDER.c.status,
                REMINDER.c.note,
            )
            .select_from(REMINDER.join(USER, USER.c.id == REMINDER.c.user_id))
            .where(REMINDER.c.kind == "report")
            .order_by(REMINDER.c.send_at, REMINDER.c.summit_id, USER.c.name)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def plan(t: Tracker, schedule: ReportSchedule = WEEKLY) -> tuple[int, int]:
    result = plan_scheduled_reports(t.db, t.clock, schedule, "example.org")
    return result.planned, result.cancelled


def test_next_fire_in_the_summits_zone() -> None:
    # Monday 16 May 2016, 08:00 in Tashkent (UTC+5) is 03:00 UTC; in Almaty (UTC+6) 02:00.
    before = datetime(2016, 5, 15, 12, 0, tzinfo=UTC)
    assert next_fire("0 8 * * mon", "Asia/Tashkent", before) == datetime(2016, 5, 16, 3, tzinfo=UTC)
    assert next_fire("0 8 * * mon", "Asia/Almaty", before) == datetime(2016, 5, 16, 2, tzinfo=UTC)
    # At the fire time itself, the next one is a week later: a period is planned ahead.
    at = datetime(2016, 5, 16, 3, tzinfo=UTC)
    assert next_fire("0 8 * * mon", "Asia/Tashkent", at) == datetime(2016, 5, 23, 3, tzinfo=UTC)


def test_one_row_per_summit_period_and_secretary(world: Tracker) -> None:
    set_clock(world, "2016-05-15T12:00:00+05:00")  # a Sunday
    assert plan(world) == (2, 0)  # t16 and a17, one secretary
    assert [(r[1], r[2], r[3]) for r in report_rows(world)] == [
        ("sec", datetime(2016, 5, 16, 2, tzinfo=UTC), "pending"),  # a17: Almaty
        ("sec", datetime(2016, 5, 16, 3, tzinfo=UTC), "pending"),  # t16: Tashkent
    ]
    assert plan(world) == (0, 0)  # planning again changes nothing
    set_clock(world, "2016-05-16T12:00:00+05:00")  # after this week's time: next week's
    assert plan(world) == (2, 0)
    assert len(report_rows(world)) == 4


def test_per_summit_rule_and_off(world: Tracker) -> None:
    set_clock(world, "2016-05-15T12:00:00+05:00")
    schedule = ReportSchedule(default="0 8 * * mon", by_summit={"t16": "30 7 * * fri", "a17": None})
    assert plan(world, schedule) == (1, 0)
    ((_, user, send_at, status, _),) = report_rows(world)
    assert (user, send_at, status) == ("sec", datetime(2016, 5, 20, 2, 30, tzinfo=UTC), "pending")


def test_recipients_by_role(world: Tracker) -> None:
    set_clock(world, "2016-05-15T12:00:00+05:00")
    schedule = ReportSchedule(
        default="0 8 * * mon", by_summit={"a17": None}, to=("coordinator", "secretary")
    )
    assert plan(world, schedule) == (2, 0)
    assert [r[1] for r in report_rows(world)] == ["coord", "sec"]


def test_a_changed_rule_cancels_the_planned_row(world: Tracker) -> None:
    set_clock(world, "2016-05-15T12:00:00+05:00")
    only_t16 = ReportSchedule(default="0 8 * * mon", by_summit={"a17": None})
    assert plan(world, only_t16) == (1, 0)
    tuesday = ReportSchedule(default="0 8 * * tue", by_summit={"a17": None})
    assert plan(world, tuesday) == (1, 1)
    rows = report_rows(world)
    assert [(r[2], r[3], r[4]) for r in rows] == [
        (datetime(2016, 5, 16, 3, tzinfo=UTC), "cancelled", NO_LONGER_SCHEDULED),
        (datetime(2016, 5, 17, 3, tzinfo=UTC), "pending", None),
    ]
    assert plan(world, ReportSchedule()) == (0, 1)  # no rule at all: the future row goes too


def test_a_rule_removed_then_set_again_plans_its_period_again(world: Tracker) -> None:
    """The row planning cancelled goes back to pending; one cancelled by staff does not."""
    set_clock(world, "2016-05-15T12:00:00+05:00")
    only_t16 = ReportSchedule(default="0 8 * * mon", by_summit={"a17": None})
    assert plan(world, only_t16) == (1, 0)
    assert plan(world, ReportSchedule()) == (0, 1)
    assert plan(world, only_t16) == (1, 0)
    assert [(r[2], r[3], r[4]) for r in report_rows(world)] == [
        (datetime(2016, 5, 16, 3, tzinfo=UTC), "pending", None)
    ]
    desk = ReminderDesk(world.db, world.clock)
    [reminder] = [r for r in desk.list(status="pending") if r.kind == "report"]
    desk.cancel(reminder.id, as_user="sec")
    assert plan(world, ReportSchedule()) == (0, 0)
    assert plan(world, only_t16) == (0, 0)
    assert [r[3] for r in report_rows(world)] == ["cancelled"]


def test_a_due_row_is_kept_when_the_rule_changes(world: Tracker) -> None:
    """A period that has come is sent even if the rules changed meanwhile."""
    set_clock(world, "2016-05-15T12:00:00+05:00")
    only_t16 = ReportSchedule(default="0 8 * * mon", by_summit={"a17": None})
    plan(world, only_t16)
    set_clock(world, "2016-05-16T08:30:00+05:00")  # due, not yet sent
    assert plan(world, ReportSchedule()) == (0, 0)
    assert [r[3] for r in report_rows(world)] == ["pending"]


def test_summits_that_are_over_get_none(world: Tracker) -> None:
    set_clock(world, "2016-06-25T12:00:00+05:00")  # t16 (23-24 June) is over
    assert plan(world) == (1, 0)
    (row,) = report_rows(world)
    assert row[2] == datetime(2016, 6, 27, 2, tzinfo=UTC)  # a17's next Monday 08:00, Almaty


def test_no_rules_no_write(world: Tracker) -> None:
    assert plan(world, ReportSchedule()) == (0, 0)
    assert report_rows(world) == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("0 8 * * 1", "weekday numbers mean different days"),
        ("0 8 * *", "five fields"),
        ("0 25 * * mon", "bad crontab rule"),
    ],
)
def test_bad_rules_are_refused(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_cron(rule)
    with pytest.raises(
        ConfigError, match=f"DOCTRACK_REPORT_SCHEDULE: bad value for report_schedule: .*{message}"
    ):
        load_settings(env={"DOCTRACK_REPORT_SCHEDULE": rule})


def test_settings() -> None:
    s = load_settings(
        env={
            "DOCTRACK_REPORT_SCHEDULE": "0 8 * * mon",
            "DOCTRACK_REPORT_SCHEDULE_BY_SUMMIT": "t16=30 7 * * fri; a17=off",
            "DOCTRACK_REPORT_TO": "secretary,coordinator",
        }
    )
    schedule = ReportSchedule.from_settings(s)
    assert schedule.rule_for("t16") == "30 7 * * fri"
    assert schedule.rule_for("a17") is None
    assert schedule.rule_for("other") == "0 8 * * mon"
    assert schedule.to == ("secretary", "coordinator")
    with pytest.raises(ConfigError, match="expected SUMMIT=RULE"):
        load_settings(env={"DOCTRACK_REPORT_SCHEDULE_BY_SUMMIT": "t16 0 8 * * mon"})
    assert load_settings(env={"DOCTRACK_REPORT_SCHEDULE": "off"}).report_schedule is None


def test_planning_races_resolve_on_the_key(world: Tracker) -> None:
    """Two processes plan the same period at once: both transactions read no rows, both
    insert; the unique key keeps one row and neither fails."""
    from doctrack.services.report_schedule import plan_reports

    set_clock(world, "2016-05-15T12:00:00+05:00")
    now = world.clock.now()
    with world.db.write() as conn:
        assert plan_reports(conn, WEEKLY, now, "example.org").planned == 2
        # the second planner's insert, as if it had read before the first committed
        rows = [
            r._asdict() for r in conn.execute(select(REMINDER).where(REMINDER.c.kind == "report"))
        ]
        again = [{k: v for k, v in r.items() if k != "id"} for r in rows]
        from doctrack.storage.reminders import insert_missing

        assert insert_missing(conn, again) == 0
    assert len(report_rows(world)) == 2
