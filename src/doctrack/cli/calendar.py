"""Calendar export: summits and deadlines as an iCalendar file."""

from __future__ import annotations

import click

from doctrack.cli._context import app
from doctrack.cli._files import atomic_writer


@click.group()
def calendar() -> None:
    """Summits and deadlines for mail clients (iCalendar)."""


@calendar.command("export")
@click.option("--summit", "summit_slug", help="Only this summit and its deadlines.")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="The .ics file to write; '-' writes to stdout.",
)
def calendar_export(summit_slug: str | None, output: str) -> None:
    """Write summits (all-day) and deadlines (in the summit's zone) as an .ics file.

    Event UIDs stay the same from one export to the next, so a client that imports the
    file again updates its events instead of adding copies.
    """
    from doctrack.services.calendar import export_calendar

    result = export_calendar(app().tracker, summit=summit_slug)
    if output == "-":
        click.echo(result.ics, nl=False)  # bytes go to the binary stream as they are
        return
    with atomic_writer(output) as out:
        out.write(result.ics)
    click.echo(
        f"wrote {result.events} events ({result.summits} summits, "
        f"{result.deadlines} deadlines) to {output}"
    )
