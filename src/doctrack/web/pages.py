"""Pages besides the instrument's and the summit's: the dashboard, the reminders, the
report, and the health check."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from doctrack.engine.machine import roles_permit
from doctrack.errors import DoctrackError
from doctrack.services.reminders import STAFF_ROLES, ReminderDesk
from doctrack.services.status import StatusReports
from doctrack.storage.records import UserRecord
from doctrack.web.context import Web, first, get_web
from doctrack.web.params import MAX_INT
from doctrack.web.problems import problem_for
from doctrack.web.reports import ReportFormat, report_response
from doctrack.web.security import Csrf, SessionUser, flash

router = APIRouter(tags=["pages"], include_in_schema=False)
WebDep = Annotated[Web, Depends(get_web)]
#: Rows a page shows at most; the report has them all.
PAGE_ROWS = 500
ReminderStatus = Literal["pending", "sending", "sent", "failed", "cancelled"]


@router.get("/healthz", include_in_schema=True, tags=["health"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers (no sign-in needed)."""
    return {"status": "ok"}


def summit_parts(web: Web, slug: str | None) -> list[dict[str, Any]]:
    """The status report's headline and instrument lines of each summit shown (every
    summit not over, or summit ``slug``): what the dashboard and the summit page show."""
    reports = StatusReports(web.tracker.db, web.tracker.workflows, web.tracker.clock)
    with reports.open(summit=slug) as report:
        return [
            {
                "summit": part.summit,
                "tz": part.tz,
                "days_to_summit": part.days_to_summit,
                "in_session": part.in_session,
                "headline": part.headline,
                "lines": list(islice(part.lines(), PAGE_ROWS)),
            }
            for part in report.summits
        ]


@router.get("/")
def dashboard(request: Request, web: WebDep, user: SessionUser) -> Response:
    summits = web.tracker.list_summits()
    return web.pages.render(
        request,
        "dashboard.html",
        user=user,
        title="Dashboard",
        summits=summits,
        parts=summit_parts(web, None) if summits else [],
        current=None,
        refresh="/",
        page_rows=PAGE_ROWS,
    )


def _reminders_page(
    request: Request,
    web: Web,
    user: UserRecord,
    status: str | None,
    *,
    error: str | None = None,
    code: int = 200,
) -> Response:
    desk = ReminderDesk(web.tracker.db, web.tracker.clock)
    rows = first(desk.list(status=status), PAGE_ROWS)
    return web.pages.render(
        request,
        "reminders.html",
        user=user,
        status=code,
        title="Reminders",
        rows=rows,
        shown=status,
        staff=roles_permit(STAFF_ROLES, user.roles),
        error=error,
        page_rows=PAGE_ROWS,
    )


@router.get("/reminders")
def reminders_page(
    request: Request,
    web: WebDep,
    user: SessionUser,
    status: Annotated[ReminderStatus | None, Query()] = None,
) -> Response:
    return _reminders_page(request, web, user, status)


@router.post("/reminders/{reminder_id}/{action}")
def reminder_action(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: Annotated[None, Csrf],
    reminder_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    action: Literal["retry", "cancel"],
) -> Response:
    desk = ReminderDesk(web.tracker.db, web.tracker.clock)
    try:
        if action == "retry":
            desk.retry(reminder_id, as_user=user.name)
        else:
            desk.cancel(reminder_id, as_user=user.name)
    except DoctrackError as exc:
        return _reminders_page(
            request, web, user, None, error=str(exc), code=problem_for(exc).status
        )
    done = "is pending again" if action == "retry" else "is cancelled"
    flash(request, f"reminder {reminder_id} {done}")
    return RedirectResponse("/reminders", status_code=303)


@router.get("/reports/status")
def report_page(
    web: WebDep,
    user: SessionUser,
    summit: Annotated[str | None, Query(max_length=200)] = None,
    format: Annotated[ReportFormat, Query()] = "html",
    lang: Annotated[str, Query(max_length=16)] = "en",
) -> Response:
    return report_response(web, summit=summit, fmt=format, lang=lang)
