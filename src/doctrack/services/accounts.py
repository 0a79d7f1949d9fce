"""Accounts: passwords, logins and their throttling, API tokens.

Passwords are hashed with argon2id (argon2-cffi, RFC 9106 low-memory profile by default);
the password itself is never stored. A login fails with one message whatever went wrong, and
takes as long for a user name that does not exist as for a wrong password.

Throttling: after ``MAX_FAILURES`` failed logins for one user name within
``FAILURE_WINDOW``, further attempts for that name are refused without checking the
password, until the earliest of the last ``MAX_FAILURES`` is ``FAILURE_WINDOW`` old.
Failures are rows in the database, so the limit holds across every process that checks
logins; the check and the recording of an attempt happen under one lock per name (the write
lock on SQLite, an advisory lock on PostgreSQL), and an attempt counts as a failure from the
moment it starts until its password is found right, so concurrent guesses cannot slip past
the limit. A successful login removes only its own attempt: earlier failures still count
until they age out, so logging in does not hand a guesser a fresh allowance. Names no user
can have (see ``Tracker.add_user``) are refused without a row.

API tokens are ``dt_`` and 43 random URL-safe characters (32 bytes). Only their sha256 is
kept; a token is shown once, when it is made, and is used as ``Authorization: Bearer
TOKEN``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from doctrack.clock import Clock
from doctrack.errors import AuthError, NotFoundError, RefusedError, ThrottledError, UsageError
from doctrack.storage import accounts as store
from doctrack.storage import repo
from doctrack.storage.db import Database
from doctrack.storage.records import TokenRecord, UserRecord

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
#: ``last_used_at`` is written at most this often per token, so that using a token is a
#: read, not a write, almost every time.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_PREFIX = "dt_"  # noqa: S105 - a prefix, not a secret
MAX_LABEL = 100
MAX_SOURCE = 100

# The user names Tracker.add_user accepts; no other name can ever log in.
_USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What secrets.token_urlsafe(32) makes: 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(r"^dt_[A-Za-z0-9_-]{43}$")


def default_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)."""
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def check_password(password: str) -> None:
    """Refuse a password doctrack would not set (too short, too long)."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"a password may have at most {MAX_PASSWORD} characters")


def token_hash(token: str) -> str:
    """The sha256 (hex) of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def _label(value: str) -> str:
    cleaned = value.strip()
    if _CONTROL.search(cleaned):
        raise UsageError("a token label must be one line without control characters")
    if len(cleaned) > MAX_LABEL:
        raise UsageError(f"a token label may have at most {MAX_LABEL} characters")
    return cleaned


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenView:
    """An API token as staff see it: never the token itself."""

    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "label": self.label,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
        }


def _token_view(t: TokenRecord) -> TokenView:
    return TokenView(
        id=t.id,
        label=t.label,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        revoked_at=t.revoked_at,
    )


class Accounts:
    """The account use cases over one database; each public method is one use case.

    ``hasher`` defaults to :func:`default_hasher`; tests pass cheaper parameters. A hash made
    with other parameters is replaced by one made with these at the next good login.
    """

    def __init__(self, db: Database, clock: Clock, *, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher or default_hasher()
        self._dummy: str | None = None

    # -- passwords ------------------------------------------------------------------------

    def set_password(self, name: str, password: str) -> None:
        """Set (or replace) the password of user ``name``; every web session they hold ends
        (whoever knew the old password may be signed in)."""
        check_password(password)
        new = self.hasher.hash(password)
        with self.db.write() as conn:
            user = self._user(conn, name)
            store.set_password_hash(conn, user.id, new)
            store.end_sessions(conn, user.id)

    def end_sessions(self, name: str) -> None:
        """End every web session of user ``name``, in every browser, copied cookies
        included: each ends at its next request. API tokens are not touched."""
        with self.db.write() as conn:
            store.end_sessions(conn, self._user(conn, name).id)

    def login(self, name: str, password: str, *, source: str = "") -> UserRecord:
        """The user ``name`` if ``password`` is theirs.

        Raises :class:`ThrottledError` (without looking at the password) after too many
        failures for ``name`` lately, else :class:`AuthError` for an unknown user, a user
        without a password, or a wrong password. ``source`` (the client's address) is kept
        with a failure.
        """
        if not _USER_NAME.fullmatch(name):
            # Never a user: no row to keep, but the same answer in the same time.
            self._verify_dummy(password)
            raise AuthError()
        now = self.clock.now()
        with self.db.write() as conn:
            store.lock_login_name(conn, name)
            store.prune_login_failures(conn, name, before=now - FAILURE_WINDOW)
            recent = store.recent_login_failures(
                conn, name, after=now - FAILURE_WINDOW, limit=MAX_FAILURES
            )
            if len(recent) >= MAX_FAILURES:
                free_at = recent[-1] + FAILURE_WINDOW
                raise ThrottledError(name, math.ceil((free_at - now).total_seconds()))
            # Counted as a failure until the password proves right (see the module's text).
            attempt = store.insert_login_failure(conn, name, source[:MAX_SOURCE], now)
            user = repo.get_user(conn, name)
            stored = store.password_hash(conn, user.id) if user is not None else None
        if user is None or stored is None:
            self._verify_dummy(password)
            raise AuthError()
        if not self._verify(stored, password):
            raise AuthError()
        with self.db.write() as conn:
            store.delete_login_failure(conn, attempt)
            if self.hasher.check_needs_rehash(stored):
                store.replace_password_hash(conn, user.id, stored, self.hasher.hash(password))
        return user

    def _verify(self, stored: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD:  # never set, so never right; do not hash a megabyte
            self._verify_dummy("")
            return False
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _verify_dummy(self, password: str) -> None:
        """Spend the time a real check takes, against a hash no password matches."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(32))
        with contextlib.suppress(VerificationError, InvalidHashError):
            self.hasher.verify(self._dummy, password[:MAX_PASSWORD])

    # -- API tokens -----------------------------------------------------------------------

    def create_token(self, name: str, *, label: str = "") -> tuple[int, str]:
        """A new API token for user ``name``: (its id, the token). The token is not kept."""
        label = _label(label)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as conn:
            user = self._user(conn, name)
            token_id = store.insert_token(
                conn,
                user_id=user.id,
                label=label,
                token_hash=token_hash(token),
                at=self.clock.now(),
            )
        return token_id, token

    def user_for_token(self, token: str) -> UserRecord | None:
        """The user a token belongs to; None for an unknown or revoked token."""
        if not _TOKEN.fullmatch(token):
            return None
        now = self.clock.now()
        with self.db.read() as conn:
            found = store.live_token_use(conn, token_hash(token))
        if found is None:
            return None
        recent = now - TOKEN_TOUCH_INTERVAL
        if found.last_used_at is None or found.last_used_at <= recent:
            with self.db.write() as conn:
                store.touch_token(conn, found.token_id, at=now, unless_after=recent)
        return found.user

    def tokens(self, name: str) -> list[TokenView]:
        """User ``name``'s tokens, revoked ones too, oldest first."""
        with self.db.read() as conn:
            user = self._user(conn, name)
            return [_token_view(t) for t in store.tokens_of(conn, user.id)]

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token for good; refused if there is none or it is revoked already."""
        with self.db.write() as conn:
            found = store.get_token(conn, token_id)
            if found is None:
                raise NotFoundError("token", str(token_id))
            if not store.revoke_token(conn, token_id, self.clock.now()):
                raise RefusedError(f"token {token_id} is already revoked")

    # -- helpers --------------------------------------------------------------------------

    def _user(self, conn: Connection, name: str) -> UserRecord:
        user = repo.get_user(conn, name)
        if user is None:
            raise NotFoundError("user", name)
        return user
