"""The SQL of the status reports: set-based reads, streamed, as rows.

A report reads a whole summit at once, so nothing here runs a query per instrument: the
instruments come in one streamed, ordered query, and what hangs off them (deadlines,
positions on the current revision, dependencies) is read per chunk of instruments with one
``IN`` query each. Memory stays bounded by the chunk size, whatever the summit holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    EVENT,
    INSTRUMENT,
    PARTY,
    POSITION,
    REMINDER,
)

#: Instruments read per chunk (and per ``IN`` list of the queries that hang off them).
CHUNK = 500


def _open_deadline(as_of: datetime) -> Any:
    """A deadline of the outer instrument not met by ``as_of``."""
    return and_(
        DEADLINE.c.instrument_id == INSTRUMENT.c.id,
        or_(DEADLINE.c.met_at.is_(None), DEADLINE.c.met_at > as_of),
    )


def _next_due(as_of: datetime) -> Any:
    return (
        select(func.min(DEADLINE.c.due_at))
        .where(_open_deadline(as_of))
        .scalar_subquery()
        .label("next_due")
    )


def _closed(final_states: Sequence[tuple[str, str]]) -> Any:
    if not final_states:
        return literal(0).label("closed")
    test = tuple_(INSTRUMENT.c.workflow, INSTRUMENT.c.state).in_(list(final_states))
    return case((test, 1), else_=0).label("closed")


def classification_rows(
    conn: Connection, summit_id: int, as_of: datetime, final_states: Sequence[tuple[str, str]]
) -> Iterator[Any]:
    """(workflow, state, closed, next_due) of every instrument of the summit, streamed."""
    stmt = select(
        INSTRUMENT.c.workflow, INSTRUMENT.c.state, _closed(final_states), _next_due(as_of)
    ).where(INSTRUMENT.c.summit_id == summit_id)
    yield from conn.execute(stmt.execution_options(yield_per=5000))


def instrument_rows(
    conn: Connection,
    summit_id: int,
    as_of: datetime,
    final_states: Sequence[tuple[str, str]],
    *,
    open_only: bool = False,
    limit: int | None = None,
) -> Iterator[Any]:
    """The summit's instruments, most urgent first: open before closed, then by the due
    time of the first deadline not met by ``as_of`` (none last), then by slug."""
    closed = _closed(final_states)
    next_due = _next_due(as_of)
    stmt = (
        select(
            INSTRUMENT.c.id,
            INSTRUMENT.c.slug,
            INSTRUMENT.c.title,
            INSTRUMENT.c.kind,
            INSTRUMENT.c.workflow,
            INSTRUMENT.c.state,
            INSTRUMENT.c.state_since,
            INSTRUMENT.c.lead_party,
            INSTRUMENT.c.revision_id,
            INSTRUMENT.c.revision_number,
            closed,
            next_due,
        )
        .where(INSTRUMENT.c.summit_id == summit_id)
        .order_by(closed, next_due.asc().nulls_last(), INSTRUMENT.c.slug)
    )
    if open_only and final_states:
        stmt = stmt.where(
            tuple_(INSTRUMENT.c.workflow, INSTRUMENT.c.state).not_in(list(final_states))
        )
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from conn.execute(stmt.execution_options(yield_per=CHUNK))


_DEADLINES_OF = (
    select(DEADLINE.c.instrument_id, DEADLINE.c.milestone, DEADLINE.c.due_at, DEADLINE.c.met_at)
    .where(DEADLINE.c.instrument_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(DEADLINE.c.instrument_id, DEADLINE.c.due_at, DEADLINE.c.id)
)


def deadlines_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Deadlines of the instruments ``ids``, in due order, by instrument id."""
    found: dict[int, list[Any]] = {}
    if ids:
        for r in conn.execute(_DEADLINES_OF, {"p_ids": list(ids)}):
            found.setdefault(r.instrument_id, []).append(r)
    return found


_POSITIONS_ON = (
    select(POSITION.c.revision_id, POSITION.c.party_code, POSITION.c.stance, POSITION.c.comment)
    .where(POSITION.c.revision_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(POSITION.c.revision_id, POSITION.c.party_code)
)


def positions_on(conn: Connection, revision_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Positions on the revisions ``revision_ids``, by revision id, in party order."""
    found: dict[int, list[Any]] = {}
    if revision_ids:
        for r in conn.execute(_POSITIONS_ON, {"p_ids": list(revision_ids)}):
            found.setdefault(r.revision_id, []).append(r)
    return found


_DEPENDS_ON = (
    select(
        DEPENDENCY.c.instrument_id,
        INSTRUMENT.c.slug,
        INSTRUMENT.c.workflow,
        INSTRUMENT.c.state,
    )
    .select_from(DEPENDENCY.join(INSTRUMENT, INSTRUMENT.c.id == DEPENDENCY.c.depends_on_id))
    .where(DEPENDENCY.c.instrument_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(DEPENDENCY.c.instrument_id, INSTRUMENT.c.slug)
)


def dependencies_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    """(slug, workflow, state) of what each of ``ids`` depends on, by instrument id."""
    found: dict[int, list[Any]] = {}
    if ids:
        for r in conn.execute(_DEPENDS_ON, {"p_ids": list(ids)}):
            found.setdefault(r.instrument_id, []).append(r)
    return found


def party_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(PARTY.c.code, PARTY.c.name).order_by(PARTY.c.code)))


def summit_events(
    conn: Connection, summit_id: int, since: datetime, until: datetime
) -> Iterator[Any]:
    """Events after ``since`` up to ``until`` of the summit and of its instruments (those
    targeting it now), oldest first, with the instrument's slug and workflow."""
    instrument = INSTRUMENT.alias("i")
    stmt = (
        select(
            EVENT.c.at,
            EVENT.c.actor,
            EVENT.c.kind,
            EVENT.c.trigger,
            EVENT.c.from_state,
            EVENT.c.to_state,
            EVENT.c.comment,
            EVENT.c.payload,
            instrument.c.slug,
            instrument.c.workflow,
        )
        .select_from(EVENT.outerjoin(instrument, instrument.c.id == EVENT.c.instrument_id))
        .where(
            EVENT.c.at > since,
            EVENT.c.at <= until,
            or_(
                EVENT.c.summit_id == summit_id,
                and_(EVENT.c.instrument_id.is_not(None), instrument.c.summit_id == summit_id),
            ),
        )
        .order_by(EVENT.c.at, EVENT.c.id)
    )
    yield from conn.execute(stmt.execution_options(yield_per=CHUNK))


# -- scheduled reports (reminder rows of kind "report") --------------------------------------


def future_report_rows(conn: Connection, now: datetime) -> list[Any]:
    """(id, key, status) of the report rows not due yet, whatever their status."""
    stmt = select(REMINDER.c.id, REMINDER.c.key, REMINDER.c.status).where(
        REMINDER.c.kind == "report", REMINDER.c.send_at > now
    )
    return list(conn.execute(stmt))


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    stmt = select(REMINDER.c.key).where(REMINDER.c.key.in_(list(keys)))
    return set(conn.execute(stmt).scalars())


def previous_report_sent(conn: Connection, summit_id: int, before: datetime) -> datetime | None:
    """When the last report of the summit was sent before ``before`` (to anyone)."""
    stmt = select(func.max(REMINDER.c.sent_at)).where(
        REMINDER.c.kind == "report",
        REMINDER.c.summit_id == summit_id,
        REMINDER.c.status == "sent",
        REMINDER.c.sent_at < before,
    )
    found: datetime | None = conn.execute(stmt).scalar()
    return found


def cancel_pending(conn: Connection, ids: Sequence[int], note: str) -> None:
    """Cancel the pending rows ``ids`` (a row a dispatcher holds is left alone)."""
    if ids:
        conn.execute(
            update(REMINDER)
            .where(REMINDER.c.id.in_(list(ids)), REMINDER.c.status == "pending")
            .values(status="cancelled", note=note)
        )
