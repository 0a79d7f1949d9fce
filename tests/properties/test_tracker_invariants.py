"""Property-based: random operations by random users on instruments of random workflows.

A hypothesis ``RuleBasedStateMachine`` drives the Tracker API (advance any trigger, record a
position, revise, retarget, move a summit, add a user, grant or revoke a role, let time
pass) and after every step checks, for every instrument:

- its state is the last transition's destination (the initial state before any);
- its version is the number of its events;
- its deadlines are the due times computed afresh from its summit, met at its first entry
  into the milestone state;
- its pending reminders are what its deadlines, state and the users' roles call for,
  computed here from scratch (and so are the summits' own reminders);

and that every refused operation (a ``DoctrackError``) changed no row of any table.
Runs on SQLite and PostgreSQL; ``DOCTRACK_HYPOTHESIS_EXAMPLES`` sets the number of examples.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, select, text

import doctrack
from doctrack.clock import FixedClock
from doctrack.domain import EventKind
from doctrack.engine.deadlines import due_times
from doctrack.engine.registry import Workflows
from doctrack.errors import DoctrackError
from doctrack.services.planning import ReminderSettings
from doctrack.services.reminders import ReminderDesk
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA
from doctrack.timerules import local_instant, reminder_time
from helpers import PARTIES, START, WORKFLOWS

EXAMPLES = int(os.environ.get("DOCTRACK_HYPOTHESIS_EXAMPLES", "25"))
STEPS = 25
FLOWS = Workflows.from_folder(WORKFLOWS)
ROLES = ["drafter", "coordinator", "secretary", "admin", "delegate"]
USERS = ["drafter", "coord", "sec", "admin", *(c.lower() for c in PARTIES)]
SUMMITS = {"t16": ("Asia/Tashkent", date(2016, 6, 23)), "a17": ("Asia/Almaty", date(2017, 6, 8))}
TRIGGERS = sorted({t.trigger for name in FLOWS.names() for t in FLOWS.get(name).transitions})
COUNTS: Counter[str] = Counter()


def _snapshot(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in METADATA.sorted_tables
        }


class TrackerMachine(RuleBasedStateMachine):
    url: str
    fresh: Any  # () -> None: an empty migrated database at url

    def __init__(self) -> None:
        super().__init__()
        type(self).fresh()
        self.clock = FixedClock(START)
        self.t: Tracker = doctrack.connect(self.url, clock=self.clock, workflows=FLOWS)
        self.raw = create_engine(self.url)
        self.slugs: list[str] = []
        self.users = list(USERS)
        COUNTS["examples"] += 1

    def teardown(self) -> None:
        self.t.db.dispose()
        self.raw.dispose()

    @initialize()
    def world(self) -> None:
        t = self.t
        for code, name in PARTIES.items():
            t.add_party(code, name=name, actor="setup")
        for name, role in [
            ("drafter", "drafter"),
            ("coord", "coordinator"),
            ("sec", "secretary"),
            ("admin", "admin"),
        ]:
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

        for n, workflow in enumerate(FLOWS.names()):
            t.add_instrument(
                f"w{n}", title="First", workflow=workflow, summit="t16", lead="KZ", actor="setup"
            )
            t.revise(f"w{n}", content=b"first draft", filename="d.txt", as_user="drafter")
            self.slugs.append(f"w{n}")

    # -- operations -------------------------------------------------------------------------

    def _pick(self, data: st.DataObject) -> tuple[str, str]:
        """An instrument, and a user: often one whose roles may act, any user otherwise."""
        slug = data.draw(st.sampled_from(self.slugs))
        if data.draw(st.integers(0, 3)):
            return slug, data.draw(st.sampled_from(["admin", "coord", "sec", "drafter"]))
        return slug, data.draw(st.sampled_from(self.users))

    def _try(self, op: str, call: Any) -> None:
        """Run one operation; a refusal must leave every row as it was."""
        COUNTS["steps"] += 1
        COUNTS[f"tried {op}"] += 1
        before = _snapshot(self.raw)
        try:
            call()
        except DoctrackError:
            COUNTS["refused"] += 1
            assert _snapshot(self.raw) == before, f"refused {op} changed rows"
        else:
            COUNTS[f"ok {op}"] += 1

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
        self.slugs.append(slug)

    @rule(data=st.data(), trigger=st.sampled_from(TRIGGERS))
    def advance(self, data: st.DataObject, trigger: str) -> None:
        if self.slugs:
            slug, user = (
                data.draw(st.sampled_from(self.slugs)),
                data.draw(st.sampled_from(self.users)),
            )
            self._try("advance", lambda: self.t.advance(slug, trigger, as_user=user))

    @rule(
        data=st.data(),
        party=st.sampled_from(sorted(PARTIES)),
        stance=st.sampled_from(["approve", "approve", "reserve", "object"]),
    )
    def position(self, data: st.DataObject, party: str, stance: str) -> None:
        if self.slugs:
            slug, user = (
                data.draw(st.sampled_from(self.slugs)),
                data.draw(st.sampled_from(self.users)),
            )
            user = party.lower() if data.draw(st.booleans()) else user
            self._try("position", lambda: self.t.record_position(slug, party, stance, as_user=user))

    @rule(data=st.data())
    def revise(self, data: st.DataObject) -> None:
        if self.slugs:
            slug, user = (
                data.draw(st.sampled_from(self.slugs)),
                data.draw(st.sampled_from(self.users)),
            )
            self._try(
                "revise",
                lambda: self.t.revise(slug, content=b"text", filename="d.txt", as_user=user),
            )

    @rule(data=st.data(), summit=st.sampled_from(sorted(SUMMITS)))
    def retarget(self, data: st.DataObject, summit: str) -> None:
        if self.slugs:
            slug, user = (
                data.draw(st.sampled_from(self.slugs)),
                data.draw(st.sampled_from(self.users)),
            )
            self._try(
                "retarget",
                lambda: self.t.retarget(slug, summit=summit, as_user=user, comment="moved"),
            )

    @rule(
        summit=st.sampled_from(sorted(SUMMITS)),
        shift=st.integers(-120, 120),
        user=st.sampled_from(USERS),
    )
    def move_summit(self, summit: str, shift: int, user: str) -> None:
        starts = self.t.get_summit(summit).starts + timedelta(days=shift)
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

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def instruments_agree_with_their_history(self) -> None:
        for slug in self.slugs:
            shown = self.t.show(slug)
            events = self.t.history(slug)
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
        COUNTS["invariant checks"] += 1

    @invariant()
    def pending_reminders_match_a_fresh_plan(self) -> None:
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
        for slug in self.slugs:
            shown = self.t.show(slug)
            wf = FLOWS.get(shown.workflow)
            if shown.final:
                continue
            to = set(wf.reminders.to)
            people = [
                u
                for u in users
                if set(u.roles) & to
                or (
                    "lead_delegate" in to
                    and "delegate" in u.roles
                    and shown.lead is not None
                    and u.party_code == shown.lead
                )
            ]
            for d in shown.deadlines:
                if d.met_at is not None:
                    continue
                for before in wf.reminders.before:
                    at = reminder_time(d.due, before.days, rs.send_time, shown.summit_tz)
                    for u in people:
                        wanted[("deadline", slug, u.name, before.days, at)] += 1
        pending: Counter[tuple[Any, ...]] = Counter(
            (r.kind, r.instrument or r.summit, r.user, r.days_before, r.send_at)
            for r in ReminderDesk(self.t.db, self.clock).list(status="pending")
        )
        assert not (pending - wanted), f"pending but not called for: {pending - wanted}"
        due_later = Counter({k: n for k, n in wanted.items() if k[4] > now})
        assert not (due_later - pending), f"called for but not pending: {due_later - pending}"


def _fresh_sqlite(template: Path, target: Path) -> Any:
    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, target)

    return fresh


def _fresh_postgres(url: str) -> Any:
    names = ", ".join(f'"{t.name}"' for t in METADATA.sorted_tables)

    def fresh() -> None:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()

    return fresh


def test_random_operations_keep_every_invariant(db_url: str, tmp_path: Path) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    if backend == "sqlite":
        template = Path(db_url.removeprefix("sqlite:///"))
        target = tmp_path / "example.db"
        machine = type(
            "SqliteMachine",
            (TrackerMachine,),
            {"url": f"sqlite:///{target}", "fresh": staticmethod(_fresh_sqlite(template, target))},
        )
    else:
        machine = type(
            "PostgresMachine",
            (TrackerMachine,),
            {"url": db_url, "fresh": staticmethod(_fresh_postgres(db_url))},
        )
    COUNTS.clear()
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    figures = {"backend": backend, **dict(sorted(COUNTS.items()))}
    sys.stdout.write(f"\nFIGURES properties_tracker_{backend}: {json.dumps(figures)}\n")
    folder = os.environ.get("DOCTRACK_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"properties_tracker_{backend}.json").write_text(json.dumps(figures))
    assert COUNTS["examples"] >= EXAMPLES
