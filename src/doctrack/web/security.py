"""Who is asking: the signed session cookie of the pages, bearer tokens of the API, CSRF.

- **Pages** sign people in with a session cookie (Starlette's ``SessionMiddleware``: the
  session is JSON signed with itsdangerous under the secret key, ``HttpOnly``,
  ``SameSite=Lax``, ``Secure`` when ``base_url`` is https, valid for
  :data:`SESSION_MAX_AGE`). It holds the user's name, their session epoch when they signed
  in and the session's CSRF token, nothing else; the user and their roles are read from the
  database on every request, so a role granted or revoked holds from the next click, and a
  session whose epoch is no longer the user's (password changed, "Sign out everywhere",
  ``doctrack user signout``) is over, copied cookies included.
- **CSRF**: every state-changing form (sign in and out included) carries the session's
  token in the field :data:`CSRF_FIELD`; a POST whose token is missing or wrong is refused
  with 403 before anything else is read.
- **The API** reads only ``Authorization: Bearer TOKEN`` (``doctrack user token create``),
  never the cookie, so a page on another site cannot make a signed-in browser call it, and
  it needs no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from doctrack.errors import NotFoundError
from doctrack.storage.records import UserRecord
from doctrack.web.context import Web, get_web

SESSION_COOKIE = "doctrack_session"
#: A working day and a half: a session signed longer ago is not accepted.
SESSION_MAX_AGE = 12 * 60 * 60
CSRF_FIELD = "csrf_token"
_USER = "user"
_EPOCH = "epoch"
_CSRF = "csrf"
_FLASH = "flash"
#: What the sign-in page says to a browser whose session was ended elsewhere.
SESSION_ENDED = "Your session was ended (a password change, or Sign out everywhere): sign in again."
#: ... and to the browser that clicked Sign out everywhere.
SIGNED_OUT_EVERYWHERE = "You are signed out in every browser."


class LoginRequired(Exception):
    """A page was asked for without a valid session: the answer is the login page."""


class TokenRequired(Exception):
    """An API call came without a valid bearer token: the answer is 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    """A state-changing form came without the session's CSRF token."""

    MESSAGE = "the form is out of date or came from another site (CSRF token): reload the page"


def session_options(web: Web) -> dict[str, Any]:
    """The keyword arguments of ``SessionMiddleware``."""
    return {
        "secret_key": web.secret_key,
        "session_cookie": SESSION_COOKIE,
        "max_age": SESSION_MAX_AGE,
        "same_site": "lax",
        "https_only": web.settings.base_url.lower().startswith("https://"),
    }


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency of every state-changing form: the posted token must be the session's."""
    expected = request.session.get(_CSRF)
    if not isinstance(expected, str) or not expected:
        raise CsrfRefused(CsrfRefused.MESSAGE)
    if not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        raise CsrfRefused(CsrfRefused.MESSAGE)


def sign_in(request: Request, user: UserRecord) -> None:
    """A fresh session for ``user`` (a new CSRF token too: nothing carries over)."""
    request.session.clear()
    request.session[_USER] = user.name
    request.session[_EPOCH] = user.session_epoch
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """A line the next page shows once (what the last action did)."""
    request.session[_FLASH] = message


def take_flash(request: Request) -> str | None:
    value = request.session.pop(_FLASH, None)
    return value if isinstance(value, str) else None


def session_user(request: Request, web: Annotated[Web, Depends(get_web)]) -> UserRecord:
    """Dependency of every page: the signed-in user, else :class:`LoginRequired`."""
    name = request.session.get(_USER)
    if not isinstance(name, str) or not name:
        raise LoginRequired
    try:
        user = web.tracker.get_user(name)
    except NotFoundError:
        sign_out(request)
        raise LoginRequired from None
    epoch = request.session.get(_EPOCH)
    if type(epoch) is not int or epoch != user.session_epoch:
        sign_out(request)  # ended elsewhere: a password change or "Sign out everywhere"
        flash(request, SESSION_ENDED)
        raise LoginRequired
    return user


bearer = HTTPBearer(auto_error=False, description="An API token: doctrack user token create")


def token_user(
    web: Annotated[Web, Depends(get_web)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserRecord:
    """Dependency of every API route: the user of the bearer token, else 401."""
    return user_of_credentials(web, credentials)


def user_of_credentials(web: Web, credentials: HTTPAuthorizationCredentials | None) -> UserRecord:
    """The user of a bearer token, else :class:`TokenRequired` (reads the database: call it
    in a worker thread)."""
    if credentials is None:
        raise TokenRequired("sign in with an API token: Authorization: Bearer TOKEN")
    user = web.accounts.user_for_token(credentials.credentials.strip())
    if user is None:
        raise TokenRequired("unknown or revoked API token")
    return user


SessionUser = Annotated[UserRecord, Depends(session_user)]
TokenUser = Annotated[UserRecord, Depends(token_user)]
#: The bearer credentials alone, read on the event loop; check them with
#: :func:`user_of_credentials` in the route's own worker thread.
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Csrf = Depends(check_csrf)
