"""Every SQL statement about accounts: password hashes, API tokens, failed logins."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from doctrack.storage import repo
from doctrack.storage.records import TokenRecord, UserRecord
from doctrack.storage.tables import API_TOKEN, LOGIN_FAILURE, USER, USER_ROLE

# -- passwords ----------------------------------------------------------------------------


def password_hash(conn: Connection, user_id: int) -> str | None:
    stmt = select(USER.c.password_hash).where(USER.c.id == user_id)
    value = conn.execute(stmt).scalar()
    return str(value) if value is not None else None


def set_password_hash(conn: Connection, user_id: int, new: str) -> None:
    conn.execute(update(USER).where(USER.c.id == user_id).values(password_hash=new))


def end_sessions(conn: Connection, user_id: int) -> None:
    """Raise the user's session epoch: every web session they hold ends at its next request."""
    conn.execute(
        update(USER).where(USER.c.id == user_id).values(session_epoch=USER.c.session_epoch + 1)
    )


def replace_password_hash(conn: Connection, user_id: int, old: str, new: str) -> bool:
    """Set ``new`` if the stored hash is still ``old`` (a rehash must not undo a new password)."""
    result = conn.execute(
        update(USER)
        .where(and_(USER.c.id == user_id, USER.c.password_hash == old))
        .values(password_hash=new)
    )
    return result.rowcount == 1


# -- failed logins ------------------------------------------------------------------------


def lock_login_name(conn: Connection, name: str) -> None:
    """Serialise the login attempts for ``name`` until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on a key derived from the name (no row may
    exist to lock: the name need not be a user's). SQLite: write transactions already hold
    the database's write lock from their first statement (``BEGIN IMMEDIATE``).
    """
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(b"doctrack-login\0" + name.encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(select(func.pg_advisory_xact_lock(key))).all()


def prune_login_failures(conn: Connection, name: str, *, before: datetime) -> None:
    """Forget ``name``'s failures older than ``before``: they no longer count."""
    conn.execute(
        delete(LOGIN_FAILURE).where(
            and_(LOGIN_FAILURE.c.user_name == name, LOGIN_FAILURE.c.at <= before)
        )
    )


def recent_login_failures(
    conn: Connection, name: str, *, after: datetime, limit: int
) -> list[datetime]:
    """When ``name``'s latest failures (after ``after``) happened, newest first, at most
    ``limit`` of them."""
    stmt = (
        select(LOGIN_FAILURE.c.at)
        .where(and_(LOGIN_FAILURE.c.user_name == name, LOGIN_FAILURE.c.at > after))
        .order_by(LOGIN_FAILURE.c.at.desc(), LOGIN_FAILURE.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt).scalars())


def insert_login_failure(conn: Connection, name: str, source: str, at: datetime) -> int:
    result = conn.execute(insert(LOGIN_FAILURE).values(user_name=name, source=source, at=at))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def delete_login_failure(conn: Connection, failure_id: int) -> None:
    conn.execute(delete(LOGIN_FAILURE).where(LOGIN_FAILURE.c.id == failure_id))


# -- API tokens ---------------------------------------------------------------------------


def _token(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        user_id=row.user_id,
        label=row.label,
        token_hash=row.token_hash,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def insert_token(
    conn: Connection, *, user_id: int, label: str, token_hash: str, at: datetime
) -> int:
    result = conn.execute(
        insert(API_TOKEN).values(user_id=user_id, label=label, token_hash=token_hash, created_at=at)
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass(frozen=True, slots=True)
class TokenUse:
    """A live (not revoked) token's id, when it was last used, and its user with roles."""

    token_id: int
    last_used_at: datetime | None
    user: UserRecord


# Every API request asks this: one statement, built once, from the token to its user and
# the user's roles (one row per role).
_USER_OF_TOKEN = (
    select(
        API_TOKEN.c.id.label("token_id"),
        API_TOKEN.c.last_used_at.label("token_last_used_at"),
        *repo.USER_COLUMNS,
    )
    .select_from(
        API_TOKEN.join(USER, USER.c.id == API_TOKEN.c.user_id).outerjoin(
            USER_ROLE, USER_ROLE.c.user_id == USER.c.id
        )
    )
    .where(API_TOKEN.c.token_hash == bindparam("p_hash"), API_TOKEN.c.revoked_at.is_(None))
)


def live_token_use(conn: Connection, token_hash: str) -> TokenUse | None:
    """The live token with this hash and its user; None when unknown or revoked."""
    rows: list[Row[Any]] = list(conn.execute(_USER_OF_TOKEN, {"p_hash": token_hash}))
    if not rows:
        return None
    [user] = repo.users_of(rows)
    return TokenUse(rows[0].token_id, rows[0].token_last_used_at, user)


def get_token(conn: Connection, token_id: int) -> TokenRecord | None:
    row = conn.execute(select(API_TOKEN).where(API_TOKEN.c.id == token_id)).first()
    return _token(row) if row else None


def tokens_of(conn: Connection, user_id: int) -> list[TokenRecord]:
    stmt = select(API_TOKEN).where(API_TOKEN.c.user_id == user_id).order_by(API_TOKEN.c.id)
    return [_token(r) for r in conn.execute(stmt)]


def touch_token(conn: Connection, token_id: int, *, at: datetime, unless_after: datetime) -> None:
    """Set ``last_used_at`` to ``at`` unless the token is revoked or was last used after
    ``unless_after`` (another request recorded a use meanwhile)."""
    conn.execute(
        update(API_TOKEN)
        .where(
            and_(
                API_TOKEN.c.id == token_id,
                API_TOKEN.c.revoked_at.is_(None),
                or_(
                    API_TOKEN.c.last_used_at.is_(None),
                    API_TOKEN.c.last_used_at <= unless_after,
                ),
            )
        )
        .values(last_used_at=at)
    )


def revoke_token(conn: Connection, token_id: int, at: datetime) -> bool:
    """Revoke the token if it is not revoked yet; False if it already was."""
    result = conn.execute(
        update(API_TOKEN)
        .where(and_(API_TOKEN.c.id == token_id, API_TOKEN.c.revoked_at.is_(None)))
        .values(revoked_at=at)
    )
    return result.rowcount == 1
