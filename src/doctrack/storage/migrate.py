"""Create or upgrade the schema with Alembic (imported only by ``doctrack init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def current(db: Database) -> str | None:
    """The schema revision the database is at, or None when it has none."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest migration; returns (before, after). Idempotent."""
    cfg = alembic_config()
    try:
        before = current(db)
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

    with db.engine.begin() as conn:
        existing = MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)
    _, after = upgrade(db)
    return after
