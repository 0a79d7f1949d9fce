"""Signing in and out: ``GET /login``, ``POST /login``, ``POST /logout`` (this browser) and
``POST /logout/everywhere`` (every session of the user, copied cookies included).

Passwords are checked by :class:`doctrack.services.accounts.Accounts` (argon2id, one answer
for every failure, throttling per user name in the database); this module only turns the
answer into a session or a page saying why not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from doctrack.errors import RefusedError
from doctrack.web.context import Web, get_web
from doctrack.web.problems import problem_for
from doctrack.web.security import (
    SIGNED_OUT_EVERYWHERE,
    Csrf,
    LoginRequired,
    SessionUser,
    flash,
    session_user,
    sign_in,
    sign_out,
)

router = APIRouter(tags=["pages"], include_in_schema=False)
WebDep = Annotated[Web, Depends(get_web)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, web: WebDep, next: str | None = None) -> Response:
    try:
        user = session_user(request, web)
    except LoginRequired:
        return web.pages.render(
            request,
            "login.html",
            user=None,
            title="Sign in",
            next=safe_next(next),
            error=None,
            login_name="",
        )
    del user
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    web: WebDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    source = request.client.host if request.client else ""
    try:
        user = web.accounts.login(name.strip(), password, source=source)
    except RefusedError as exc:
        problem = problem_for(exc)
        return web.pages.render(
            request,
            "login.html",
            user=None,
            status=problem.status,
            headers=problem.headers,
            title="Sign in",
            next=safe_next(next),
            error=str(exc),
            login_name=name,
        )
    sign_in(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, user: SessionUser, _csrf: Annotated[None, Csrf]) -> Response:
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/logout/everywhere")
def logout_everywhere(
    request: Request, web: WebDep, user: SessionUser, _csrf: Annotated[None, Csrf]
) -> Response:
    web.accounts.end_sessions(user.name)
    sign_out(request)
    flash(request, SIGNED_OUT_EVERYWHERE)
    return RedirectResponse("/login", status_code=303)
