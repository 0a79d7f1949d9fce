"""``doctrack scheduler`` survives the database going away and carries on.

PostgreSQL: every backend of the database is terminated (what a server restart does to its
clients, without restarting the server other tests share), three times; after each, new
reminders come due and are sent exactly once. SQLite: another process holds the write lock
past the busy timeout, so dispatcher runs fail; once it lets go, reminders go out once.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from faults_support import process_env, record, terminate_backends
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.services.reminders import ReminderDesk
from doctrack.services.tracking import Tracker
from helpers import START, WORKFLOWS
from smtp_support import SmtpTestServer

pytestmark = pytest.mark.slow
#: The scheduler's clock: every summit reminder planned below is due by then.
LATE = "2016-06-30T12:00"
APP = "doctrack-scheduler-under-test"
ROUNDS = 3


class Scheduler:
    """A ``doctrack scheduler`` process whose stderr is collected line by line."""

    def __init__(self, url: str, server: SmtpTestServer, folder: Path, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "doctrack", "--now", LATE, "scheduler", "--interval", "1"],
            cwd=folder,
            env=process_env(
                url,
                DOCTRACK_SMTP_HOST=server.host,
                DOCTRACK_SMTP_PORT=str(server.port),
                PGAPPNAME=APP,
                **env,
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, part: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(part in line for line in self.lines):
            assert self.proc.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {part!r} in:\n" + "\n".join(self.lines)
            time.sleep(0.05)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return "\n".join(self.lines)


@pytest.fixture
def world(db_url: str) -> Tracker:
    """A party and a summit; no user yet, so no reminder yet."""
    t = doctrack.connect(
        db_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    t.add_party("KZ", name="Kazakhstan", actor="setup")
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="setup",
    )
    add_instrument(t)
    return t


def add_instrument(t: Tracker) -> None:
    """Summit reminders list the summit's open instruments; with none, none is sent."""
    t.add_instrument("conv", title="Convention", workflow="convention", summit="t16", actor="s")


def reminders_come_due(t: Tracker, n: int) -> int:
    """A new secretary: the summit's reminders to them (30 and 7 days before) are due."""
    before = sum(1 for _ in ReminderDesk(t.db, t.clock).list())
    t.add_user(f"sec{n}", email=f"sec{n}@example.org", roles=["secretary"], actor="setup")
    return sum(1 for _ in ReminderDesk(t.db, t.clock).list()) - before


def app_backends(url: str) -> int:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :db AND application_name = :app"
                    ),
                    {"db": make_url(url).database, "app": APP},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def delivered_once(t: Tracker, server: SmtpTestServer, expected: int) -> None:
    server.wait_for(expected, timeout=120)
    ids = Counter(str(m.message["Message-ID"]) for m in server.messages)
    assert len(ids) == expected
    assert max(ids.values()) == 1, "a reminder was sent twice"
    deadline = time.monotonic() + 60  # the mail arrives before its row is marked sent
    while (statuses := Counter(r.status for r in ReminderDesk(t.db, t.clock).list())) != {
        "sent": expected
    }:
        assert time.monotonic() < deadline, statuses
        time.sleep(0.05)


@pytest.fixture
def scheduler_factory(tmp_path: Path) -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for s in started:
        s.stop()


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_scheduler_carries_on_after_every_backend_is_terminated(
    world: Tracker,
    db_url: str,
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    scheduler_factory: list[Scheduler],
) -> None:
    scheduler = Scheduler(db_url, smtp_server, tmp_path)
    scheduler_factory.append(scheduler)
    scheduler.wait_for_line("scheduler started")
    expected = terminated = 0
    for n in range(ROUNDS):
        deadline = time.monotonic() + 60
        while app_backends(db_url) == 0:  # the scheduler is connected: kill it too
            assert time.monotonic() < deadline
            time.sleep(0.05)
        terminated += terminate_backends(db_url)
        expected += reminders_come_due(world, n)
        delivered_once(world, smtp_server, expected)
        assert scheduler.proc.poll() is None
    log = scheduler.stop()
    assert scheduler.proc.returncode == 0, log
    assert "Traceback" not in log
    assert "scheduler stopped" in log
    record(
        "faults_scheduler_postgres_restart",
        restarts=ROUNDS,
        backends_terminated=terminated,
        reminders_sent=expected,
        sent_twice=0,
        failed_runs=sum("dispatcher run failed" in line for line in log.splitlines()),
    )


def test_scheduler_carries_on_after_the_sqlite_file_was_locked(
    tmp_path: Path, smtp_server: SmtpTestServer, scheduler_factory: list[Scheduler]
) -> None:
    path = tmp_path / "doctrack.db"
    url = f"sqlite:///{path}"
    doctrack.init_database(url)
    t = doctrack.connect(url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS))
    t.add_party("KZ", name="Kazakhstan", actor="setup")
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        tz="Asia/Tashkent",
        actor="setup",
    )
    add_instrument(t)
    scheduler = Scheduler(url, smtp_server, tmp_path, DOCTRACK_BUSY_TIMEOUT="1")
    scheduler_factory.append(scheduler)
    scheduler.wait_for_line("scheduler started")
    expected = 0
    for n in range(2):
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            scheduler.wait_for_line("locked by another process")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        expected += reminders_come_due(t, n)
        delivered_once(t, smtp_server, expected)
        scheduler.lines.clear()
    log = scheduler.stop()
    assert scheduler.proc.returncode == 0, log
    assert "Traceback" not in log
    t.db.dispose()
    record("faults_scheduler_sqlite_locked", lock_outages=2, reminders_sent=expected, sent_twice=0)
