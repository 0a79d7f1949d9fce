"""Reports for the secretaries: ``report status`` and ``report dossier``."""

from __future__ import annotations

import io
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from doctrack.cli._context import app
from doctrack.cli._files import atomic_writer

_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".pdf": "pdf"}


class MomentParam(click.ParamType[date | datetime]):
    """A date (YYYY-MM-DD: the start of that day in each summit's zone) or an ISO-8601
    instant with its offset."""

    name = "date"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> date | datetime:
        if isinstance(value, date):
            return value
        text = str(value)
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        from doctrack.clock import parse_instant
        from doctrack.errors import UsageError

        try:
            return parse_instant(text)
        except (UsageError, ValueError):
            self.fail(
                f"{value!r} is neither a date (YYYY-MM-DD) nor an instant with an offset "
                "(2016-06-01T09:00+05:00)",
                param,
                ctx,
            )


MOMENT = MomentParam()


@click.group()
def report() -> None:
    """Status reports and dossiers (HTML, Markdown, JSON, PDF; English or Russian)."""


def _format_for(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
        return "html"
    return "md"


@report.command("status")
@click.option(
    "--summit",
    "summit_slug",
    metavar="S",
    help="One summit (default: every summit not over yet, else the last one).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json", "pdf"]),
    help="Output format (default: from the file name's suffix; md on stdout).",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE ('-' or none: stdout).")
@click.option("--lang", default="en", show_default=True, metavar="LANG", help="Language: en or ru.")
@click.option(
    "--as-of",
    "as_of",
    type=MOMENT,
    help="Compute the numbers for this date or instant (default: now).",
)
@click.option(
    "--since", type=MOMENT, help="'What changed' starts here (default: 7 days before --as-of)."
)
@click.option("--days", type=click.IntRange(min=0), help="'What changed' covers the last N days.")
def report_status(
    summit_slug: str | None,
    fmt: str | None,
    output: str | None,
    lang: str,
    as_of: date | datetime | None,
    since: date | datetime | None,
    days: int | None,
) -> None:
    """Where each instrument stands against its summit: on track, at risk or late; next
    and missed deadlines; who has not agreed; what changed lately.
    """
    from doctrack.errors import UsageError
    from doctrack.services.emails import templates_folder
    from doctrack.services.report_render import ReportWriter
    from doctrack.services.status import StatusReports

    if since is not None and days is not None:
        raise UsageError("give --since or --days, not both")
    fmt = _format_for(fmt, output)
    to_stdout = output in (None, "-")
    if fmt == "pdf" and to_stdout and sys.stdout.isatty():
        raise UsageError("a PDF is not for the terminal: write it with -o FILE.pdf")
    ctx = app()
    writer = ReportWriter(templates_folder(ctx.settings.templates), lang)
    if fmt == "pdf":
        from doctrack.services import pdf

        pdf.require()  # before any work: the install hint when WeasyPrint is missing
    tracker = ctx.tracker
    reports = StatusReports(tracker.db, tracker.workflows, tracker.clock)
    with reports.open(summit=summit_slug, as_of=as_of, since=since, days=days) as status:
        if fmt == "pdf":
            from doctrack.services.pdf import html_to_pdf

            data = html_to_pdf(writer.html(status))
            if to_stdout:
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
                return
            with atomic_writer(str(output)) as out:
                out.write(data)
        elif to_stdout:
            writer.write(status, fmt, sys.stdout)
            sys.stdout.flush()
            return
        else:
            with atomic_writer(str(output)) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n", write_through=False)
                writer.write(status, fmt, text)
                text.flush()
                text.detach()
    click.echo(f"wrote the status report ({fmt}, {lang}) to {output}", err=True)
