"""The instrument page and its forms: advance, position, revise, retarget, downloads; its
workflow drawn (:mod:`doctrack.web.diagram`) and two drafts compared line by line.

Each form posts to the use case of the command line as the signed-in user; the rules are
the services' own. A success answers 303 to the page (what was done shown once at the
top); a refusal answers the page again with the reason beside the form that was refused,
with the refusal's status (403, 404, 409, 422). htmx posts the same forms and swaps the
page's ``#main`` part in place; without JavaScript they are plain form posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from doctrack.domain import Role
from doctrack.engine.definition import WorkflowDef
from doctrack.engine.machine import TriggerCheck, roles_permit
from doctrack.errors import DoctrackError, NotFoundError, UsageError
from doctrack.services.revision_diff import MAX_DIFF_BYTES, MAX_DIFF_LINES, diff_revisions
from doctrack.services.tracking import (
    MAX_REVISION_BYTES,
    POSITION_ON_BEHALF_ROLES,
    RETARGET_ROLES,
    REVISE_ROLES,
)
from doctrack.services.views import EventView
from doctrack.storage.records import UserRecord
from doctrack.web.context import Web, get_web
from doctrack.web.diagram import diagram_svg
from doctrack.web.downloads import download
from doctrack.web.params import MAX_INT, Number
from doctrack.web.problems import problem_for
from doctrack.web.security import Csrf, SessionUser, flash

router = APIRouter(tags=["pages"], include_in_schema=False)
WebDep = Annotated[Web, Depends(get_web)]
CheckedForm = Annotated[None, Csrf]
RevisionChoice = Annotated[int | None, Query(ge=1, le=MAX_INT)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """A trigger the user's roles allow from the current state, and what blocks it now."""

    trigger: str
    dest_label: str
    ready: bool
    blocked_by: tuple[str, ...]  # "guard: detail" for each guard that does not hold


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why the last form was refused, shown beside it."""

    form: str  # advance | position | revise | retarget | diff
    message: str


def _actions(checks: list[TriggerCheck], label: Callable[[str], str]) -> list[Action]:
    by_trigger: dict[str, list[TriggerCheck]] = {}
    for c in checks:
        by_trigger.setdefault(c.trigger, []).append(c)
    actions = []
    for trigger, options in by_trigger.items():
        chosen = next((c for c in options if c.ready), options[0])
        actions.append(
            Action(
                trigger=trigger,
                dest_label=label(chosen.dest),
                ready=chosen.ready,
                blocked_by=tuple(f"{g.name}: {g.detail}" for g in chosen.guards if not g.ok),
            )
        )
    return actions


def _revisions(events: list[EventView]) -> list[dict[str, Any]]:
    """The drafts, newest first, from the history's revision events."""
    found = []
    for e in events:
        if e.kind == "revision" and e.payload:
            found.append({**e.payload, "at": e.at, "by": e.actor, "note": e.comment})
    return found[::-1]


def workflow_context(wf: WorkflowDef, state: str) -> dict[str, Any]:
    """The workflow's diagram, and its states and transitions as text beside it."""
    return {
        "diagram": Markup(diagram_svg(wf, current=state)),  # noqa: S704 - ElementTree escaped it
        "states": [
            {
                "name": s.name,
                "label": s.label,
                "current": s.name == state,
                "initial": s.name == wf.initial,
                "final": s.final,
            }
            for s in wf.states.values()
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "sources": [wf.label(s) for s in t.sources],
                "dest": wf.label(t.dest),
            }
            for t in wf.transitions
        ],
    }


def page_context(web: Web, user: UserRecord, slug: str) -> dict[str, Any]:
    """Everything the instrument page shows, read for ``user``."""
    tracker = web.tracker
    view = tracker.show(slug)
    wf = tracker.workflows.get(view.workflow)
    events = tracker.history(slug)
    stances = {p.party: p for p in view.positions}
    on_behalf = roles_permit(POSITION_ON_BEHALF_ROLES, user.roles)
    own = user.party_code if Role.DELEGATE in user.roles else None
    parties = [
        {
            "code": code,
            "name": name,
            "position": stances.get(code),
            "editable": not view.final and view.revision is not None and (on_behalf or code == own),
        }
        for code, name in tracker.list_parties()
    ]
    return {
        "view": view,
        **workflow_context(wf, view.state),
        "actions": _actions(tracker.triggers(slug, as_user=user.name), wf.label),
        "parties": parties,
        "revisions": _revisions(events),
        "history": events[::-1],
        "can_revise": not view.final and roles_permit(REVISE_ROLES, user.roles),
        "can_retarget": not view.final and roles_permit(RETARGET_ROLES, user.roles),
        "summits": [s for s in tracker.list_summits() if s.slug != view.summit],
        "quoted": quote(view.slug),
    }


def _page(
    request: Request,
    web: Web,
    user: UserRecord,
    slug: str,
    *,
    refusal: Refusal | None = None,
    status: int = 200,
) -> Response:
    context = page_context(web, user, slug)
    return web.pages.render(
        request,
        "instrument.html",
        user=user,
        status=status,
        refusal=refusal,
        title=context["view"].title,
        **context,
    )


def _done(request: Request, slug: str, message: str) -> Response:
    flash(request, message)
    return RedirectResponse(f"/instruments/{quote(slug)}", status_code=303)


def _refused(
    request: Request,
    web: Web,
    user: UserRecord,
    slug: str,
    form: str,
    exc: DoctrackError,
) -> Response:
    if isinstance(exc, NotFoundError) and exc.what == "instrument":
        raise exc  # no page to show the refusal on: the error page
    refusal = Refusal(form=form, message=str(exc))
    return _page(request, web, user, slug, refusal=refusal, status=problem_for(exc).status)


@router.get("/instruments/{slug}")
def instrument_page(request: Request, web: WebDep, user: SessionUser, slug: str) -> Response:
    return _page(request, web, user, slug)


@router.post("/instruments/{slug}/advance")
def advance(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    trigger: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    try:
        result = web.tracker.advance(
            slug, trigger, as_user=user.name, comment=comment or None, expect_version=version
        )
    except DoctrackError as exc:
        return _refused(request, web, user, slug, "advance", exc)
    return _done(
        request, slug, f"{result.trigger}: now {result.to_label} (version {result.version})"
    )


@router.post("/instruments/{slug}/position")
def position(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    party: Annotated[str, Form()] = "",
    stance: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        web.tracker.record_position(slug, party, stance, as_user=user.name, comment=comment or None)
    except DoctrackError as exc:
        return _refused(request, web, user, slug, "position", exc)
    return _done(request, slug, f"{party}: {stance} recorded")


def read_upload(file: UploadFile | None, limit_mib: int, filename: str) -> bytes:
    """The upload's bytes, refused when larger than ``limit_mib`` (setting
    ``max_upload_mib``) or the tracker's own limit: at most one byte over is read."""
    if file is None:
        return b""
    limit = min(limit_mib * 2**20, MAX_REVISION_BYTES)
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise UsageError(
            f"{filename[:100]!r} is larger than the upload limit of {limit // 2**20} MiB"
        )
    return content


@router.post("/instruments/{slug}/revise")
def revise(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    file: Annotated[UploadFile | None, File()] = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        filename = (file.filename if file is not None else None) or "draft"
        content = read_upload(file, web.settings.max_upload_mib, filename)
        number = web.tracker.revise(
            slug, content=content, filename=filename, as_user=user.name, note=note or None
        )
    except DoctrackError as exc:
        return _refused(request, web, user, slug, "revise", exc)
    return _done(request, slug, f"revision {number} uploaded; positions start afresh")


@router.post("/instruments/{slug}/retarget")
def retarget(
    request: Request,
    web: WebDep,
    user: SessionUser,
    _csrf: CheckedForm,
    slug: str,
    summit: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        view = web.tracker.retarget(slug, summit=summit, as_user=user.name, comment=comment)
    except DoctrackError as exc:
        return _refused(request, web, user, slug, "retarget", exc)
    return _done(request, slug, f"now targets {view.summit}; deadlines recomputed")


@router.get("/instruments/{slug}/revisions/{number}")
def revision(web: WebDep, user: SessionUser, slug: str, number: Number) -> Response:
    filename, content = web.tracker.revision_content(slug, number)
    return download(filename, content)


@router.get("/instruments/{slug}/diff")
def revision_diff(
    request: Request,
    web: WebDep,
    user: SessionUser,
    slug: str,
    a: RevisionChoice = None,
    b: RevisionChoice = None,
) -> Response:
    """Two drafts compared line by line; a draft that is not text is refused beside the
    form that picks them."""
    view = web.tracker.show(slug)
    context: dict[str, Any] = {
        "view": view,
        "quoted": quote(view.slug),
        "revisions": _revisions(web.tracker.history(slug)),
        "max_mib": MAX_DIFF_BYTES // 2**20,
        "max_lines": MAX_DIFF_LINES,
        "title": f"{view.title}: drafts compared",
    }
    diff, refusal, status = None, None, 200
    try:
        diff = diff_revisions(web.tracker, slug, a, b)
        a, b = diff.a.number, diff.b.number
    except DoctrackError as exc:
        refusal = Refusal(form="diff", message=str(exc))
        status = problem_for(exc).status
    return web.pages.render(
        request,
        "diff.html",
        user=user,
        status=status,
        refusal=refusal,
        diff=diff,
        a=a,
        b=b,
        **context,
    )
