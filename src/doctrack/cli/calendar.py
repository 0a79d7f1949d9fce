"""Calendar export: summits and deadlines as an iCalendar file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import click

from doctrack.cli._context import app


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
    _write_atomically(output, result.ics)
    click.echo(
        f"wrote {result.events} events ({result.summits} summits, "
        f"{result.deadlines} deadlines) to {output}"
    )


def _write_atomically(output: str, data: bytes) -> None:
    """Write ``data`` to a new file next to ``output``, then rename it over ``output``.

    A failure leaves ``output`` as it was and no temporary file behind. The new file gets the
    usual permissions (0666 less the umask), as if written directly.
    """
    from doctrack.errors import UsageError

    path = Path(output)
    if path.name in {"", ".", ".."}:
        raise UsageError(f"cannot write {output!r}: not a file name")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror or exc}") from None
