"""Constants and small helpers for the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection

from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "workflows"
#: The ``clock`` fixture's time: 1 March 2016, 06:00 UTC.
START = datetime(2016, 3, 1, 6, 0, tzinfo=UTC)
PARTIES = {
    "CN": "People's Republic of China",
    "KG": "Kyrgyz Republic",
    "KZ": "Republic of Kazakhstan",
    "RU": "Russian Federation",
    "TJ": "Republic of Tajikistan",
    "UZ": "Republic of Uzbekistan",
}


#: Every row of every doctrack table, by table name.
Rows = dict[str, list[tuple[Any, ...]]]


def every_row(conn: Connection) -> Rows:
    """Every row of every doctrack table, in primary-key order."""
    return {
        table.name: [
            tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in METADATA.sorted_tables
    }


def snapshot(url: str) -> Rows:
    """:func:`every_row` of the database at ``url``, read on a fresh engine."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return every_row(conn)
    finally:
        engine.dispose()


def approve_all(tracker: Tracker, slug: str) -> None:
    """Every party's delegate approves the current revision."""
    for code in PARTIES:
        tracker.record_position(slug, code, "approve", as_user=code.lower())
