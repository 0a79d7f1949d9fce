"""SQLite that cannot write: a read-only database, a full disk, a lock held too long.

Each is driven through the real CLI (in-process) and must end in one clear line on stderr
with exit code 3, not an "internal error" with the driver's text, and change nothing.

How each fault is made real:
- read-only: ``chmod`` of the file and its folder when not root; as root (chmod does not
  stop root) a read-only filesystem (tmpfs remounted ``ro``) if this machine lets us mount,
  and always SQLite's own read-only open (``file:...?mode=ro``);
- full disk: SQLite's ``PRAGMA max_page_count`` set on every connection (SQLite returns
  SQLITE_FULL), and a 2 MiB tmpfs filled to the brim when mounting works;
- locked: another connection holds ``BEGIN IMMEDIATE`` past a 1-second busy timeout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from faults_support import record
from sqlalchemy import event
from sqlalchemy.pool import Pool

import doctrack
from doctrack.cli import root
from doctrack.clock import FixedClock
from doctrack.config import SETTINGS
from doctrack.engine.registry import Workflows
from helpers import START, WORKFLOWS, snapshot

ENV: dict[str, str | None] = {s.env: None for s in SETTINGS} | {
    "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
    "DOCTRACK_DEBUG": None,
}
FIGURES: dict[str, Any] = {}


def make_world(path: Path) -> str:
    url = f"sqlite:///{path}"
    doctrack.init_database(url)
    t = doctrack.connect(url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS))
    t.add_party("KZ", name="Kazakhstan", actor="setup")
    t.add_user("drafter", email="d@example.org", roles=["drafter"], actor="setup")
    t.add_user("coord", email="c@example.org", roles=["coordinator"], actor="setup")
    t.add_user("sec", email="s@example.org", roles=["secretary"], actor="setup")
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        tz="Asia/Tashkent",
        actor="setup",
    )
    t.add_instrument("conv", title="Convention", workflow="convention", summit="t16", actor="s")
    t.db.dispose()
    return url


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        root, ["--db", url, "--now", "2016-03-02T06:00", *args], env={**ENV, **(env or {})}
    )


def failed_cleanly(result: Result, expected: str) -> str:
    """Exit 3, nothing on stdout, one line on stderr that says ``expected``."""
    assert result.exit_code == 3, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("doctrack: ")
    assert "internal error" not in lines[0]
    assert "Traceback" not in result.stderr
    assert expected in lines[0], lines[0]
    return lines[0]


def writes(url: str, tmp_path: Path) -> list[tuple[str, list[str]]]:
    """The write commands each fault is tried with."""
    big = tmp_path / "big.txt"
    big.write_bytes(os.urandom(1_500_000))
    return [
        ("party add", ["party", "add", "CN", "--name", "China"]),
        ("doc revise", ["doc", "revise", "conv", "--file", str(big), "--as", "drafter"]),
        ("doc advance", ["doc", "advance", "conv", "withdraw", "--as", "sec"]),
    ]


def can_mount() -> bool:
    probe = Path("/tmp") / f"doctrack-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], check=True)
        return True
    except OSError:
        return False
    finally:
        probe.rmdir()


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# -- read-only ------------------------------------------------------------------------------


def test_a_read_only_database_refuses_writes_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "ro" / "doctrack.db"
    db.parent.mkdir()
    url = make_world(db)
    before = snapshot(url)
    variants = [("sqlite mode=ro", f"sqlite:///file:{db}?mode=ro&uri=true")]
    tried = 0
    for name, ro_url in variants:
        for _what, args in writes(url, tmp_path):
            failed_cleanly(cli(ro_url, *args), "the database is read-only")
            tried += 1
        assert cli(ro_url, "doc", "show", "conv").exit_code == 0, name
    if os.geteuid() != 0:
        db.chmod(0o444)
        db.parent.chmod(0o555)
        try:
            for _what, args in writes(url, tmp_path):
                failed_cleanly(cli(url, *args), "read-only")
                tried += 1
            variants.append(("chmod", url))
        finally:
            db.parent.chmod(0o755)
            db.chmod(0o644)
    elif can_mount():
        with tmpfs(tmp_path / "rofs", "4m") as fs:
            shutil.copy(db, fs / "doctrack.db")
            subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
            fs_url = f"sqlite:///{fs / 'doctrack.db'}"
            for _what, args in writes(url, tmp_path):
                failed_cleanly(cli(fs_url, *args), "read-only")
                tried += 1
            variants.append(("read-only filesystem", fs_url))
    assert snapshot(url) == before
    record(
        "faults_sqlite_read_only",
        variants=[v for v, _ in variants],
        writes_refused=tried,
        rows_changed=0,
    )


# -- full disk ------------------------------------------------------------------------------


@pytest.fixture
def page_limit() -> Iterator[None]:
    """Every new SQLite connection may not grow its file beyond its current size."""

    def limit(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(Pool, "connect", limit)
    yield
    event.remove(Pool, "connect", limit)


def test_a_full_database_refuses_growth_in_one_line(tmp_path: Path, page_limit: None) -> None:
    url = make_world(tmp_path / "doctrack.db")
    before = snapshot(url)
    what, args = writes(url, tmp_path)[1]  # 1.5 MB of revision: it must grow
    failed_cleanly(cli(url, *args), "the database is full")
    assert snapshot(url) == before
    assert cli(url, "doc", "show", "conv").exit_code == 0
    record("faults_sqlite_max_page_count", command=what, refused=1, rows_changed=0)


def test_a_full_filesystem_refuses_growth_in_one_line(tmp_path: Path) -> None:
    if not can_mount():
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    with tmpfs(tmp_path / "small", "2m") as fs:
        url = make_world(fs / "doctrack.db")
        before = snapshot(url)
        try:
            with (fs / "filler").open("wb") as out:
                while True:
                    out.write(b"\0" * 4096)
                    out.flush()
        except OSError:
            pass  # the filesystem is full
        what, args = writes(url, tmp_path)[1]
        line = failed_cleanly(cli(url, *args), "is full")
        reading = cli(url, "doc", "show", "conv")  # WAL mode: even reads need room for -shm
        if reading.exit_code != 0:
            failed_cleanly(reading, "is full")
        (fs / "filler").unlink()
        assert snapshot(url) == before
        assert cli(url, "doc", "show", "conv").exit_code == 0
    record("faults_sqlite_full_filesystem", command=what, error=line, refused=1, rows_changed=0)


# -- locked ---------------------------------------------------------------------------------


def test_a_lock_held_past_the_busy_timeout_refuses_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "doctrack.db"
    url = make_world(db)
    before = snapshot(url)
    holder = sqlite3.connect(db, isolation_level=None)
    refused = 0
    try:
        holder.execute("BEGIN IMMEDIATE")
        for _what, args in writes(url, tmp_path):
            failed_cleanly(
                cli(url, *args, env={"DOCTRACK_BUSY_TIMEOUT": "1"}), "locked by another process"
            )
            refused += 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert snapshot(url) == before
    assert cli(url, "party", "add", "CN", "--name", "China").exit_code == 0
    record("faults_sqlite_locked", writes_refused=refused, rows_changed=0)
