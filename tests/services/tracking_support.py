"""Helpers for the service tests: a full snapshot of what a use case could change, and a way
to drive an instrument to any state of its workflow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from doctrack.clock import FixedClock
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA
from helpers import PARTIES, approve_all

#: Every user of the ``world`` fixture.
USERS = ("drafter", "coord", "sec", "admin", *(code.lower() for code in PARTIES))

#: The transitions taken to reach each state, per workflow (all fired as ``admin``).
PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "convention": {
        "drafting": (),
        "expert_review": ("submit",),
        "agreed": ("submit", "agree"),
        "approved": ("submit", "agree", "approve"),
        "signed": ("submit", "agree", "approve", "sign"),
        "in_force": ("submit", "agree", "approve", "sign", "enter_into_force"),
        "withdrawn": ("withdraw",),
    },
    "programme": {
        "drafting": (),
        "expert_review": ("submit",),
        "agreed": ("submit", "agree"),
        "approved": ("submit", "agree", "approve"),
        "adopted": ("submit", "agree", "approve", "adopt"),
        "withdrawn": ("withdraw",),
    },
}
_IN_SESSION = {"sign", "adopt"}


def tables(t: Tracker) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with t.db.read() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in METADATA.sorted_tables
        }


def snapshot(t: Tracker) -> dict[str, Any]:
    """What the use cases show, plus every row: equal snapshots mean nothing changed."""
    instruments = [s.to_json() for s in t.list_instruments()]
    return {
        "instruments": instruments,
        "show": {i["slug"]: t.show(i["slug"]).to_json() for i in instruments},
        "history": {i["slug"]: len(t.history(i["slug"])) for i in instruments},
        "summits": [s.to_json() for s in t.list_summits()],
        "users": t.list_users(),
        "parties": t.list_parties(),
        "deadlines": [d.to_json() for d in t.deadlines()],
        "tables": tables(t),
    }


@contextmanager
def unchanged(t: Tracker) -> Iterator[None]:
    """The block leaves every table and every view as it was."""
    before = snapshot(t)
    yield
    assert snapshot(t) == before


E = TypeVar("E", bound=Exception)


def refused(
    t: Tracker, error: type[E], action: Callable[[], object], match: str | None = None
) -> E:
    """``action`` raises ``error`` (with ``match`` in its message) and changes nothing."""
    with unchanged(t), pytest.raises(error, match=match) as caught:
        action()
    return caught.value


def local(text: str) -> datetime:
    """An aware datetime from ISO-8601 text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def set_clock(t: Tracker, when: datetime | str) -> None:
    """Move the tracker's fixed clock to ``when`` (ISO-8601 text needs an offset)."""
    assert isinstance(t.clock, FixedClock)
    t.clock.set(local(when) if isinstance(when, str) else when)


def session_time(t: Tracker, summit: str) -> datetime:
    """Noon on the first day of ``summit``, in its zone."""
    s = t.get_summit(summit)
    return datetime.combine(s.starts, time(12, 0), tzinfo=ZoneInfo(s.tz))


def add(
    t: Tracker,
    slug: str,
    workflow: str = "convention",
    *,
    summit: str = "t16",
    lead: str | None = "KZ",
    depends_on: tuple[str, ...] = (),
) -> None:
    t.add_instrument(
        slug,
        title=f"Instrument {slug}",
        workflow=workflow,
        summit=summit,
        lead=lead,
        depends_on=depends_on,
        actor="setup",
    )


def reach(t: Tracker, slug: str, state: str, *, revise: bool = True) -> None:
    """Drive ``slug`` from its initial state to ``state``; the clock moves into the summit's
    session when the path crosses a transition that needs it."""
    view = t.show(slug)
    if revise:
        t.revise(slug, content=f"draft of {slug}".encode(), filename="draft.txt", as_user="drafter")
    for trigger in PATHS[view.workflow][state]:
        prepare(t, slug, trigger)
        t.advance(slug, trigger, as_user="admin")
    assert t.show(slug).state == state


def prepare(t: Tracker, slug: str, trigger: str) -> None:
    """Make the guards of ``trigger`` hold: every party approves before ``agree``; the clock
    moves into the summit's session before ``sign`` and ``adopt``."""
    if trigger == "agree":
        approve_all(t, slug)
    if trigger in _IN_SESSION:
        set_clock(t, session_time(t, t.show(slug).summit))


def create(t: Tracker, slug: str, state: str, workflow: str = "convention", **kw: Any) -> None:
    """Add ``slug`` and drive it to ``state``."""
    add(t, slug, workflow, **kw)
    reach(t, slug, state)
