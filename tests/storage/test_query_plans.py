"""The hot queries use indexes: no full scan of the big tables, checked with EXPLAIN.

Each hot operation runs through the public API on a small generated database
(``bench.generate``) while a ``before_cursor_execute`` listener records the SQL doctrack
sends, with its parameters; each statement is then explained as it was sent. SQLite: no
``SCAN <table>`` of a big table without an index (``EXPLAIN QUERY PLAN``). PostgreSQL: no
``Seq Scan`` on a big table; on tables this small the planner prefers a sequential scan
even where an index would serve, so the plans are made with ``enable_seqscan = off``, which
leaves a sequential scan only where no index can be used at all.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, select

import doctrack
from doctrack.clock import FixedClock
from doctrack.config import Settings
from doctrack.engine.registry import Workflows
from doctrack.services.emails import templates_folder
from doctrack.services.notify import Delivery, Outcome
from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.services.tracking import Tracker
from doctrack.storage import reminders as reminder_store
from doctrack.storage.tables import SUMMIT
from doctrack.wiring import make_dispatcher
from helpers import ROOT, WORKFLOWS

if str(ROOT) not in sys.path:  # the benchmarks live beside the package, in the checkout
    sys.path.insert(0, str(ROOT))

from bench.generate import (
    FIXED_SUMMIT,
    LIST_STATE,
    LIST_SUMMIT,
    NOW,
    Generated,
    generate,
)

#: Tables that grow with the database: none of them may be read whole.
BIG = {"instrument", "event", "reminder", "deadline", "position", "revision", "dependency"}
_SKIP = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA|SAVEPOINT|RELEASE|SET)\b", re.IGNORECASE)
_ALIAS = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?\s+AS\s+"?(\w+)"?', re.IGNORECASE)
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")
_PG_SEQ_SCAN = re.compile(r'Seq Scan on "?(\w+)"?')


@dataclass(frozen=True, slots=True)
class Sent:
    sql: str
    params: Any


class NoSender:
    """Accepts every message (nothing is due in these tests, so nothing should come)."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    def send(self, deliveries: Any) -> list[Outcome]:
        self.sent += deliveries
        return [Outcome(d.reminder_id, sent=True) for d in deliveries]


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[Tracker, Generated]]:
    info = generate(db_url, 300, fixed=40, workflows=Workflows.from_folder(WORKFLOWS))
    tracker = doctrack.connect(
        db_url,
        settings=Settings(workflows=str(WORKFLOWS)),
        clock=FixedClock(NOW),
        workflows=Workflows.from_folder(WORKFLOWS),
    )
    try:
        # The write operations below revise, approve and advance this one.
        assert tracker.show(info.show_slug).state == "agreed"
        yield tracker, info
    finally:
        tracker.db.dispose()


def report(tracker: Tracker, **kwargs: Any) -> None:
    reports = StatusReports(tracker.db, tracker.workflows, tracker.clock)
    with reports.open(summit=FIXED_SUMMIT, **kwargs) as status:
        ReportWriter(templates_folder(None), "en").write(status, "json", io.StringIO())


def reminders_run(tracker: Tracker) -> None:
    sender = NoSender()
    settings = Settings(workflows=str(WORKFLOWS))
    assert make_dispatcher(tracker, settings, sender=sender).run().claimed == 0
    assert sender.sent == []


def hot_operations(info: Generated) -> dict[str, Callable[[Tracker], Any]]:
    slug = info.show_slug
    return {
        "doc show": lambda t: t.show(slug),
        "doc list --summit --state --limit --offset": lambda t: list(
            t.list_instruments(summit=LIST_SUMMIT, state=LIST_STATE, limit=50, offset=5)
        ),
        "doc list --summit --limit": lambda t: list(
            t.list_instruments(summit=FIXED_SUMMIT, limit=50)
        ),
        "doc list --state --limit": lambda t: list(t.list_instruments(state="agreed", limit=50)),
        "doc list --limit --offset": lambda t: list(t.list_instruments(limit=50, offset=100)),
        "doc list --summit --state --after": lambda t: list(
            t.list_instruments(summit=LIST_SUMMIT, state=LIST_STATE, limit=50, after="m")
        ),
        "deadlines --overdue --summit": lambda t: list(
            t.deadlines(summit=FIXED_SUMMIT, overdue=True)
        ),
        "deadlines --overdue": lambda t: list(t.deadlines(overdue=True)),
        "doc history": lambda t: t.history(slug),
        "reminders run (nothing due)": reminders_run,
        "report status --summit": report,
        "report status --summit --as-of (rebuilt from the history)": lambda t: report(
            t, as_of=date(2016, 5, 1)
        ),
        # The write paths on the same indexes: a draft, a position on it, a transition.
        "doc revise": lambda t: t.revise(
            slug, content=b"Draft for the plans test.\n", filename="plans.txt", as_user="coord"
        ),
        "doc position": lambda t: t.record_position(slug, "KZ", "approve", as_user="kz"),
        "doc advance": lambda t: t.advance(slug, "approve", as_user="sec"),
    }


def capture(tracker: Tracker, operation: Callable[[Tracker], Any]) -> list[Sent]:
    sent: list[Sent] = []

    def on_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        params = parameters[0] if many and parameters else parameters
        sent.append(Sent(statement, params))

    engine = tracker.db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        operation(tracker)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    unique: dict[str, Sent] = {}
    for s in sent:
        if _SKIP.match(s.sql) or "alembic_version" in s.sql:
            continue
        unique.setdefault(s.sql, s)
    return list(unique.values())


def _tables(sql: str) -> dict[str, str]:
    """Name in the plan (a table or its alias) to the table."""
    names = {t: t for t in BIG | {"summit", "party", "app_user", "user_role"}}
    names.update({alias: table for table, alias in _ALIAS.findall(sql)})
    return names


def full_scans(
    tracker: Tracker, statement: Sent, *, pg_off: tuple[str, ...] = ("enable_seqscan",)
) -> tuple[list[str], list[str]]:
    """(big tables read whole, the plan's lines) of one statement as it was sent;
    PostgreSQL plans it with the ``pg_off`` plan types off."""
    plan: list[str] = []
    scanned: list[str] = []
    with tracker.db.engine.connect() as conn:  # left without a commit: rolled back
        if tracker.db.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement.sql}", statement.params)
            plan = [str(r[3]) for r in rows]
            names = _tables(statement.sql)
            for line in plan:
                m = _SQLITE_SCAN.match(line)
                if m and names.get(m.group(1)) in BIG and " USING " not in line:
                    scanned.append(names[m.group(1)])
        else:
            for setting in pg_off:
                conn.exec_driver_sql(f"SET LOCAL {setting} = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement.sql}", statement.params)
            plan = [str(r[0]) for r in rows]
            for line in plan:
                m = _PG_SEQ_SCAN.search(line)
                if m and m.group(1) in BIG:
                    scanned.append(m.group(1))
    return scanned, plan


def test_hot_operations_read_no_big_table_whole(world: tuple[Tracker, Generated]) -> None:
    tracker, info = world
    problems: list[str] = []
    for name, operation in hot_operations(info).items():
        statements = capture(tracker, operation)
        on_big = [s for s in statements if any(re.search(rf'\b"?{t}"?\b', s.sql) for t in BIG)]
        assert on_big, f"{name}: no statement on a big table was captured"
        for statement in on_big:
            scanned, plan = full_scans(tracker, statement)
            if scanned:
                sql = " ".join(statement.sql.split())
                lines = "\n    ".join(plan)
                problems.append(f"{name}: reads {', '.join(scanned)} whole:\n  {sql}\n    {lines}")
    assert not problems, "\n\n".join(problems)


def test_a_page_of_a_filtered_list_is_read_in_index_order(
    world: tuple[Tracker, Generated],
) -> None:
    """``doc list`` by summit and/or state, a page at a time, reads the page from an index in
    slug order instead of sorting every match (which grows with the summit). On tables this
    small PostgreSQL would rather sort the few matches: it plans with sorts off, which leaves
    a sort only where no index gives the order."""
    tracker, _ = world
    pages: dict[tuple[str, ...], Callable[[Tracker], Any]] = {
        ("summit_id", "state"): lambda t: list(
            t.list_instruments(summit=LIST_SUMMIT, state=LIST_STATE, limit=50)
        ),
        ("summit_id",): lambda t: list(t.list_instruments(summit=LIST_SUMMIT, limit=50)),
        ("state",): lambda t: list(t.list_instruments(state=LIST_STATE, limit=50)),
    }
    for columns, operation in pages.items():
        [listing] = [s for s in capture(tracker, operation) if "FROM instrument" in s.sql]
        _, plan = full_scans(tracker, listing, pg_off=("enable_seqscan", "enable_sort"))
        text = "\n".join(plan)
        name = " and ".join(columns)
        assert "TEMP B-TREE" not in text, f"{name}: sorts every match:\n{text}"
        assert not re.search(r"\bSort\b", text), f"{name}: sorts every match:\n{text}"
        # ... and finds the matches through the index, not by filtering every instrument.
        found = "\n".join(
            line for line in plan if line.startswith("SEARCH instrument") or "Index Cond" in line
        )
        for column in columns:
            assert column in found, f"{name}: {column} is not looked up in an index:\n{text}"


def test_the_changes_of_a_summit_are_found_through_the_summit(
    world: tuple[Tracker, Generated],
) -> None:
    """The status report's "what changed" reads the summit's own events and its instruments'
    events, not every event of the time window (which grows with every other summit).
    PostgreSQL chooses between the two by cost, both indexed: checked on SQLite."""
    tracker, _ = world
    if not tracker.db.is_sqlite:
        pytest.skip("PostgreSQL picks the window or the summit's instruments by their cost")
    [changes] = [s for s in capture(tracker, report) if "UNION ALL" in s.sql]
    _, plan = full_scans(tracker, changes)
    text = "\n".join(plan)
    assert "ix_event_summit" in text, text
    assert "ix_event_instrument" in text, text
    assert "ix_event_at" not in text, text


def test_a_summits_own_reminders_are_found_by_summit_and_kind(
    world: tuple[Tracker, Generated],
) -> None:
    """Moving a summit re-plans its summit reminders: found through (summit_id, kind), not
    by reading every deadline reminder of the summit's instruments."""
    tracker, _ = world
    summit = tracker.list_summits()[0]

    def summit_reminders(t: Tracker) -> Any:
        with t.db.read() as conn:
            summit_id = conn.execute(
                select(SUMMIT.c.id).where(SUMMIT.c.slug == summit.slug)
            ).scalar_one()
            return reminder_store.for_summit(conn, summit_id)

    [statement] = [s for s in capture(tracker, summit_reminders) if "FROM reminder" in s.sql]
    _, plan = full_scans(tracker, statement)
    text = "\n".join(plan)
    if tracker.db.is_sqlite:
        assert "ix_reminder_summit_kind (summit_id=? AND kind=?)" in text, text
    else:
        conditions = "\n".join(line for line in plan if "Index Cond" in line)
        assert "summit_id" in conditions and "kind" in conditions, text
