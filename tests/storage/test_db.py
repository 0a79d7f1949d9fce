"""The database layer: SQLite pragmas, write transactions that are all or nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

import doctrack
from doctrack.errors import UsageError
from doctrack.storage.db import Database
from doctrack.storage.tables import PARTY, USER
from helpers import START


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'doctrack.db'}"
    doctrack.init_database(url)
    database = Database(url)
    yield database
    database.dispose()


def parties(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(PARTY)).scalar_one())


def test_sqlite_is_in_wal_mode_with_foreign_keys_on(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sqlite_writer_takes_the_write_lock_at_once(sqlite_db: Database) -> None:
    path = sqlite_db.engine.url.database
    assert path is not None
    with sqlite_db.write():
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            insert(USER).values(
                name="bob", email="b@example.org", party_code="XX", language="en", created_at=START
            )
        )


def test_a_failed_write_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(insert(PARTY).values(code="KZ", name="Republic of Kazakhstan"))
        raise RuntimeError("fails after the insert")
    assert parties(db) == 0


def test_a_write_commits_when_the_block_ends(db: Database) -> None:
    with db.write() as conn:
        conn.execute(insert(PARTY).values(code="KZ", name="Republic of Kazakhstan"))
    assert parties(db) == 1


def test_unsupported_database_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unsupported database 'mysql'"):
        Database("mysql://localhost/doctrack")
    with pytest.raises(UsageError, match="not a database URL"):
        Database("not a url")
