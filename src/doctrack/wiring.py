"""Builds a :class:`Tracker` from settings: database, workflows, clock."""

from __future__ import annotations

from email.utils import parseaddr
from typing import TYPE_CHECKING

from doctrack.clock import Clock, FixedClock, SystemClock, parse_instant
from doctrack.config import Settings, load_settings
from doctrack.engine.registry import Workflows, workflows_folder
from doctrack.services.planning import ReminderSettings
from doctrack.services.tracking import Tracker
from doctrack.storage.db import Database

if TYPE_CHECKING:
    from collections.abc import Callable

    from doctrack.services.notify import Sender
    from doctrack.services.reminders import Dispatcher
    from doctrack.services.report_schedule import ReportPlan


def make_clock(settings: Settings) -> Clock:
    """A fixed clock when ``now`` is set, else the system clock."""
    return FixedClock(parse_instant(settings.now)) if settings.now else SystemClock()


def connect(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    workflows: Workflows | None = None,
) -> Tracker:
    """A :class:`Tracker` on the database at ``url`` (default: from the settings).

    The schema must exist: create it with :func:`init_database` or ``doctrack init``.
    """
    settings = settings or load_settings()
    db = Database(url or settings.database_url, busy_timeout=settings.busy_timeout)
    return Tracker(
        db,
        workflows or Workflows.from_folder(workflows_folder(settings.workflows)),
        clock or make_clock(settings),
        reminder_settings(settings),
    )


def reminder_settings(settings: Settings) -> ReminderSettings:
    """What reminder planning takes from the settings."""
    _, address = parseaddr(settings.mail_from)
    domain = address.rpartition("@")[2] or "localhost"
    return ReminderSettings(
        send_time=settings.send_time,
        summit_before=settings.summit_reminders_before,
        summit_to=settings.summit_reminders_to,
        mail_domain=domain,
    )


def display_url(url: str) -> str:
    """``url`` fit to print: any password is replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def init_database(url: str) -> tuple[str | None, str]:
    """Create or upgrade the schema at ``url``; returns (revision before, revision after)."""
    from doctrack.storage import migrate

    db = Database(url)
    try:
        return migrate.upgrade(db)
    finally:
        db.dispose()


def reset_database(url: str) -> str:
    """Drop every doctrack table at ``url`` and create the schema afresh. All data is lost."""
    from doctrack.storage import migrate

    db = Database(url)
    try:
        return migrate.reset(db)
    finally:
        db.dispose()


def make_dispatcher(
    tracker: Tracker, settings: Settings, *, sender: Sender | None = None
) -> Dispatcher:
    """A dispatcher on the tracker's database, sending by SMTP or into the outbox."""
    from doctrack.services.emails import MailRenderer, templates_folder
    from doctrack.services.notify import make_sender
    from doctrack.services.reminders import Dispatcher
    from doctrack.services.report_mail import ReportMailer

    templates = templates_folder(settings.templates)
    renderer = MailRenderer(templates, base_url=settings.base_url, mail_from=settings.mail_from)
    reports = ReportMailer(
        tracker.db,
        tracker.workflows,
        tracker.clock,
        templates,
        mail_from=settings.mail_from,
        attach_pdf=None if settings.report_pdf else False,  # None: if WeasyPrint works
    )
    return Dispatcher(
        tracker.db,
        tracker.workflows,
        tracker.clock,
        renderer,
        sender or make_sender(settings),
        reports=reports,
        plan_reports=report_planner(tracker, settings),
    )


def report_planner(tracker: Tracker, settings: Settings) -> Callable[[], ReportPlan]:
    """Plans the next period's scheduled reports on the tracker's database."""
    from doctrack.services.report_schedule import ReportSchedule, plan_scheduled_reports

    schedule = ReportSchedule.from_settings(settings)
    domain = reminder_settings(settings).mail_domain
    return lambda: plan_scheduled_reports(tracker.db, tracker.clock, schedule, domain)
