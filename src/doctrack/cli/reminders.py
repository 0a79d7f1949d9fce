"""Reminder emails: list, run the dispatcher once, retry, cancel, re-plan; the scheduler."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from doctrack.cli._context import app, echo_json_stream, echo_table
from doctrack.cli._params import ID

if TYPE_CHECKING:
    from doctrack.services.reminders import RunReport

_STATUSES = ["pending", "sending", "sent", "failed", "cancelled"]


@click.group()
def reminders() -> None:
    """Reminder emails before deadlines and summits."""


@reminders.command("list")
@click.option("--status", type=click.Choice(_STATUSES), help="Only reminders in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def reminders_list(status: str | None, as_json: bool) -> None:
    """List reminders by send time (shown in each summit's zone)."""
    from doctrack.services.reminders import ReminderDesk
    from doctrack.services.views import iso

    tracker = app().tracker
    items = ReminderDesk(tracker.db, tracker.clock).list(status=status)
    if as_json:
        echo_json_stream(r.to_json() for r in items)
        return
    echo_table(
        ["id", "send at", "kind", "about", "to", "status", "detail"],
        [
            (
                r.id,
                iso(r.send_at, r.tz)[:16].replace("T", " "),
                r.kind if r.kind == "report" else f"{r.kind} -{r.days_before}d",
                r.instrument or r.summit,
                r.to,
                r.status + (" (late)" if r.late else ""),
                r.last_error or r.note or "",
            )
            for r in items
        ],
    )


@reminders.command("run")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many, then stop.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when nothing was due.")
def reminders_run(limit: int | None, quiet: bool) -> None:
    """Send every reminder due now, then exit.

    Exit 0 even when some failed (they are recorded: see 'reminders list --status failed').
    """
    from doctrack.wiring import make_dispatcher

    ctx = app()
    dispatcher = make_dispatcher(ctx.tracker, ctx.settings)

    def progress(report: RunReport) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{report.claimed} processed", err=True, nl=False)

    report = dispatcher.run(limit=limit, progress=progress)
    if sys.stderr.isatty() and report.claimed:
        click.echo("", err=True)
    if report.claimed or not quiet:
        click.echo(report.summary())
    for error in report.errors:
        click.echo(f"  {error}")


@reminders.command("retry")
@click.argument("reminder_id", type=ID)
@click.option(
    "--as", "as_user", required=True, metavar="USER", help="Who asks (coordinator or secretary)."
)
def reminders_retry(reminder_id: int, as_user: str) -> None:
    """Send a failed or cancelled reminder again at the next dispatcher run."""
    from doctrack.services.reminders import ReminderDesk

    tracker = app().tracker
    ReminderDesk(tracker.db, tracker.clock).retry(reminder_id, as_user=as_user)
    click.echo(f"reminder {reminder_id} is pending again; the next dispatcher run sends it")


@reminders.command("cancel")
@click.argument("reminder_id", type=ID)
@click.option(
    "--as", "as_user", required=True, metavar="USER", help="Who asks (coordinator or secretary)."
)
def reminders_cancel(reminder_id: int, as_user: str) -> None:
    """Never send a pending reminder."""
    from doctrack.services.reminders import ReminderDesk

    tracker = app().tracker
    ReminderDesk(tracker.db, tracker.clock).cancel(reminder_id, as_user=as_user)
    click.echo(f"reminder {reminder_id} cancelled")


@reminders.command("plan")
def reminders_plan() -> None:
    """Re-plan every reminder (after changing the settings or a workflow's reminders) and
    the next period's scheduled reports."""
    from doctrack.wiring import report_planner

    ctx = app()
    counts = ctx.tracker.plan_reminders()
    click.echo(f"planned: {counts}")
    reports = report_planner(ctx.tracker, ctx.settings)()
    if reports.planned or reports.cancelled:
        click.echo(f"scheduled reports: {reports.planned} planned, {reports.cancelled} cancelled")


@click.command("scheduler")
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    help="Seconds between dispatcher runs (default: the dispatch_interval setting, 60).",
)
def scheduler(interval: int | None) -> None:
    """Run until stopped (SIGTERM, Ctrl-C): dispatch due reminders every interval."""
    from doctrack.scheduler import run_scheduler
    from doctrack.wiring import make_dispatcher

    ctx = app()
    dispatcher = make_dispatcher(ctx.tracker, ctx.settings)

    def log(line: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        click.echo(f"{stamp} {line}", err=True)

    run_scheduler(dispatcher, interval=interval or ctx.settings.dispatch_interval, log=log)
