"""The demo: the Tashkent 2016 scenario of the seed article, replayed."""

from __future__ import annotations

from pathlib import Path

import click

from doctrack.cli._context import app


@click.command("demo")
@click.option("--reset", is_flag=True, help="Empty the database first (all its data is lost).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary, not each event.")
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another scenario file (default: the packaged Tashkent 2016 one).",
)
def demo(reset: bool, quiet: bool, scenario_file: Path | None) -> None:
    """Load and replay the seed scenario (Tashkent 2016).

    Events marked [article] come from the seed article; [illustrative] ones are made up to
    show the workflow. With --now, only the events up to that time are replayed. The
    reminder emails that would have gone out are written as .eml files into the outbox
    folder (never sent by SMTP, whatever the settings say).
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
