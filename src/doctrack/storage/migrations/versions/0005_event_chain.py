"""tamper-evident history: a hash chain per instrument and per summit, append-only events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20 09:00:00

- ``event.seq``, ``event.prev_hash``, ``event.hash``: each event's link in its subject's
  chain (``doctrack.storage.chain``, format 1), filled here for the events already written,
  subject by subject in id order;
- ``instrument.chain_head``, ``summit.chain_head``: the hash of the subject's last event,
  so that a change reads the head with the row it already reads and sets the new one in
  the UPDATE that raises the version;
- triggers that refuse UPDATE and DELETE on ``event`` (SQLite: ``RAISE(ABORT)``;
  PostgreSQL: a plpgsql function raising SQLSTATE 23001, an integrity error like
  SQLite's). TRUNCATE and DROP TABLE stay allowed: they are schema-owner operations
  (tests empty PostgreSQL with TRUNCATE; ``demo --reset`` drops every table).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from doctrack.storage import chain
from doctrack.storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MESSAGE = "event history is append-only"
_PG_FUNCTION = "doctrack_event_append_only"
_BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    for table in ("instrument", "summit"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.add_column(sa.Column("chain_head", sa.String(length=64), nullable=True))
    _backfill(op.get_bind())
    # SQLite cannot make a column NOT NULL in place: the event table is copied (nothing
    # refers to it); PostgreSQL alters it.
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    for table in ("summit", "instrument"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column("chain_head")
    with op.batch_alter_table("event", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")


# The columns this migration reads and writes, as they are at 0005 (not doctrack's tables,
# which later migrations may change).
_UTC = UTCDateTime(timezone=True)
_EVENT = sa.table(
    "event",
    *(sa.column(c) for c in ("id", "instrument_id", "summit_id", "actor", "kind", "trigger")),
    *(sa.column(c) for c in ("from_state", "to_state", "comment", "payload")),
    *(sa.column(c) for c in ("seq", "prev_hash", "hash")),
    sa.column("at", _UTC),
)
_INSTRUMENT = sa.table("instrument", sa.column("id"), sa.column("chain_head"))
_SUMMIT = sa.table("summit", sa.column("id"), sa.column("chain_head"))


def _events(conn: sa.Connection) -> Iterator[list[Any]]:
    """Every event in id order, a page at a time (keyset, so memory stays flat)."""
    last = 0
    columns = [c for c in _EVENT.c if c.name not in {"seq", "prev_hash", "hash"}]
    while True:
        page = conn.execute(
            sa.select(*columns).where(_EVENT.c.id > last).order_by(_EVENT.c.id).limit(_BATCH)
        ).all()
        if not page:
            return
        yield list(page)
        last = page[-1].id


def _backfill(conn: sa.Connection) -> None:
    """Link the events already written, subject by subject in id order; set the heads."""
    heads: dict[tuple[str, int], tuple[int, str]] = {}
    set_link = (
        sa.update(_EVENT)
        .where(_EVENT.c.id == sa.bindparam("p_id"))
        .values(
            seq=sa.bindparam("p_seq"), prev_hash=sa.bindparam("p_prev"), hash=sa.bindparam("p_hash")
        )
    )
    for page in _events(conn):
        links = []
        for e in page:
            subject = (
                (chain.INSTRUMENT, e.instrument_id)
                if e.instrument_id is not None
                else (chain.SUMMIT, e.summit_id)
            )
            seq, prev = heads.get(subject, (0, chain.GENESIS))
            content = chain.EventContent(
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                trigger=e.trigger,
                from_state=e.from_state,
                to_state=e.to_state,
                comment=e.comment,
                payload=e.payload,
            )
            link = chain.next_link(prev, subject[0], subject[1], seq + 1, content)
            heads[subject] = (link.seq, link.hash)
            links.append({"p_id": e.id, "p_seq": link.seq, "p_prev": prev, "p_hash": link.hash})
        conn.execute(set_link, links)
    for table, name in ((_INSTRUMENT, chain.INSTRUMENT), (_SUMMIT, chain.SUMMIT)):
        rows = [{"p_id": i, "p_head": h} for (s, i), (_, h) in heads.items() if s == name]
        if rows:
            conn.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("p_id"))
                .values(chain_head=sa.bindparam("p_head")),
                rows,
            )


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER event_no_{operation.lower()} BEFORE {operation} ON event "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} refused'); END"
            )
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
        f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()"
    )


def _drop_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS event_no_update")
        op.execute("DROP TRIGGER IF EXISTS event_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS event_append_only ON event")
    op.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
