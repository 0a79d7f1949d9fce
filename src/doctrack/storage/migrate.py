"""Create or upgrade the schema with Alembic (imported only by ``doctrack init`` and
``doctrack import``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from doctrack.errors import DatabaseNotReadyError
from doctrack.storage.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    """The newest migration's id."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


@cache
def revisions() -> tuple[str, ...]:
    """Every migration's id, oldest first (read once: the migrations ship with the code)."""
    script = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed([r.revision for r in script.walk_revisions()]))


@dataclass(frozen=True, slots=True)
class TableAt:
    """A table as one schema revision has it: its columns, and those a row must give."""

    columns: frozenset[str]
    required: frozenset[str]


@cache
def tables_at(revision: str) -> dict[str, TableAt]:
    """The tables of schema ``revision``, read off an in-memory SQLite database migrated to
    it (the migrations are the only record of what an older revision held). A required
    column is NOT NULL without a server default and is not an integer primary key."""
    if revision not in revisions():
        raise ValueError(f"unknown schema revision {revision!r}")
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            move(conn, revision)
            found = inspect(conn)
            tables = {}
            for name in found.get_table_names():
                if name == "alembic_version":
                    continue
                key = found.get_pk_constraint(name)["constrained_columns"]
                columns = found.get_columns(name)
                required = {
                    c["name"]
                    for c in columns
                    if not c["nullable"]
                    and c.get("default") is None
                    and not (key == [c["name"]] and str(c["type"]).upper() == "INTEGER")
                }
                tables[name] = TableAt(
                    columns=frozenset(c["name"] for c in columns), required=frozenset(required)
                )
            return tables
    finally:
        engine.dispose()


def move(conn: Connection, target: str) -> None:
    """Upgrade or downgrade the schema on ``conn`` to ``target``, inside the caller's
    transaction (both SQLite and PostgreSQL run DDL in a transaction)."""
    order = revisions()
    at = MigrationContext.configure(conn).get_current_revision()
    if at == target:
        return
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    if at is None or order.index(at) < order.index(target):
        command.upgrade(cfg, target)
    else:
        command.downgrade(cfg, target)


def current(db: Database) -> str | None:
    """The schema revision the database is at, or None when it has none."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest migration; returns (before, after). Idempotent."""
    cfg = alembic_config()
    db.make_folder()
    try:
        before = current(db)
        if before is not None and before not in revisions():
            raise DatabaseNotReadyError(
                f"the database schema is at {before!r}, which this doctrack (schema "
                f"{head()!r}) does not know: a newer doctrack set it up; use that version"
            )
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseNotReadyError(f"cannot set up the database: {reason}") from None
    return before, current(db) or ""


def reset(db: Database) -> str:
    """Drop every doctrack table and create the schema afresh. All data is lost."""
    from sqlalchemy import MetaData

    db.make_folder()
    with db.engine.begin() as conn:
        existing = MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)
    _, after = upgrade(db)
    return after
