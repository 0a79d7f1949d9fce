"""Shared fixtures: a backend fixture over SQLite and PostgreSQL, a fixed clock, a seeded world.

PostgreSQL cases run when ``DOCTRACK_TEST_POSTGRES_URL`` names a reachable server (``./run
test`` and ``.ci/run`` set it); otherwise they skip with the reason. Each pytest-xdist
worker gets its own PostgreSQL database, created fresh per session, emptied per test and
dropped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA
from helpers import PARTIES, START, WORKFLOWS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PG_ENV = "DOCTRACK_TEST_POSTGRES_URL"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this worker, or a skip saying why."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL cases")
        pytest.skip(f"PostgreSQL cases skipped: {PG_ENV} is not set")
    url = make_url(base)
    # The pid keeps two concurrent test runs on one server out of each other's way.
    name = f"{url.database or 'doctrack_test'}_{_worker()}_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is a skip
        reason = f"cannot use {base}: {exc}".splitlines()[0]
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL cases: {reason}")
        pytest.skip(f"PostgreSQL cases skipped: {reason}")
    finally:
        admin.dispose()
    worker_url = url.set(database=name).render_as_string(hide_password=False)
    doctrack.init_database(worker_url)
    yield worker_url
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in METADATA.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'doctrack.db'}"
        doctrack.init_database(url)
        return url
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return str(url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def workflows() -> Workflows:
    return Workflows.from_folder(WORKFLOWS)


@pytest.fixture
def tracker(db_url: str, clock: FixedClock, workflows: Workflows) -> Iterator[Tracker]:
    t = doctrack.connect(db_url, clock=clock, workflows=workflows)
    yield t
    t.db.dispose()


@pytest.fixture
def world(tracker: Tracker) -> Tracker:
    """Six parties, one user per role, a delegate per party, two summits.

    Users: ``drafter``, ``coord`` (coordinator), ``sec`` (secretary), ``admin``, and
    ``kz`` ... ``uz`` (delegates of their party). Summits: ``t16`` (Tashkent, 23-24 June
    2016, Asia/Tashkent) and ``a17`` (Astana, 8-9 June 2017, Asia/Almaty).
    """
    for code, name in PARTIES.items():
        tracker.add_party(code, name=name, actor="setup")
    for name, role in [
        ("drafter", "drafter"),
        ("coord", "coordinator"),
        ("sec", "secretary"),
        ("admin", "admin"),
    ]:
        tracker.add_user(name, email=f"{name}@example.org", roles=[role], actor="setup")
    for code in PARTIES:
        tracker.add_user(
            code.lower(),
            email=f"{code.lower()}@example.org",
            roles=["delegate"],
            party=code,
            actor="setup",
        )
    tracker.add_summit(
        "t16",
        title="Council of Heads of State",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="setup",
    )
    tracker.add_summit(
        "a17",
        title="Council of Heads of State",
        city="Astana",
        starts=date(2017, 6, 8),
        ends=date(2017, 6, 9),
        tz="Asia/Almaty",
        actor="setup",
    )
    return tracker


# -- a real SMTP server (tests/smtp_support.py) -------------------------------------------

import smtp_support  # noqa: E402 - appended section, kept apart from the fixtures above


@pytest.fixture
def smtp_server() -> Iterator[smtp_support.SmtpTestServer]:
    """A started aiosmtpd server on 127.0.0.1 and a free port, stopped after the test."""
    server = smtp_support.SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, started once per session (per xdist worker) and shared by
    every browser test: Playwright's sync API allows one running instance per thread (a
    second ``sync_playwright()`` while one is open fails with "Sync API inside the asyncio
    loop")."""
    from browser_support import chromium_or_skip, launch

    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        started = launch(playwright, executable)
        try:
            yield started
        finally:
            started.close()
