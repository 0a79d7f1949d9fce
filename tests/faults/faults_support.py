"""Shared by the fault tests: PostgreSQL admin helpers, figures.

Each fault test ends with one ``FIGURES`` line (shown by ``pytest -s``) and, when
``DOCTRACK_TEST_ARTIFACTS`` names a folder, writes the same figures to
``<folder>/<test>.json`` for SECURITY.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpers import ROOT, WORKFLOWS


def terminate_backends(url: str, *, pid: int | None = None) -> int:
    """Terminate one backend (``pid``) or every other backend of ``url``'s database, as a
    server restart does to its clients; waits until each is gone. Returns how many."""
    database = make_url(url).database
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if pid is not None:
                done = conn.execute(
                    text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}
                ).scalar()
                return 1 if done else 0
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).all()
            )
    finally:
        admin.dispose()


def backends(url: str) -> int:
    """How many other sessions are connected to ``url``'s database."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": make_url(url).database},
                ).scalar_one()
            )
    finally:
        admin.dispose()


def process_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m doctrack`` child: this checkout, ``url``, nothing
    else of the caller's DOCTRACK_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return env | {
        "PYTHONPATH": os.pathsep.join(paths),
        "DOCTRACK_DATABASE_URL": url,
        "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
        "DOCTRACK_MAIL_FROM": "doctrack@example.org",
        **extra,
    }


def record(test: str, **figures: Any) -> None:
    """Print the test's figures on one line; also write them as JSON when asked to."""
    line = ", ".join(f"{k}={v}" for k, v in figures.items())
    sys.stdout.write(f"\nFIGURES {test}: {line}\n")
    folder = os.environ.get("DOCTRACK_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{test}.json").write_text(
            json.dumps({"test": test, **figures}, indent=2, default=str) + "\n"
        )
