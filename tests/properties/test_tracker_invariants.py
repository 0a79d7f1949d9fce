"""Property-based: random operations by random users on instruments of random workflows.

A hypothesis ``RuleBasedStateMachine`` drives the Tracker API: advance, record a position,
revise, retarget, move a summit, add a user, grant or revoke a role, let time pass. The
choices are steered so that instruments travel: ``advance`` mostly picks a trigger whose
source is the current state and a user holding its role, and sometimes first makes its
guards hold (every party approves; the clock goes to the summit's days, moving a summit
that is over to a later date). After every step it checks, for every instrument:

- its state is the last transition's destination (the initial state before any);
- its version is the number of its events;
- its deadlines are the due times computed afresh from its summit, met at its first entry
  into the milestone state;
- its pending reminders are what its deadlines, state and the users' roles call for,
  computed here from scratch (and so are the summits' own reminders);

and that every refused operation (a ``DoctrackError``) changed no row of any table.
Runs on SQLite and PostgreSQL; ``DOCTRACK_HYPOTHESIS_EXAMPLES`` sets the number of examples
(default 20, of up to ``DOCTRACK_HYPOTHESIS_STEPS`` = 30 steps). The ``FIGURES`` line gives
the steps and successes per operation, the transitions that fired, the final states reached
and the refusals.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from properties_support import (
    STAFF,
    SUMMITS,
    Rows,
    postgres_restorer,
    record,
    seed_world,
    snapshot,
    sqlite_restorer,
)
from sqlalchemy import create_engine

import doctrack
from doctrack.clock import FixedClock
from doctrack.domain import EventKind
from doctrack.engine.deadlines import due_times
from doctrack.engine.definition import TransitionDef
from doctrack.engine.registry import Workflows
from doctrack.errors import DoctrackError
from doctrack.services.planning import ReminderSettings
from doctrack.services.reminders import ReminderDesk
from doctrack.services.tracking import Tracker
from doctrack.services.views import InstrumentView
from doctrack.timerules import local_instant, reminder_time, to_local
from helpers import PARTIES, START, WORKFLOWS

EXAMPLES = int(os.environ.get("DOCTRACK_HYPOTHESIS_EXAMPLES", "20"))
STEPS = int(os.environ.get("DOCTRACK_HYPOTHESIS_STEPS", "30"))
FLOWS = Workflows.from_folder(WORKFLOWS)
ROLES = ["drafter", "coordinator", "secretary", "admin", "delegate"]
USERS = [*STAFF, *(c.lower() for c in PARTIES)]
TRIGGERS = sorted({t.trigger for name in FLOWS.names() for t in FLOWS.get(name).transitions})
COUNTS: Counter[str] = Counter()


def _holders(roles: tuple[str, ...]) -> list[str]:
    """The world's staff users whose role is one of ``roles`` (admin may do everything)."""
    return [name for name, role in STAFF.items() if role in roles or role == "admin"]


class TrackerMachine(RuleBasedStateMachine):
    url: ClassVar[str]
    restore: ClassVar[Callable[[], None]]
    world: ClassVar[list[str]]

    def __init__(self) -> None:
        super().__init__()
        type(self).restore()
        self.clock = FixedClock(START)
        self.t: Tracker = doctrack.connect(self.url, clock=self.clock, workflows=FLOWS)
        self.raw = create_engine(self.url)
        self.slugs: list[str] = list(self.world)
        self.users = list(USERS)
        self.closed: set[str] = set()  # instruments that reached a final state
        self.rows: Rows | None = None  # every row after the last change (for refusals)
        COUNTS["examples"] += 1

    def teardown(self) -> None:
        for slug in self.slugs:
            shown = self.t.show(slug)
            COUNTS[f"ended in {shown.workflow}.{shown.state}"] += 1
        self.t.db.dispose()
        self.raw.dispose()

    # -- helpers ------------------------------------------------------------------------------

    def _try(self, op: str, call: Callable[[], Any]) -> bool:
        """Run one operation; a refusal must leave every row as it was. True: it was done."""
        COUNTS["steps"] += 1
        COUNTS[f"tried {op}"] += 1
        before = self.rows if self.rows is not None else snapshot(self.raw)
        try:
            call()
        except DoctrackError:
            COUNTS["refused"] += 1
            COUNTS[f"refused {op}"] += 1
            assert snapshot(self.raw) == before, f"refused {op} changed rows"
            self.rows = before
            return False
        COUNTS[f"ok {op}"] += 1
        self.rows = None
        return True

    def _user(self, data: st.DataObject, allowed: list[str]) -> str:
        """Mostly one of ``allowed``, sometimes anyone (to be refused, or not)."""
        if allowed and data.draw(st.integers(0, 5), label="anyone") != 5:
            return data.draw(st.sampled_from(allowed))
        return data.draw(st.sampled_from(self.users))

    def _all_approve(self, slug: str, shown: InstrumentView) -> None:
        """Each party without an ``approve`` on the current revision approves it."""
        approved = {p.party for p in shown.positions if p.stance == "approve"}
        for code in sorted(set(PARTIES) - approved):
            self._try("position", self._approval(slug, code))

    def _draft(self, slug: str) -> Callable[[], Any]:
        return lambda: self.t.revise(slug, content=b"text", filename="d.txt", as_user="drafter")

    def _approval(self, slug: str, code: str) -> Callable[[], Any]:
        return lambda: self.t.record_position(slug, code, "approve", as_user=code.lower())

    def _to_summit(self, data: st.DataObject, summit: str) -> None:
        """Move the clock into the summit's days; a summit that is over moves later first."""
        view = self.t.get_summit(summit)
        now = self.clock.now()
        today = to_local(now, view.tz).date()
        if view.starts <= today <= view.ends:
            return
        if today > view.ends:
            starts = today + timedelta(days=data.draw(st.integers(1, 90)))
            if not self._try(
                "move_summit", lambda: self.t.move_summit(summit, starts=starts, as_user="sec")
            ):
                return
            view = self.t.get_summit(summit)
        days = (view.ends - view.starts).days + 1
        at = local_instant(view.starts, time(0), view.tz) + timedelta(
            hours=data.draw(st.integers(0, 24 * days - 1))
        )
        self.clock.set(max(at, now))
        COUNTS["clock to summit"] += 1

    # -- operations -------------------------------------------------------------------------

    @rule(
        workflow=st.sampled_from(FLOWS.names()),
        summit=st.sampled_from(sorted(SUMMITS)),
        lead=st.none() | st.sampled_from(sorted(PARTIES)),
    )
    def add_instrument(self, workflow: str, summit: str, lead: str | None) -> None:
        slug = f"i{len(self.slugs)}"
        self.t.add_instrument(
            slug, title=slug, workflow=workflow, summit=summit, lead=lead, actor="setup"
        )
        COUNTS["ok add_instrument"] += 1
        self.rows = None
        self.slugs.append(slug)

    def _open(self, data: st.DataObject) -> str:
        """Mostly an instrument not (known to be) in a final state; sometimes any."""
        open_ = [s for s in self.slugs if s not in self.closed]
        if not open_:  # every instrument is done: a new one keeps the run going
            self.add_instrument(data.draw(st.sampled_from(FLOWS.names())), "t16", "KZ")
            open_ = self.slugs[-1:]
        if data.draw(st.integers(0, 5), label="any instrument") != 5:
            return data.draw(st.sampled_from(open_))
        return data.draw(st.sampled_from(self.slugs))

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        slug = self._open(data)
        shown = self.t.show(slug)
        wf = FLOWS.get(shown.workflow)
        order = list(wf.states)  # forward moves first: hypothesis favours the first choices
        here = sorted(
            (t for t in wf.transitions if shown.state in t.sources),
            key=lambda t: -order.index(t.dest),
        )
        if len(here) > 1 and data.draw(st.integers(0, 4), label="withdraw too") != 4:
            here = [t for t in here if not wf.is_final(t.dest) or wf.is_adopted(t.dest)]
        if not here or data.draw(st.integers(0, 7), label="any trigger") == 7:
            trigger = data.draw(st.sampled_from(TRIGGERS))
            found = [t for t in wf.transitions if t.trigger == trigger]
            move: TransitionDef | None = found[0] if found else None
        else:
            move = data.draw(st.sampled_from(here))
            trigger = move.trigger
        if move is not None and data.draw(st.integers(0, 3), label="leave guards") != 3:
            if "has_revision" in move.when and shown.revision is None:
                self._try("revise", self._draft(slug))
            if "all_parties_approve" in move.when:
                self._all_approve(slug, shown)
            if "summit_in_session" in move.when:
                self._to_summit(data, shown.summit)
        user = self._user(data, _holders(move.roles) if move else [])
        if self._try("advance", lambda: self.t.advance(slug, trigger, as_user=user)):
            COUNTS[f"fired {shown.workflow}.{trigger}"] += 1
            if move is not None and wf.is_final(move.dest):
                self.closed.add(slug)

    @rule(data=st.data(), stance=st.sampled_from(["approve", "approve", "reserve", "object"]))
    def position(self, data: st.DataObject, stance: str) -> None:
        slug = self._open(data)
        party = data.draw(st.sampled_from(sorted(PARTIES)))
        user = self._user(data, [party.lower(), "coord"])
        self._try("position", lambda: self.t.record_position(slug, party, stance, as_user=user))

    @rule(data=st.data())
    def revise(self, data: st.DataObject) -> None:
        slug = self._open(data)
        user = self._user(data, ["drafter", "coord", "sec"])
        self._try(
            "revise", lambda: self.t.revise(slug, content=b"text", filename="d.txt", as_user=user)
        )

    @rule(data=st.data(), summit=st.sampled_from(sorted(SUMMITS)))
    def retarget(self, data: st.DataObject, summit: str) -> None:
        slug = self._open(data)
        if data.draw(st.integers(0, 3), label="same summit") != 3:
            summit = next(s for s in SUMMITS if s != self.t.show(slug).summit)
        user = self._user(data, ["coord", "sec"])
        self._try(
            "retarget", lambda: self.t.retarget(slug, summit=summit, as_user=user, comment="moved")
        )

    @rule(data=st.data(), summit=st.sampled_from(sorted(SUMMITS)), shift=st.integers(-120, 120))
    def move_summit(self, data: st.DataObject, summit: str, shift: int) -> None:
        starts = self.t.get_summit(summit).starts + timedelta(days=shift)
        user = self._user(data, ["coord", "sec"])
        self._try("move_summit", lambda: self.t.move_summit(summit, starts=starts, as_user=user))

    @rule(role=st.sampled_from(ROLES), party=st.sampled_from(sorted(PARTIES)))
    def add_user(self, role: str, party: str) -> None:
        name = f"u{len(self.users)}"
        self._try(
            "add_user",
            lambda: self.t.add_user(
                name, email=f"{name}@e.org", roles=[role], party=party, actor="setup"
            ),
        )
        self.users.append(name)

    @rule(data=st.data(), role=st.sampled_from(ROLES), grant=st.booleans())
    def change_role(self, data: st.DataObject, role: str, grant: bool) -> None:
        user = data.draw(st.sampled_from(self.users))
        change = self.t.grant_role if grant else self.t.revoke_role
        self._try("role", lambda: change(user, role))

    @rule(hours=st.integers(1, 24 * 40))
    def time_passes(self, hours: int) -> None:
        self.clock.set(self.clock.now() + timedelta(hours=hours))
        COUNTS["time passes"] += 1

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def every_instrument_agrees_with_a_fresh_computation(self) -> None:
        shown = {slug: self.t.show(slug) for slug in self.slugs}
        for view in shown.values():
            self._agrees_with_history(view)
        self._pending_reminders_match_a_fresh_plan(shown)
        self.rows = snapshot(self.raw)
        COUNTS["invariant checks"] += 1

    def _agrees_with_history(self, shown: InstrumentView) -> None:
        events = self.t.history(shown.slug)
        wf = FLOWS.get(shown.workflow)
        moves = [e for e in events if e.kind == EventKind.TRANSITION]
        assert shown.state == (moves[-1].to_state if moves else wf.initial)
        assert shown.version == len(events)
        summit = self.t.get_summit(shown.summit)
        due = dict(due_times(wf, starts=summit.starts, ends=summit.ends, tz=summit.tz))
        first_entry: dict[str, datetime] = {}
        for e in moves:
            assert e.to_state is not None
            first_entry.setdefault(e.to_state, e.at)
        assert {d.milestone: (d.due, d.met_at) for d in shown.deadlines} == {
            m: (at, first_entry.get(m)) for m, at in due.items()
        }

    def _pending_reminders_match_a_fresh_plan(self, shown: dict[str, InstrumentView]) -> None:
        now = self.clock.now()
        wanted: Counter[tuple[Any, ...]] = Counter()
        users = self.t.list_users()
        rs = ReminderSettings()
        for summit_view in self.t.list_summits():
            for before in rs.summit_before:
                at = local_instant(
                    summit_view.starts - timedelta(days=before.days), rs.send_time, summit_view.tz
                )
                for u in users:
                    if set(u.roles) & set(rs.summit_to):
                        wanted[("summit", summit_view.slug, u.name, before.days, at)] += 1
        for slug, view in shown.items():
            wf = FLOWS.get(view.workflow)
            if view.final:
                continue
            to = set(wf.reminders.to)
            people = [
                u
                for u in users
                if set(u.roles) & to
                or (
                    "lead_delegate" in to
                    and "delegate" in u.roles
                    and view.lead is not None
                    and u.party_code == view.lead
                )
            ]
            for d in view.deadlines:
                if d.met_at is not None:
                    continue
                for before in wf.reminders.before:
                    at = reminder_time(d.due, before.days, rs.send_time, view.summit_tz)
                    for u in people:
                        wanted[("deadline", slug, u.name, before.days, at)] += 1
        pending: Counter[tuple[Any, ...]] = Counter(
            (r.kind, r.instrument or r.summit, r.user, r.days_before, r.send_at)
            for r in ReminderDesk(self.t.db, self.clock).list(status="pending")
        )
        assert not (pending - wanted), f"pending but not called for: {pending - wanted}"
        due_later = Counter({k: n for k, n in wanted.items() if k[4] > now})
        assert not (due_later - pending), f"called for but not pending: {due_later - pending}"


def _machine(db_url: str, tmp_path: Path) -> type[TrackerMachine]:
    """A machine class whose examples each start from the seeded world on ``db_url``."""
    t = doctrack.connect(db_url, clock=FixedClock(START), workflows=FLOWS)
    try:
        world = seed_world(t, FLOWS.names())
    finally:
        t.db.dispose()
    if db_url.startswith("sqlite"):
        template = Path(db_url.removeprefix("sqlite:///"))
        url = f"sqlite:///{tmp_path / 'example.db'}"
        restore = sqlite_restorer(url, template)
    else:
        engine = create_engine(db_url)
        try:
            restore = postgres_restorer(db_url, snapshot(engine))
        finally:
            engine.dispose()
        url = db_url
    attrs = {"url": url, "restore": staticmethod(restore), "world": world}
    return type("WorldMachine", (TrackerMachine,), attrs)


def test_random_operations_keep_every_invariant(db_url: str, tmp_path: Path) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    COUNTS.clear()
    run_state_machine_as_test(
        _machine(db_url, tmp_path),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    record(f"properties_tracker_{backend}", {"backend": backend, **COUNTS})
    assert COUNTS["examples"] >= EXAMPLES
