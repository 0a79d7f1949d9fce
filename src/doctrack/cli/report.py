"""Reports for the secretaries: ``report status`` and ``report dossier``."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from doctrack.cli._context import app
from doctrack.cli._files import atomic_writer

if TYPE_CHECKING:
    from doctrack.services.report_render import ReportWriter

_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".pdf": "pdf"}
_FORMAT_HELP = (
    "Output format (default: from the file name's suffix, .html .md .json .pdf, html for "
    "any other; md on stdout)."
)


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
    help=_FORMAT_HELP,
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
@click.option(
    "--days", type=click.IntRange(min=0, max=36_500), help="'What changed' covers the last N days."
)
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
    from doctrack.services.status import StatusReports

    if since is not None and days is not None:
        raise UsageError("give --since or --days, not both")
    fmt = _format_for(fmt, output)
    ctx = app()
    writer = _writer(fmt, output, lang)
    tracker = ctx.tracker
    reports = StatusReports(tracker.db, tracker.workflows, tracker.clock)
    with reports.open(summit=summit_slug, as_of=as_of, since=since, days=days) as status:
        _emit(
            fmt,
            output,
            lambda out: writer.write(status, fmt, out),
            lambda: writer.html(status),
        )
    if output not in (None, "-"):
        click.echo(f"wrote the status report ({fmt}, {lang}) to {output}", err=True)


@report.command("dossier")
@click.argument("slug")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json", "pdf"]),
    help=_FORMAT_HELP,
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE ('-' or none: stdout).")
@click.option("--lang", default="en", show_default=True, metavar="LANG", help="Language: en or ru.")
def report_dossier(slug: str, fmt: str | None, output: str | None, lang: str) -> None:
    """Everything about one instrument: history, drafts with sizes and checksums, positions
    on each draft, deadlines met and missed."""
    from doctrack.services.dossier import build_dossier

    fmt = _format_for(fmt, output)
    writer = _writer(fmt, output, lang)
    tracker = app().tracker
    dossier = build_dossier(tracker.db, tracker.workflows, tracker.clock, slug)
    _emit(
        fmt,
        output,
        lambda out: writer.write_dossier(dossier, fmt, out),
        lambda: writer.dossier_html(dossier),
    )
    if output not in (None, "-"):
        click.echo(f"wrote the dossier of {slug} ({fmt}, {lang}) to {output}", err=True)


def _writer(fmt: str, output: str | None, lang: str) -> ReportWriter:
    """The writer, after the checks that need no database: language, PDF engine, terminal."""
    from doctrack.errors import UsageError
    from doctrack.services.emails import templates_folder
    from doctrack.services.report_render import ReportWriter

    if fmt == "pdf" and output in (None, "-") and sys.stdout.isatty():
        raise UsageError("a PDF is not for the terminal: write it with -o FILE.pdf")
    writer = ReportWriter(templates_folder(app().settings.templates), lang)
    if fmt == "pdf":
        from doctrack.services import pdf

        pdf.require()  # before any work: the install hint when WeasyPrint is missing
    return writer


def _emit(
    fmt: str,
    output: str | None,
    write_text: Callable[[IO[str]], None],
    html: Callable[[], str],
) -> None:
    """Text formats are streamed; a PDF is laid out from the whole HTML page. A file is
    written whole or not at all."""
    to_stdout = output in (None, "-")
    if fmt == "pdf":
        from doctrack.services.pdf import html_to_pdf

        data = html_to_pdf(html())
        if to_stdout:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        with atomic_writer(str(output)) as out:
            out.write(data)
    elif to_stdout:
        write_text(sys.stdout)
        sys.stdout.flush()
    else:
        with atomic_writer(str(output)) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
            write_text(text)
            text.flush()
            text.detach()
