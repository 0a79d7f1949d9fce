"""Constants and small helpers for the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from doctrack.services.tracking import Tracker

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


def approve_all(tracker: Tracker, slug: str) -> None:
    """Every party's delegate approves the current revision."""
    for code in PARTIES:
        tracker.record_position(slug, code, "approve", as_user=code.lower())
