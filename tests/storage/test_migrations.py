"""``doctrack init``: Alembic migrations create the schema the tables describe."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.errors import DatabaseNotReadyError
from doctrack.storage import migrate
from doctrack.storage.db import SCHEMA_HEAD
from doctrack.storage.tables import METADATA
from helpers import START, WORKFLOWS

PG_ENV = "DOCTRACK_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL cases")
        pytest.skip(f"PostgreSQL cases skipped: {PG_ENV} is not set")
    url = make_url(base)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{url.database or 'doctrack_test'}_empty_{worker}_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_schema_head_is_the_newest_migration() -> None:
    assert migrate.head() == SCHEMA_HEAD


def test_init_creates_the_schema(empty_url: str) -> None:
    assert table_names(empty_url) == set()
    assert doctrack.init_database(empty_url) == (None, SCHEMA_HEAD)
    assert table_names(empty_url) == {t.name for t in METADATA.sorted_tables} | {"alembic_version"}


def test_second_init_is_a_no_op(empty_url: str) -> None:
    doctrack.init_database(empty_url)
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    tracker.add_party("KZ", name="Republic of Kazakhstan", actor="setup")
    tracker.db.dispose()
    assert doctrack.init_database(empty_url) == (SCHEMA_HEAD, SCHEMA_HEAD)
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    assert tracker.list_parties() == [("KZ", "Republic of Kazakhstan")]
    tracker.db.dispose()


def test_migrated_schema_matches_the_tables(empty_url: str) -> None:
    doctrack.init_database(empty_url)
    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_tracker_on_an_uninitialised_database_says_to_run_init(empty_url: str) -> None:
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    try:
        with pytest.raises(DatabaseNotReadyError, match="run 'doctrack init'"):
            tracker.list_summits()
        with pytest.raises(DatabaseNotReadyError, match="run 'doctrack init'"):
            tracker.add_party("KZ", name="Republic of Kazakhstan", actor="setup")
    finally:
        tracker.db.dispose()
    assert "party" not in table_names(empty_url)


def test_tracker_on_an_older_schema_says_to_run_init(empty_url: str) -> None:
    doctrack.init_database(empty_url)
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    try:
        with pytest.raises(
            DatabaseNotReadyError, match=f"schema is at '0000', this doctrack needs '{SCHEMA_HEAD}'"
        ):
            tracker.list_parties()
    finally:
        tracker.db.dispose()
