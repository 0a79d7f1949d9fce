"""``doctrack init``: Alembic migrations create the schema the tables describe."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import column, create_engine, insert, inspect, select, table, text
from sqlalchemy.engine import make_url

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.errors import DatabaseNotReadyError
from doctrack.services.accounts import Accounts
from doctrack.storage import migrate
from doctrack.storage.db import SCHEMA_HEAD
from doctrack.storage.tables import METADATA, PARTY, USER, USER_ROLE
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
    # Numbered in order, four digits: storage.db tells a newer schema by comparing them.
    assert list(migrate.revisions()) == [f"{n:04d}" for n in range(1, int(SCHEMA_HEAD) + 1)]


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


def _initialised_at(url: str, revision: str) -> None:
    """A database made by ``init``, then marked as being at ``revision``."""
    doctrack.init_database(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def _tracker_refuses(url: str, message: str) -> None:
    """A tracker on ``url`` refuses its first read with ``message`` (a regular expression)."""
    tracker = doctrack.connect(
        url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    try:
        with pytest.raises(DatabaseNotReadyError, match=message):
            tracker.list_parties()
    finally:
        tracker.db.dispose()


def test_tracker_on_an_older_schema_says_to_run_init(empty_url: str) -> None:
    _initialised_at(empty_url, "0000")
    _tracker_refuses(empty_url, f"schema is at '0000', this doctrack needs '{SCHEMA_HEAD}'")


def test_a_database_of_a_newer_doctrack_is_refused_by_every_command(empty_url: str) -> None:
    _initialised_at(empty_url, "0099")
    before = table_names(empty_url)
    _tracker_refuses(
        empty_url,
        f"schema is at '0099', newer than this doctrack's '{SCHEMA_HEAD}': a newer "
        "doctrack set it up; use that version$",
    )
    with pytest.raises(
        DatabaseNotReadyError,
        match=re.escape(f"schema is at '0099', which this doctrack (schema '{SCHEMA_HEAD}')"),
    ):
        doctrack.init_database(empty_url)
    assert table_names(empty_url) == before


def _migrate_to(url: str, target: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, target)
    finally:
        engine.dispose()


def test_upgrade_from_0002_keeps_the_data_and_adds_accounts(empty_url: str) -> None:
    _migrate_to(empty_url, "0002")
    engine = create_engine(empty_url)
    user_columns = [c for c in USER.c if c.name not in ("password_hash", "session_epoch")]
    try:
        with engine.begin() as conn:
            conn.execute(insert(PARTY).values(code="KZ", name="Republic of Kazakhstan"))
            as_then = table("app_user", *(column(c.name, c.type) for c in user_columns))
            conn.execute(
                insert(as_then).values(
                    id=1,
                    name="kz",
                    email="kz@example.org",
                    party_code="KZ",
                    language="ru",
                    created_at=START,
                )
            )
            conn.execute(insert(USER_ROLE).values(user_id=1, role="delegate"))
            before = conn.execute(select(*user_columns)).all()
        assert doctrack.init_database(empty_url) == ("0002", SCHEMA_HEAD)
        with engine.connect() as conn:
            assert conn.execute(select(*user_columns)).all() == before
            assert conn.execute(select(USER.c.password_hash)).scalars().all() == [None]
            assert conn.execute(select(USER.c.session_epoch)).scalars().all() == [0]
        assert {"api_token", "login_failure"} <= table_names(empty_url)
    finally:
        engine.dispose()
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    try:
        [kz] = tracker.list_users()
        assert (kz.name, kz.party_code, kz.language, kz.roles) == ("kz", "KZ", "ru", ("delegate",))
        accounts = Accounts(
            tracker.db,
            tracker.clock,
            hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
        accounts.set_password("kz", "a migrated password")
        assert accounts.login("kz", "a migrated password").name == "kz"
        accounts.create_token("kz")
    finally:
        tracker.db.dispose()


def test_downgrade_to_0002_keeps_the_users(empty_url: str) -> None:
    doctrack.init_database(empty_url)
    tracker = doctrack.connect(
        empty_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    tracker.add_user("sec", email="sec@example.org", roles=["secretary"], actor="setup")
    tracker.db.dispose()
    _migrate_to(empty_url, "0002", down=True)
    engine = create_engine(empty_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("app_user")}
        assert "password_hash" not in columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM app_user")).scalars().all() == ["sec"]
    finally:
        engine.dispose()
    assert not {"api_token", "login_failure"} & table_names(empty_url)
    assert doctrack.init_database(empty_url) == ("0002", SCHEMA_HEAD)
