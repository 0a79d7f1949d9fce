"""What ``audit verify`` reads: events chain by chain, the chains' heads, revisions; streamed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.engine import Connection

from doctrack.storage.chain import INSTRUMENT, EventContent
from doctrack.storage.tables import EVENT, REVISION, SUMMIT
from doctrack.storage.tables import INSTRUMENT as INSTRUMENT_TABLE

#: Rows fetched per round trip while streaming.
_EVENTS_PER_FETCH = 2000
#: Revisions hold whole files (up to 50 MiB each): a few per fetch.
_REVISIONS_PER_FETCH = 4


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One stored event with its chain link, as written."""

    id: int
    subject_id: int
    seq: int
    prev_hash: str
    hash: str
    content: EventContent


@dataclass(frozen=True, slots=True)
class Head:
    """A subject's row: its slug, its version and the head of its chain as stored."""

    slug: str
    version: int
    chain_head: str | None


@dataclass(frozen=True, slots=True)
class StoredRevision:
    id: int
    instrument_id: int
    number: int
    sha256: str
    size: int
    content: bytes


def iter_chain_events(conn: Connection, subject: str) -> Iterator[ChainEvent]:
    """Every event of every ``subject`` (instrument or summit) chain, by subject id then
    event id; an event with an instrument belongs to the instrument's chain."""
    if subject == INSTRUMENT:
        column = EVENT.c.instrument_id
        where: ColumnElement[bool] = column.is_not(None)
    else:
        column = EVENT.c.summit_id
        where = and_(column.is_not(None), EVENT.c.instrument_id.is_(None))
    stmt = (
        select(EVENT, column.label("subject_id"))
        .where(where)
        .order_by(column, EVENT.c.id)
        .execution_options(yield_per=_EVENTS_PER_FETCH)
    )
    for r in conn.execute(stmt):
        yield ChainEvent(
            id=r.id,
            subject_id=r.subject_id,
            seq=r.seq,
            prev_hash=r.prev_hash,
            hash=r.hash,
            content=EventContent(
                at=r.at,
                actor=r.actor,
                kind=r.kind,
                trigger=r.trigger,
                from_state=r.from_state,
                to_state=r.to_state,
                comment=r.comment,
                payload=r.payload,
            ),
        )


def heads(conn: Connection, subject: str) -> dict[int, Head]:
    """Subject id -> its slug, version and stored chain head."""
    table = INSTRUMENT_TABLE if subject == INSTRUMENT else SUMMIT
    stmt = select(table.c.id, table.c.slug, table.c.version, table.c.chain_head)
    return {r.id: Head(r.slug, r.version, r.chain_head) for r in conn.execute(stmt)}


def subjectless_events(conn: Connection, *, limit: int = 10) -> list[int]:
    """Ids of events that belong to no instrument and no summit (none should)."""
    stmt = (
        select(EVENT.c.id)
        .where(and_(EVENT.c.instrument_id.is_(None), EVENT.c.summit_id.is_(None)))
        .order_by(EVENT.c.id)
        .limit(limit)
    )
    return list(conn.execute(stmt).scalars())


def iter_revisions(conn: Connection) -> Iterator[StoredRevision]:
    """Every revision with its content, a few at a time."""
    stmt = (
        select(
            REVISION.c.id,
            REVISION.c.instrument_id,
            REVISION.c.number,
            REVISION.c.sha256,
            REVISION.c.size,
            REVISION.c.content,
        )
        .order_by(REVISION.c.instrument_id, REVISION.c.number)
        .execution_options(yield_per=_REVISIONS_PER_FETCH)
    )
    for r in conn.execute(stmt):
        yield StoredRevision(
            id=r.id,
            instrument_id=r.instrument_id,
            number=r.number,
            sha256=r.sha256,
            size=r.size,
            content=bytes(r.content),
        )
