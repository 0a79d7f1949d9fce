"""Shared by the property tests: a seeded world restored per example, row snapshots, figures.

Seeding the world through the Tracker costs about a second per example on PostgreSQL; the
property tests seed it once, keep its rows, and put exactly those rows back (same ids, same
hash chains, same sequences) before every example.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA
from helpers import PARTIES, Rows, every_row

#: The world's summits: slug -> (zone, first day); each lasts two days.
SUMMITS = {"t16": ("Asia/Tashkent", date(2016, 6, 23)), "a17": ("Asia/Almaty", date(2017, 6, 8))}
#: The world's staff: user name -> role.
STAFF = {"drafter": "drafter", "coord": "coordinator", "sec": "secretary", "admin": "admin"}


def seed_world(t: Tracker, workflows: list[str]) -> list[str]:
    """Parties, one user per staff role, a delegate per party, two summits, and one
    instrument per workflow with a first draft. Returns the instruments' slugs."""
    for code, name in PARTIES.items():
        t.add_party(code, name=name, actor="setup")
    for name, role in STAFF.items():
        t.add_user(name, email=f"{name}@example.org", roles=[role], actor="setup")
    for code in PARTIES:
        t.add_user(
            code.lower(),
            email=f"{code.lower()}@e.org",
            roles=["delegate"],
            party=code,
            actor="setup",
        )
    for slug, (tz, starts) in SUMMITS.items():
        t.add_summit(
            slug,
            title="Council",
            city="City",
            starts=starts,
            ends=starts + timedelta(days=1),
            tz=tz,
            actor="setup",
        )
    slugs = []
    for n, workflow in enumerate(workflows):
        slug = f"w{n}"
        t.add_instrument(slug, title="First", workflow=workflow, summit="t16", lead="KZ", actor="s")
        t.revise(slug, content=b"first draft", filename="d.txt", as_user="drafter")
        slugs.append(slug)
    return slugs


def snapshot(engine: Engine) -> Rows:
    """Every row of every doctrack table, in primary-key order."""
    with engine.connect() as conn:
        return every_row(conn)


def sqlite_restorer(url: str, template: Path) -> Callable[[], None]:
    """Put the database file at ``url`` back to a copy of ``template``."""
    target = Path(url.removeprefix("sqlite:///"))

    def restore() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{template}{suffix}").exists():
                shutil.copy(f"{template}{suffix}", f"{target}{suffix}")

    return restore


def postgres_restorer(url: str, rows: Rows) -> Callable[[], None]:
    """Put ``rows`` back as the whole content of the PostgreSQL database at ``url``.

    Foreign keys are not checked while the rows go in (``session_replication_role``: the
    tests' server user is a superuser); each id sequence continues after its table's ids.
    """

    def restore() -> None:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in reversed(METADATA.sorted_tables):
                    conn.execute(table.delete())
                for table in METADATA.sorted_tables:
                    names = [c.name for c in table.columns]
                    if rows[table.name]:
                        conn.execute(
                            insert(table),
                            [dict(zip(names, r, strict=True)) for r in rows[table.name]],
                        )
                    if "id" in names:
                        conn.execute(
                            text(
                                "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                                "coalesce(max(id), 0) + 1, false) FROM " + f'"{table.name}"'
                            ),
                            {"t": f'"{table.name}"'},
                        )
        finally:
            engine.dispose()

    return restore


def record(name: str, figures: dict[str, Any]) -> None:
    """Print one ``FIGURES`` line; also write ``$DOCTRACK_TEST_ARTIFACTS/<name>.json``."""
    sys.stdout.write(f"\nFIGURES {name}: {json.dumps(figures, sort_keys=True)}\n")
    folder = os.environ.get("DOCTRACK_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(
            json.dumps({"test": name, **figures}, indent=2, sort_keys=True) + "\n"
        )
