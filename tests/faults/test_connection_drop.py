"""The connection dropped in the middle of a use case (PostgreSQL).

At the Nth statement of a use case, for every N until the use case runs through, the
backend serving it is terminated from a second connection (``pg_terminate_backend``, what a
server restart or a network cut does). Each time: a one-line :class:`ConnectionLostError`,
and every row of every table as it was before. Then the same tracker works again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from faults_support import record, terminate_backends
from sqlalchemy import event

from doctrack.errors import ConnectionLostError
from doctrack.services.tracking import Tracker
from helpers import approve_all, snapshot

POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
LOST = "database connection lost; nothing was changed, try again"


class Killer:
    """Terminates the tracker's backend just before its ``at``-th statement (1-based)."""

    def __init__(self, tracker: Tracker, url: str) -> None:
        self.engine = tracker.db.engine
        self.url = url
        self.at = 0
        self.seen = 0
        self.fired = False

    def arm(self, at: int) -> None:
        self.at, self.seen, self.fired = at, 0, False

    def __call__(self, conn: Any, *_args: Any) -> None:
        self.seen += 1
        if self.seen == self.at and not self.fired:
            self.fired = True
            pid = conn.connection.dbapi_connection.info.backend_pid
            assert terminate_backends(self.url, pid=pid) == 1


@pytest.fixture
def killer(world: Tracker, db_url: str) -> Iterator[Killer]:
    k = Killer(world, db_url)
    event.listen(k.engine, "before_cursor_execute", k)
    yield k
    event.remove(k.engine, "before_cursor_execute", k)


def every_statement(killer: Killer, url: str, use_case: Callable[[], object]) -> int:
    """Drop the connection at statement 1, 2, ... of ``use_case`` until it runs through
    without reaching N; returns the number of faults injected."""
    faults = 0
    for at in range(1, 500):
        before = snapshot(url)
        killer.arm(at)
        try:
            use_case()
        except ConnectionLostError as exc:
            assert killer.fired
            assert str(exc) == LOST
            assert exc.exit_code == 3
            assert snapshot(url) == before, f"statement {at}: rows changed after the drop"
            faults += 1
            continue
        assert not killer.fired, f"statement {at}: the drop went unnoticed"
        killer.arm(0)
        return faults
    raise AssertionError("the use case never ran through")


@POSTGRES_ONLY
def test_a_dropped_connection_at_any_statement_changes_nothing(
    world: Tracker, killer: Killer, db_url: str
) -> None:
    t = world
    t.add_instrument(
        "conv", title="Convention", workflow="convention", summit="t16", lead="KZ", actor="s"
    )
    killer.arm(0)
    use_cases: list[tuple[str, Callable[[], object]]] = [
        ("revise", lambda: t.revise("conv", content=b"v1", filename="v1.txt", as_user="drafter")),
        ("advance submit", lambda: t.advance("conv", "submit", as_user="coord")),
        ("position", lambda: t.record_position("conv", "KZ", "approve", as_user="kz")),
        ("approve all, no fault", lambda: approve_all(t, "conv")),
        ("advance agree", lambda: t.advance("conv", "agree", as_user="coord", comment="ok")),
        ("retarget", lambda: t.retarget("conv", summit="a17", as_user="sec", comment="later")),
        ("summit move", lambda: t.move_summit("a17", starts=date(2017, 7, 1), as_user="sec")),
        ("advance approve", lambda: t.advance("conv", "approve", as_user="sec")),
        ("show", lambda: t.show("conv")),
    ]
    faults: dict[str, int] = {}
    for name, use_case in use_cases:
        if name.endswith("no fault"):  # several use cases: not one transaction
            killer.arm(0)
            use_case()
            continue
        faults[name] = every_statement(killer, db_url, use_case)
        assert faults[name] >= 1, f"{name}: no statement was interrupted"
    shown = t.show("conv")
    assert (shown.state, shown.version) == ("approved", 1 + 1 + 1 + 1 + 6 + 1 + 1 + 1)
    history = t.history("conv")
    assert len(history) == shown.version
    record(
        "faults_connection_drop",
        backend="postgresql",
        use_cases=len(faults),
        faults_injected=sum(faults.values()),
        per_use_case=faults,
        rows_changed_by_a_fault=0,
    )
