"""Plain, typed records that storage hands to the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyRecord:
    code: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    id: int
    name: str
    full_name: str | None
    email: str
    party_code: str | None
    language: str
    roles: tuple[str, ...]
    #: see ``app_user.session_epoch``: a web session is good while it holds this value
    session_epoch: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitRecord:
    id: int
    slug: str
    title: str
    city: str
    starts: date
    ends: date
    tz: str
    version: int
    #: hash of the summit's last event; None before its first
    chain_head: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentRecord:
    id: int
    slug: str
    title: str
    kind: str
    workflow: str
    state: str
    summit_id: int
    lead_party: str | None
    revision_id: int | None
    revision_number: int | None
    version: int
    state_since: datetime
    created_at: datetime
    #: hash of the instrument's last event; None before its first
    chain_head: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionRecord:
    id: int
    instrument_id: int
    number: int
    filename: str
    sha256: str
    size: int
    uploaded_by: str
    uploaded_at: datetime
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRecord:
    party_code: str
    stance: str
    comment: str | None
    recorded_by: str
    on_behalf: bool
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineRecord:
    id: int
    instrument_id: int
    milestone: str
    due_at: datetime
    met_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    id: int
    instrument_id: int | None
    summit_id: int | None
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    comment: str | None
    payload: str | None
    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderRecord:
    id: int
    key: str
    kind: str
    summit_id: int
    instrument_id: int | None
    deadline_id: int | None
    user_id: int
    days_before: int
    send_at: datetime
    status: str
    next_attempt_at: datetime
    attempts: int
    lease_until: datetime | None
    claimed_by: str | None
    first_failure_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    late: bool
    note: str | None
    message_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    id: int
    user_id: int
    label: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
