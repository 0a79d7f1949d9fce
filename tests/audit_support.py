"""Changing the history behind doctrack's back, as someone with the database's password could:
the append-only triggers are switched off for one statement and switched on again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection


def raw_sql(url: str, sql: str, params: dict[str, Any] | None = None) -> int:
    """Run one statement on a plain connection (triggers active); its rowcount."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return int(conn.execute(text(sql), params or {}).rowcount)
    finally:
        engine.dispose()


def behind_the_back(url: str, sql: str, params: dict[str, Any] | None = None) -> int:
    """Run ``sql`` with the event triggers off, then put them back; its rowcount."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                return _sqlite(conn, sql, params or {})
            conn.execute(text("ALTER TABLE event DISABLE TRIGGER event_append_only"))
            count = int(conn.execute(text(sql), params or {}).rowcount)
            conn.execute(text("ALTER TABLE event ENABLE TRIGGER event_append_only"))
            return count
    finally:
        engine.dispose()


def _sqlite(conn: Connection, sql: str, params: dict[str, Any]) -> int:
    triggers = conn.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'event'")
    ).all()
    assert len(triggers) == 2, triggers
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}"))
    count = int(conn.execute(text(sql), params).rowcount)
    for _, create in triggers:
        conn.exec_driver_sql(create)
    return count


def event_ids(url: str, *, slug: str) -> list[int]:
    """The ids of an instrument's events, in order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT e.id FROM event e JOIN instrument i ON i.id = e.instrument_id "
                        "WHERE i.slug = :slug ORDER BY e.id"
                    ),
                    {"slug": slug},
                ).scalars()
            )
    finally:
        engine.dispose()
