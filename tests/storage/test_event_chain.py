"""Events form one hash chain per subject, and the database refuses to change them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from audit_support import event_ids, raw_sql
from doctrack.errors import RefusedError
from doctrack.services import audit
from doctrack.services.tracking import Tracker
from doctrack.storage import chain, migrate
from doctrack.storage.tables import EVENT, INSTRUMENT, SUMMIT
from helpers import approve_all


def _busy(world: Tracker) -> None:
    """One instrument through revise, positions, advance, retarget; a summit moved."""
    world.add_instrument(
        "convention", title="Convention", workflow="convention", summit="t16", lead="KZ",
        actor="setup",
    )  # fmt: skip
    world.revise("convention", content=b"draft 1", filename="d1.docx", as_user="drafter")
    world.advance("convention", "submit", as_user="coord", comment="to the experts")
    approve_all(world, "convention")
    world.advance("convention", "agree", as_user="coord")
    world.retarget("convention", summit="a17", as_user="sec", comment="not ready")
    world.move_summit("a17", starts=datetime(2017, 6, 9).date(), as_user="sec")


def _chains(url: str) -> dict[tuple[str, int], list[tuple[int, str, str]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(EVENT).order_by(EVENT.c.id)).all()
    finally:
        engine.dispose()
    chains: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
    for r in rows:
        key = ("instrument", r.instrument_id) if r.instrument_id else ("summit", r.summit_id)
        chains.setdefault(key, []).append((r.seq, r.prev_hash, r.hash))
    return chains


def test_the_format_1_hash_does_not_change() -> None:
    content = chain.EventContent(
        at=datetime(2016, 6, 23, 4, 0, tzinfo=UTC),
        actor="sec",
        kind="transition",
        trigger="sign",
        from_state="approved",
        to_state="signed",
        comment="Signed in Tashkent — подписано",
    )
    encoded = chain.canonical("instrument", 7, 3, chain.GENESIS, content)
    assert encoded == (
        b'{"actor":"sec","at":"2016-06-23T04:00:00.000000Z","comment":"Signed in Tashkent '
        b'\\u2014 \\u043f\\u043e\\u0434\\u043f\\u0438\\u0441\\u0430\\u043d\\u043e","format":1,'
        b'"from_state":"approved","kind":"transition","payload":null,"prev":"' + b"0" * 64 + b'",'
        b'"seq":3,"subject":"instrument","subject_id":7,"to_state":"signed","trigger":"sign"}'
    )
    assert chain.event_hash("instrument", 7, 3, chain.GENESIS, content) == (
        "d3e6dd9ed34537c81c771c2447018cfd36fd5b10552c2faebc47018076be2a7d"
    )


def test_each_change_is_the_next_link_and_the_row_keeps_the_head(
    world: Tracker, db_url: str
) -> None:
    _busy(world)
    chains = _chains(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        instrument = conn.execute(select(INSTRUMENT)).one()
        summits = {r.id: r for r in conn.execute(select(SUMMIT))}
    engine.dispose()
    links = chains["instrument", instrument.id]
    print(f"instrument chain: {len(links)} events; summit chains: {len(summits)}")
    assert [seq for seq, _, _ in links] == list(range(1, instrument.version + 1))
    assert links[0][1] == chain.GENESIS
    assert all(links[k][1] == links[k - 1][2] for k in range(1, len(links)))
    assert instrument.chain_head == links[-1][2]
    for summit in summits.values():
        assert summit.chain_head == chains["summit", summit.id][-1][2]
        assert len(chains["summit", summit.id]) == summit.version


@pytest.mark.parametrize("statement", ["UPDATE event SET comment = 'edited'", "DELETE FROM event"])
def test_the_database_refuses_update_and_delete_of_events(
    world: Tracker, db_url: str, statement: str
) -> None:
    _busy(world)
    before = _chains(db_url)
    with pytest.raises(IntegrityError, match="event history is append-only") as refused:
        raw_sql(db_url, statement)
    operation = statement.split(maxsplit=1)[0]
    # PostgreSQL adds a CONTEXT line; doctrack shows only the first line of a driver error.
    first = str(refused.value.orig).strip().splitlines()[0]
    assert first == f"event history is append-only: {operation} refused"
    with pytest.raises(RefusedError) as through_doctrack, world.db.write() as conn:
        conn.execute(text(statement))
    assert str(through_doctrack.value) == f"event history is append-only: {operation} refused"
    assert _chains(db_url) == before
    ids = event_ids(db_url, slug="convention")
    with pytest.raises(IntegrityError, match="append-only"):
        raw_sql(db_url, "UPDATE event SET hash = prev_hash WHERE id = :id", {"id": ids[-1]})
    with pytest.raises(IntegrityError, match="append-only"):
        raw_sql(db_url, "DELETE FROM event WHERE id = :id", {"id": ids[-1]})
    assert _chains(db_url) == before
    assert audit.verify(world.db).ok


def test_migration_0005_links_existing_history_as_doctrack_does(
    world: Tracker, db_url: str
) -> None:
    """Down to 0004 (the links are dropped) and up again: the backfill writes the very
    links and heads the use cases wrote, and the triggers are back."""
    _busy(world)
    written = _chains(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        heads = conn.execute(select(INSTRUMENT.c.chain_head)).scalars().all()
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
            assert conn.execute(select(func.count()).select_from(EVENT)).scalar_one() > 0
            # Up to the head, not to 0005: on PostgreSQL this is the worker's database,
            # which every later test of the worker expects at the head.
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    assert _chains(db_url) == written
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(INSTRUMENT.c.chain_head)).scalars().all() == heads
    engine.dispose()
    print(f"backfilled {sum(len(c) for c in written.values())} events in {len(written)} chains")
    with pytest.raises(IntegrityError, match="append-only"):
        raw_sql(db_url, "DELETE FROM event")
    assert audit.verify(world.db).ok
