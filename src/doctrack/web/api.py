"""The REST API under ``/api/v1``: every route needs ``Authorization: Bearer TOKEN`` and acts
as the token's user through the same use cases as the command line.

``GET /instruments/{slug}`` returns exactly ``doc show --json`` with the instrument's
version as its ``ETag``; ``POST .../advance`` honours ``If-Match`` (409 when the instrument
is no longer at that version). A summit's ``ETag`` is its version too:
``GET /summits/{slug}/move-preview`` answers with it, ``POST /summits/{slug}/move`` honours
``If-Match`` the same way. Errors are ``{"error": {"code", "message", ...}}`` (see
:mod:`doctrack.web.problems`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from doctrack.errors import UsageError
from doctrack.services.reminders import ReminderDesk
from doctrack.services.revision_diff import diff_revisions
from doctrack.services.summit_moves import preview_move
from doctrack.services.views import InstrumentView, TransitionResult
from doctrack.web.context import Web, first, get_web
from doctrack.web.downloads import download
from doctrack.web.instrument import read_upload
from doctrack.web.params import MAX_INT, Limit, Number, Offset
from doctrack.web.reports import MEDIA_TYPES, ReportFormat, report_response
from doctrack.web.security import Bearer, TokenUser, token_user, user_of_credentials
from doctrack.web.summit import CALENDAR_TYPE, calendar_response

router = APIRouter(prefix="/api/v1", dependencies=[Depends(token_user)], tags=["api"])
#: The hot routes: ``async``, they check the token themselves in the same worker-thread call
#: as their use case (one thread hop per request instead of two; see README "Speed").
hot = APIRouter(prefix="/api/v1", tags=["api"])
WebDep = Annotated[Web, Depends(get_web)]
B = TypeVar("B", bound=BaseModel)
#: One entity tag: our ETags are the instrument's version in quotes, ``"7"`` (bare ``7``
#: is taken too).
_ETAG = re.compile(r'^"(\d{1,18})"$|^(\d{1,18})$')


class AdvanceBody(BaseModel):
    """A trigger to fire, and why."""

    model_config = ConfigDict(extra="forbid")
    trigger: str = Field(min_length=1, max_length=100)
    comment: str | None = Field(default=None, max_length=10_000)


class PositionBody(BaseModel):
    """A party's stance on the current draft; ``party`` defaults to the delegate's own."""

    model_config = ConfigDict(extra="forbid")
    party: str | None = Field(default=None, min_length=1, max_length=16)
    stance: Literal["approve", "reserve", "object"]
    comment: str | None = Field(default=None, max_length=10_000)


class MoveBody(BaseModel):
    """New dates for a summit, and why; without ``ends`` it keeps its length."""

    model_config = ConfigDict(extra="forbid")
    starts: date = Field(description="The new first day (YYYY-MM-DD)")
    ends: date | None = Field(
        default=None, description="The new last day (default: the summit keeps its length)"
    )
    comment: str | None = Field(default=None, max_length=10_000)


class RetargetBody(BaseModel):
    """The summit to carry the instrument over to, and why."""

    model_config = ConfigDict(extra="forbid")
    summit: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=10_000)


_SCHEMAS = "#/components/schemas/"
#: The bodies of the hot routes, which read them themselves: FastAPI does not see them.
HOT_BODIES: tuple[type[BaseModel], ...] = (AdvanceBody,)


def with_hot_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``schema`` with the hot routes' body models among its components."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in HOT_BODIES:
        found = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
        schemas.setdefault(model.__name__, found)
    return schema


def parse_body(model: type[B], raw: bytes) -> B:
    """``raw`` as a JSON ``model``; invalid is 422 with FastAPI's own error shape."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, what: str = "instrument") -> int | None:
    """The version an ``If-Match`` header names; None without one (or for ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.fullmatch(if_match.strip())
    if found is None:
        raise UsageError(
            f"If-Match must be one ETag of the {what}, such as '\"7\"', not {if_match!r}"
        )
    return int(found.group(1) or found.group(2))


def _instrument(view: InstrumentView, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = etag(view.version)
    return view.to_json()


@router.get("/instruments", summary="List instruments (doc list)", response_model=None)
def list_instruments(
    web: WebDep,
    summit: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    after: Annotated[
        str | None, Query(max_length=200, description="The last slug of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """``next`` is the ``after`` of the next page: null when this page is not full."""
    items = web.tracker.list_instruments(
        summit=summit, state=state, limit=limit, offset=offset, after=after
    )
    listed = [i.to_json() for i in items]
    following = listed[-1]["slug"] if listed and len(listed) == limit else None
    return {
        "items": listed,
        "limit": limit,
        "offset": offset,
        "count": len(listed),
        "next": following,
    }


@router.get("/instruments/{slug}", summary="One instrument (doc show --json), ETag = version")
def show_instrument(
    web: WebDep,
    slug: str,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    view = web.tracker.show(slug)
    if if_none_match is not None and if_none_match.strip() in {etag(view.version), "*"}:
        return Response(status_code=304, headers={"ETag": etag(view.version)})
    return _instrument(view, response)


@hot.post(
    "/instruments/{slug}/advance",
    summary="Fire a trigger (doc advance)",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "AdvanceBody"}}},
        }
    },
)
async def advance(
    web: WebDep,
    credentials: Bearer,
    request: Request,
    slug: str,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Body: ``{"trigger": ..., "comment": ...}``. ``If-Match: "VERSION"`` refuses the
    transition (409) when the instrument is no longer at that version."""
    raw = await request.body()

    def fire() -> TransitionResult:
        # One trip to the worker thread: the token first (401 before anything else), then
        # the body, then the use case.
        user = user_of_credentials(web, credentials)
        body = parse_body(AdvanceBody, raw)
        return web.tracker.advance(
            slug,
            body.trigger,
            as_user=user.name,
            comment=body.comment,
            expect_version=expected_version(if_match),
        )

    result = await run_in_threadpool(fire)
    return JSONResponse(result.to_json(), headers={"ETag": etag(result.version)})


@router.post(
    "/instruments/{slug}/position",
    summary="Record a party's stance (doc position)",
    response_model=None,
)
def position(
    web: WebDep, user: TokenUser, slug: str, body: PositionBody, response: Response
) -> dict[str, Any]:
    party = body.party or user.party_code
    if party is None:
        raise UsageError("name the party: you represent none")
    web.tracker.record_position(slug, party, body.stance, as_user=user.name, comment=body.comment)
    return _instrument(web.tracker.show(slug), response)


@router.post(
    "/instruments/{slug}/revise",
    status_code=201,
    summary="Upload a new draft (doc revise)",
    response_model=None,
)
def revise(
    web: WebDep,
    user: TokenUser,
    slug: str,
    file: Annotated[UploadFile, File(description="The draft text")],
    response: Response,
    note: Annotated[str | None, Form(max_length=10_000)] = None,
) -> dict[str, Any]:
    content = read_upload(file, web.settings.max_upload_mib, file.filename or "")
    number = web.tracker.revise(
        slug, content=content, filename=file.filename or "", as_user=user.name, note=note
    )
    response.headers["Location"] = f"/api/v1/instruments/{quote(slug)}/revisions/{number}"
    return _instrument(web.tracker.show(slug), response)


@router.get("/instruments/{slug}/revisions/{number}", summary="Download a draft revision")
def revision(web: WebDep, slug: str, number: Number) -> Response:
    filename, content = web.tracker.revision_content(slug, number)
    return download(filename, content)


@router.post(
    "/instruments/{slug}/retarget", summary="Carry over to another summit", response_model=None
)
def retarget(
    web: WebDep, user: TokenUser, slug: str, body: RetargetBody, response: Response
) -> dict[str, Any]:
    view = web.tracker.retarget(slug, summit=body.summit, as_user=user.name, comment=body.comment)
    return _instrument(view, response)


@router.get(
    "/instruments/{slug}/history", summary="The history (doc history --json)", response_model=None
)
def history(web: WebDep, slug: str) -> list[dict[str, Any]]:
    return [e.to_json() for e in web.tracker.history(slug)]


@router.get(
    "/instruments/{slug}/triggers",
    summary="What you may fire now (doc triggers)",
    response_model=None,
)
def triggers(web: WebDep, user: TokenUser, slug: str) -> list[dict[str, Any]]:
    return [
        {
            "trigger": c.trigger,
            "dest": c.dest,
            "ready": c.ready,
            "guards": [{"name": g.name, "ok": g.ok, "detail": g.detail} for g in c.guards],
        }
        for c in web.tracker.triggers(slug, as_user=user.name)
    ]


@router.get("/summits", summary="Summits (summit list --json)", response_model=None)
def summits(web: WebDep) -> list[dict[str, Any]]:
    return [s.to_json() for s in web.tracker.list_summits()]


@router.post(
    "/summits/{slug}/move", summary="Move a summit to new dates (summit move)", response_model=None
)
def move_summit(
    web: WebDep,
    user: TokenUser,
    slug: str,
    body: MoveBody,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Deadlines and pending reminders follow the new dates. ``If-Match: "VERSION"`` (the
    ``ETag`` of the move preview) refuses the move (409) when the summit moved meanwhile."""
    moved = web.tracker.move_summit(
        slug,
        starts=body.starts,
        ends=body.ends,
        as_user=user.name,
        comment=body.comment,
        expect_version=expected_version(if_match, "summit"),
    )
    response.headers["ETag"] = etag(moved.version)
    return moved.to_json()


@router.get(
    "/summits/{slug}/move-preview",
    summary="What moving a summit would change (read-only)",
    response_model=None,
)
def move_preview(
    web: WebDep,
    slug: str,
    response: Response,
    starts: Annotated[date, Query(description="The new first day (YYYY-MM-DD)")],
    ends: Annotated[
        date | None, Query(description="The new last day (default: keeps the length)")
    ] = None,
) -> dict[str, Any]:
    """Each deadline's due time before and after, the summit's reminders; nothing is
    written. The ``ETag`` is the summit's version, for the move's ``If-Match``."""
    shown = preview_move(web.tracker, slug, starts=starts, ends=ends)
    response.headers["ETag"] = etag(shown.version)
    return shown.to_json()


@router.get(
    "/summits/{slug}/calendar.ics",
    summary="The summit and its deadlines as iCalendar (calendar export --summit)",
    response_class=Response,
    responses={200: {"content": {CALENDAR_TYPE.split(";")[0]: {}}}},
)
def summit_calendar(web: WebDep, slug: str) -> Response:
    return calendar_response(web, slug)


@router.get("/reminders", summary="Reminder emails (reminders list --json)", response_model=None)
def reminders(
    web: WebDep,
    status: Annotated[
        Literal["pending", "sending", "sent", "failed", "cancelled"] | None, Query()
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    desk = ReminderDesk(web.tracker.db, web.tracker.clock)
    listed = [r.to_json() for r in first(desk.list(status=status), limit, skip=offset)]
    return {"items": listed, "limit": limit, "offset": offset, "count": len(listed)}


@router.get(
    "/reports/status",
    summary="The status report (report status)",
    response_class=Response,
    responses={200: {"content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()}}},
)
def report(
    web: WebDep,
    summit: Annotated[str | None, Query(max_length=200)] = None,
    format: Annotated[ReportFormat, Query()] = "json",
    lang: Annotated[str, Query(max_length=16)] = "en",
) -> Response:
    return report_response(web, summit=summit, fmt=format, lang=lang)


@router.get(
    "/instruments/{slug}/diff",
    summary="What changed between two drafts (line diff)",
    response_model=None,
)
def revision_diff(
    web: WebDep,
    slug: str,
    a: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="The older revision (default: b - 1)")
    ] = None,
    b: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="The newer revision (default: current)")
    ] = None,
) -> dict[str, Any]:
    """``unified`` is the diff as ``diff -u`` writes it, one string per line; ``added`` and
    ``removed`` count lines. A draft that is not UTF-8 text, or is over 2 MiB or 5,000
    lines, is refused (422, nothing changes); an unknown revision is 404."""
    return diff_revisions(web.tracker, slug, a, b).to_json()
