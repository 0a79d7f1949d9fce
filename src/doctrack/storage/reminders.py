"""Every SQL statement about reminders: planning, claiming, recording outcomes, listing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Row

from doctrack.domain import ReminderKind, ReminderStatus, Stance
from doctrack.storage import repo
from doctrack.storage.records import DeadlineRecord, InstrumentRecord, ReminderRecord
from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    INSTRUMENT,
    POSITION,
    REMINDER,
    SUMMIT,
    USER,
)

_PENDING = ReminderStatus.PENDING.value
_SENDING = ReminderStatus.SENDING.value


def _record(row: Row[Any]) -> ReminderRecord:
    m = row._mapping
    return ReminderRecord(**{name: m[name] for name in ReminderRecord.__slots__})


# -- planning -----------------------------------------------------------------------------


def for_instrument(conn: Connection, instrument_id: int) -> list[ReminderRecord]:
    """The deadline reminders of an instrument, every status."""
    stmt = select(REMINDER).where(REMINDER.c.instrument_id == instrument_id)
    return [_record(r) for r in conn.execute(stmt)]


def for_summit(conn: Connection, summit_id: int) -> list[ReminderRecord]:
    """The summit reminders of a summit (not its instruments' deadline reminders)."""
    stmt = select(REMINDER).where(
        and_(REMINDER.c.summit_id == summit_id, REMINDER.c.kind == ReminderKind.SUMMIT.value)
    )
    return [_record(r) for r in conn.execute(stmt)]


def insert(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(REMINDER.insert(), list(rows))


def insert_missing(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose key is not there yet (another process may plan the same rows
    at the same moment: the unique key decides, nobody fails); returns how many went in."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(REMINDER).on_conflict_do_nothing(index_elements=["key"])
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(REMINDER).on_conflict_do_nothing(index_elements=["key"])
    statement = statement.returning(REMINDER.c.id)
    return len(conn.execute(statement, list(rows)).all())


_RESCHEDULE = (
    update(REMINDER)
    .where(REMINDER.c.id == bindparam("p_id"))
    .values(
        summit_id=bindparam("p_summit_id"),
        send_at=bindparam("p_send_at"),
        next_attempt_at=bindparam("p_send_at"),
        status=bindparam("p_status"),
        note=bindparam("p_note"),
    )
)


def reschedule(
    conn: Connection,
    reminder_id: int,
    *,
    summit_id: int,
    send_at: datetime,
    status: ReminderStatus,
    note: str | None,
) -> None:
    """New time (and summit) for a reminder not sent yet."""
    conn.execute(
        _RESCHEDULE,
        {
            "p_id": reminder_id,
            "p_summit_id": summit_id,
            "p_send_at": send_at,
            "p_status": status.value,
            "p_note": note,
        },
    )


def cancel_pending(
    conn: Connection,
    *,
    ids: Sequence[int] | None = None,
    instrument_id: int | None = None,
    deadline_id: int | None = None,
    note: str,
) -> int:
    """Cancel the pending reminders picked by ids, instrument or deadline; returns how many."""
    stmt = update(REMINDER).where(REMINDER.c.status == _PENDING)
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(REMINDER.c.id.in_(list(ids)))
    if instrument_id is not None:
        stmt = stmt.where(REMINDER.c.instrument_id == instrument_id)
    if deadline_id is not None:
        stmt = stmt.where(REMINDER.c.deadline_id == deadline_id)
    result = conn.execute(stmt.values(status=ReminderStatus.CANCELLED.value, note=note))
    return int(result.rowcount)


# One statement: the deadline's id as a subquery (no deadline: ``= NULL`` matches nothing).
_CANCEL_FOR_MILESTONE = (
    update(REMINDER)
    .where(
        and_(
            REMINDER.c.deadline_id
            == select(DEADLINE.c.id)
            .where(
                and_(
                    DEADLINE.c.instrument_id == bindparam("p_id"),
                    DEADLINE.c.milestone == bindparam("p_milestone"),
                )
            )
            .scalar_subquery(),
            REMINDER.c.status == _PENDING,
        )
    )
    .values(status=ReminderStatus.CANCELLED.value, note=bindparam("p_note"))
)


def cancel_for_milestone(
    conn: Connection, instrument_id: int, milestone: str, *, note: str
) -> None:
    """Cancel the pending reminders of one deadline (it was just met)."""
    conn.execute(
        _CANCEL_FOR_MILESTONE, {"p_id": instrument_id, "p_milestone": milestone, "p_note": note}
    )


# -- dispatching --------------------------------------------------------------------------


def claim(
    conn: Connection,
    *,
    now: datetime,
    lease_until: datetime,
    owner: str,
    limit: int,
    skip_locked: bool,
) -> list[ReminderRecord]:
    """Take up to ``limit`` reminders that are due, or whose holder's lease ran out.

    One ``UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) RETURNING``: two
    dispatchers never take the same row while its lease holds.
    """
    ready = (
        select(REMINDER.c.id)
        .where(
            or_(
                and_(REMINDER.c.status == _PENDING, REMINDER.c.next_attempt_at <= now),
                and_(REMINDER.c.status == _SENDING, REMINDER.c.lease_until < now),
            )
        )
        .order_by(REMINDER.c.next_attempt_at, REMINDER.c.id)
        .limit(limit)
    )
    if skip_locked:
        ready = ready.with_for_update(skip_locked=True)
    stmt = (
        update(REMINDER)
        .where(REMINDER.c.id.in_(ready.scalar_subquery()))
        .values(
            status=_SENDING,
            lease_until=lease_until,
            claimed_by=owner,
            attempts=REMINDER.c.attempts + 1,
        )
        .returning(*REMINDER.c)
    )
    rows = [_record(r) for r in conn.execute(stmt)]
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    return rows


_MARK_SENT = (
    update(REMINDER)
    .where(and_(REMINDER.c.id == bindparam("p_id"), REMINDER.c.status == _SENDING))
    .values(
        status=ReminderStatus.SENT.value,
        sent_at=bindparam("p_at"),
        late=bindparam("p_late"),
        lease_until=None,
        last_error=None,
    )
)


def mark_sent(conn: Connection, sent: Sequence[tuple[int, datetime, bool]]) -> None:
    """Record (id, sent at, late) for reminders handed to the mail server."""
    if sent:
        conn.execute(_MARK_SENT, [{"p_id": i, "p_at": at, "p_late": late} for i, at, late in sent])


def mark_retry(
    conn: Connection, reminder_id: int, *, next_at: datetime, error: str, first_failure: datetime
) -> None:
    conn.execute(
        update(REMINDER)
        .where(and_(REMINDER.c.id == reminder_id, REMINDER.c.status == _SENDING))
        .values(
            status=_PENDING,
            next_attempt_at=next_at,
            lease_until=None,
            last_error=error,
            first_failure_at=first_failure,
        )
    )


def mark_failed(conn: Connection, reminder_id: int, *, error: str) -> None:
    conn.execute(
        update(REMINDER)
        .where(and_(REMINDER.c.id == reminder_id, REMINDER.c.status == _SENDING))
        .values(status=ReminderStatus.FAILED.value, lease_until=None, last_error=error)
    )


def mark_cancelled(conn: Connection, reminder_id: int, *, note: str) -> None:
    """A claimed reminder that turned out to have nothing to say."""
    conn.execute(
        update(REMINDER)
        .where(and_(REMINDER.c.id == reminder_id, REMINDER.c.status == _SENDING))
        .values(status=ReminderStatus.CANCELLED.value, lease_until=None, note=note)
    )


# -- staff --------------------------------------------------------------------------------


def get(conn: Connection, reminder_id: int, *, for_update: bool = False) -> ReminderRecord | None:
    stmt = select(REMINDER).where(REMINDER.c.id == reminder_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return _record(row) if row else None


def set_status(
    conn: Connection,
    reminder_id: int,
    *,
    status: ReminderStatus,
    note: str | None,
    next_attempt_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {"status": status.value, "note": note, "lease_until": None}
    if next_attempt_at is not None:
        values.update(next_attempt_at=next_attempt_at, first_failure_at=None)
    conn.execute(update(REMINDER).where(REMINDER.c.id == reminder_id).values(**values))


def iter_listing(
    conn: Connection, *, status: str | None = None
) -> Iterator[tuple[ReminderRecord, str | None, str, str, str, str]]:
    """(reminder, instrument slug, summit slug, summit zone, user name, user email) by time."""
    stmt = (
        select(
            REMINDER,
            INSTRUMENT.c.slug.label("instrument_slug"),
            SUMMIT.c.slug.label("summit_slug"),
            SUMMIT.c.tz.label("summit_tz"),
            USER.c.name.label("user_name"),
            USER.c.email.label("user_email"),
        )
        .select_from(
            REMINDER.outerjoin(INSTRUMENT, INSTRUMENT.c.id == REMINDER.c.instrument_id)
            .join(SUMMIT, SUMMIT.c.id == REMINDER.c.summit_id)
            .join(USER, USER.c.id == REMINDER.c.user_id)
        )
        .order_by(REMINDER.c.send_at, REMINDER.c.id)
    )
    if status is not None:
        stmt = stmt.where(REMINDER.c.status == status)
    for r in conn.execute(stmt.execution_options(yield_per=1000)):
        yield _record(r), r.instrument_slug, r.summit_slug, r.summit_tz, r.user_name, r.user_email


def count_by_status(conn: Connection) -> dict[str, int]:
    stmt = select(REMINDER.c.status, func.count()).group_by(REMINDER.c.status)
    return {status: int(n) for status, n in conn.execute(stmt)}


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending reminder comes due (for the scheduler's log)."""
    stmt = select(REMINDER.c.next_attempt_at).where(REMINDER.c.status == _PENDING)
    return conn.execute(stmt.order_by(REMINDER.c.next_attempt_at).limit(1)).scalar()


# -- what a batch of emails needs, read in a few queries ---------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A user as their reminder emails need them."""

    id: int
    name: str
    full_name: str | None
    email: str
    language: str  # the preferred language of their emails, e.g. "en", "ru", "en-GB"


_RECIPIENTS = select(USER.c.id, USER.c.name, USER.c.full_name, USER.c.email, USER.c.language).where(
    USER.c.id.in_(bindparam("p_ids", expanding=True))
)


def recipients(conn: Connection, user_ids: Iterable[int]) -> dict[int, Recipient]:
    """The users a batch of reminders goes to, with their language, by id."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    return {
        r.id: Recipient(
            id=r.id, name=r.name, full_name=r.full_name, email=r.email, language=r.language
        )
        for r in conn.execute(_RECIPIENTS, {"p_ids": wanted})
    }


def instruments_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, InstrumentRecord]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = select(INSTRUMENT).where(INSTRUMENT.c.id.in_(wanted))
    return {r.id: repo.instrument_record(r) for r in conn.execute(stmt)}


def instruments_of_summits(
    conn: Connection, summit_ids: Iterable[int]
) -> dict[int, list[InstrumentRecord]]:
    wanted = sorted(set(summit_ids))
    if not wanted:
        return {}
    stmt = select(INSTRUMENT).where(INSTRUMENT.c.summit_id.in_(wanted)).order_by(INSTRUMENT.c.slug)
    found: dict[int, list[InstrumentRecord]] = {}
    for r in conn.execute(stmt):
        found.setdefault(r.summit_id, []).append(repo.instrument_record(r))
    return found


def deadlines_of_instruments(
    conn: Connection, instrument_ids: Iterable[int]
) -> dict[int, list[DeadlineRecord]]:
    wanted = sorted(set(instrument_ids))
    if not wanted:
        return {}
    stmt = (
        select(DEADLINE)
        .where(DEADLINE.c.instrument_id.in_(wanted))
        .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
    )
    found: dict[int, list[DeadlineRecord]] = {}
    for r in conn.execute(stmt):
        found.setdefault(r.instrument_id, []).append(repo.deadline_record(r))
    return found


def approvals_on(conn: Connection, revision_ids: Iterable[int]) -> dict[int, set[str]]:
    """Parties that recorded ``approve`` on each revision."""
    wanted = sorted(set(revision_ids))
    if not wanted:
        return {}
    stmt = select(POSITION.c.revision_id, POSITION.c.party_code).where(
        and_(POSITION.c.revision_id.in_(wanted), POSITION.c.stance == Stance.APPROVE.value)
    )
    found: dict[int, set[str]] = {}
    for r in conn.execute(stmt):
        found.setdefault(r.revision_id, set()).add(r.party_code)
    return found


def dependencies_of_instruments(
    conn: Connection, instrument_ids: Iterable[int]
) -> dict[int, list[tuple[str, str, str]]]:
    """(slug, workflow, state) of what each instrument depends on."""
    wanted = sorted(set(instrument_ids))
    if not wanted:
        return {}
    stmt = (
        select(
            DEPENDENCY.c.instrument_id, INSTRUMENT.c.slug, INSTRUMENT.c.workflow, INSTRUMENT.c.state
        )
        .select_from(DEPENDENCY.join(INSTRUMENT, INSTRUMENT.c.id == DEPENDENCY.c.depends_on_id))
        .where(DEPENDENCY.c.instrument_id.in_(wanted))
        .order_by(INSTRUMENT.c.slug)
    )
    found: dict[int, list[tuple[str, str, str]]] = {}
    for r in conn.execute(stmt):
        found.setdefault(r.instrument_id, []).append((r.slug, r.workflow, r.state))
    return found
