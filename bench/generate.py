"""A doctrack database of N instruments with ~10 events each, written by bulk INSERTs.

The schema is made by doctrack itself (``doctrack.init_database``, the migrations); the rows
go into doctrack's own table objects (``doctrack.storage.tables``) with SQLAlchemy Core
``executemany``, on SQLite or PostgreSQL, a few thousand rows a statement. No SQL is
written by hand except, on PostgreSQL, moving the id sequences past the ids written here.

What is written is a history that doctrack's use cases could have written, move for move:

* six parties, one user per staff role and a delegate per party, created in 2011;
* seven summits (Beijing 2012 ... Qingdao 2018), each with its ``summit_created`` event and
  its summit reminders (30 and 7 days before, to the secretary);
* N instruments of the two packaged workflows. ``FIXED_SUMMIT`` (Tashkent 2016, three weeks
  after ``NOW``) holds the same ``fixed`` instruments at every N, drawn from a random stream
  of its own, so that what a report or a list of that summit returns does not change with N;
  the other N - fixed are spread over the other summits: half over the four past ones
  (mostly signed, in force, adopted or withdrawn; a few left behind, overdue for good), the
  rest over Astana 2017 and Qingdao 2018 (drafting, expert review, a few agreed);
* for each instrument, the ``created`` event, its deadlines, drafts (``revision`` events),
  positions (``position`` events; the position table keeps each party's latest stance per
  draft), transitions (``transition`` events, guards respected: a draft before ``submit``,
  every party's ``approve`` before ``agree``, no objection before a programme's
  ``approve``, ``sign``/``adopt`` during the summit's days with the dependencies adopted),
  deadlines met when their state is entered; ``version`` is the number of events;
* the deadline reminders planned when each instrument was added (14, 7 and 1 days before
  each deadline, to the coordinator and the lead party's delegate), then, as of ``NOW``: sent
  when their time came (a dispatcher ran throughout), cancelled when their deadline was met
  first or the instrument reached a final state, pending otherwise. Nothing is due at
  ``NOW``: ``reminders run`` has nothing to send;
* where doctrack chains its history (``doctrack.storage.chain``), each event's link in its
  instrument's or summit's chain and each chain's head (``bench._chain``).

With ``keep_script=True`` the generator also gives the same history as a list of public API
calls in time order (``Generator.script()``), which ``tests/bench/test_generate.py`` replays
through ``doctrack.Tracker`` and a dispatcher: the API writes the very rows written here.

``python -m bench.generate --instruments N --db URL`` fills an empty (or new) database.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, text

import doctrack
from bench import _chain
from bench._chain import EVENT_COLUMNS, HEAD_COLUMNS
from bench._history import Action, Odds, Texts, payload, plan
from doctrack.config import Settings
from doctrack.domain import LEAD_DELEGATE, EventKind, ReminderKind, ReminderStatus
from doctrack.engine.deadlines import due_times
from doctrack.engine.definition import WorkflowDef
from doctrack.engine.registry import Workflows, workflows_folder
from doctrack.services.planning import DEADLINE_MET, FINAL_STATE
from doctrack.storage.db import Database
from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    EVENT,
    INSTRUMENT,
    PARTY,
    POSITION,
    REMINDER,
    REVISION,
    SUMMIT,
    USER,
    USER_ROLE,
)
from doctrack.timerules import local_instant, reminder_time, zone

#: The generated world's present: 1 June 2016, 06:00 UTC (11:00 in Tashkent), three weeks
#: before the Tashkent summit. Run doctrack on the database with ``--now`` set to this.
NOW = datetime(2016, 6, 1, 6, 0, tzinfo=UTC)
SEED = 20160623
FIXED_SUMMIT = "tashkent-2016"
FIXED_INSTRUMENTS = 100
#: Every event (and instrument creation) happens this far into its second, so that no
#: event ever falls on a reminder's send time (whole minutes) or on another's summit
#: creation: the order of things is never a tie.
_FRACTION = timedelta(microseconds=123_000)
#: claimed_by of the reminders the generator records as sent or cancelled by a dispatcher.
DISPATCHER = "bench-generate:1:00000000"
#: Why a dispatcher cancels a summit reminder (services/reminders.py, summit_mail).
NO_OPEN_INSTRUMENTS = "no open instruments for this summit"
ACTOR = "secretariat"  # the operating-system user who ran the administration commands
STAFF_SINCE = datetime(2011, 1, 10, 6, 0, tzinfo=UTC) + _FRACTION
CHUNK = 5_000

PARTIES = {
    "CN": "People's Republic of China",
    "KG": "Kyrgyz Republic",
    "KZ": "Republic of Kazakhstan",
    "RU": "Russian Federation",
    "TJ": "Republic of Tajikistan",
    "UZ": "Republic of Uzbekistan",
}
DELEGATES = {code: code.lower() for code in PARTIES}


@dataclass(frozen=True, slots=True)
class UserSpec:
    name: str
    roles: tuple[str, ...]
    party: str | None = None

    @property
    def email(self) -> str:
        return f"{self.name}@example.org"


#: In the order they are added (their ids).
USERS: tuple[UserSpec, ...] = (
    UserSpec("admin", ("admin",)),
    UserSpec("coord", ("coordinator",)),
    UserSpec("drafter", ("drafter",)),
    UserSpec("sec", ("secretary",)),
    *(UserSpec(name, ("delegate",), code) for code, name in DELEGATES.items()),
)
USER_IDS = {u.name: i for i, u in enumerate(USERS, 1)}
#: Who fires each trigger: a user holding one of the transition's roles.
TRIGGER_USER = {
    "submit": ("drafter", "coord"),
    "rework": ("coord",),
    "agree": ("coord",),
    "approve": ("sec",),
    "sign": ("sec",),
    "adopt": ("sec",),
    "enter_into_force": ("coord",),
    "withdraw": ("sec",),
}
REVISERS = ("drafter", "coord")


@dataclass(frozen=True, slots=True)
class SummitSpec:
    id: int
    slug: str
    city: str
    starts: date
    ends: date
    tz: str
    created_at: datetime
    #: past: adopted there (or withdrawn, a few left behind); fixed: FIXED_SUMMIT; future
    era: str
    #: share of the instruments that are not FIXED_SUMMIT's
    share: float
    title: str = "Council of Heads of State of the SCO member states"


def _created(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 7, 12, tzinfo=UTC) + _FRACTION


SUMMITS: tuple[SummitSpec, ...] = (
    SummitSpec(
        1, "beijing-2012", "Beijing", date(2012, 6, 6), date(2012, 6, 7), "Asia/Shanghai",
        _created(2011, 1, 20), "past", 0.125,
    ),
    SummitSpec(
        2, "bishkek-2013", "Bishkek", date(2013, 9, 13), date(2013, 9, 13), "Asia/Bishkek",
        _created(2012, 3, 12), "past", 0.125,
    ),
    SummitSpec(
        3, "dushanbe-2014", "Dushanbe", date(2014, 9, 11), date(2014, 9, 12), "Asia/Dushanbe",
        _created(2013, 5, 14), "past", 0.125,
    ),
    SummitSpec(
        4, "ufa-2015", "Ufa", date(2015, 7, 9), date(2015, 7, 10), "Asia/Yekaterinburg",
        _created(2014, 4, 8), "past", 0.125,
    ),
    SummitSpec(
        5, FIXED_SUMMIT, "Tashkent", date(2016, 6, 23), date(2016, 6, 24), "Asia/Tashkent",
        _created(2015, 3, 2), "fixed", 0.0,
    ),
    SummitSpec(
        6, "astana-2017", "Astana", date(2017, 6, 8), date(2017, 6, 9), "Asia/Almaty",
        _created(2016, 1, 18), "future", 0.35,
    ),
    SummitSpec(
        7, "qingdao-2018", "Qingdao", date(2018, 6, 9), date(2018, 6, 10), "Asia/Shanghai",
        _created(2016, 4, 4), "future", 0.15,
    ),
)  # fmt: skip
#: The summit and state ``doc list`` is filtered by in the growth benchmark: it grows with N.
LIST_SUMMIT = "astana-2017"
LIST_STATE = "drafting"

#: Target states by era and workflow, with weights.
TARGETS: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {
    ("past", "convention"): (
        ("in_force", 45), ("signed", 30), ("withdrawn", 15), ("expert_review", 5), ("agreed", 5),
    ),
    ("past", "programme"): (
        ("adopted", 80), ("withdrawn", 12), ("expert_review", 4), ("agreed", 4),
    ),
    ("fixed", "convention"): (
        ("drafting", 15), ("expert_review", 30), ("agreed", 25), ("approved", 20),
        ("withdrawn", 10),
    ),
    ("fixed", "programme"): (
        ("drafting", 15), ("expert_review", 30), ("agreed", 25), ("approved", 20),
        ("withdrawn", 10),
    ),
    ("astana-2017", "convention"): (
        ("drafting", 30), ("expert_review", 45), ("agreed", 20), ("withdrawn", 5),
    ),
    ("astana-2017", "programme"): (
        ("drafting", 30), ("expert_review", 45), ("agreed", 20), ("withdrawn", 5),
    ),
    ("qingdao-2018", "convention"): (("drafting", 55), ("expert_review", 45)),
    ("qingdao-2018", "programme"): (("drafting", 55), ("expert_review", 45)),
}  # fmt: skip
KINDS = {
    "convention": (("convention", 5), ("agreement", 4), ("declaration", 1)),
    "programme": (("plan of measures", 3), ("strategy", 2), ("action plan", 3), ("programme", 2)),
}
SUBJECTS = (
    "on cooperation in combating terrorism, separatism and extremism",
    "on countering the illicit trafficking of narcotic drugs",
    "on border security and information exchange",
    "on customs cooperation and mutual assistance",
    "on the transport corridors",
    "on international information security",
    "on mutual legal assistance in criminal matters",
    "on cooperation in emergency relief",
    "on scientific and technical cooperation",
    "о сотрудничестве в области культуры",
)
POSITION_COMMENTS = {
    "approve": ("No objection.", "Approved by the interagency commission.", "Согласовано."),
    "reserve": ("Reservation on article 5.", "Awaiting the Ministry of Justice.", "Оговорка."),
    "object": ("Object to paragraph 3.", "Cannot accept the financing arrangements."),
}
NOTES = (None, None, "Revised after the expert meeting.", "Comments of KZ and RU taken in.")
WITHDRAW_COMMENTS = ("Merged into another instrument.", "Postponed: no consensus.")

#: How often things happen in an instrument's history (``bench._history.plan``).
PLAN_ODDS = Odds(
    drafting_revise=0.6,
    review_positions=(2, 6),
    review_revise=0.4,
    review_more_positions=(1, 4),
    early_positions=0.5,
    early_positions_count=(1, 4),
)
PLAN_TEXTS = Texts(tuple(PARTIES), POSITION_COMMENTS, WITHDRAW_COMMENTS)


# -- what the generator makes ------------------------------------------------------------------


@dataclass(slots=True)
class Spec:
    """One instrument: what it is, where it should end, and what happened to it."""

    index: int
    slug: str
    title: str
    kind: str
    wf: WorkflowDef
    summit: SummitSpec
    target: str
    created_at: datetime
    lead: str | None
    rng: random.Random
    depends_on: list[Spec] = field(default_factory=list)
    id: int = 0
    # while playing
    state: str = ""
    state_since: datetime | None = None
    version: int = 1
    revision_id: int | None = None
    revision_number: int | None = None
    #: the current draft's positions: party -> row index in World.positions
    positions: dict[str, int] = field(default_factory=dict)
    stances: dict[str, str] = field(default_factory=dict)
    #: milestone -> [deadline id, due, met_at]
    deadlines: dict[str, list[Any]] = field(default_factory=dict)
    final_at: datetime | None = None
    #: when the instrument entered each state (the last time)
    entered: dict[str, datetime] = field(default_factory=dict)


#: One public API call of the history, for replaying it (see ``keep_script``):
#: (at, sequence, operation, arguments...).
ScriptStep = tuple[Any, ...]


@dataclass(slots=True)
class World:
    """The rows of every table, as tuples in the column order of ``COLUMNS``."""

    revisions: list[tuple[Any, ...]] = field(default_factory=list)
    positions: list[list[Any]] = field(default_factory=list)
    dependencies: list[tuple[int, int]] = field(default_factory=list)
    #: (at, sequence, instrument_id, summit_id, actor, kind, trigger, from, to, comment,
    #: payload); ids are given in time order when written
    events: list[tuple[Any, ...]] = field(default_factory=list)
    script: list[ScriptStep] | None = None


COLUMNS: dict[str, tuple[str, ...]] = {
    "party": ("code", "name"),
    "app_user": ("id", "name", "full_name", "email", "party_code", "language", "created_at"),
    "user_role": ("user_id", "role"),
    "summit": (
        "id", "slug", "title", "city", "starts", "ends", "tz", "version", "created_at",
        *HEAD_COLUMNS,
    ),
    "instrument": (
        "id", "slug", "title", "kind", "workflow", "state", "summit_id", "lead_party",
        "revision_id", "revision_number", "version", "state_since", "created_at", *HEAD_COLUMNS,
    ),
    "dependency": ("instrument_id", "depends_on_id"),
    "revision": (
        "id", "instrument_id", "number", "filename", "content", "sha256", "size",
        "uploaded_by", "uploaded_at", "note",
    ),
    "position": (
        "id", "instrument_id", "revision_id", "party_code", "stance", "comment", "recorded_by",
        "on_behalf", "at",
    ),
    "deadline": ("id", "instrument_id", "milestone", "due_at", "met_at"),
    "event": (
        "id", "instrument_id", "summit_id", "at", "actor", "kind", "trigger", "from_state",
        "to_state", "comment", "payload", *EVENT_COLUMNS,
    ),
    "reminder": (
        "id", "key", "kind", "summit_id", "instrument_id", "deadline_id", "user_id",
        "days_before", "send_at", "status", "next_attempt_at", "attempts", "lease_until",
        "claimed_by", "first_failure_at", "last_error", "sent_at", "late", "note",
        "message_id", "created_at",
    ),
}  # fmt: skip
TABLES: dict[str, Table] = {
    "party": PARTY,
    "app_user": USER,
    "user_role": USER_ROLE,
    "summit": SUMMIT,
    "instrument": INSTRUMENT,
    "dependency": DEPENDENCY,
    "revision": REVISION,
    "position": POSITION,
    "deadline": DEADLINE,
    "event": EVENT,
    "reminder": REMINDER,
}


@dataclass(frozen=True, slots=True)
class Generated:
    """What was written, and what the growth benchmark asks about."""

    url: str
    instruments: int
    by_summit: dict[str, int]
    states: dict[str, int]
    events: int
    revisions: int
    positions: int
    deadlines: int
    dependencies: int
    reminders: dict[str, int]
    seconds: float
    #: an instrument of FIXED_SUMMIT (the same at every size) for ``doc show``
    show_slug: str
    #: instruments of LIST_SUMMIT in LIST_STATE (``doc list --summit --state``)
    list_matches: int
    script: list[ScriptStep] | None = None

    def describe(self) -> str:
        states = ", ".join(f"{s} {n:,}" for s, n in sorted(self.states.items()))
        reminders = ", ".join(f"{s} {n:,}" for s, n in sorted(self.reminders.items()))
        return (
            f"{self.instruments:,} instruments ({FIXED_SUMMIT}: {self.by_summit[FIXED_SUMMIT]}), "
            f"{self.events:,} events ({self.events / max(1, self.instruments):.1f} each), "
            f"{self.revisions:,} drafts, {self.positions:,} positions, "
            f"{self.deadlines:,} deadlines, {self.dependencies:,} dependencies; "
            f"states: {states}; reminders: {reminders}; written in {self.seconds:.1f} s"
        )


# -- the generator -------------------------------------------------------------------------------


class Generator:
    """Plays every instrument's history, as doctrack's use cases would have recorded it."""

    def __init__(
        self,
        workflows: Workflows,
        n: int,
        *,
        fixed: int = FIXED_INSTRUMENTS,
        seed: int = SEED,
        keep_script: bool = False,
    ) -> None:
        if n < fixed:
            raise ValueError(f"{n} instruments cannot hold the {fixed} of {FIXED_SUMMIT}")
        self.workflows = workflows
        self.n = n
        self.fixed = fixed
        self.seed = seed
        self.world = World(script=[] if keep_script else None)
        self.seq = 0
        self.specs: list[Spec] = []
        self.send_times: dict[tuple[datetime, int, str], datetime] = {}

    # -- helpers -----------------------------------------------------------------------------

    def rng_for(self, summit: SummitSpec) -> random.Random:
        """Each summit draws from a stream of its own: FIXED_SUMMIT's does not depend on N."""
        return random.Random(f"{self.seed}:{summit.slug}")

    @staticmethod
    def between(rng: random.Random, start: datetime, end: datetime, k: int) -> list[datetime]:
        """``k`` sorted distinct moments strictly between ``start`` and ``end``."""
        span = int((end - start).total_seconds())
        if span <= k + 1:
            raise ValueError(f"no room for {k} events between {start} and {end}")
        base = start.replace(microsecond=0)
        picks = sorted(rng.sample(range(1, span), k))
        return [base + timedelta(seconds=s) + _FRACTION for s in picks]

    @staticmethod
    def weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
        return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]

    def step(self, at: datetime, *op: Any) -> int:
        """The next sequence number; records the API call when a script is kept."""
        self.seq += 1
        if self.world.script is not None:
            self.world.script.append((at, self.seq, *op))
        return self.seq

    def event(self, at: datetime, seq: int, actor: str, kind: str, **values: Any) -> None:
        self.world.events.append(
            (
                at,
                seq,
                values.get("instrument_id"),
                values.get("summit_id"),
                actor,
                kind,
                values.get("trigger"),
                values.get("from_state"),
                values.get("to_state"),
                values.get("comment"),
                values.get("payload"),
            )
        )

    # -- the world ---------------------------------------------------------------------------

    def build(self) -> list[Spec]:
        for user in USERS:
            self.step(STAFF_SINCE, "add_user", user)
        for s in SUMMITS:
            seq = self.step(s.created_at, "add_summit", s)
            self.event(
                s.created_at,
                seq,
                ACTOR,
                EventKind.SUMMIT_CREATED,
                summit_id=s.id,
                payload=payload(starts=s.starts.isoformat(), ends=s.ends.isoformat(), tz=s.tz),
            )
        others = self.n - self.fixed
        counts = {s.slug: int(others * s.share) for s in SUMMITS}
        counts[FIXED_SUMMIT] = self.fixed
        counts[LIST_SUMMIT] += self.n - sum(counts.values())  # rounding
        by_summit: dict[str, list[Spec]] = {}
        for s in SUMMITS:
            by_summit[s.slug] = self.summit_specs(s, counts[s.slug], by_summit)
        specs = [spec for group in by_summit.values() for spec in group]
        specs.sort(key=lambda sp: (sp.created_at, sp.summit.id, sp.index))
        for number, spec in enumerate(specs, 1):
            spec.id = number
        for spec in specs:
            self.play(spec)
        # Deadline ids in instrument order, milestones in the workflow's order (as added).
        number = 0
        for spec in specs:
            for deadline in spec.deadlines.values():
                number += 1
                deadline[0] = number
        self.specs = specs
        return specs

    def deadline_rows(self) -> list[tuple[Any, ...]]:
        return [
            (deadline_id, spec.id, milestone, due, met)
            for spec in self.specs
            for milestone, (deadline_id, due, met) in spec.deadlines.items()
        ]

    def script(self) -> list[ScriptStep]:
        """The API calls in time order (``keep_script``), with a dispatcher run whenever a
        reminder came due: (at, sequence, operation, arguments...)."""
        assert self.world.script is not None, "build with keep_script=True"
        steps = list(self.world.script)
        steps += [(at, 0, "dispatch") for at in self.dispatch_times()]
        steps.sort(key=lambda s: (s[0], s[1]))
        return steps

    def summit_specs(
        self, summit: SummitSpec, k: int, earlier: dict[str, list[Spec]]
    ) -> list[Spec]:
        rng = self.rng_for(summit)
        if summit.era == "past":
            first, last = (
                summit.created_at + timedelta(days=1),
                datetime.combine(summit.starts - timedelta(days=150), datetime.min.time(), UTC),
            )
        elif summit.era == "fixed":
            first, last = summit.created_at + timedelta(days=1), datetime(2016, 3, 1, tzinfo=UTC)
        else:
            first, last = summit.created_at + timedelta(days=1), NOW - timedelta(days=3)
        created = self.between(rng, first, last, k) if k else []
        adopted_before = [
            spec
            for s in SUMMITS
            if s.era == "past" and s.starts < summit.starts
            for spec in earlier.get(s.slug, [])
            if spec.wf.states[spec.target].adopted
        ]
        short = summit.slug.split("-")[0][:3] + summit.slug[-2:]
        specs: list[Spec] = []
        for i in range(k):
            workflow = "convention" if rng.random() < 0.45 else "programme"
            wf = self.workflows.get(workflow)
            era = summit.slug if summit.era == "future" else summit.era
            target = self.weighted(rng, TARGETS[era, workflow])
            kind = self.weighted(rng, KINDS[workflow])
            spec = Spec(
                index=i,
                slug=f"{kind.replace(' ', '-')}-{short}-{i:06d}",
                title=f"{kind[0].upper()}{kind[1:]} {rng.choice(SUBJECTS)} (No. {i + 1})",
                kind=kind,
                wf=wf,
                summit=summit,
                target=target,
                created_at=created[i],
                lead=rng.choice([*PARTIES, None]),
                rng=rng,
            )
            # Dependencies: on an instrument adopted at an earlier summit, or (for summits
            # not held yet) on an earlier instrument of the same summit.
            # FIXED_SUMMIT's depend only on its own, so that its stream does not depend on N.
            if rng.random() < 0.08:
                if summit.era == "past":
                    if adopted_before:
                        spec.depends_on.append(rng.choice(adopted_before))
                elif summit.era == "future" and adopted_before and rng.random() < 0.5:
                    spec.depends_on.append(rng.choice(adopted_before))
                elif specs:
                    spec.depends_on.append(rng.choice(specs[-200:]))
            specs.append(spec)
        return specs

    # -- plans: what happens to an instrument, in order ---------------------------------------

    def plan(self, rng: random.Random, wf: WorkflowDef, target: str) -> list[Action]:
        """The actions that take an instrument from its initial state to ``target``."""
        return plan(rng, wf, target, PLAN_ODDS, PLAN_TEXTS)

    # -- playing a plan ----------------------------------------------------------------------

    def play(self, spec: Spec) -> None:
        rng, wf, summit = spec.rng, spec.wf, spec.summit
        spec.state, spec.state_since = wf.initial, spec.created_at
        depends_on = [d.slug for d in spec.depends_on]
        seq = self.step(
            spec.created_at,
            "add_instrument",
            spec.slug,
            spec.title,
            wf.name,
            summit.slug,
            spec.lead,
            depends_on,
            spec.kind,
        )
        self.world.dependencies += [(spec.id, d.id) for d in spec.depends_on]
        for milestone, due in due_times(wf, starts=summit.starts, ends=summit.ends, tz=summit.tz):
            spec.deadlines[milestone] = [0, due, None]
        self.event(
            spec.created_at,
            seq,
            ACTOR,
            EventKind.CREATED,
            instrument_id=spec.id,
            payload=payload(
                summit=summit.slug, workflow=wf.name, lead=spec.lead, depends_on=depends_on
            ),
        )
        acts = self.plan(rng, wf, spec.target)
        if ("session",) in acts:
            # Adopted at the summit: before it, in session (local office hours), after it.
            session = acts.index(("session",))
            before, rest = acts[:session], acts[session + 1 :]
            end_before = datetime.combine(
                summit.starts - timedelta(days=1), datetime.min.time(), UTC
            )
            for at, act in zip(
                self.between(rng, spec.created_at, end_before, len(before)), before, strict=True
            ):
                self.apply(spec, act, at)
            day = rng.choice([summit.starts, summit.ends])
            at = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # 09:00-12:00 local
            self.apply(spec, rest[0], at + timedelta(seconds=rng.randint(0, 10_000)) + _FRACTION)
            if len(rest) > 1:  # ("ratified",), ("advance", "enter_into_force", None)
                lo = datetime.combine(summit.ends, datetime.min.time(), UTC) + timedelta(days=60)
                hi = min(lo + timedelta(days=340), NOW - timedelta(days=1))
                self.apply(spec, rest[2], self.between(rng, lo, hi, 1)[0])
        else:
            if summit.era == "past":
                end = datetime.combine(summit.starts - timedelta(days=1), datetime.min.time(), UTC)
            else:
                end = NOW - timedelta(hours=1)
            for at, act in zip(
                self.between(rng, spec.created_at, end, len(acts)), acts, strict=True
            ):
                self.apply(spec, act, at)
        if spec.state != spec.target:
            raise ValueError(f"{spec.slug}: reached {spec.state}, not {spec.target}")

    def apply(self, spec: Spec, act: Action, at: datetime) -> None:
        w, rng = self.world, spec.rng
        if spec.wf.is_final(spec.state):
            raise ValueError(f"{spec.slug}: {act[0]} in the final state {spec.state}")
        what = act[0]
        if what == "revise":
            number = (spec.revision_number or 0) + 1
            content = f"Draft {number} of the {spec.title}.\n".encode() * 6
            digest = hashlib.sha256(content).hexdigest()
            filename = f"{spec.slug}-draft-{number}.docx"
            note = rng.choice(NOTES) if number > 1 else None
            actor = rng.choice(REVISERS)
            seq = self.step(at, "revise", spec.slug, content, filename, actor, note)
            spec.revision_id = len(w.revisions) + 1
            spec.revision_number = number
            w.revisions.append(
                (
                    spec.revision_id,
                    spec.id,
                    number,
                    filename,
                    content,
                    digest,
                    len(content),
                    actor,
                    at,
                    note,
                )
            )
            spec.positions.clear()
            spec.stances.clear()
            self.event(
                at,
                seq,
                actor,
                EventKind.REVISION,
                instrument_id=spec.id,
                comment=note,
                payload=payload(number=number, filename=filename, sha256=digest, size=len(content)),
            )
        elif what == "position":
            _, party, stance, comment, on_behalf = act
            if spec.revision_id is None:
                raise ValueError(f"{spec.slug}: a position without a draft")
            actor = "coord" if on_behalf else DELEGATES[party]
            seq = self.step(at, "position", spec.slug, party, stance, actor, comment)
            values = [stance, comment, actor, bool(on_behalf), at]
            row = spec.positions.get(party)
            if row is None:
                spec.positions[party] = len(w.positions)
                w.positions.append(
                    [len(w.positions) + 1, spec.id, spec.revision_id, party, *values]
                )
            else:
                w.positions[row][4:] = values
            spec.stances[party] = stance
            self.event(
                at,
                seq,
                actor,
                EventKind.POSITION,
                instrument_id=spec.id,
                comment=comment,
                payload=payload(
                    party=party,
                    stance=stance,
                    revision=spec.revision_number,
                    on_behalf=bool(on_behalf),
                ),
            )
        elif what == "advance":
            _, trigger, comment = act
            found = [t for t in spec.wf.transitions_from(spec.state) if t.trigger == trigger]
            if not found:
                raise ValueError(f"{spec.slug}: no {trigger} from {spec.state}")
            transition = found[0]
            self.check_guards(spec, transition.when, at)
            actor = rng.choice(TRIGGER_USER[trigger])
            seq = self.step(at, "advance", spec.slug, trigger, actor, comment)
            self.event(
                at,
                seq,
                actor,
                EventKind.TRANSITION,
                instrument_id=spec.id,
                trigger=trigger,
                from_state=spec.state,
                to_state=transition.dest,
                comment=comment,
            )
            spec.state, spec.state_since = transition.dest, at
            spec.entered[transition.dest] = at
            deadline = spec.deadlines.get(transition.dest)
            if deadline is not None and deadline[2] is None:
                deadline[2] = at
            if spec.wf.is_final(transition.dest):
                spec.final_at = at
        else:
            raise ValueError(f"unknown action {act!r}")
        spec.version += 1

    def check_guards(self, spec: Spec, guards: Sequence[str], at: datetime) -> None:
        for name in guards:
            if name == "has_revision":
                ok = spec.revision_id is not None
            elif name == "all_parties_approve":
                ok = spec.revision_id is not None and all(
                    spec.stances.get(p) == "approve" for p in PARTIES
                )
            elif name == "no_objection":
                ok = "object" not in spec.stances.values()
            elif name == "summit_in_session":
                local = at.astimezone(zone(spec.summit.tz)).date()
                ok = spec.summit.starts <= local <= spec.summit.ends
            elif name == "dependencies_adopted":
                ok = all(d.wf.is_adopted(_state_at(d, at)) for d in spec.depends_on)
            else:
                raise ValueError(f"unknown guard {name}")
            if not ok:
                raise ValueError(f"{spec.slug}: guard {name} does not hold at {at}")

    # -- reminders, in the order the use cases planned them ------------------------------------

    def send_time(self, due: datetime, days: int, tz: str) -> datetime:
        key = (due, days, tz)
        found = self.send_times.get(key)
        if found is None:
            found = self.send_times[key] = reminder_time(due, days, _SEND_TIME, tz)
        return found

    def reminders(self) -> Iterator[tuple[Any, ...]]:
        """Reminder rows with their ids, in the order doctrack planned them: each summit's
        when it was added, each instrument's when it was added."""
        wf_before = {
            name: [d.days for d in self.workflows.get(name).reminders.before]
            for name in self.workflows.names()
        }
        by_name = sorted(USERS, key=lambda u: u.name)  # planning reads users by name
        summit_to = set(_SETTINGS.summit_reminders_to)
        secretaries = [u for u in by_name if summit_to & set(u.roles)]
        summit_before = [d.days for d in _SETTINGS.summit_reminders_before]
        summit_specs: dict[int, list[Spec]] = {}
        for one in self.specs:
            summit_specs.setdefault(one.summit.id, []).append(one)
        moments: list[tuple[datetime, int, Any]] = [(s.created_at, 0, s) for s in SUMMITS]
        moments += [(one.created_at, 1, one) for one in self.specs]
        moments.sort(key=lambda m: (m[0], m[1], m[2].id))
        reminder_id = 0
        for planned_at, what, item in moments:
            token_time = planned_at.isoformat()
            if what == 0:
                s: SummitSpec = item
                for days in summit_before:
                    send_at = local_instant(s.starts - timedelta(days=days), _SEND_TIME, s.tz)
                    if send_at <= planned_at:
                        continue
                    status, attempts, claimed, sent_at, note = _PENDING, 0, None, None, None
                    if send_at <= NOW:
                        attempts, claimed = 1, DISPATCHER
                        if _open_at(summit_specs.get(s.id, []), send_at):
                            status, sent_at = _SENT, send_at
                        else:
                            status, note = _CANCELLED, NO_OPEN_INSTRUMENTS
                    for user in secretaries:
                        uid = USER_IDS[user.name]
                        key = f"summit:{s.id}:{days}:{uid}"
                        reminder_id += 1
                        yield (
                            reminder_id, key, _SUMMIT_KIND, s.id, None, None, uid, days,
                            send_at, status, send_at, attempts, None, claimed, None, None,
                            sent_at, False, note,
                            _message_id(key, token_time, "summit", s.id, days, uid),
                            planned_at,
                        )  # fmt: skip
                continue
            spec: Spec = item
            # As planning.recipients: a user holding one of the roles, or the lead's delegate.
            to = set(spec.wf.reminders.to)
            people = [
                u
                for u in by_name
                if to & set(u.roles)
                or (
                    LEAD_DELEGATE in to
                    and spec.lead is not None
                    and "delegate" in u.roles
                    and u.party == spec.lead
                )
            ]
            tz = spec.summit.tz
            deadlines = sorted(spec.deadlines.values(), key=lambda d: (d[1], d[0]))
            for deadline_id, due, met_at in deadlines:
                for days in wf_before[spec.wf.name]:
                    send_at = self.send_time(due, days, tz)
                    if send_at <= planned_at:
                        continue
                    status, attempts, claimed, sent_at, note = _PENDING, 0, None, None, None
                    if met_at is not None and send_at > met_at:
                        status, note = _CANCELLED, DEADLINE_MET
                    elif spec.final_at is not None and send_at > spec.final_at:
                        status, note = _CANCELLED, FINAL_STATE
                    elif send_at <= NOW:
                        status, attempts, claimed, sent_at = _SENT, 1, DISPATCHER, send_at
                    for user in people:
                        uid = USER_IDS[user.name]
                        key = f"deadline:{deadline_id}:{days}:{uid}"
                        reminder_id += 1
                        yield (
                            reminder_id, key, _DEADLINE_KIND, spec.summit.id, spec.id,
                            deadline_id, uid, days, send_at, status, send_at, attempts, None,
                            claimed, None, None, sent_at, False, note,
                            _message_id(key, token_time, "deadline", deadline_id, days, uid),
                            planned_at,
                        )  # fmt: skip

    def dispatch_times(self) -> list[datetime]:
        """Every moment up to NOW at which a reminder came due: a dispatcher ran then."""
        return sorted({r[8] for r in self.reminders() if r[8] <= NOW})


#: The settings the generated reminders were planned with: doctrack's defaults.
_SETTINGS = Settings()
_SEND_TIME = _SETTINGS.send_time
_PENDING = ReminderStatus.PENDING.value
_SENT = ReminderStatus.SENT.value
_CANCELLED = ReminderStatus.CANCELLED.value
_SUMMIT_KIND = ReminderKind.SUMMIT.value
_DEADLINE_KIND = ReminderKind.DEADLINE.value
_MAIL_DOMAIN = _SETTINGS.mail_from.rpartition("@")[2] or "localhost"


def _message_id(key: str, planned: str, kind: str, ref: int, days: int, uid: int) -> str:
    """The Message-ID planning gives a reminder (services/planning.py, Planner._row)."""
    token = hashlib.sha256(f"{key}|{planned}".encode()).hexdigest()[:12]
    return f"<doctrack.{kind}.{ref}.{days}d.u{uid}.{token}@{_MAIL_DOMAIN}>"


def _state_at(spec: Spec, at: datetime) -> str:
    """The state ``spec`` (already played) was in at ``at``."""
    state, since = spec.wf.initial, spec.created_at
    for name, entered in spec.entered.items():
        if since < entered <= at:
            state, since = name, entered
    return state


def _open_at(specs: Iterable[Spec], at: datetime) -> bool:
    """Whether any of ``specs`` existed at ``at`` and was not in a final state yet."""
    return any(s.created_at <= at and (s.final_at is None or s.final_at > at) for s in specs)


# -- writing -----------------------------------------------------------------------------------


def _chunks(rows: Iterable[Sequence[Any]], size: int = CHUNK) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(conn: Any, name: str, rows: Iterable[Sequence[Any]]) -> int:
    """executemany of ``rows`` (tuples in ``COLUMNS[name]`` order) into doctrack's table."""
    columns = COLUMNS[name]
    statement = TABLES[name].insert()
    count = 0
    for chunk in _chunks(rows):
        conn.execute(statement, [dict(zip(columns, r, strict=True)) for r in chunk])
        count += len(chunk)
    return count


def generate(
    url: str,
    n: int,
    *,
    fixed: int = FIXED_INSTRUMENTS,
    seed: int = SEED,
    workflows: Workflows | None = None,
    keep_script: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Generated:
    """Create (``doctrack.init_database``) and fill the empty database at ``url``."""
    started = time.perf_counter()
    say = progress or (lambda _line: None)
    workflows = workflows or Workflows.from_folder(workflows_folder(None))
    doctrack.init_database(url)
    gen = Generator(workflows, n, fixed=fixed, seed=seed, keep_script=keep_script)
    specs = gen.build()
    w = gen.world
    say(f"played {len(specs):,} histories in {time.perf_counter() - started:.1f} s")

    deadline_rows = gen.deadline_rows()
    w.events.sort(key=lambda e: (e[0], e[1]))
    event_rows, heads = _chain.link(
        ((i, e[2], e[3], e[0], *e[4:]) for i, e in enumerate(w.events, 1)),
        at=3,
        instrument=1,
        summit=2,
        content=4,
    )
    instrument_rows = [
        (
            s.id, s.slug, s.title, s.kind, s.wf.name, s.state, s.summit.id, s.lead,
            s.revision_id, s.revision_number, s.version, s.state_since, s.created_at,
            *_chain.head(heads, "instrument", s.id),
        )
        for s in specs
    ]  # fmt: skip
    statuses: Counter[str] = Counter()

    def reminder_rows() -> Iterator[tuple[Any, ...]]:
        for row in gen.reminders():
            statuses[row[9]] += 1
            yield row

    db = Database(url)
    try:
        with db.engine.begin() as conn:
            _insert(conn, "party", sorted(PARTIES.items()))
            _insert(
                conn,
                "app_user",
                [
                    (USER_IDS[u.name], u.name, None, u.email, u.party, "en", STAFF_SINCE)
                    for u in USERS
                ],
            )
            _insert(
                conn,
                "user_role",
                [(USER_IDS[u.name], role) for u in USERS for role in sorted(u.roles)],
            )
            _insert(
                conn,
                "summit",
                [
                    (
                        s.id,
                        s.slug,
                        s.title,
                        s.city,
                        s.starts,
                        s.ends,
                        s.tz,
                        1,
                        s.created_at,
                        *_chain.head(heads, "summit", s.id),
                    )
                    for s in SUMMITS
                ],
            )
            _insert(conn, "instrument", instrument_rows)
            _insert(conn, "dependency", w.dependencies)
            _insert(conn, "revision", w.revisions)
            _insert(conn, "position", w.positions)
            _insert(conn, "deadline", deadline_rows)
            say(f"instruments, drafts, positions, deadlines written: {_t(started)}")
            events = _insert(conn, "event", event_rows)
            say(f"{events:,} events written: {_t(started)}")
            reminders = _insert(conn, "reminder", reminder_rows())
            say(f"{reminders:,} reminders written: {_t(started)}")
        _finish(db)
    finally:
        db.dispose()
    say(f"database ready: {_t(started)}")
    fixed_specs = [s for s in specs if s.summit.slug == FIXED_SUMMIT]
    show = next(
        (s for s in sorted(fixed_specs, key=lambda s: s.slug) if s.state == "agreed"),
        fixed_specs[0] if fixed_specs else specs[0],
    )
    return Generated(
        url=url,
        instruments=len(specs),
        by_summit=dict(Counter(s.summit.slug for s in specs)),
        states=dict(Counter(s.state for s in specs)),
        events=len(w.events),
        revisions=len(w.revisions),
        positions=len(w.positions),
        deadlines=len(deadline_rows),
        dependencies=len(w.dependencies),
        reminders=dict(statuses),
        seconds=time.perf_counter() - started,
        show_slug=show.slug,
        list_matches=sum(
            1 for s in specs if s.summit.slug == LIST_SUMMIT and s.state == LIST_STATE
        ),
        script=gen.script() if keep_script else None,
    )


def _t(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"


def _finish(db: Database) -> None:
    """SQLite: fold the write-ahead log into the file. PostgreSQL: move the id sequences past
    the ids written here (as the use cases would have left them), and let the planner see
    the tables (what autovacuum does soon after a load)."""
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with db.engine.begin() as conn:
        for table in TABLES.values():
            if "id" not in table.c:
                continue
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                    f'(SELECT max(id) FROM "{table.name}"), true) '
                    f'WHERE EXISTS (SELECT 1 FROM "{table.name}")'
                ),
                {"t": f'"{table.name}"'},
            )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


# -- command line --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Fill an empty doctrack database with N generated instruments.",
    )
    parser.add_argument("--instruments", type=int, default=1000, metavar="N")
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="sqlite:///PATH (a new file) or postgresql+psycopg://... (an empty database)",
    )
    parser.add_argument("--fixed", type=int, default=FIXED_INSTRUMENTS, metavar="K")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.db.startswith("sqlite:///"):
        path = Path(args.db.removeprefix("sqlite:///"))
        if path.exists():
            parser.error(f"{path} exists: give a new file")
    info = generate(args.db, args.instruments, fixed=args.fixed, seed=args.seed, progress=print)
    print(info.describe())
    print(f"run doctrack on it with --now {NOW.isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
