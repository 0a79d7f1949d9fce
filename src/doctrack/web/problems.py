"""doctrack's errors as HTTP answers: one status and one stable code per kind of error.

| error | status | code |
|---|---|---|
| not signed in, unknown or revoked token | 401 | ``unauthenticated`` |
| ``AuthError`` (wrong user name or password) | 401 | ``wrong_login`` |
| ``NotAllowedError``, a wrong CSRF token | 403 | ``not_allowed``, ``csrf`` |
| ``NotFoundError``, no such route | 404 | ``not_found`` |
| ``ConflictError`` (stale version, ``If-Match``) | 409 | ``conflict`` |
| ``SummitMovedError`` (a summit moved meanwhile) | 409 | ``conflict`` (``starts``, ``ends``) |
| ``GuardFailedError`` | 409 | ``guard_failed`` |
| ``InvalidTriggerError`` | 409 | ``invalid_trigger`` |
| ``AlreadyExistsError`` | 409 | ``already_exists`` |
| any other ``RefusedError`` (final state, no draft...) | 409 | ``refused`` |
| ``ThrottledError`` | 429 | ``throttled`` (with ``Retry-After``) |
| ``UsageError``, a malformed request | 422 | ``invalid`` |
| a PDF report, WeasyPrint missing on the server | 501 | ``not_implemented`` |
| ``DatabaseFailedError`` (lost, locked, read-only, full) | 503 | ``database_unavailable`` |

A 503 carries ``Retry-After`` when trying again may help (connection lost, locked).

A refusal by the workflow (a guard, a trigger not possible now, a final state) is 409, not
422: the request is well formed and would succeed against another state of the instrument,
which is what 409 Conflict means ("conflict with the current state of the target
resource", RFC 9110). 422 is kept for requests that could never succeed as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from doctrack.errors import (
    AlreadyExistsError,
    AuthError,
    ConflictError,
    ConnectionLostError,
    DatabaseBusyError,
    DatabaseFailedError,
    DoctrackError,
    GuardFailedError,
    InvalidTriggerError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    ThrottledError,
    UsageError,
)
from doctrack.services.summit_moves import SummitMovedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """An error as the API reports it."""

    status: int
    code: str
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body.update(self.details)
        return {"error": body}


def problem_for(exc: DoctrackError) -> Problem:
    """The status, code and details of a doctrack error."""
    message = str(exc)
    if isinstance(exc, NotFoundError):
        return Problem(status=404, code="not_found", message=message)
    if isinstance(exc, NotAllowedError):
        return Problem(status=403, code="not_allowed", message=message)
    if isinstance(exc, SummitMovedError):
        details = {
            "starts": exc.starts.isoformat(),
            "ends": exc.ends.isoformat(),
            "version": exc.version,
        }
        return Problem(status=409, code="conflict", message=message, details=details)
    if isinstance(exc, ConflictError):
        details = {"state": exc.state, "version": exc.version}
        return Problem(status=409, code="conflict", message=message, details=details)
    if isinstance(exc, GuardFailedError):
        details = {"guard": exc.guard, "detail": exc.detail}
        return Problem(status=409, code="guard_failed", message=message, details=details)
    if isinstance(exc, InvalidTriggerError):
        details = {"state": exc.state, "version": exc.version, "possible": list(exc.possible)}
        return Problem(status=409, code="invalid_trigger", message=message, details=details)
    if isinstance(exc, AlreadyExistsError):
        return Problem(status=409, code="already_exists", message=message)
    if isinstance(exc, AuthError):
        return Problem(status=401, code="wrong_login", message=message)
    if isinstance(exc, ThrottledError):
        return Problem(
            status=429,
            code="throttled",
            message=message,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, RefusedError):
        return Problem(status=409, code="refused", message=message)
    if isinstance(exc, UsageError):
        return Problem(status=422, code="invalid", message=message)
    if isinstance(exc, DatabaseFailedError):
        # Not the request's fault: the same request may well succeed in a moment.
        retry = isinstance(exc, (ConnectionLostError, DatabaseBusyError))
        return Problem(
            status=503,
            code="database_unavailable",
            message=message,
            headers={"Retry-After": "5"} if retry else None,
        )
    return Problem(status=500, code="internal", message="internal error")


#: Codes for the statuses the framework itself answers with (no route, wrong method...).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "not_allowed",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "throttled",
    501: "not_implemented",  # a PDF asked of a server without WeasyPrint
}
