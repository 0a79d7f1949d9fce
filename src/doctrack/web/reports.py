"""The status report for the web: rendered through the report services' public API."""

from __future__ import annotations

import io
from typing import Literal

from fastapi import Response
from starlette.exceptions import HTTPException

from doctrack.errors import UsageError
from doctrack.services import pdf
from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.web.context import Web
from doctrack.web.headers import REPORT_CSP

ReportFormat = Literal["html", "md", "json", "pdf"]
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
}
#: A PDF asked of a server without WeasyPrint: the server cannot do it (501), whatever the
#: request; the answer says what to install, as ``report status --format pdf`` does.
PDF_UNAVAILABLE = 501


def status_report(web: Web, *, summit: str | None, fmt: ReportFormat, lang: str) -> str:
    """The whole report as text, in ``fmt`` and ``lang`` (the same as ``report status``)."""
    writer = ReportWriter(web.templates, lang)
    reports = StatusReports(web.tracker.db, web.tracker.workflows, web.tracker.clock)
    out = io.StringIO()
    with reports.open(summit=summit) as report:
        writer.write(report, fmt, out)
    return out.getvalue()


def status_pdf(web: Web, *, summit: str | None, lang: str) -> bytes:
    """The report as PDF: its HTML laid out by WeasyPrint (as ``report status --format
    pdf``). Without WeasyPrint or its libraries, an HTTP 501 with the CLI's install hint."""
    writer = ReportWriter(web.templates, lang)
    try:
        pdf.require()  # before the report is read, as the CLI does
    except UsageError as exc:
        raise HTTPException(PDF_UNAVAILABLE, detail=str(exc)) from None
    reports = StatusReports(web.tracker.db, web.tracker.workflows, web.tracker.clock)
    with reports.open(summit=summit) as report:
        html = writer.html(report)
    return pdf.html_to_pdf(html)


def report_name(summit: str | None, fmt: str) -> str:
    return f"status-report{'-' + summit if summit else ''}.{fmt}"


def report_response(web: Web, *, summit: str | None, fmt: ReportFormat, lang: str) -> Response:
    """The report as an answer: HTML to be shown (under the report's own, script-free
    Content-Security-Policy), Markdown and JSON as files named after the summit, PDF as an
    attachment."""
    if fmt == "pdf":
        data = status_pdf(web, summit=summit, lang=lang)
        disposition = f'attachment; filename="{report_name(summit, fmt)}"'
        return Response(
            data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition}
        )
    text = status_report(web, summit=summit, fmt=fmt, lang=lang)
    if fmt == "html":
        headers = {"Content-Security-Policy": REPORT_CSP}
    else:
        headers = {"Content-Disposition": f'inline; filename="{report_name(summit, fmt)}"'}
    return Response(text, media_type=MEDIA_TYPES[fmt], headers=headers)
