"""The summit page: its status headline and instruments, its reports and calendar, and
moving it to new dates after seeing what the move changes.

Moving a summit takes two steps. The dates form posts to ``/summits/{slug}/preview``, which
answers what the move would change (each deadline's due time before and after, the
summit's reminders), computed read-only by the code the move runs
(:func:`doctrack.services.summit_moves.preview_move`): with htmx only that part of the
page, without JavaScript the whole page. Its Confirm button posts to
``/summits/{slug}/move`` with the summit's version as previewed, so that a move made
meanwhile is refused as a conflict instead of applied blindly. The form is shown to the
roles that may move a summit (``Tracker.move_summit``'s rule); the server checks again.
A refusal is shown beside the form with its reason and status (403, 409, 422); a move
done answers 303 to the summit page, saying what was done once at the top.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from doctrack.engine.machine import roles_permit
from doctrack.errors import DoctrackError, NotFoundError, UsageError
from doctrack.services.calendar import export_calendar
from doctrack.services.summit_moves import MovePreview, SummitMovedError, preview_move
from doctrack.services.tracking import RETARGET_ROLES
from doctrack.storage.records import UserRecord
from doctrack.web.context import Web, get_web
from doctrack.web.pages import PAGE_ROWS, summit_parts
from doctrack.web.problems import problem_for
from doctrack.web.security import Csrf, SessionUser, csrf_token, flash

router = APIRouter(tags=["pages"], include_in_schema=False)
WebDep = Annotated[Web, Depends(get_web)]
CheckedForm = Annotated[None, Csrf]
TEMPLATE = "summit.html"
#: The part of the page the preview fills (a block of the template, and the element's id).
PREVIEW_BLOCK = "move_preview"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class MoveForm:
    """What the user typed in the dates form, shown again with a preview or a refusal."""

    starts: str = ""
    ends: str = ""
    comment: str = ""


def _day(text: str, what: str) -> date | None:
    """A form's date (``YYYY-MM-DD``, as ``<input type="date">`` sends it); empty: None."""
    value = text.strip()
    if not value:
        return None
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise UsageError(f"bad {what} {shown!r}: use a date such as 2016-06-23 (YYYY-MM-DD)")


def _dates(form: MoveForm) -> tuple[date, date | None]:
    starts = _day(form.starts, "first day")
    if starts is None:
        raise UsageError("give the summit's new first day (YYYY-MM-DD)")
    return starts, _day(form.ends, "last day")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _move_context(
    user: UserRecord,
    slug: str,
    *,
    form: MoveForm,
    preview: MovePreview | None,
    refusal: str | None,
) -> dict[str, Any]:
    """What the move form and its preview show."""
    return {
        "can_move": roles_permit(RETARGET_ROLES, user.roles),
        "quoted": quote(slug),
        "form": form,
        "preview": preview,
        "refusal": refusal,
    }


def _page(
    request: Request,
    web: Web,
    user: UserRecord,
    slug: str,
    *,
    form: MoveForm | None = None,
    preview: MovePreview | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    summit = web.tracker.get_summit(slug)  # 404 for an unknown summit
    return web.pages.render(
        request,
        TEMPLATE,
        user=user,
        status=status,
        title=f"{summit.title}, {summit.city}",
        summit=summit,
        summits=web.tracker.list_summits(),
        parts=summit_parts(web, slug),
        current=slug,
        refresh=f"/summits/{quote(slug)}",
        page_rows=PAGE_ROWS,
        **_move_context(user, slug, form=form or MoveForm(), preview=preview, refusal=refusal),
    )


def _fragment(
    request: Request,
    web: Web,
    user: UserRecord,
    slug: str,
    *,
    form: MoveForm,
    preview: MovePreview | None,
    refusal: str | None,
    status: int,
) -> Response:
    """Only the preview part of the page, for htmx to swap in (the flash line stays for
    the next whole page)."""
    template = web.pages.env.get_template(f"web/{TEMPLATE}")
    context = template.new_context(
        {
            "user": user,
            "csrf": csrf_token(request),
            **_move_context(user, slug, form=form, preview=preview, refusal=refusal),
        }
    )
    html = "".join(template.blocks[PREVIEW_BLOCK](context))
    return HTMLResponse(html, status_code=status)


def _answer(
    request: Request,
    web: Web,
    user: UserRecord,
    slug: str,
    *,
    form: MoveForm,
    preview: MovePreview | None = None,
    refusal: DoctrackError | None = None,
    fragment: bool = False,
) -> Response:
    """The preview or the refusal: the page's preview part alone when ``fragment`` (the
    dates form's target), else the whole page (the Confirm form swaps in its ``#main``)."""
    if isinstance(refusal, NotFoundError) and refusal.what == "summit":
        raise refusal  # no page to show it on: the error page
    status = problem_for(refusal).status if refusal is not None else 200
    reason = str(refusal) if refusal is not None else None
    if fragment:
        return _fragment(
            request, web, user, slug, form=form, preview=preview, refusal=reason, status=status
        )
    return _page(
        request, web, user, slug, form=form, preview=preview, refusal=reason, status=status
    )


@router.get("/summits/{slug}")
def summit_page(request: Request, web: WebDep, user: SessionUser, slug: str) -> Response:
    return _page(request, web, user, slug)


@router.post("/summits/{slug}/preview")
def preview(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    starts: Annotated[str, Form(max_length=100)] = "",
    ends: Annotated[str, Form(max_length=100)] = "",
    comment: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """What moving the summit to these dates would change; nothing is written. Reading is
    open to every signed-in user; only the roles that may move it see the Confirm button."""
    form = MoveForm(starts, ends, comment)
    fragment = _is_htmx(request)
    try:
        first, last = _dates(form)
        shown = preview_move(web.tracker, slug, starts=first, ends=last)
    except DoctrackError as exc:
        return _answer(request, web, user, slug, form=form, refusal=exc, fragment=fragment)
    return _answer(request, web, user, slug, form=form, preview=shown, fragment=fragment)


@router.post("/summits/{slug}/move")
def move(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    starts: Annotated[str, Form(max_length=100)] = "",
    ends: Annotated[str, Form(max_length=100)] = "",
    comment: Annotated[str, Form(max_length=10_000)] = "",
    version: Annotated[int | None, Form(ge=0, le=2**31 - 1)] = None,
) -> Response:
    """Move the summit, if it is still at ``version`` (the version previewed)."""
    form = MoveForm(starts, ends, comment)
    try:
        first, last = _dates(form)
    except UsageError as exc:
        return _answer(request, web, user, slug, form=form, refusal=exc)
    try:
        moved = web.tracker.move_summit(
            slug,
            starts=first,
            ends=last,
            as_user=user.name,
            comment=comment or None,
            expect_version=version,
        )
    except DoctrackError as exc:
        fresh = None
        if isinstance(exc, SummitMovedError):
            # Show what the move would change now: the user may confirm again, knowingly.
            with contextlib.suppress(DoctrackError):
                fresh = preview_move(web.tracker, slug, starts=first, ends=last)
        return _answer(request, web, user, slug, form=form, preview=fresh, refusal=exc)
    flash(
        request,
        f"summit {moved.slug} moved: it runs {moved.starts} to {moved.ends} "
        f"(version {moved.version}); deadlines and reminders follow",
    )
    return RedirectResponse(f"/summits/{quote(slug)}", status_code=303)


def calendar_response(web: Web, slug: str) -> Response:
    """Summit ``slug`` and its instruments' deadlines as an iCalendar file."""
    exported = export_calendar(web.tracker, summit=slug)
    return Response(
        exported.ics,
        media_type=CALENDAR_TYPE,
        headers={"Content-Disposition": f'attachment; filename="doctrack-{slug}.ics"'},
    )


@router.get("/summits/{slug}/calendar.ics")
def calendar(web: WebDep, user: SessionUser, slug: str) -> Response:
    return calendar_response(web, slug)
