"""The demo: the Tashkent 2016 scenario of the seed article, replayed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from doctrack.cli._context import app
from doctrack.cli._params import PathParam
from doctrack.cli.web import host_option, log_line, port_option

if TYPE_CHECKING:
    from doctrack.demo import Scenario


@click.command("demo")
@click.option("--reset", is_flag=True, help="Empty the database first (all its data is lost).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary, not each event.")
@click.option(
    "--scenario",
    "scenario_file",
    type=PathParam(dir_okay=False, path_type=Path),
    help="Another scenario file (default: the packaged Tashkent 2016 one).",
)
@click.option(
    "--serve",
    "then_serve",
    is_flag=True,
    help="Then serve it in the web UI, with the scheduler, until stopped (what ./run demo does).",
)
@host_option
@port_option
def demo(
    reset: bool,
    quiet: bool,
    scenario_file: Path | None,
    then_serve: bool,
    host: str,
    port: int,
) -> None:
    """Load and replay the seed scenario (Tashkent 2016).

    Events marked [article] come from the seed article; [illustrative] ones are made up to
    show the workflow. With --now, only the events up to that time are replayed. The
    reminder emails that would have gone out are written as .eml files into the outbox
    folder (never sent by SMTP, whatever the settings say).

    With --serve, every demo user gets the password 'tashkent2016' and the demo is served
    at http://HOST:PORT with the scheduler; its clock starts where the replay stopped and
    runs on at the wall clock's pace, and reminders still go into the outbox.
    """
    from doctrack.clock import FixedClock, parse_instant
    from doctrack.demo import load_scenario, render_summary, replay
    from doctrack.errors import RefusedError
    from doctrack.services.notify import OutboxSender
    from doctrack.wiring import (
        connect,
        display_url,
        init_database,
        make_dispatcher,
        reset_database,
    )

    ctx = app()
    settings = ctx.settings
    scenario = load_scenario(scenario_file)
    url = settings.database_url
    shown = display_url(url)
    if reset:
        reset_database(url)
    else:
        init_database(url)
    clock = FixedClock(scenario.setup_at)
    tracker = connect(settings=settings, clock=clock, workflows=ctx.workflows)
    try:
        if tracker.list_parties():
            raise RefusedError(
                f"the database {shown} already holds data: 'doctrack demo --reset' empties it "
                "first (all its data is lost)"
            )
        until = parse_instant(settings.now) if settings.now else None
        outbox = Path(settings.outbox)
        pump = make_dispatcher(tracker, settings, sender=OutboxSender(outbox))
        summary = replay(
            tracker,
            clock,
            scenario,
            until=until,
            progress=None if quiet else click.echo,
            reminders=pump,
        )
    finally:
        tracker.db.dispose()
    if not quiet:
        click.echo()
    click.echo(render_summary(summary))
    if summary.counts.reminders:
        click.echo(f"\nReminder emails written to {outbox}/ as .eml files.")
    click.echo(
        f"\nThe demo database is {shown}; try 'doctrack doc list' or 'doctrack doc show SLUG'."
    )
    if then_serve:
        _serve(scenario, start=clock.now(), outbox=outbox, host=host, port=port)


def _serve(scenario: Scenario, *, start: datetime, outbox: Path, host: str, port: int) -> None:
    """Serve the replayed demo with the scheduler, on a clock that runs on from ``start``."""
    from doctrack.clock import RunningClock
    from doctrack.demo.logins import render_logins, set_demo_passwords
    from doctrack.services.accounts import Accounts
    from doctrack.services.notify import OutboxSender
    from doctrack.web.server import serve
    from doctrack.wiring import connect

    ctx = app()
    tracker = connect(settings=ctx.settings, clock=RunningClock(start), workflows=ctx.workflows)
    try:
        set_demo_passwords(Accounts(tracker.db, tracker.clock), scenario)
        shown_host = f"[{host}]" if ":" in host else host
        click.echo(f"\n{render_logins(scenario, f'http://{shown_host}:{port}')}")
        click.echo(
            f"The demo's clock runs on from {start.isoformat()} (UTC); Ctrl-C stops the server."
        )
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(
                f"doctrack: warning: the demo listens on {host} with a published password; "
                "anyone who can reach this address can sign in",
                err=True,
            )
        serve(
            tracker,
            ctx.settings,
            host=host,
            port=port,
            with_scheduler=True,
            log=log_line,
            sender=OutboxSender(outbox),
        )
    finally:
        tracker.db.dispose()
