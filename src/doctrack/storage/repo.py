"""Every SQL statement doctrack runs. Functions take a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from doctrack.storage.chain import EventContent, Link
from doctrack.storage.records import (
    DeadlineRecord,
    EventRecord,
    InstrumentRecord,
    PartyRecord,
    PositionRecord,
    RevisionRecord,
    SummitRecord,
    UserRecord,
)
from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    EVENT,
    INSTRUMENT,
    PARTY,
    POSITION,
    REVISION,
    SUMMIT,
    USER,
    USER_ROLE,
)

# Statements on the hot path (advance, record a position, revise) are built once here with
# bound parameters: building and cache-keying a statement per call cost more than running it.


def _inserted_id(conn: Connection, stmt: Any) -> int:
    result = conn.execute(stmt)
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# -- parties ------------------------------------------------------------------------------


def insert_party(conn: Connection, code: str, name: str) -> None:
    conn.execute(insert(PARTY).values(code=code, name=name))


def get_party(conn: Connection, code: str) -> PartyRecord | None:
    row = conn.execute(select(PARTY).where(PARTY.c.code == code)).first()
    return PartyRecord(code=row.code, name=row.name) if row else None


def list_parties(conn: Connection) -> list[PartyRecord]:
    rows = conn.execute(select(PARTY).order_by(PARTY.c.code))
    return [PartyRecord(code=r.code, name=r.name) for r in rows]


_PARTY_CODES = select(PARTY.c.code).order_by(PARTY.c.code)


def party_codes(conn: Connection) -> list[str]:
    return list(conn.execute(_PARTY_CODES).scalars())


# -- users --------------------------------------------------------------------------------


def insert_user(
    conn: Connection,
    *,
    name: str,
    full_name: str | None,
    email: str,
    party_code: str | None,
    language: str,
    roles: Iterable[str],
    at: datetime,
) -> int:
    user_id = _inserted_id(
        conn,
        insert(USER).values(
            name=name,
            full_name=full_name,
            email=email,
            party_code=party_code,
            language=language,
            created_at=at,
        ),
    )
    conn.execute(insert(USER_ROLE), [{"user_id": user_id, "role": r} for r in sorted(set(roles))])
    return user_id


def add_role(conn: Connection, user_id: int, role: str) -> None:
    conn.execute(insert(USER_ROLE).values(user_id=user_id, role=role))


def remove_role(conn: Connection, user_id: int, role: str) -> None:
    conn.execute(
        delete(USER_ROLE).where(and_(USER_ROLE.c.user_id == user_id, USER_ROLE.c.role == role))
    )


#: What :func:`users_of` reads: a user's columns and one of its roles.
USER_COLUMNS = (
    USER.c.id,
    USER.c.name,
    USER.c.full_name,
    USER.c.email,
    USER.c.party_code,
    USER.c.language,
    USER.c.session_epoch,
    USER_ROLE.c.role,
)


def users_of(rows: Iterable[Row[Any]]) -> list[UserRecord]:
    """Users from rows of :data:`USER_COLUMNS` (one row per role, or one with no role)."""
    grouped: dict[int, tuple[Row[Any], list[str]]] = {}
    for row in rows:
        entry = grouped.setdefault(row.id, (row, []))
        if row.role is not None:
            entry[1].append(row.role)
    return [
        UserRecord(
            id=r.id,
            name=r.name,
            full_name=r.full_name,
            email=r.email,
            party_code=r.party_code,
            language=r.language,
            roles=tuple(sorted(roles)),
            session_epoch=r.session_epoch,
        )
        for r, roles in grouped.values()
    ]


_GET_USER = (
    select(*USER_COLUMNS)
    .select_from(USER.outerjoin(USER_ROLE, USER_ROLE.c.user_id == USER.c.id))
    .where(USER.c.name == bindparam("p_name"))
)


def get_user(conn: Connection, name: str) -> UserRecord | None:
    users = users_of(conn.execute(_GET_USER, {"p_name": name}))
    return users[0] if users else None


_GET_USER_BY_ID = (
    select(*USER_COLUMNS)
    .select_from(USER.outerjoin(USER_ROLE, USER_ROLE.c.user_id == USER.c.id))
    .where(USER.c.id == bindparam("p_id"))
)


def get_user_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    users = users_of(conn.execute(_GET_USER_BY_ID, {"p_id": user_id}))
    return users[0] if users else None


def update_user(conn: Connection, user_id: int, **values: str | None) -> None:
    """Set some of ``email``, ``language`` and ``full_name``."""
    assert values and set(values) <= {"email", "language", "full_name"}, values
    conn.execute(update(USER).where(USER.c.id == user_id).values(**values))


def list_users(conn: Connection) -> list[UserRecord]:
    stmt = (
        select(*USER_COLUMNS)
        .select_from(USER.outerjoin(USER_ROLE, USER_ROLE.c.user_id == USER.c.id))
        .order_by(USER.c.name, USER_ROLE.c.role)
    )
    return users_of(conn.execute(stmt))


# -- summits ------------------------------------------------------------------------------


def _summit(row: Row[Any]) -> SummitRecord:
    return SummitRecord(
        id=row.id,
        slug=row.slug,
        title=row.title,
        city=row.city,
        starts=row.starts,
        ends=row.ends,
        tz=row.tz,
        version=row.version,
        chain_head=row.chain_head,
    )


def insert_summit(
    conn: Connection,
    *,
    slug: str,
    title: str,
    city: str,
    starts: date,
    ends: date,
    tz: str,
    at: datetime,
) -> int:
    return _inserted_id(
        conn,
        insert(SUMMIT).values(
            slug=slug, title=title, city=city, starts=starts, ends=ends, tz=tz, created_at=at
        ),
    )


def get_summit_by_slug(
    conn: Connection, slug: str, *, for_update: bool = False
) -> SummitRecord | None:
    stmt = select(SUMMIT).where(SUMMIT.c.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return _summit(row) if row else None


_GET_SUMMIT = select(SUMMIT).where(SUMMIT.c.id == bindparam("p_id"))


def get_summit(conn: Connection, summit_id: int) -> SummitRecord:
    return _summit(conn.execute(_GET_SUMMIT, {"p_id": summit_id}).one())


def lock_summits(conn: Connection, summit_ids: set[int]) -> None:
    """Row-lock summits in id order (PostgreSQL; SQLite writers are serialised anyway)."""
    conn.execute(
        select(SUMMIT.c.id)
        .where(SUMMIT.c.id.in_(sorted(summit_ids)))
        .order_by(SUMMIT.c.id)
        .with_for_update()
    ).all()


def list_summits(conn: Connection) -> list[SummitRecord]:
    return [
        _summit(r) for r in conn.execute(select(SUMMIT).order_by(SUMMIT.c.starts, SUMMIT.c.slug))
    ]


def move_summit(
    conn: Connection, summit_id: int, version: int, starts: date, ends: date, *, chain_head: str
) -> bool:
    """Set new dates and the new head of its event chain if the summit is still at
    ``version``; False if it changed meanwhile."""
    result = conn.execute(
        update(SUMMIT)
        .where(and_(SUMMIT.c.id == summit_id, SUMMIT.c.version == version))
        .values(starts=starts, ends=ends, version=SUMMIT.c.version + 1, chain_head=chain_head)
    )
    return result.rowcount == 1


def set_summit_head(conn: Connection, summit_id: int, chain_head: str) -> None:
    """The head of a new summit's event chain (its first event's hash)."""
    conn.execute(update(SUMMIT).where(SUMMIT.c.id == summit_id).values(chain_head=chain_head))


# -- instruments --------------------------------------------------------------------------


def instrument_record(row: Row[Any]) -> InstrumentRecord:
    return InstrumentRecord(
        id=row.id,
        slug=row.slug,
        title=row.title,
        kind=row.kind,
        workflow=row.workflow,
        state=row.state,
        summit_id=row.summit_id,
        lead_party=row.lead_party,
        revision_id=row.revision_id,
        revision_number=row.revision_number,
        version=row.version,
        state_since=row.state_since,
        created_at=row.created_at,
        chain_head=row.chain_head,
    )


def insert_instrument(
    conn: Connection,
    *,
    slug: str,
    title: str,
    kind: str,
    workflow: str,
    state: str,
    summit_id: int,
    lead_party: str | None,
    at: datetime,
) -> int:
    return _inserted_id(
        conn,
        insert(INSTRUMENT).values(
            slug=slug,
            title=title,
            kind=kind,
            workflow=workflow,
            state=state,
            summit_id=summit_id,
            lead_party=lead_party,
            version=1,
            state_since=at,
            created_at=at,
        ),
    )


_GET_INSTRUMENT = select(INSTRUMENT).where(INSTRUMENT.c.slug == bindparam("p_slug"))
_LOCK_INSTRUMENT = _GET_INSTRUMENT.with_for_update()
_GET_INSTRUMENT_BY_ID = select(INSTRUMENT).where(INSTRUMENT.c.id == bindparam("p_id"))


def get_instrument(
    conn: Connection, slug: str, *, for_update: bool = False
) -> InstrumentRecord | None:
    """The instrument called ``slug``; ``for_update`` locks its row (PostgreSQL)."""
    stmt = _LOCK_INSTRUMENT if for_update else _GET_INSTRUMENT
    row = conn.execute(stmt, {"p_slug": slug}).first()
    return instrument_record(row) if row else None


def get_instrument_by_id(conn: Connection, instrument_id: int) -> InstrumentRecord:
    return instrument_record(conn.execute(_GET_INSTRUMENT_BY_ID, {"p_id": instrument_id}).one())


def iter_instruments(
    conn: Connection,
    *,
    summit_id: int | None = None,
    state: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
) -> Iterator[InstrumentRecord]:
    """Instruments in slug order, filtered and paged in SQL, streamed. ``after``: only slugs
    after this one (keyset paging: the index seeks to it, skipping nothing row by row)."""
    stmt = select(INSTRUMENT).order_by(INSTRUMENT.c.slug)
    if after is not None:
        stmt = stmt.where(INSTRUMENT.c.slug > after)
    if summit_id is not None:
        stmt = stmt.where(INSTRUMENT.c.summit_id == summit_id)
    if state is not None:
        stmt = stmt.where(INSTRUMENT.c.state == state)
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    for row in conn.execute(stmt.execution_options(yield_per=1000)):
        yield instrument_record(row)


_CHANGES: dict[tuple[str, ...], Any] = {}


def _change_statement(columns: tuple[str, ...]) -> Any:
    stmt = _CHANGES.get(columns)
    if stmt is None:
        stmt = _CHANGES[columns] = (
            update(INSTRUMENT)
            .where(
                and_(
                    INSTRUMENT.c.id == bindparam("p_id"),
                    INSTRUMENT.c.version == bindparam("p_version"),
                )
            )
            .values(version=bindparam("p_new_version"), **{c: bindparam(f"p_{c}") for c in columns})
        )
    return stmt


def change_instrument(conn: Connection, instrument_id: int, version: int, **values: Any) -> bool:
    """Apply ``values`` (with the new ``chain_head``) and raise the version by one if still
    at ``version``."""
    params = {f"p_{c}": v for c, v in values.items()}
    params.update(p_id=instrument_id, p_version=version, p_new_version=version + 1)
    result = conn.execute(_change_statement(tuple(sorted(values))), params)
    return result.rowcount == 1


def set_instrument_head(conn: Connection, instrument_id: int, chain_head: str) -> None:
    """The head of a new instrument's event chain (its first event's hash)."""
    conn.execute(
        update(INSTRUMENT).where(INSTRUMENT.c.id == instrument_id).values(chain_head=chain_head)
    )


# -- dependencies -------------------------------------------------------------------------


def insert_dependencies(conn: Connection, instrument_id: int, depends_on: Sequence[int]) -> None:
    if depends_on:
        conn.execute(
            insert(DEPENDENCY),
            [{"instrument_id": instrument_id, "depends_on_id": d} for d in depends_on],
        )


_DEPENDENCIES_OF = (
    select(INSTRUMENT.c.slug, INSTRUMENT.c.workflow, INSTRUMENT.c.state)
    .select_from(DEPENDENCY.join(INSTRUMENT, INSTRUMENT.c.id == DEPENDENCY.c.depends_on_id))
    .where(DEPENDENCY.c.instrument_id == bindparam("p_id"))
    .order_by(INSTRUMENT.c.slug)
)


def dependencies_of(conn: Connection, instrument_id: int) -> list[tuple[str, str, str]]:
    """(slug, workflow, state) of each instrument ``instrument_id`` depends on."""
    return [
        (r.slug, r.workflow, r.state)
        for r in conn.execute(_DEPENDENCIES_OF, {"p_id": instrument_id})
    ]


def dependents_of(conn: Connection, instrument_id: int) -> list[str]:
    stmt = (
        select(INSTRUMENT.c.slug)
        .select_from(DEPENDENCY.join(INSTRUMENT, INSTRUMENT.c.id == DEPENDENCY.c.instrument_id))
        .where(DEPENDENCY.c.depends_on_id == instrument_id)
        .order_by(INSTRUMENT.c.slug)
    )
    return list(conn.execute(stmt).scalars())


# -- revisions ----------------------------------------------------------------------------


def insert_revision(
    conn: Connection,
    *,
    instrument_id: int,
    number: int,
    filename: str,
    content: bytes,
    sha256: str,
    uploaded_by: str,
    at: datetime,
    note: str | None,
) -> int:
    return _inserted_id(
        conn,
        insert(REVISION).values(
            instrument_id=instrument_id,
            number=number,
            filename=filename,
            content=content,
            sha256=sha256,
            size=len(content),
            uploaded_by=uploaded_by,
            uploaded_at=at,
            note=note,
        ),
    )


_REVISION_COLUMNS = (
    REVISION.c.id,
    REVISION.c.instrument_id,
    REVISION.c.number,
    REVISION.c.filename,
    REVISION.c.sha256,
    REVISION.c.size,
    REVISION.c.uploaded_by,
    REVISION.c.uploaded_at,
    REVISION.c.note,
)


def list_revisions(conn: Connection, instrument_id: int) -> list[RevisionRecord]:
    stmt = (
        select(*_REVISION_COLUMNS)
        .where(REVISION.c.instrument_id == instrument_id)
        .order_by(REVISION.c.number)
    )
    return [RevisionRecord(**r._mapping) for r in conn.execute(stmt)]


def revision_content(conn: Connection, instrument_id: int, number: int) -> bytes | None:
    stmt = select(REVISION.c.content).where(
        and_(REVISION.c.instrument_id == instrument_id, REVISION.c.number == number)
    )
    value = conn.execute(stmt).scalar()
    return bytes(value) if value is not None else None


# -- positions ----------------------------------------------------------------------------


def upsert_position(
    conn: Connection,
    *,
    instrument_id: int,
    revision_id: int,
    party_code: str,
    stance: str,
    comment: str | None,
    recorded_by: str,
    on_behalf: bool,
    at: datetime,
) -> None:
    values = {
        "stance": stance,
        "comment": comment,
        "recorded_by": recorded_by,
        "on_behalf": on_behalf,
        "at": at,
    }
    result = conn.execute(
        update(POSITION)
        .where(and_(POSITION.c.revision_id == revision_id, POSITION.c.party_code == party_code))
        .values(**values)
    )
    if result.rowcount == 0:
        conn.execute(
            insert(POSITION).values(
                instrument_id=instrument_id,
                revision_id=revision_id,
                party_code=party_code,
                **values,
            )
        )


def positions_on(conn: Connection, revision_id: int) -> list[PositionRecord]:
    stmt = (
        select(
            POSITION.c.party_code,
            POSITION.c.stance,
            POSITION.c.comment,
            POSITION.c.recorded_by,
            POSITION.c.on_behalf,
            POSITION.c.at,
        )
        .where(POSITION.c.revision_id == revision_id)
        .order_by(POSITION.c.party_code)
    )
    return [PositionRecord(**r._mapping) for r in conn.execute(stmt)]


_PARTY_STANCES = (
    select(PARTY.c.code, POSITION.c.stance)
    .select_from(
        PARTY.outerjoin(
            POSITION,
            and_(
                POSITION.c.party_code == PARTY.c.code,
                POSITION.c.revision_id == bindparam("p_rev"),
            ),
        )
    )
    .order_by(PARTY.c.code)
)


def party_stances(conn: Connection, revision_id: int | None) -> list[tuple[str, str | None]]:
    """Every party, by code, with its stance on revision ``revision_id`` (None: no stance
    yet, or no revision): the guards' two facts in one statement."""
    return [(r.code, r.stance) for r in conn.execute(_PARTY_STANCES, {"p_rev": revision_id})]


def positions_by_revision(conn: Connection, instrument_id: int) -> dict[int, list[PositionRecord]]:
    stmt = (
        select(REVISION.c.number, POSITION)
        .select_from(POSITION.join(REVISION, REVISION.c.id == POSITION.c.revision_id))
        .where(POSITION.c.instrument_id == instrument_id)
        .order_by(REVISION.c.number, POSITION.c.party_code)
    )
    result: dict[int, list[PositionRecord]] = {}
    for r in conn.execute(stmt):
        result.setdefault(r.number, []).append(
            PositionRecord(
                party_code=r.party_code,
                stance=r.stance,
                comment=r.comment,
                recorded_by=r.recorded_by,
                on_behalf=r.on_behalf,
                at=r.at,
            )
        )
    return result


# -- deadlines ----------------------------------------------------------------------------


def deadline_record(row: Row[Any]) -> DeadlineRecord:
    return DeadlineRecord(
        id=row.id,
        instrument_id=row.instrument_id,
        milestone=row.milestone,
        due_at=row.due_at,
        met_at=row.met_at,
    )


def insert_deadlines(
    conn: Connection, instrument_id: int, dues: Sequence[tuple[str, datetime]]
) -> None:
    if dues:
        conn.execute(
            insert(DEADLINE),
            [{"instrument_id": instrument_id, "milestone": m, "due_at": d} for m, d in dues],
        )


def set_deadline_due(conn: Connection, instrument_id: int, milestone: str, due: datetime) -> None:
    conn.execute(
        update(DEADLINE)
        .where(and_(DEADLINE.c.instrument_id == instrument_id, DEADLINE.c.milestone == milestone))
        .values(due_at=due)
    )


_MARK_DEADLINE_MET = (
    update(DEADLINE)
    .where(
        and_(
            DEADLINE.c.instrument_id == bindparam("p_id"),
            DEADLINE.c.milestone == bindparam("p_milestone"),
            DEADLINE.c.met_at.is_(None),
        )
    )
    .values(met_at=bindparam("p_at"))
)


def mark_deadline_met(conn: Connection, instrument_id: int, milestone: str, at: datetime) -> None:
    conn.execute(_MARK_DEADLINE_MET, {"p_id": instrument_id, "p_milestone": milestone, "p_at": at})


def deadlines_of(conn: Connection, instrument_id: int) -> list[DeadlineRecord]:
    stmt = (
        select(DEADLINE)
        .where(DEADLINE.c.instrument_id == instrument_id)
        .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
    )
    return [deadline_record(r) for r in conn.execute(stmt)]


def iter_deadlines(
    conn: Connection, *, summit_id: int | None = None, overdue_at: datetime | None = None
) -> Iterator[tuple[DeadlineRecord, str, str, str, str]]:
    """(deadline, instrument slug, workflow, state, summit slug) in due order.

    With ``overdue_at``, only deadlines due by then and not met.
    """
    stmt = (
        select(
            DEADLINE,
            INSTRUMENT.c.slug.label("instrument_slug"),
            INSTRUMENT.c.workflow,
            INSTRUMENT.c.state,
            SUMMIT.c.slug.label("summit_slug"),
        )
        .select_from(
            DEADLINE.join(INSTRUMENT, INSTRUMENT.c.id == DEADLINE.c.instrument_id).join(
                SUMMIT, SUMMIT.c.id == INSTRUMENT.c.summit_id
            )
        )
        .order_by(DEADLINE.c.due_at, INSTRUMENT.c.slug, DEADLINE.c.id)
    )
    if summit_id is not None:
        stmt = stmt.where(INSTRUMENT.c.summit_id == summit_id)
    if overdue_at is not None:
        stmt = stmt.where(and_(DEADLINE.c.due_at <= overdue_at, DEADLINE.c.met_at.is_(None)))
    for r in conn.execute(stmt.execution_options(yield_per=1000)):
        yield deadline_record(r), r.instrument_slug, r.workflow, r.state, r.summit_slug


# -- events -------------------------------------------------------------------------------


_INSERT_EVENT = insert(EVENT)


def insert_event(
    conn: Connection,
    *,
    content: EventContent,
    link: Link,
    instrument_id: int | None = None,
    summit_id: int | None = None,
) -> None:
    """Append an event to its subject's chain; ``link`` is from
    :func:`doctrack.storage.chain.next_link` over the same ``content``."""
    conn.execute(
        _INSERT_EVENT,
        {
            "instrument_id": instrument_id,
            "summit_id": summit_id,
            "at": content.at,
            "actor": content.actor,
            "kind": content.kind,
            "trigger": content.trigger,
            "from_state": content.from_state,
            "to_state": content.to_state,
            "comment": content.comment,
            "payload": content.payload,
            "seq": link.seq,
            "prev_hash": link.prev_hash,
            "hash": link.hash,
        },
    )


def iter_events(
    conn: Connection, *, instrument_id: int | None = None, summit_id: int | None = None
) -> Iterator[EventRecord]:
    stmt = select(EVENT).order_by(EVENT.c.id)
    if instrument_id is not None:
        stmt = stmt.where(EVENT.c.instrument_id == instrument_id)
    if summit_id is not None:
        stmt = stmt.where(EVENT.c.summit_id == summit_id)
    for r in conn.execute(stmt.execution_options(yield_per=1000)):
        yield EventRecord(**r._mapping)


def count_events(conn: Connection, instrument_id: int) -> int:
    stmt = select(func.count()).select_from(EVENT).where(EVENT.c.instrument_id == instrument_id)
    return int(conn.execute(stmt).scalar_one())


def instrument_ids_for_summit(conn: Connection, summit_id: int) -> list[int]:
    stmt = (
        select(INSTRUMENT.c.id).where(INSTRUMENT.c.summit_id == summit_id).order_by(INSTRUMENT.c.id)
    )
    return list(conn.execute(stmt).scalars())


def delete_deadline(conn: Connection, instrument_id: int, milestone: str) -> None:
    conn.execute(
        delete(DEADLINE).where(
            and_(DEADLINE.c.instrument_id == instrument_id, DEADLINE.c.milestone == milestone)
        )
    )
