"""Scheduled status reports: which report emails to plan, from crontab rules in the settings.

A scheduled report is a reminder row of kind ``report``: one summit, one recipient, sent at
the next time the summit's rule fires (in the summit's zone). It goes out through the
dispatcher like any reminder, with the same claims, leases, retries and outbox. Its key
names the summit, the fire time and the recipient, so each period's report goes to each
recipient once and never twice, however often planning runs.

Planning looks ahead one period: each run (every scheduler tick, ``reminders run`` and
``reminders plan``) makes sure the next fire time of every summit not yet over has its rows,
and cancels future rows that no longer match the rules or the recipients. A period whose
row was planned goes out even if no dispatcher ran at its time (late, at the next run);
periods that passed before any row was planned are not sent afterwards. A future row that
planning cancelled (the rules changed) is planned again when the rules want it back; one
that staff cancelled stays cancelled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from doctrack.domain import ReminderKind, ReminderStatus
from doctrack.storage import reminders as store
from doctrack.storage import repo, reporting
from doctrack.timerules import zone

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from doctrack.clock import Clock
    from doctrack.config import Settings
    from doctrack.storage.db import Database

#: Note on a planned report that the rules or the recipients no longer want.
NO_LONGER_SCHEDULED = "no longer scheduled (report rules or recipients changed)"


def check_cron(rule: str) -> str:
    """``rule`` if it is a five-field crontab rule APScheduler reads as cron does; else a
    ``ValueError`` that says what is wrong."""
    fields = rule.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected a crontab rule of five fields (minute hour day month weekday), "
            f"such as '0 8 * * mon', got {rule!r}"
        )
    if any(ch.isdigit() for ch in fields[4]):
        # APScheduler 3 reads weekday 0 as Monday where cron reads it as Sunday.
        raise ValueError(
            f"write the weekday of {rule!r} with names (mon, tue, ... sun, ranges such as "
            "mon-fri): weekday numbers mean different days in cron and APScheduler"
        )
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(rule, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"bad crontab rule {rule!r}: {exc}") from None
    return rule


def _trigger(rule: str, tz: str) -> CronTrigger:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(rule, timezone=zone(tz))


def next_fire(rule: str, tz: str, after: datetime) -> datetime | None:
    """The first time after ``after`` at which ``rule`` fires in zone ``tz`` (UTC)."""
    fire = _trigger(rule, tz).get_next_fire_time(None, after)
    if fire is not None and fire <= after:  # APScheduler may return ``after`` itself
        fire = _trigger(rule, tz).get_next_fire_time(fire, fire)
    return fire.astimezone(zone("UTC")) if fire is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSchedule:
    """What the settings say about scheduled reports."""

    default: str | None = None
    by_summit: Mapping[str, str | None] = field(default_factory=dict)
    to: tuple[str, ...] = ("secretary",)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportSchedule:
        return cls(
            default=settings.report_schedule,
            by_summit=dict(settings.report_schedule_by_summit),
            to=settings.report_to,
        )

    def rule_for(self, summit: str) -> str | None:
        return self.by_summit.get(summit, self.default)

    @property
    def active(self) -> bool:
        return self.default is not None or any(self.by_summit.values())


@dataclass(frozen=True, slots=True)
class ReportPlan:
    planned: int
    cancelled: int


def plan_reports(
    conn: Connection, schedule: ReportSchedule, now: datetime, mail_domain: str
) -> ReportPlan:
    """Plan the next period's report rows of every summit; cancel future rows no longer
    wanted. Runs inside the caller's write transaction."""
    from doctrack.services.planning import recipients

    users = repo.list_users(conn)
    chosen = recipients(schedule.to, users, None)
    wanted: dict[str, dict[str, Any]] = {}
    for summit in repo.list_summits(conn):
        if summit.ends < now.astimezone(zone(summit.tz)).date():
            continue
        rule = schedule.rule_for(summit.slug)
        if rule is None:
            continue
        fire = next_fire(rule, summit.tz, now)
        if fire is None:
            continue
        for user in chosen:
            key = f"report:{summit.id}:{fire:%Y%m%dT%H%M}:{user.id}"
            wanted[key] = _row(key, summit.id, user.id, fire, now, mail_domain)
    existing = reporting.future_report_rows(conn, now)
    present = {r.key for r in existing}
    known = reporting.existing_keys(conn, [k for k in wanted if k not in present])
    new = [row for key, row in wanted.items() if key not in present and key not in known]
    planned = store.insert_missing(conn, new)
    # A period planned, then cancelled because the rules changed, then wanted again: its row
    # goes back to pending (a report cancelled by staff stays cancelled).
    again = [
        r.id
        for r in existing
        if r.key in wanted
        and r.status == ReminderStatus.CANCELLED
        and r.note == NO_LONGER_SCHEDULED
    ]
    planned += reporting.reinstate(conn, again, NO_LONGER_SCHEDULED)
    stale = [r.id for r in existing if r.key not in wanted and r.status == ReminderStatus.PENDING]
    reporting.cancel_pending(conn, stale, NO_LONGER_SCHEDULED)
    return ReportPlan(planned=planned, cancelled=len(stale))


def _row(
    key: str, summit_id: int, user_id: int, fire: datetime, now: datetime, domain: str
) -> dict[str, Any]:
    token = hashlib.sha256(key.encode()).hexdigest()[:12]
    period = f"{fire:%Y%m%dT%H%M}"
    return {
        "key": key,
        "kind": ReminderKind.REPORT.value,
        "summit_id": summit_id,
        "instrument_id": None,
        "deadline_id": None,
        "user_id": user_id,
        "days_before": 0,
        "send_at": fire,
        "status": ReminderStatus.PENDING.value,
        "next_attempt_at": fire,
        "attempts": 0,
        "late": False,
        "message_id": f"<doctrack.report.{summit_id}.{period}.u{user_id}.{token}@{domain}>",
        "created_at": now,
    }


def plan_scheduled_reports(
    db: Database, clock: Clock, schedule: ReportSchedule, mail_domain: str
) -> ReportPlan:
    """:func:`plan_reports` in its own write transaction; without rules and without planned
    rows left to cancel, only a read."""
    now = clock.now()
    if not schedule.active:
        with db.read() as conn:
            if not reporting.future_report_rows(conn, now):
                return ReportPlan(planned=0, cancelled=0)
    with db.write() as conn:
        return plan_reports(conn, schedule, now, mail_domain)
