"""The schema, as SQLModel tables. Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, LargeBinary, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from doctrack.storage.types import UTCDateTime

# Stable constraint names, so that migrations can refer to them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Party(SQLModel, table=True):
    """A member state."""

    __tablename__ = "party"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)


class User(SQLModel, table=True):
    """A person who acts in doctrack (``user`` is reserved in PostgreSQL, hence the name)."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    full_name: str | None = Field(default=None, max_length=200)
    email: str = Field(max_length=254)
    party_code: str | None = Field(default=None, foreign_key="party.code", max_length=16)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: argon2id hash in PHC form (``$argon2id$v=19$...``); None: the user cannot log in.
    password_hash: str | None = Field(default=None, sa_type=Text)
    #: Raised to end every session of the user (a web session holds the value it began
    #: with): by a password change, "Sign out everywhere" and ``doctrack user signout``.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserRole(SQLModel, table=True):
    """One role held by one user."""

    __tablename__ = "user_role"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=32)


class Summit(SQLModel, table=True):
    """A meeting where instruments are adopted."""

    __tablename__ = "summit"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=300)
    city: str = Field(max_length=100)
    starts: date
    ends: date
    tz: str = Field(max_length=64)
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: hash of the summit's last event (doctrack.storage.chain); None before the first (0005)
    chain_head: str | None = Field(default=None, max_length=64)


class Instrument(SQLModel, table=True):
    """A draft instrument on its way to a summit."""

    __tablename__ = "instrument"
    # Filters of ``doc list`` with the slug last, so that a page is read in order (0004).
    __table_args__ = (
        Index("ix_instrument_summit_state_slug", "summit_id", "state", "slug"),
        Index("ix_instrument_summit_slug", "summit_id", "slug"),
        Index("ix_instrument_state_slug", "state", "slug"),
    )
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=500)
    kind: str = Field(max_length=64)
    workflow: str = Field(max_length=64)
    state: str = Field(max_length=64)
    summit_id: int = Field(foreign_key="summit.id")
    lead_party: str | None = Field(default=None, foreign_key="party.code", max_length=16)
    revision_id: int | None = Field(default=None)
    revision_number: int | None = Field(default=None)
    version: int = Field(default=1)
    state_since: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: hash of the instrument's last event (doctrack.storage.chain); None before the first
    #: (0005). Set in the UPDATE that raises the version, so it costs no statement.
    chain_head: str | None = Field(default=None, max_length=64)


class Dependency(SQLModel, table=True):
    """``instrument_id`` cannot be adopted before ``depends_on_id`` is."""

    __tablename__ = "dependency"
    instrument_id: int = Field(foreign_key="instrument.id", primary_key=True)
    depends_on_id: int = Field(foreign_key="instrument.id", primary_key=True, index=True)


class Revision(SQLModel, table=True):
    """A numbered draft text, kept byte for byte."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("instrument_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id")
    number: int
    filename: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)
    sha256: str = Field(max_length=64)
    size: int
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=Text)


class Position(SQLModel, table=True):
    """One party's latest stance on one revision (the history keeps every change)."""

    __tablename__ = "position"
    __table_args__ = (UniqueConstraint("revision_id", "party_code"),)
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id", index=True)
    revision_id: int = Field(foreign_key="revision.id")
    party_code: str = Field(foreign_key="party.code", max_length=16)
    stance: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_type=Text)
    recorded_by: str = Field(max_length=64)
    on_behalf: bool = Field(default=False)
    at: datetime = Field(sa_type=UTCDateTime)


class Deadline(SQLModel, table=True):
    """An instrument must reach ``milestone`` by ``due_at``; ``met_at`` is when it did."""

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("instrument_id", "milestone"),
        Index("ix_deadline_open_due", "due_at", "met_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instrument.id")
    milestone: str = Field(max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    """Append-only history of instruments and summits; triggers refuse UPDATE and DELETE.

    Each event is a link of its subject's hash chain (doctrack.storage.chain): ``seq`` is its
    place in the chain, from 1, ``prev_hash`` the previous event's ``hash`` (0005).
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_instrument", "instrument_id", "id"),
        Index("ix_event_summit", "summit_id", "id"),
        Index("ix_event_at", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int | None = Field(default=None, foreign_key="instrument.id")
    summit_id: int | None = Field(default=None, foreign_key="summit.id")
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    trigger: str | None = Field(default=None, max_length=64)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, sa_type=Text)
    payload: str | None = Field(default=None, sa_type=Text)
    seq: int
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Reminder(SQLModel, table=True):
    """An email due at ``send_at`` to one user about a deadline or a summit.

    ``key`` names what the reminder is for (kind, deadline or summit, days before, user), so
    planning the same reminder twice finds the same row and a sent one is never re-sent.
    A dispatcher takes a row when ``status`` is pending and ``next_attempt_at`` has come, or
    when another dispatcher's ``lease_until`` has passed.
    """

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_reminder_ready", "status", "next_attempt_at"),
        Index("ix_reminder_instrument", "instrument_id", "status"),
        Index("ix_reminder_deadline", "deadline_id", "status"),
        Index("ix_reminder_summit_kind", "summit_id", "kind"),
        Index("ix_reminder_kind_send_at", "kind", "send_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    kind: str = Field(max_length=16)
    summit_id: int = Field(foreign_key="summit.id")
    instrument_id: int | None = Field(default=None, foreign_key="instrument.id")
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    user_id: int = Field(foreign_key="app_user.id")
    days_before: int
    send_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    first_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = False
    note: str | None = Field(default=None, max_length=200)
    message_id: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token of one user for the REST API. Only the sha256 (hex) of the token is
    kept; the token itself is shown once, when it is made."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    label: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """One failed (or still running) login attempt for a user name, for throttling.

    Kept in the database so that the limit holds across every process that checks logins.
    ``source`` is the client's address, or "" when there is none (the CLI).
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_user_name_at", "user_name", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    user_name: str = Field(max_length=64)
    source: str = Field(default="", max_length=100)
    at: datetime = Field(sa_type=UTCDateTime)


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


PARTY = _table(Party)
USER = _table(User)
USER_ROLE = _table(UserRole)
SUMMIT = _table(Summit)
INSTRUMENT = _table(Instrument)
DEPENDENCY = _table(Dependency)
REVISION = _table(Revision)
POSITION = _table(Position)
DEADLINE = _table(Deadline)
EVENT = _table(Event)
REMINDER = _table(Reminder)
API_TOKEN = _table(ApiToken)
LOGIN_FAILURE = _table(LoginFailure)
METADATA = SQLModel.metadata
