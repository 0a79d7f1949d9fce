"""The SQL of the status reports: set-based reads, streamed, as rows.

A report reads a whole summit at once, so nothing here runs a query per instrument: the
instruments come in one streamed, ordered query, and what hangs off them (deadlines,
positions on the current revision, dependencies) is read per chunk of instruments with one
``IN`` query each. Memory stays bounded by the chunk size, whatever the summit holds.

Rows are read by position (``r[0]``, or unpacked), not by name: a SQLAlchemy ``Row``'s
attribute access costs several times an index, which shows over a large summit. The
datetimes that a report reads by the ten thousand (due and met times, states' start,
events' time) are selected with :func:`raw` and made aware UTC by :func:`as_utc` where they
are used, rather than by ``UTCDateTime`` value by value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    EVENT,
    INSTRUMENT,
    PARTY,
    POSITION,
    REMINDER,
    REVISION,
)

#: Instruments read per chunk (and per ``IN`` list of the queries that hang off them).
CHUNK = 500


def raw(column: Any, name: str) -> Any:
    """``column`` (a ``UTCDateTime``) selected as ``name``, read as the driver gives it:
    naive UTC on SQLite, aware (in the session's zone) on PostgreSQL. ``UTCDateTime``'s
    result processing costs about 2 µs a value; :func:`as_utc` does its work for less."""
    return type_coerce(column, DateTime(timezone=True)).label(name)


def as_utc(value: datetime) -> datetime:
    """A datetime read through :func:`raw`, made what ``UTCDateTime`` reads: aware, UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _open_deadline(as_of: datetime) -> Any:
    """A deadline of the outer instrument not met by ``as_of``."""
    return and_(
        DEADLINE.c.instrument_id == INSTRUMENT.c.id,
        or_(DEADLINE.c.met_at.is_(None), DEADLINE.c.met_at > as_of),
    )


def _next_due(as_of: datetime) -> Any:
    return select(func.min(DEADLINE.c.due_at)).where(_open_deadline(as_of)).scalar_subquery()


def _as_at(i: Any, as_of: datetime | None) -> tuple[Any, Any, Any, Any]:
    """(state, state since, revision id, revision number) of instrument table ``i``: as they
    are now, or, with ``as_of``, as they were then, rebuilt from the history (the last
    transition by then, else the source of the first one after, else the current state;
    the last draft uploaded by then)."""
    if as_of is None:
        return i.c.state, i.c.state_since, i.c.revision_id, i.c.revision_number

    def transition(column: Any, *, before: bool) -> Any:
        when = EVENT.c.at <= as_of if before else EVENT.c.at > as_of
        order = EVENT.c.id.desc() if before else EVENT.c.id.asc()
        return (
            select(column)
            .where(EVENT.c.instrument_id == i.c.id, EVENT.c.kind == "transition", when)
            .order_by(order)
            .limit(1)
            .scalar_subquery()
        )

    def revision(column: Any) -> Any:
        return (
            select(column)
            .where(REVISION.c.instrument_id == i.c.id, REVISION.c.uploaded_at <= as_of)
            .order_by(REVISION.c.number.desc())
            .limit(1)
            .scalar_subquery()
        )

    state = func.coalesce(
        transition(EVENT.c.to_state, before=True),
        transition(EVENT.c.from_state, before=False),
        i.c.state,
    )
    since = func.coalesce(transition(EVENT.c.at, before=True), i.c.created_at)
    return state, since, revision(REVISION.c.id), revision(REVISION.c.number)


def _closed(state: Any, final_states: Sequence[tuple[str, str]]) -> Any:
    if not final_states:
        return literal(0).label("closed")
    test = tuple_(INSTRUMENT.c.workflow, state).in_(list(final_states))
    return case((test, 1), else_=0).label("closed")


def _summit_filter(summit_id: int, historic: datetime | None) -> Any:
    test = INSTRUMENT.c.summit_id == summit_id
    return test if historic is None else and_(test, INSTRUMENT.c.created_at <= historic)


def classification_rows(
    conn: Connection,
    summit_id: int,
    as_of: datetime,
    final_states: Sequence[tuple[str, str]],
    *,
    historic: bool = False,
) -> Iterator[Any]:
    """(workflow, state, closed, next_due) of every instrument of the summit, streamed;
    ``next_due`` raw (see :func:`as_utc`).

    ``historic``: states as they were at ``as_of`` (and only instruments added by then).
    """
    then = as_of if historic else None
    state = _as_at(INSTRUMENT, then)[0]
    stmt = select(
        INSTRUMENT.c.workflow,
        state.label("state"),
        _closed(state, final_states),
        raw(_next_due(as_of), "next_due"),
    ).where(_summit_filter(summit_id, then))
    yield from conn.execute(stmt.execution_options(yield_per=5000))


def instrument_rows(
    conn: Connection,
    summit_id: int,
    as_of: datetime,
    final_states: Sequence[tuple[str, str]],
    *,
    historic: bool = False,
    open_only: bool = False,
    limit: int | None = None,
) -> Iterator[Any]:
    """The summit's instruments, most urgent first: open before closed, then by the due
    time of the first deadline not met by ``as_of`` (none last), then by slug.

    Columns, in this order: id, slug, title, kind, workflow, state, state_since (raw, see
    :func:`as_utc`), lead_party, revision_id, revision_number, closed, next_due (raw)."""
    then = as_of if historic else None
    state, since, revision_id, revision_number = _as_at(INSTRUMENT, then)
    closed = _closed(state, final_states)
    next_due = raw(_next_due(as_of), "next_due")
    stmt = (
        select(
            INSTRUMENT.c.id,
            INSTRUMENT.c.slug,
            INSTRUMENT.c.title,
            INSTRUMENT.c.kind,
            INSTRUMENT.c.workflow,
            state.label("state"),
            raw(since, "state_since"),
            INSTRUMENT.c.lead_party,
            revision_id.label("revision_id"),
            revision_number.label("revision_number"),
            closed,
            next_due,
        )
        .where(_summit_filter(summit_id, then))
        .order_by(closed, next_due.asc().nulls_last(), INSTRUMENT.c.slug)
    )
    if open_only and final_states:
        stmt = stmt.where(tuple_(INSTRUMENT.c.workflow, state).not_in(list(final_states)))
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from conn.execute(stmt.execution_options(yield_per=CHUNK))


_DEADLINES_OF = (
    select(
        DEADLINE.c.instrument_id,
        DEADLINE.c.milestone,
        raw(DEADLINE.c.due_at, "due_at"),
        raw(DEADLINE.c.met_at, "met_at"),
    )
    .where(DEADLINE.c.instrument_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(DEADLINE.c.instrument_id, DEADLINE.c.due_at, DEADLINE.c.id)
)

#: A deadline as :func:`deadlines_of` gives it: (milestone, due_at, met_at), times raw.
DeadlineRow = tuple[str, datetime, datetime | None]


def deadlines_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[DeadlineRow]]:
    """Deadlines of the instruments ``ids``, in due order, by instrument id; their times
    raw (see :func:`as_utc`)."""
    found: dict[int, list[DeadlineRow]] = {}
    if ids:
        for instrument_id, milestone, due_at, met_at in conn.execute(
            _DEADLINES_OF, {"p_ids": list(ids)}
        ):
            found.setdefault(instrument_id, []).append((milestone, due_at, met_at))
    return found


_POSITIONS_ON = (
    select(POSITION.c.revision_id, POSITION.c.party_code, POSITION.c.stance, POSITION.c.comment)
    .where(POSITION.c.revision_id.in_(bindparam("p_ids", expanding=True)))
    .order_by(POSITION.c.revision_id, POSITION.c.party_code)
)


def positions_on(
    conn: Connection, revision_ids: Sequence[int]
) -> dict[int, dict[str, tuple[str, str | None]]]:
    """Positions on the revisions ``revision_ids``: revision id to party code to (stance,
    comment), parties in code order."""
    found: dict[int, dict[str, tuple[str, str | None]]] = {}
    if revision_ids:
        for revision_id, party, stance, comment in conn.execute(
            _POSITIONS_ON, {"p_ids": list(revision_ids)}
        ):
            found.setdefault(revision_id, {})[party] = (stance, comment)
    return found


def dependencies_of(
    conn: Connection, ids: Sequence[int], as_of: datetime | None = None
) -> dict[int, list[tuple[str, str, str]]]:
    """(slug, workflow, state) of what each of ``ids`` depends on, by instrument id; with
    ``as_of``, the states they had then."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    if not ids:
        return found
    target = INSTRUMENT.alias("dep")
    state = _as_at(target, as_of)[0]
    stmt = (
        select(
            DEPENDENCY.c.instrument_id,
            target.c.slug,
            target.c.workflow,
            state.label("state"),
        )
        .select_from(DEPENDENCY.join(target, target.c.id == DEPENDENCY.c.depends_on_id))
        .where(DEPENDENCY.c.instrument_id.in_(list(ids)))
        .order_by(DEPENDENCY.c.instrument_id, target.c.slug)
    )
    for instrument_id, slug, workflow, dep_state in conn.execute(stmt):
        found.setdefault(instrument_id, []).append((slug, workflow, dep_state))
    return found


def position_events(
    conn: Connection, ids: Sequence[int], as_of: datetime
) -> dict[tuple[int, int, str], tuple[str, str | None]]:
    """(instrument id, draft number, party) to the last (stance, comment) recorded by
    ``as_of``, from the history (the position table keeps only the latest)."""
    found: dict[tuple[int, int, str], tuple[str, str | None]] = {}
    if not ids:
        return found
    stmt = (
        select(EVENT.c.instrument_id, EVENT.c.payload, EVENT.c.comment)
        .where(
            EVENT.c.instrument_id.in_(list(ids)),
            EVENT.c.kind == "position",
            EVENT.c.at <= as_of,
        )
        .order_by(EVENT.c.id)
    )
    for instrument_id, payload, comment in conn.execute(stmt):
        data = json.loads(payload or "{}")
        if {"party", "stance", "revision"} <= data.keys():
            key = (instrument_id, int(data["revision"]), str(data["party"]))
            found[key] = (str(data["stance"]), comment)
    return found


def party_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(PARTY.c.code, PARTY.c.name).order_by(PARTY.c.code)))


def summit_events(
    conn: Connection, summit_id: int, since: datetime, until: datetime
) -> Iterator[Any]:
    """Events after ``since`` up to ``until`` of the summit and of its instruments (those
    targeting it now), oldest first, with the instrument's slug and workflow.

    Columns, in this order: at (raw, see :func:`as_utc`), actor, kind, trigger, from_state,
    to_state, comment, payload, slug, workflow.

    Two branches, each led by an index: the summit's own events (``ix_event_summit``), and
    its instruments (``ix_instrument_summit_slug``) with their events (``ix_event_instrument``).
    Read as one ``OR`` over the time window, the planners walked every event of the window,
    of every summit (``ix_event_at``), to keep this summit's: a cost that grew with the
    whole database rather than with the summit."""
    instrument = INSTRUMENT.alias("i")
    columns = (
        EVENT.c.id,
        EVENT.c.at,
        EVENT.c.actor,
        EVENT.c.kind,
        EVENT.c.trigger,
        EVENT.c.from_state,
        EVENT.c.to_state,
        EVENT.c.comment,
        EVENT.c.payload,
    )
    window = and_(EVENT.c.at > since, EVENT.c.at <= until)
    own = (
        select(*columns, instrument.c.slug, instrument.c.workflow)
        .select_from(EVENT.outerjoin(instrument, instrument.c.id == EVENT.c.instrument_id))
        .where(EVENT.c.summit_id == summit_id, window)
    )
    # Events of the summit's instruments that the first branch has not taken already.
    of_instruments = (
        select(*columns, instrument.c.slug, instrument.c.workflow)
        .select_from(instrument.join(EVENT, EVENT.c.instrument_id == instrument.c.id))
        .where(
            instrument.c.summit_id == summit_id,
            window,
            or_(EVENT.c.summit_id.is_(None), EVENT.c.summit_id != summit_id),
        )
    )
    both = union_all(own, of_instruments).subquery("e")
    stmt = select(
        raw(both.c.at, "at"),
        both.c.actor,
        both.c.kind,
        both.c.trigger,
        both.c.from_state,
        both.c.to_state,
        both.c.comment,
        both.c.payload,
        both.c.slug,
        both.c.workflow,
    ).order_by(both.c.at, both.c.id)
    yield from conn.execute(stmt.execution_options(yield_per=CHUNK))


# -- scheduled reports (reminder rows of kind "report") --------------------------------------


def future_report_rows(conn: Connection, now: datetime) -> list[Any]:
    """(id, key, status, note) of the report rows not due yet, whatever their status."""
    stmt = select(REMINDER.c.id, REMINDER.c.key, REMINDER.c.status, REMINDER.c.note).where(
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


def reinstate(conn: Connection, ids: Sequence[int], note: str) -> int:
    """Back to pending: the rows ``ids`` that are cancelled with ``note``; how many."""
    if not ids:
        return 0
    result = conn.execute(
        update(REMINDER)
        .where(REMINDER.c.id.in_(list(ids)), REMINDER.c.status == "cancelled")
        .where(REMINDER.c.note == note)
        .values(status="pending", note=None)
    )
    return int(result.rowcount)


def cancel_pending(conn: Connection, ids: Sequence[int], note: str) -> None:
    """Cancel the pending rows ``ids`` (a row a dispatcher holds is left alone)."""
    if ids:
        conn.execute(
            update(REMINDER)
            .where(REMINDER.c.id.in_(list(ids)), REMINDER.c.status == "pending")
            .values(status="cancelled", note=note)
        )
