"""Fixtures of the rendered-report tests: SQLite only, the season, one browser per session.

The report's SQL runs on both backends in tests/services/test_status_report.py; here the
subject is what a browser or WeasyPrint makes of the output, so ``db_url`` is SQLite only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_support import populate

import doctrack
from browser_support import artifacts_dir
from doctrack.services.tracking import Tracker


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """An empty, migrated SQLite database (overrides the two-backend fixture)."""
    url = f"sqlite:///{tmp_path / 'doctrack.db'}"
    doctrack.init_database(url)
    return url


@pytest.fixture
def season(world: Tracker) -> Tracker:
    """The world with the instruments of report_support.populate, clock on 20 May 2016."""
    return populate(world)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $DOCTRACK_TEST_ARTIFACTS, else the test's tmp_path."""
    return artifacts_dir(tmp_path)
