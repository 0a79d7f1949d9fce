"""The status report for the web: rendered through the report services' public API."""

from __future__ import annotations

import io
from typing import Literal

from fastapi import Response

from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.web.context import Web
from doctrack.web.headers import REPORT_CSP

ReportFormat = Literal["html", "md", "json"]
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


def status_report(web: Web, *, summit: str | None, fmt: ReportFormat, lang: str) -> str:
    """The whole report as text, in ``fmt`` and ``lang`` (the same as ``report status``)."""
    writer = ReportWriter(web.templates, lang)
    reports = StatusReports(web.tracker.db, web.tracker.workflows, web.tracker.clock)
    out = io.StringIO()
    with reports.open(summit=summit) as report:
        writer.write(report, fmt, out)
    return out.getvalue()


def report_response(web: Web, *, summit: str | None, fmt: ReportFormat, lang: str) -> Response:
    """The report as an answer: HTML to be shown (under the report's own, script-free
    Content-Security-Policy), Markdown and JSON as files named after the summit."""
    text = status_report(web, summit=summit, fmt=fmt, lang=lang)
    if fmt == "html":
        headers = {"Content-Security-Policy": REPORT_CSP}
    else:
        name = f"status-report{'-' + summit if summit else ''}.{fmt}"
        headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(text, media_type=MEDIA_TYPES[fmt], headers=headers)
