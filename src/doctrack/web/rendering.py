"""Server-rendered pages: Jinja2 templates from ``templates/web/``, always autoescaped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from doctrack.resources import template_folders
from doctrack.storage.records import UserRecord
from doctrack.timerules import to_local
from doctrack.web.security import CSRF_FIELD, csrf_token, take_flash

#: The vendored htmx (``src/doctrack/web/static``), served under ``/static/``.
HTMX = "htmx-2.0.8.min.js"
STATIC = Path(__file__).resolve().parent / "static"


def local_time(value: datetime | None, tz: str) -> str:
    """``2016-06-23 00:00 +05:00``: the time in zone ``tz``, to the minute, with its offset."""
    if value is None:
        return ""
    here = to_local(value, tz)
    offset = here.strftime("%z")
    return f"{here:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


class Pages:
    """Renders ``web/NAME`` with what every page needs (user, CSRF token, flash line)."""

    def __init__(self, templates: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(template_folders(templates)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["local"] = local_time
        self.env.globals["htmx"] = HTMX
        self.env.globals["csrf_field"] = CSRF_FIELD

    def render(
        self,
        request: Request,
        template: str,
        /,
        *,
        user: UserRecord | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(f"web/{template}").render(
            user=user,
            csrf=csrf_token(request),
            flash=take_flash(request),
            path=request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=headers)
