"""The ASGI application: pages, the REST API, static files, sessions and error answers.

``create_app(tracker, settings)`` builds it over a tracker; ``doctrack serve`` runs it with
uvicorn. For several worker processes, uvicorn builds one per worker from the settings
(environment and ``config/doctrack.toml``)::

    uvicorn --factory doctrack.web.app:from_settings --workers 4 --proxy-headers
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from doctrack.config import Settings
from doctrack.errors import DoctrackError
from doctrack.services.accounts import Accounts
from doctrack.services.emails import templates_folder
from doctrack.services.tracking import Tracker
from doctrack.storage.records import UserRecord
from doctrack.web import api, auth, instrument, pages, summit, workflows
from doctrack.web.context import Web, get_web
from doctrack.web.headers import SecurityHeaders
from doctrack.web.problems import HTTP_CODES, Problem, problem_for
from doctrack.web.rendering import STATIC, Pages
from doctrack.web.secret import secret_key
from doctrack.web.security import (
    CsrfRefused,
    LoginRequired,
    TokenRequired,
    bearer,
    session_options,
    session_user,
    token_user,
)

API_PREFIX = "/api/"


def create_app(
    tracker: Tracker, settings: Settings, *, accounts: Accounts | None = None
) -> FastAPI:
    """The web UI and the REST API over ``tracker``; ``accounts`` checks passwords and
    tokens (default: on the tracker's database, with the production argon2 parameters)."""
    templates = templates_folder(settings.templates)
    web = Web(
        tracker=tracker,
        accounts=accounts or Accounts(tracker.db, tracker.clock),
        settings=settings,
        secret_key=secret_key(settings, tracker.db),
        templates=templates,
        pages=Pages(templates),
    )
    app = FastAPI(
        title="doctrack",
        summary="Draft international agreements, from first draft to adoption at a summit",
        version=_version(),
        openapi_url=None,  # served below, behind a sign-in
        docs_url=None,  # Swagger UI and ReDoc load scripts from CDNs: not on closed networks
        redoc_url=None,
    )
    app.state.web = web
    # The API first: a request is matched against the routes in this order.
    app.include_router(api.hot)
    app.include_router(api.router)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(summit.router)
    app.include_router(instrument.router)
    app.include_router(workflows.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_openapi(app)
    _add_error_answers(app)
    app.add_middleware(SessionMiddleware, **session_options(web))
    app.add_middleware(SecurityHeaders)
    return app


def from_settings() -> FastAPI:
    """The app from the settings alone (environment, ``config/doctrack.toml``): what
    ``uvicorn --factory doctrack.web.app:from_settings`` builds in each worker."""
    from doctrack.config import load_settings
    from doctrack.wiring import connect

    settings = load_settings()
    return create_app(connect(settings=settings), settings)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("doctrack")
    except PackageNotFoundError:
        return "0"


def _either_user(
    request: Request,
    web: Annotated[Web, Depends(get_web)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserRecord:
    """A bearer token, else the session: the OpenAPI schema is for scripts and people."""
    if credentials is not None:
        return token_user(web, credentials)
    try:
        return session_user(request, web)
    except LoginRequired:
        raise TokenRequired("sign in, or send an API token: Authorization: Bearer TOKEN") from None


def _add_openapi(app: FastAPI) -> None:
    @app.get("/openapi.json", include_in_schema=False)
    def openapi(user: Annotated[UserRecord, Depends(_either_user)]) -> dict[str, Any]:
        return api.with_hot_bodies(app.openapi())


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _answer(request: Request, problem: Problem) -> Response:
    """JSON for the API, the error page for everything else."""
    if _is_api(request):
        return JSONResponse(problem.to_json(), status_code=problem.status, headers=problem.headers)
    web: Web = request.app.state.web
    user = None
    with contextlib.suppress(LoginRequired, DoctrackError):
        user = session_user(request, web)
    return web.pages.render(
        request,
        "error.html",
        user=user,
        status=problem.status,
        headers=problem.headers,
        title=f"Error {problem.status}",
        problem=problem,
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    fields = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        fields.append({"field": where, "message": str(error.get("msg", "invalid"))})
    text = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "invalid request"
    return text, fields


def _add_error_answers(app: FastAPI) -> None:
    @app.exception_handler(DoctrackError)
    async def doctrack_error(request: Request, exc: DoctrackError) -> Response:
        return _answer(request, problem_for(exc))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = "/login"
        if request.method == "GET":
            from urllib.parse import urlencode

            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?" + urlencode({"next": path})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(TokenRequired)
    async def token_required(request: Request, exc: TokenRequired) -> Response:
        problem = Problem(
            status=401,
            code="unauthenticated",
            message=exc.message,
            headers={"WWW-Authenticate": "Bearer"},
        )
        return JSONResponse(problem.to_json(), status_code=401, headers=problem.headers)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return _answer(request, Problem(status=403, code="csrf", message=str(exc)))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        message, fields = _validation_message(exc)
        return _answer(
            request,
            Problem(status=422, code="invalid", message=message, details={"fields": fields}),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers) if exc.headers else None
        problem = Problem(
            status=exc.status_code, code=code, message=str(exc.detail), headers=headers
        )
        return _answer(request, problem)
