"""Write the HTML status report of a 10,000-instrument summit, against a one-query floor.

doctrack: ``StatusReports(db, workflows, clock).open(summit=..., as_of=...)`` and
``ReportWriter(templates, "en").write(report, "html", out)``, the way ``doctrack report
status`` runs it: one read snapshot, the instruments streamed in chunks (twice: the
instruments table and the positions table, plus the 40 most urgent for the chart), what
hangs off them read per chunk, the template ``templates/reports/status.html`` streamed to a
file, the Matplotlib timeline inlined as SVG.

floor: the stdlib ``sqlite3`` module, ONE hand-written query that returns everything the
report needs (the summit, the parties, every instrument with its deadlines, positions and
dependencies folded in by correlated subqueries, every change), read once into plain
objects shaped like ``SummitReport`` (built with the same dataclasses and pure functions of
``doctrack.services.status``), then the same template in a Jinja2 environment set up like
``ReportWriter``'s, the same ``charts.timeline_svg``, written to a file. Both sides must
write the same bytes; the benchmark stops otherwise.

The database (untimed) is generated with bulk INSERTs straight into doctrack's tables, a
history that doctrack's own use cases could have written: one summit with N instruments of
both shipped workflows, ~6 events each, deadlines met, missed and pending at the report's
moment, revisions, the six parties' positions, dependencies, a previous summit whose
adopted instruments some depend on, carried-over instruments and a moved summit.

Peak memory of doctrack's side is measured in fresh subprocesses at N and at a 10x larger
summit: the report streams, so it should stay flat.
"""

from __future__ import annotations

import argparse
import cProfile
import difflib
import gc
import hashlib
import json
import os
import pstats
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

import doctrack
from bench import _chain
from bench._chain import EVENT_COLUMNS, HEAD_COLUMNS
from bench._history import Action, Odds, Texts, payload, plan
from bench._suite import (
    BenchError,
    Row,
    count_option,
    mib,
    parser,
    proc_status_kib,
    render_table,
    resolve,
    run_main,
)
from bench._suite import Side as Measured
from doctrack import i18n
from doctrack.clock import FixedClock
from doctrack.engine.deadlines import deadline_status, due_times
from doctrack.engine.definition import WorkflowDef
from doctrack.engine.registry import Workflows
from doctrack.services.status import (
    TIMELINE_LIMIT,
    ChangeLine,
    DeadlineLine,
    DependencyLine,
    Headline,
    Health,
    InstrumentLine,
    Party,
    PositionCell,
    classify,
    local_days,
    next_and_missed,
)
from doctrack.timerules import zone

SUMMIT = "tashkent-2016"
LANG = "en"
#: The report's moment: 10:00 in Tashkent on 16 May 2016, 38 days before the summit. The
#: conventions' "agreed" deadline (45 days before) has passed, the programmes' (30 days
#: before) is 8 days away, the "approved" ones are 3-4 weeks away.
AS_OF = datetime(2016, 5, 16, 5, 0, tzinfo=UTC)
#: What the clock says when the report is written (its "Generated ..." line): the report's
#: moment itself, as in ``doctrack report status`` without ``--as-of`` (an earlier as_of
#: makes doctrack rebuild states, drafts and positions from the history instead).
GENERATED_AT = AS_OF
DEFAULT_INSTRUMENTS = 10_000
DEFAULT_REPEATS = 5
DEFAULT_MEMORY_FACTOR = 10
QUICK_INSTRUMENTS = 500
TARGET_RATIO = 1.3
SEED = 20160623


# -- the world (untimed) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummitSpec:
    id: int
    slug: str
    title: str
    city: str
    starts: date
    ends: date
    tz: str
    created_at: datetime
    version: int = 1


UFA = SummitSpec(
    1,
    "ufa-2015",
    "Council of Heads of State of SCO member states",
    "Ufa",
    date(2015, 7, 9),
    date(2015, 7, 10),
    "Asia/Yekaterinburg",
    datetime(2014, 12, 1, 6, 0, tzinfo=UTC),
)
TASHKENT = SummitSpec(
    2,
    SUMMIT,
    "Council of Heads of State of SCO member states",
    "Tashkent",
    date(2016, 6, 23),
    date(2016, 6, 24),
    "Asia/Tashkent",
    datetime(2015, 12, 15, 6, 0, tzinfo=UTC),
    version=2,  # moved once, a few days before the report (an event in "what changed")
)
TASHKENT_FIRST_DAYS = (date(2016, 6, 16), date(2016, 6, 17))
TASHKENT_MOVED_AT = datetime(2016, 5, 12, 4, 30, tzinfo=UTC)

PARTIES = {
    "CN": "People's Republic of China",
    "KG": "Kyrgyz Republic",
    "KZ": "Republic of Kazakhstan",
    "RU": "Russian Federation",
    "TJ": "Republic of Tajikistan",
    "UZ": "Republic of Uzbekistan",
}
COORDINATORS = ("coordinator1", "coordinator2")
SECRETARY = "secretary1"
#: Who fires each trigger (a user holding one of the transition's roles).
TRIGGER_ROLE = {
    "submit": "coordinator",
    "rework": "coordinator",
    "agree": "coordinator",
    "enter_into_force": "coordinator",
    "approve": "secretary",
    "sign": "secretary",
    "adopt": "secretary",
    "withdraw": "secretary",
}
KINDS = {
    "convention": (("convention", 5), ("agreement", 4), ("declaration", 1)),
    "programme": (("plan of measures", 3), ("strategy", 2), ("action plan", 3), ("programme", 2)),
}
SUBJECTS = (
    "on cooperation in combating terrorism, separatism and extremism",
    "on countering the illicit trafficking of narcotic drugs & psychotropic substances",
    "on border security and information exchange",
    "on customs cooperation and mutual assistance",
    'on the "Silk Road" transport corridor',
    "on cooperation in the field of international information security",
    "on mutual legal assistance in criminal matters",
    "on cooperation in emergency relief <draft of the working group>",
    "on scientific and technical cooperation",
    "on the SCO Development Bank and Development Fund (Special Account)",
    "о сотрудничестве в области культуры",
    "on cooperation in agriculture, 2016–2020",
)
POSITION_COMMENTS = {
    "approve": ("No objection.", "Approved by the interagency commission.", "Согласовано."),
    "reserve": (
        "Reservation on article 5 & annex 2.",
        "Awaiting the opinion of the Ministry of Justice.",
        'Needs the wording of the "competent authorities" clause agreed.',
        "Оговорка по статье 7.",
    ),
    "object": (
        "Object to paragraph 3: <jurisdiction> must stay national.",
        "Cannot accept the financing arrangements as drafted.",
    ),
}
WITHDRAW_COMMENTS = (
    "Merged into the main convention.",
    "Postponed: no consensus among the experts.",
    "Superseded by a new draft.",
)
NOTES = (None, None, None, "Revised after the expert meeting.", "Comments of KZ & RU taken in.")

#: Tashkent instruments by state at the report's moment (before the summit).
TASHKENT_STATES = (
    ("drafting", 26),
    ("expert_review", 30),
    ("agreed", 16),
    ("approved", 18),
    ("withdrawn", 10),
)

#: How often things happen in an instrument's history (``bench._history.plan``).
PLAN_ODDS = Odds(
    drafting_revise=0.55,
    review_positions=(0, 6),
    review_revise=0.2,
    review_more_positions=(0, 3),
    early_positions=0.25,
    early_positions_count=(1, 3),
    agreed_reserve=0.1,
)
PLAN_TEXTS = Texts(tuple(PARTIES), POSITION_COMMENTS, WITHDRAW_COMMENTS)


def utc(moment: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(slots=True)
class Spec:
    """One instrument to generate."""

    slug: str
    title: str
    kind: str
    workflow: str
    summit: SummitSpec
    target: str
    created_at: datetime
    lead: str | None
    depends_on: list[Spec] = field(default_factory=list)
    #: carried over from Ufa: created for Ufa, retargeted to Tashkent at this moment
    retarget_at: datetime | None = None
    id: int = 0


@dataclass(slots=True)
class State:
    """An instrument while its history is played."""

    spec: Spec
    wf: WorkflowDef
    state: str
    state_since: datetime
    summit: SummitSpec
    version: int = 1
    revision_id: int | None = None
    revision_number: int | None = None
    #: the current revision's positions: party -> position row id
    positions: dict[str, int] = field(default_factory=dict)
    stances: dict[str, str] = field(default_factory=dict)
    deadline_ids: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class World:
    """The rows of every table, ready for executemany."""

    parties: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    roles: list[tuple[Any, ...]] = field(default_factory=list)
    summits: list[tuple[Any, ...]] = field(default_factory=list)
    instruments: list[list[Any]] = field(default_factory=list)
    revisions: list[tuple[Any, ...]] = field(default_factory=list)
    positions: list[list[Any]] = field(default_factory=list)
    deadlines: list[list[Any]] = field(default_factory=list)
    dependencies: list[tuple[int, int]] = field(default_factory=list)
    #: (at, sequence, instrument_id, summit_id, actor, kind, trigger, from, to, comment,
    #: payload); ids are given in time order when written
    events: list[tuple[Any, ...]] = field(default_factory=list)


class Generator:
    """Plays a plausible history for every instrument, as doctrack's use cases would have
    recorded it (same rows, same payloads), and checks the workflows' guards on the way."""

    def __init__(self, workflows: Workflows, n: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.workflows = workflows
        self.n = n
        self.world = World()
        self.delegates = {code: code.lower() for code in PARTIES}
        self.until = AS_OF - timedelta(minutes=30)

    # -- helpers ----------------------------------------------------------------------------

    def between(self, start: datetime, end: datetime, k: int) -> list[datetime]:
        """``k`` sorted distinct whole-second moments strictly between ``start`` and ``end``."""
        span = int((end - start).total_seconds())
        if span <= k + 1:
            raise BenchError(f"no room for {k} events between {start} and {end}")
        picks = sorted(self.rng.sample(range(1, span), k))
        return [start + timedelta(seconds=s) for s in picks]

    def event(self, at: datetime, actor: str, kind: str, **values: Any) -> None:
        w = self.world
        w.events.append(
            (
                at,
                len(w.events),
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

    def weighted(self, pairs: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]

    # -- the world ---------------------------------------------------------------------------

    def build(self) -> World:
        w = self.world
        w.parties = sorted(PARTIES.items())
        staff_at = datetime(2014, 11, 3, 6, 0, tzinfo=UTC)
        users: list[tuple[str, str | None, tuple[str, ...]]] = [
            (name, None, ("coordinator",)) for name in COORDINATORS
        ]
        users.append((SECRETARY, None, ("secretary",)))
        users += [(name, code, ("delegate",)) for code, name in self.delegates.items()]
        for uid, (name, party, roles) in enumerate(users, 1):
            w.users.append((uid, name, None, f"{name}@example.org", party, "en", utc(staff_at)))
            w.roles += [(uid, role) for role in roles]
        for s in (UFA, TASHKENT):
            w.summits.append(
                (
                    s.id,
                    s.slug,
                    s.title,
                    s.city,
                    s.starts.isoformat(),
                    s.ends.isoformat(),
                    s.tz,
                    s.version,
                    utc(s.created_at),
                )
            )
        first_starts, first_ends = TASHKENT_FIRST_DAYS
        self.event(
            UFA.created_at,
            SECRETARY,
            "summit_created",
            summit_id=UFA.id,
            payload=payload(starts=UFA.starts.isoformat(), ends=UFA.ends.isoformat(), tz=UFA.tz),
        )
        self.event(
            TASHKENT.created_at,
            SECRETARY,
            "summit_created",
            summit_id=TASHKENT.id,
            payload=payload(
                starts=first_starts.isoformat(), ends=first_ends.isoformat(), tz=TASHKENT.tz
            ),
        )
        self.event(
            TASHKENT_MOVED_AT,
            SECRETARY,
            "summit_moved",
            summit_id=TASHKENT.id,
            comment="Moved at the request of the host country.",
            payload=payload(
                before={"starts": first_starts.isoformat(), "ends": first_ends.isoformat()},
                after={"starts": TASHKENT.starts.isoformat(), "ends": TASHKENT.ends.isoformat()},
            ),
        )
        specs = self.specs()
        specs.sort(key=lambda s: s.created_at)
        for number, spec in enumerate(specs, 1):
            spec.id = number
        for spec in specs:
            self.play(spec)
        return w

    def specs(self) -> list[Spec]:
        rng = self.rng
        specs: list[Spec] = []
        leads = [*PARTIES, None]
        ufa = []
        for i in range(max(4, self.n // 250)):
            workflow = "convention" if i % 3 else "programme"
            target = "adopted" if workflow == "programme" else rng.choice(["in_force", "signed"])
            ufa.append(self.spec(f"ufa-{i:04d}", workflow, UFA, target, leads, i))
        specs += ufa
        created = self.between(
            datetime(2016, 1, 11, 4, 0, tzinfo=UTC),
            datetime(2016, 4, 25, 12, 0, tzinfo=UTC),
            self.n,
        )
        tashkent: list[Spec] = []
        for i in range(self.n):
            workflow = "convention" if rng.random() < 0.55 else "programme"
            target = self.weighted(TASHKENT_STATES)
            spec = self.spec(f"i{i:06d}", workflow, TASHKENT, target, leads, i)
            spec.created_at = created[i]
            if rng.random() < 0.01 and target != "withdrawn":
                # carried over: created for Ufa in 2015, retargeted before any milestone
                spec.created_at = created[i] - timedelta(days=rng.randint(250, 320))
                spec.retarget_at = datetime(2015, 9, 1, 6, tzinfo=UTC) + timedelta(
                    days=rng.randint(0, 120)
                )
            elif rng.random() < 0.08:
                picks = 1 if rng.random() < 0.7 else 2
                for _ in range(picks):
                    if rng.random() < 0.4 or len(tashkent) < 10:
                        dep = rng.choice(ufa)
                    else:
                        dep = rng.choice(tashkent[-2000:])
                    if dep not in spec.depends_on and dep.retarget_at is None:
                        spec.depends_on.append(dep)
            tashkent.append(spec)
        return specs + tashkent

    def spec(
        self,
        slug: str,
        workflow: str,
        summit: SummitSpec,
        target: str,
        leads: Sequence[str | None],
        i: int,
    ) -> Spec:
        rng = self.rng
        kind = self.weighted(KINDS[workflow])
        title = f"{kind[0].upper()}{kind[1:]} of the SCO member states {rng.choice(SUBJECTS)}"
        if summit is UFA:
            created = datetime(2015, 1, 12, 5, tzinfo=UTC) + timedelta(
                days=rng.randint(0, 80), seconds=rng.randint(0, 86_000)
            )
        else:
            created = TASHKENT.created_at
        return Spec(
            slug=f"{kind.replace(' ', '-')}-{slug}",
            title=f"{title} (No. {i + 1})",
            kind=kind,
            workflow=workflow,
            summit=summit,
            target=target,
            created_at=created,
            lead=rng.choice(leads),
        )

    # -- plans: what happens to an instrument, in order ---------------------------------------

    def plan(self, wf: WorkflowDef, target: str) -> list[Action]:
        """The actions that take an instrument from its initial state to ``target``."""
        return plan(self.rng, wf, target, PLAN_ODDS, PLAN_TEXTS)

    # -- playing a plan ----------------------------------------------------------------------

    def play(self, spec: Spec) -> None:
        w, rng = self.world, self.rng
        wf = self.workflows.get(spec.workflow)
        first = UFA if spec.retarget_at is not None else spec.summit
        st = State(spec, wf, wf.initial, spec.created_at, first)
        w.instruments.append(
            [
                spec.id,
                spec.slug,
                spec.title,
                spec.kind,
                wf.name,
                None,  # state, set at the end
                spec.summit.id,
                spec.lead,
                None,
                None,
                None,  # version
                None,  # state_since
                utc(spec.created_at),
            ]
        )
        w.dependencies += [(spec.id, d.id) for d in spec.depends_on]
        for milestone, due in due_times(
            wf, starts=spec.summit.starts, ends=spec.summit.ends, tz=spec.summit.tz
        ):
            st.deadline_ids[milestone] = len(w.deadlines)
            w.deadlines.append([len(w.deadlines) + 1, spec.id, milestone, utc(due), None])
        self.event(
            spec.created_at,
            rng.choice(COORDINATORS),
            "created",
            instrument_id=spec.id,
            payload=payload(
                summit=first.slug,
                workflow=wf.name,
                lead=spec.lead,
                depends_on=[d.slug for d in spec.depends_on],
            ),
        )
        acts = self.plan(wf, spec.target)
        if spec.retarget_at is not None:
            # the first draft was uploaded for Ufa; carried over to Tashkent later
            head, acts = acts[:1], acts[1:]
            for at, act in zip(
                self.between(spec.created_at, spec.retarget_at, len(head)), head, strict=True
            ):
                self.apply(st, act, at)
            st.summit = TASHKENT
            st.version += 1
            self.event(
                spec.retarget_at,
                SECRETARY,
                "retarget",
                instrument_id=spec.id,
                comment="Not ready for Ufa: carried over to the next summit.",
                payload=payload(from_summit=UFA.slug, to_summit=TASHKENT.slug),
            )
            start = spec.retarget_at
        else:
            start = spec.created_at
        if spec.summit is UFA:
            self.play_ufa(st, acts)
        else:
            for at, act in zip(self.between(start, self.until, len(acts)), acts, strict=True):
                self.apply(st, act, at)
        if st.state != spec.target:
            raise BenchError(f"{spec.slug}: reached {st.state}, not {spec.target}")
        row = w.instruments[spec.id - 1]
        row[5] = st.state
        row[8], row[9] = st.revision_id, st.revision_number
        row[10], row[11] = st.version, utc(st.state_since)

    def play_ufa(self, st: State, acts: list[Action]) -> None:
        """Before the summit, at the summit (in session, local office hours), after it."""
        session = acts.index(("session",))
        before, rest = acts[:session], acts[session + 1 :]
        end_before = datetime(2015, 7, 3, 6, tzinfo=UTC)
        for at, act in zip(
            self.between(st.spec.created_at, end_before, len(before)), before, strict=True
        ):
            self.apply(st, act, at)
        day = self.rng.choice([UFA.starts, UFA.ends])
        at = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)  # 12:00 in Ufa (UTC+5)
        self.apply(st, rest[0], at + timedelta(minutes=self.rng.randint(0, 240)))
        if len(rest) > 1:  # ("ratified",), ("advance", "enter_into_force", None)
            ratified = datetime(2015, 10, 1, 6, tzinfo=UTC) + timedelta(
                days=self.rng.randint(0, 150)
            )
            self.apply(st, rest[2], ratified)

    def apply(self, st: State, act: Action, at: datetime) -> None:
        w, rng, spec = self.world, self.rng, st.spec
        if st.wf.is_final(st.state):
            raise BenchError(f"{spec.slug}: {act[0]} in the final state {st.state}")
        what = act[0]
        if what == "revise":
            number = (st.revision_number or 0) + 1
            content = f"Draft {number} of {spec.title}.\n".encode() * 8
            digest = hashlib.sha256(content).hexdigest()
            filename = f"{spec.slug}-draft-{number}.docx"
            note = rng.choice(NOTES) if number > 1 else None
            actor = rng.choice(COORDINATORS)
            st.revision_id = len(w.revisions) + 1
            st.revision_number = number
            w.revisions.append(
                (
                    st.revision_id,
                    spec.id,
                    number,
                    filename,
                    content,
                    digest,
                    len(content),
                    actor,
                    utc(at),
                    note,
                )
            )
            st.positions.clear()
            st.stances.clear()
            self.event(
                at,
                actor,
                "revision",
                instrument_id=spec.id,
                comment=note,
                payload=payload(number=number, filename=filename, sha256=digest, size=len(content)),
            )
        elif what == "position":
            _, party, stance, comment, on_behalf = act
            if st.revision_id is None:
                raise BenchError(f"{spec.slug}: a position without a revision")
            actor = rng.choice(COORDINATORS) if on_behalf else self.delegates[party]
            values = [stance, comment, actor, int(on_behalf), utc(at)]
            row_index = st.positions.get(party)
            if row_index is None:
                st.positions[party] = len(w.positions)
                w.positions.append([len(w.positions) + 1, spec.id, st.revision_id, party, *values])
            else:
                w.positions[row_index][4:] = values
            st.stances[party] = stance
            self.event(
                at,
                actor,
                "position",
                instrument_id=spec.id,
                comment=comment,
                payload=payload(
                    party=party,
                    stance=stance,
                    revision=st.revision_number,
                    on_behalf=bool(on_behalf),
                ),
            )
        elif what == "advance":
            _, trigger, comment = act
            found = [t for t in st.wf.transitions_from(st.state) if t.trigger == trigger]
            if not found:
                raise BenchError(f"{spec.slug}: no {trigger} from {st.state}")
            transition = found[0]
            self.check_guards(st, transition.when, at)
            role = TRIGGER_ROLE[trigger]
            if role not in transition.roles:
                raise BenchError(f"{spec.slug}: {role} may not {trigger}")
            actor = SECRETARY if role == "secretary" else rng.choice(COORDINATORS)
            self.event(
                at,
                actor,
                "transition",
                instrument_id=spec.id,
                trigger=trigger,
                from_state=st.state,
                to_state=transition.dest,
                comment=comment,
            )
            st.state, st.state_since = transition.dest, at
            if st.wf.states[transition.dest].due is not None:
                row = w.deadlines[st.deadline_ids[transition.dest]]
                if row[4] is None:
                    row[4] = utc(at)
        else:
            raise BenchError(f"unknown action {act!r}")
        st.version += 1

    def check_guards(self, st: State, guards: Sequence[str], at: datetime) -> None:
        for name in guards:
            ok = True
            if name == "has_revision":
                ok = st.revision_id is not None
            elif name == "all_parties_approve":
                ok = st.revision_id is not None and all(
                    st.stances.get(p) == "approve" for p in PARTIES
                )
            elif name == "no_objection":
                ok = "object" not in st.stances.values()
            elif name == "summit_in_session":
                local = at.astimezone(zone(st.summit.tz)).date()
                ok = st.summit.starts <= local <= st.summit.ends
            elif name == "dependencies_adopted":
                ok = not st.spec.depends_on
            if not ok:
                raise BenchError(f"{st.spec.slug}: guard {name} does not hold at {at}")


INSERTS = {
    "party": ("code", "name"),
    "app_user": ("id", "name", "full_name", "email", "party_code", "language", "created_at"),
    "user_role": ("user_id", "role"),
    "summit": (
        "id",
        "slug",
        "title",
        "city",
        "starts",
        "ends",
        "tz",
        "version",
        "created_at",
        *HEAD_COLUMNS,
    ),
    "instrument": (
        "id",
        "slug",
        "title",
        "kind",
        "workflow",
        "state",
        "summit_id",
        "lead_party",
        "revision_id",
        "revision_number",
        "version",
        "state_since",
        "created_at",
        *HEAD_COLUMNS,
    ),
    "revision": (
        "id",
        "instrument_id",
        "number",
        "filename",
        "content",
        "sha256",
        "size",
        "uploaded_by",
        "uploaded_at",
        "note",
    ),
    "position": (
        "id",
        "instrument_id",
        "revision_id",
        "party_code",
        "stance",
        "comment",
        "recorded_by",
        "on_behalf",
        "at",
    ),
    "deadline": ("id", "instrument_id", "milestone", "due_at", "met_at"),
    "dependency": ("instrument_id", "depends_on_id"),
    "event": (
        "id",
        "instrument_id",
        "summit_id",
        "at",
        "actor",
        "kind",
        "trigger",
        "from_state",
        "to_state",
        "comment",
        "payload",
        *EVENT_COLUMNS,
    ),
}


@dataclass(frozen=True, slots=True)
class DataSummary:
    instruments: int
    other_instruments: int
    events: int
    changes: int
    deadlines: Mapping[str, int]
    positions: int
    commented: int
    revisions: int
    dependencies: int
    states: Mapping[str, int]
    seconds: float


def build_database(path: Path, workflows: Workflows, n: int) -> DataSummary:
    """doctrack's schema (``init_database``) filled with bulk INSERTs; checkpointed."""
    started = time.perf_counter()
    doctrack.init_database(f"sqlite:///{path}")
    world = Generator(workflows, n).build()
    world.events.sort(key=lambda e: (e[0], e[1]))
    linked, heads = _chain.link(
        ((i, e[2], e[3], e[0], *e[4:]) for i, e in enumerate(world.events, 1)),
        at=3,
        instrument=1,
        summit=2,
        content=4,
    )
    events = [(*e[:3], utc(e[3]), *e[4:]) for e in linked]
    summits = [(*s, *_chain.head(heads, "summit", s[0])) for s in world.summits]
    instruments = [(*r, *_chain.head(heads, "instrument", r[0])) for r in world.instruments]
    rows: dict[str, Sequence[Sequence[Any]]] = {
        "party": world.parties,
        "app_user": world.users,
        "user_role": world.roles,
        "summit": summits,
        "instrument": instruments,
        "revision": world.revisions,
        "position": world.positions,
        "deadline": world.deadlines,
        "dependency": world.dependencies,
        "event": events,
    }
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN")
        for table, columns in INSERTS.items():
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows[table])
        conn.execute("COMMIT")
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            raise BenchError("the generated data breaks a foreign key")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    as_of, since = utc(AS_OF), utc(AS_OF - timedelta(days=7))
    deadlines: Counter[str] = Counter()
    for _id, instrument_id, _m, due, met_text in world.deadlines:
        if world.instruments[instrument_id - 1][6] != TASHKENT.id:
            continue
        met = met_text if met_text is not None and met_text <= as_of else None
        due_dt = datetime.fromisoformat(due).replace(tzinfo=UTC)
        met_dt = datetime.fromisoformat(met).replace(tzinfo=UTC) if met else None
        deadlines[deadline_status(due_dt, met_dt, AS_OF).value] += 1
    in_summit = {r[0] for r in world.instruments if r[6] == TASHKENT.id}
    return DataSummary(
        instruments=len(in_summit),
        other_instruments=len(world.instruments) - len(in_summit),
        events=len(events),
        changes=sum(
            1
            for e in events
            if since < e[3] <= as_of and (e[2] == TASHKENT.id or e[1] in in_summit)
        ),
        deadlines=dict(deadlines),
        positions=len(world.positions),
        commented=sum(1 for p in world.positions if p[5]),
        revisions=len(world.revisions),
        dependencies=len(world.dependencies),
        states=dict(Counter(r[5] for r in world.instruments if r[6] == TASHKENT.id)),
        seconds=time.perf_counter() - started,
    )


# -- doctrack's side ----------------------------------------------------------------------------


def templates_dir() -> Path:
    from doctrack.services.emails import templates_folder

    return templates_folder(None)


def load_workflows() -> Workflows:
    return Workflows.from_folder(Path("workflows"))


class DoctrackSide:
    """``StatusReports.open`` + ``ReportWriter.write``, as ``doctrack report status`` runs
    them; the writer (and its compiled template) is made once, as in a long-lived process."""

    name = "doctrack"

    def __init__(self, path: Path, workflows: Workflows) -> None:
        from doctrack.services.report_render import ReportWriter
        from doctrack.services.status import StatusReports

        self.tracker = doctrack.connect(
            f"sqlite:///{path}", clock=FixedClock(GENERATED_AT), workflows=workflows
        )
        self.reports = StatusReports(self.tracker.db, self.tracker.workflows, self.tracker.clock)
        self.writer = ReportWriter(templates_dir(), LANG)

    def write(self, out: IO[str], summit: str = SUMMIT) -> None:
        with self.reports.open(summit=summit, as_of=AS_OF) as report:
            self.writer.write(report, "html", out)

    def close(self) -> None:
        self.tracker.db.dispose()


# -- the floor ------------------------------------------------------------------------------

#: The one query. Sections: 0 the summit, 1 the parties, 2 the instruments (most urgent
#: first: open before closed, then by the first deadline not met by the report's moment,
#: none last, then slug) with their deadlines (due order), positions on the current revision
#: (party order) and dependencies (slug order) folded in, 3 the changes (time order).
#: Deadlines and dependencies hold only names and timestamps, joined with the ASCII unit and
#: record separators; positions carry free text (comments), so they come as JSON.
FLOOR_SQL = """
WITH s AS (SELECT id, slug, title, city, starts, ends, tz FROM summit WHERE slug = :summit),
inst AS (
  SELECT i.id, i.slug, i.title, i.kind, i.workflow, i.state, i.state_since, i.lead_party,
         i.revision_id, i.revision_number,
         (i.workflow, i.state) IN (VALUES {final}) AS closed,
         coalesce((SELECT min(d.due_at) FROM deadline d
                    WHERE d.instrument_id = i.id
                      AND (d.met_at IS NULL OR d.met_at > :as_of)), '~') AS next_due
  FROM instrument i WHERE i.summit_id = (SELECT id FROM s)
)
SELECT 0, 0, NULL, NULL, slug, title, city, starts, ends, tz, NULL, NULL, NULL, NULL, NULL
  FROM s
UNION ALL
SELECT 1, 0, NULL, code, name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM party
UNION ALL
SELECT 2, closed, next_due, slug, title, kind, workflow, state, state_since, lead_party,
       revision_number,
       (SELECT group_concat(milestone || char(31) || due_at || char(31) || ifnull(met, ''),
                            char(30))
          FROM (SELECT d.milestone, d.due_at,
                       CASE WHEN d.met_at <= :as_of THEN d.met_at END AS met
                  FROM deadline d WHERE d.instrument_id = inst.id ORDER BY d.due_at, d.id)),
       (SELECT json_group_array(json_array(party_code, stance, comment))
          FROM (SELECT p.party_code, p.stance, p.comment FROM position p
                 WHERE p.revision_id = inst.revision_id ORDER BY p.party_code)),
       (SELECT group_concat(slug || char(31) || workflow || char(31) || state, char(30))
          FROM (SELECT x.slug, x.workflow, x.state
                  FROM dependency dp JOIN instrument x ON x.id = dp.depends_on_id
                 WHERE dp.instrument_id = inst.id ORDER BY x.slug)),
       NULL
  FROM inst
UNION ALL
SELECT 3, 0, e.at, e.id, e.actor, e.kind, e."trigger", e.from_state, e.to_state, e.comment,
       e.payload, i.slug, i.workflow, NULL, NULL
  FROM event e LEFT JOIN instrument i ON i.id = e.instrument_id
 WHERE e.at > :since AND e.at <= :as_of
   AND (e.summit_id = (SELECT id FROM s)
        OR (e.instrument_id IS NOT NULL AND i.summit_id = (SELECT id FROM s)))
ORDER BY 1, 2, 3, 4
"""


@dataclass(frozen=True, slots=True)
class FloorSummit:
    slug: str
    title: str
    city: str
    starts: date
    ends: date
    tz: str


class FloorPart:
    """What the template reads of a ``SummitReport``, from the floor's rows."""

    def __init__(
        self,
        summit: FloorSummit,
        parties: Sequence[Party],
        as_of: datetime,
        since: datetime,
        lines: list[InstrumentLine],
        open_count: int,
        changes: list[ChangeLine],
    ) -> None:
        self.summit = summit
        self.historic = False  # the report's moment is the clock's: states as they are now
        self.parties = tuple(parties)
        self.as_of = as_of
        self.since = since
        self.tz = summit.tz
        self.days_to_summit = local_days(summit.starts, as_of, summit.tz)
        self.in_session = summit.starts <= as_of.astimezone(zone(summit.tz)).date() <= summit.ends
        counts = Counter(line.health for line in lines)
        self.headline = Headline(
            total=len(lines),
            on_track=counts[Health.ON_TRACK],
            at_risk=counts[Health.AT_RISK],
            late=counts[Health.LATE],
            closed=counts[Health.CLOSED],
        )
        self._lines = lines
        self._open = open_count
        self._changes = changes

    def lines(self, *, open_only: bool = False, limit: int | None = None) -> list[InstrumentLine]:
        end = self._open if open_only else len(self._lines)
        return self._lines[: end if limit is None else min(end, limit)]

    def position_lines(self) -> list[InstrumentLine]:
        """The positions table's rows, should the template ask for them on their own."""
        return self._lines[: self._open]

    def changes(self) -> list[ChangeLine]:
        return self._changes


@dataclass(frozen=True, slots=True)
class FloorReport:
    generated_at: datetime
    summits: tuple[FloorPart, ...]


class FloorSide:
    """One sqlite3 query, plain objects, the same template and chart."""

    name = "floor"

    def __init__(self, path: Path, workflows: Workflows) -> None:
        from doctrack.services.charts import timeline_svg

        self.timeline_svg = timeline_svg
        self.conn = sqlite3.connect(path)
        final = sorted(
            (name, state.name)
            for name in workflows.names()
            for state in workflows.get(name).states.values()
            if state.final
        )
        self.sql = FLOOR_SQL.format(final=", ".join(f"(:w{i}, :s{i})" for i in range(len(final))))
        self.final_params: dict[str, str] = {}
        for i, (workflow, state_name) in enumerate(final):
            self.final_params[f"w{i}"], self.final_params[f"s{i}"] = workflow, state_name
        self.labels: dict[tuple[str, str], str] = {}
        self.adopted: set[tuple[str, str]] = set()
        self.windows: dict[str, timedelta] = {}
        for name in workflows.names():
            wf = workflows.get(name)
            before = wf.reminders.before
            self.windows[name] = (
                timedelta(days=max(d.days for d in before)) if before else timedelta(days=14)
            )
            for state in wf.states.values():
                self.labels[name, state.name] = state.label
                if state.adopted:
                    self.adopted.add((name, state.name))
        self.env = self.environment(templates_dir())
        self.template = self.env.get_template("reports/status.html")

    def environment(self, templates: Path) -> Environment:
        """A new environment with ``ReportWriter.env``'s settings, its translations and its
        filters and globals, except ``chart``: the floor draws its own from its own lines."""
        from doctrack.services.report_render import ReportWriter

        project = ReportWriter(templates, LANG).env
        env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=project.autoescape,
            extensions=list(project.extensions),
            undefined=project.undefined,
            finalize=project.finalize,
            trim_blocks=project.trim_blocks,
            lstrip_blocks=project.lstrip_blocks,
            newline_sequence=project.newline_sequence,
            keep_trailing_newline=project.keep_trailing_newline,
            optimized=project.optimized,
        )
        env.install_gettext_translations(  # type: ignore[attr-defined]
            i18n.translations(templates, "reports", LANG),
            newstyle=getattr(project, "newstyle_gettext", True),
        )
        for name, value in project.filters.items():
            env.filters.setdefault(name, value)
        for name, value in project.globals.items():
            if name != "chart":
                env.globals.setdefault(name, value)
        env.globals["chart"] = self.chart
        return env

    def chart(self, part: FloorPart, labels: Mapping[str, str]) -> Markup:
        lines = part.lines(open_only=True, limit=TIMELINE_LIMIT)
        if not lines:
            return Markup("")
        return Markup(
            self.timeline_svg(
                lines,
                tz=part.tz,
                as_of=part.as_of,
                summit_starts=part.summit.starts,
                summit_ends=part.summit.ends,
                labels={k: Markup(v).unescape() for k, v in labels.items()},
                day_format=i18n.Formats(LANG, part.tz).short_day,
            )
        )

    def report(self, summit_slug: str = SUMMIT) -> FloorReport:
        as_of, since = AS_OF, AS_OF - timedelta(days=7)
        cur = self.conn.execute(
            self.sql,
            {**self.final_params, "summit": summit_slug, "as_of": utc(as_of), "since": utc(since)},
        )
        summit: FloorSummit | None = None
        parties: list[Party] = []
        lines: list[InstrumentLine] = []
        changes: list[ChangeLine] = []
        open_count = 0
        labels, adopted_states, windows = self.labels, self.adopted, self.windows
        parse = datetime.fromisoformat
        for row in cur:
            section = row[0]
            if section == 2:
                if summit is None:
                    raise BenchError("the floor's query returned no summit")
                line = self.line(row, summit.tz, as_of, labels, adopted_states, windows, parties)
                lines.append(line)
                open_count += not line.final
            elif section == 3:
                (_, _, at, _id, actor, kind, trigger, from_state, to_state, comment) = row[:10]
                payload, slug, workflow = row[10], row[11], row[12]
                changes.append(
                    ChangeLine(
                        at=parse(at).replace(tzinfo=UTC),
                        actor=actor,
                        kind=kind,
                        instrument=slug,
                        trigger=trigger,
                        from_label=(
                            labels.get((workflow, from_state), from_state) if from_state else None
                        ),
                        to_label=labels.get((workflow, to_state), to_state) if to_state else None,
                        comment=comment,
                        details=json.loads(payload) if payload else {},
                    )
                )
            elif section == 1:
                parties.append(Party(code=row[3], name=row[4]))
            else:
                summit = FloorSummit(
                    slug=row[4],
                    title=row[5],
                    city=row[6],
                    starts=date.fromisoformat(row[7]),
                    ends=date.fromisoformat(row[8]),
                    tz=row[9],
                )
        if summit is None:
            raise BenchError(f"no summit {summit_slug!r}")
        part = FloorPart(summit, parties, as_of, since, lines, open_count, changes)
        return FloorReport(generated_at=GENERATED_AT, summits=(part,))

    @staticmethod
    def line(
        row: Sequence[Any],
        tz: str,
        as_of: datetime,
        labels: Mapping[tuple[str, str], str],
        adopted_states: set[tuple[str, str]],
        windows: Mapping[str, timedelta],
        parties: Sequence[Party],
    ) -> InstrumentLine:
        (_, closed, _next, slug, title, kind, workflow, state, state_since, lead, revision) = row[
            :11
        ]
        parse = datetime.fromisoformat
        final = bool(closed)
        adopted = (workflow, state) in adopted_states
        deadlines = []
        if row[11]:
            for item in row[11].split("\x1e"):
                milestone, due_text, met_text = item.split("\x1f")
                due = parse(due_text).replace(tzinfo=UTC)
                met = parse(met_text).replace(tzinfo=UTC) if met_text else None
                deadlines.append(
                    DeadlineLine(
                        milestone=milestone,
                        label=labels.get((workflow, milestone), milestone),
                        due=due,
                        met_at=met,
                        status=deadline_status(due, met, as_of),
                        days_left=local_days(due, as_of, tz),
                    )
                )
        pending = [d for d in deadlines if d.met_at is None]
        dependencies = []
        if row[13]:
            for item in row[13].split("\x1e"):
                dep_slug, dep_workflow, dep_state = item.split("\x1f")
                dep_adopted = (dep_workflow, dep_state) in adopted_states
                dependencies.append(
                    DependencyLine(
                        slug=dep_slug,
                        state_label=labels.get((dep_workflow, dep_state), dep_state),
                        adopted=dep_adopted,
                        blocks=not dep_adopted and not adopted and not final,
                    )
                )
        stances = {p[0]: p for p in json.loads(row[12])}
        cells = []
        for party in parties:
            p = stances.get(party.code)
            cells.append(
                PositionCell(
                    party=party.code,
                    stance=p[1] if p else None,
                    comment=p[2] if p else None,
                )
            )
        since = parse(state_since).replace(tzinfo=UTC)
        upcoming, missed = next_and_missed(
            deadlines, pending, final=final, as_of=as_of, state_since=since
        )
        return InstrumentLine(
            slug=slug,
            title=title,
            kind=kind,
            workflow=workflow,
            state=state,
            state_label=labels.get((workflow, state), state),
            state_since=since,
            days_in_state=max(0, local_days(as_of, since, tz)),
            health=classify(
                closed=final,
                next_due=pending[0].due if pending else None,
                as_of=as_of,
                window=windows.get(workflow, timedelta(days=14)),
            ),
            final=final,
            adopted=adopted,
            lead=lead,
            revision=revision,
            deadlines=tuple(deadlines),
            next_deadline=upcoming,
            missed=missed,
            dependencies=tuple(dependencies),
            blocked=any(d.blocks for d in dependencies),
            positions=tuple(cells),
        )

    def write(self, out: IO[str], summit: str = SUMMIT) -> None:
        report = self.report(summit)
        for piece in self.template.generate(report=report, summits=report.summits):
            out.write(piece)

    def close(self) -> None:
        self.conn.close()


# -- running and checking -----------------------------------------------------------------------

Side = DoctrackSide | FloorSide


@dataclass(slots=True)
class Timing:
    wall_ns: int
    cpu_ns: int


def timed(side: Side, out: Path) -> Timing:
    """One report, written to ``out`` (UTF-8), opening and closing the file included."""
    gc.collect()
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    with out.open("w", encoding="utf-8", newline="") as fh:
        side.write(fh)
    return Timing(time.perf_counter_ns() - wall, time.process_time_ns() - cpu)


def check_same_html(ours: Path, floor: Path) -> None:
    a, b = ours.read_bytes(), floor.read_bytes()
    if a == b:
        return
    diff = difflib.unified_diff(
        a.decode().splitlines(),
        b.decode().splitlines(),
        "doctrack",
        "floor",
        n=1,
        lineterm="",
    )
    excerpt = "\n".join(line[:200] for line in list(diff)[:30])
    raise BenchError(f"doctrack and the floor wrote different HTML:\n{excerpt}")


class CountingSink:
    """A text stream that only counts what is written (constant memory)."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def _reset_peak_rss() -> bool:
    """Reset the peak RSS (``VmHWM``) of this process to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def memory_child(path: Path, side_name: str) -> dict[str, Any]:
    """In a fresh process: after a warm-up report of the small ufa-2015 summit (imports,
    template compilation, Matplotlib's fonts, Babel), the peak RSS of one report of
    ``SUMMIT``, then tracemalloc's peak during another."""
    workflows = load_workflows()
    side: Side = (
        DoctrackSide(path, workflows) if side_name == "doctrack" else FloorSide(path, workflows)
    )
    try:
        side.write(CountingSink(), summit=UFA.slug)  # type: ignore[arg-type]
        gc.collect()
        base_kib = proc_status_kib("VmRSS")
        reset = base_kib is not None and _reset_peak_rss()
        if not reset:
            base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sink = CountingSink()
        side.write(sink)  # type: ignore[arg-type]
        peak_kib = proc_status_kib("VmHWM") if reset else None
        if peak_kib is None:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        side.write(CountingSink())  # type: ignore[arg-type]
        heap = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()
    finally:
        side.close()
    return {
        "base_rss": (base_kib or 0) * 1024,
        "peak_rss": peak_kib * 1024,
        "peak_reset": reset,
        "heap_peak": heap,
        "chars": sink.chars,
    }


def measure_memory(path: Path, side_name: str) -> dict[str, Any]:
    """``memory_child`` in a fresh interpreter (same Python, same import paths)."""
    import bench

    paths = [str(Path(doctrack.__file__).resolve().parents[1])]
    paths.append(str(Path(bench.__file__).resolve().parents[1]))
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.report", "--memory-child", str(path), "--side", side_name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"the memory run failed:\n{done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- profile --------------------------------------------------------------------------------

#: (category, test on a pstats key (file, line, function)), first match wins.
CATEGORIES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("sqlite3 (C: execute, step, fetch)", lambda f, fn: "sqlite3." in fn),
    ("SQLAlchemy (Python)", lambda f, fn: "/sqlalchemy/" in f),
    (
        "Matplotlib + its deps (chart)",
        lambda f, fn: any(
            m in f for m in ("/matplotlib/", "/numpy/", "/PIL/", "/fontTools/", "/pyparsing/")
        ),
    ),
    (
        "Jinja2 template code + runtime",
        lambda f, fn: (
            any(m in f for m in ("/jinja2/", "/markupsafe/", "templates/", "<template>"))
            or "markupsafe" in fn
        ),
    ),
    ("Babel + doctrack.i18n (formats)", lambda f, fn: "/babel/" in f or "doctrack/i18n" in f),
    (
        "doctrack status/reporting",
        lambda f, fn: "doctrack/services/status" in f or "doctrack/storage/" in f,
    ),
    ("the floor's own code", lambda f, fn: f.endswith("bench/report.py")),
    ("other (datetime, zoneinfo, json, dataclasses, ...)", lambda f, fn: True),
)


@dataclass(slots=True)
class Profile:
    total: float
    by_category: dict[str, float]
    top: list[tuple[str, int, float, float]]  # name, calls, tottime, cumtime
    cumulative: dict[str, float]


#: Functions whose cumulative time is worth showing (function name, file ending).
MARKERS = (
    ("timeline_svg", "charts.py", "chart (timeline_svg)"),
    ("headline", "status.py", "SummitReport.headline (classification query)"),
    ("_chunk", "status.py", "SummitReport._chunk (chunk queries + lines)"),
    ("_line", "status.py", "SummitReport._line (building lines)"),
    ("instrument_rows", "reporting.py", "reporting.instrument_rows (streamed rows)"),
    ("changes", "status.py", "SummitReport.changes"),
    ("report", "bench/report.py", "floor: query + building every object"),
    ("line", "bench/report.py", "floor: building lines"),
)


def profile(side: Side, out: Path, top: int) -> Profile:
    profiler = cProfile.Profile()
    with out.open("w", encoding="utf-8", newline="") as fh:
        profiler.enable()
        side.write(fh)
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_category: dict[str, float] = dict.fromkeys((c for c, _ in CATEGORIES), 0.0)
    cumulative: dict[str, float] = {}
    rows = []

    def category(filename: str, func: str) -> str:
        return next(c for c, test in CATEGORIES if test(filename, func))

    for (filename, line, func), (_cc, calls, tottime, cumtime, callers) in raw.items():
        if filename == "~" and "sqlite3." not in func and callers:
            # a built-in (isinstance, str.replace, ft2font...): its time goes to whoever
            # called it, caller by caller
            for (c_file, _c_line, c_func), caller in callers.items():
                by_category[category(c_file, c_func)] += caller[2]
        else:
            by_category[category(filename, func)] += tottime
        for name, ending, label in MARKERS:
            if func == name and filename.endswith(ending):
                cumulative[label] = max(cumulative.get(label, 0.0), cumtime)
        short = f"{Path(filename).name}:{line}({func})" if filename != "~" else func
        rows.append((short, calls, tottime, cumtime))
    rows.sort(key=lambda r: r[2], reverse=True)
    return Profile(
        total=sum(by_category.values()),
        by_category=by_category,
        top=rows[:top],
        cumulative=cumulative,
    )


def print_profile(ours: Profile, floor: Profile) -> None:
    print()
    print("profile (cProfile, one untimed run each; own time of functions, by where they live):")
    rows = [
        [
            category,
            f"{ours.by_category[category] * 1000:,.0f} ms",
            f"{floor.by_category[category] * 1000:,.0f} ms",
        ]
        for category, _ in CATEGORIES
        if ours.by_category[category] or floor.by_category[category]
    ]
    rows.append(
        ["total (profiled)", f"{ours.total * 1000:,.0f} ms", f"{floor.total * 1000:,.0f} ms"]
    )
    print(render_table(["", "doctrack", "floor"], rows))
    print()
    print("cumulative time of key steps:")
    for label, seconds in sorted({**ours.cumulative, **floor.cumulative}.items()):
        print(f"  {label}: {seconds * 1000:,.0f} ms")
    print()
    print("doctrack's top functions by own time:")
    print(
        render_table(
            ["function", "calls", "own ms", "cum ms"],
            [[n, f"{c:,}", f"{t * 1000:,.1f}", f"{cu * 1000:,.1f}"] for n, c, t, cu in ours.top],
        )
    )


# -- report ---------------------------------------------------------------------------------


def print_data(data: DataSummary, html_bytes: int) -> None:
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(data.states.items()))
    deadlines = ", ".join(f"{k} {v:,}" for k, v in sorted(data.deadlines.items()))
    print(
        f"setup (untimed, bulk INSERTs into doctrack's schema, {data.seconds:.1f} s): summit "
        f"{SUMMIT} with {data.instruments:,} instruments ({states}); "
        f"{data.other_instruments} adopted instruments of ufa-2015 as dependency targets; "
        f"{data.events:,} events ({data.changes:,} in the report's 7 days); deadlines at the "
        f"report's moment: {deadlines}; {data.revisions:,} revisions; {data.positions:,} "
        f"positions ({data.commented:,} with a comment); {data.dependencies:,} dependencies"
    )
    print(
        f"report: as of {AS_OF:%Y-%m-%dT%H:%MZ}, html, lang {LANG}, {html_bytes:,} bytes; "
        "doctrack's and the floor's files compared byte for byte after every run: identical"
    )


def make_row(
    n: int, ours: list[Timing], floor: list[Timing], memory: list[tuple[str, int, dict[str, Any]]]
) -> Row:
    d = Measured("doctrack", [t.wall_ns for t in ours], cpu_ns=[t.cpu_ns for t in ours])
    f = Measured(
        "1 query, same template",
        [t.wall_ns for t in floor],
        cpu_ns=[t.cpu_ns for t in floor],
    )
    notes = [f"{d.median_ns / n / 1000:,.0f} vs {f.median_ns / n / 1000:,.0f} µs/instrument"]
    peak = None
    for side, size, r in memory:
        grown = r["peak_rss"] - r["base_rss"]
        if side == "doctrack" and size == n:
            peak = grown
        else:
            notes.append(f"{side} RSS growth {mib(grown)} at {size:,}")
    return Row(
        workload="status report (html)",
        size=f"{n:,} instruments",
        doctrack=d,
        floor=f,
        peak_bytes=peak,
        peak_kind="RSS growth",
        target=TARGET_RATIO,
        notes=notes,
        details={"memory": [{"side": s, "instruments": k, **r} for s, k, r in memory]},
    )


def print_memory(results: list[tuple[str, int, dict[str, Any]]]) -> None:
    print()
    print(
        "peak memory, one report of the summit in a fresh process each (output counted, not kept):"
    )
    rows = [
        [
            side,
            f"{n:,} instruments",
            mib(r["base_rss"]),
            mib(r["peak_rss"]),
            mib(r["peak_rss"] - r["base_rss"]),
            mib(r["heap_peak"]),
            f"{r['chars']:,}",
        ]
        for side, n, r in results
    ]
    headers = [
        "side",
        "size",
        "RSS before",
        "peak RSS",
        "peak RSS - before",
        "heap peak (tracemalloc)",
        "chars written",
    ]
    print(render_table(headers, rows))
    ours = [(n, r) for side, n, r in results if side == "doctrack"]
    if len(ours) == 2:
        (n1, a), (n2, b) = ours
        grown_a = max(1, a["peak_rss"] - a["base_rss"])
        grown_b = b["peak_rss"] - b["base_rss"]
        print(
            f"doctrack, {n2:,} vs {n1:,} instruments ({n2 / n1:.0f}x the instruments, "
            f"{b['chars'] / a['chars']:.1f}x the output): peak RSS "
            f"{b['peak_rss'] / a['peak_rss']:.2f}x, peak RSS - before {grown_b / grown_a:.2f}x, "
            f"heap peak {b['heap_peak'] / a['heap_peak']:.2f}x"
        )
    exact = all(r.get("peak_reset") for _, _, r in results)
    print(
        "RSS before = after a warm-up report of the small ufa-2015 summit in the same process "
        "(imports, Matplotlib's fonts, compiled template); peak RSS = "
        + (
            "VmHWM during the report, reset just before it (/proc/self/clear_refs)"
            if exact
            else "ru_maxrss (the process's peak, warm-up included)"
        )
        + "; heap peak = tracemalloc's peak above the start during a second report "
        "(Python allocations only, not SQLite's page cache)"
    )


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.report",
        "The HTML status report against a one-query sqlite3 floor, same template.",
        repeats=DEFAULT_REPEATS,
        quick=f"{QUICK_INSTRUMENTS} instruments, no large memory run",
    )
    count_option(
        p,
        "instruments",
        default=DEFAULT_INSTRUMENTS,
        quick=QUICK_INSTRUMENTS,
        minimum=10,
        help="instruments in the summit",
    )
    p.add_argument(
        "--memory-factor",
        type=int,
        default=None,
        metavar="K",
        help="also measure doctrack's peak memory on a summit K times larger "
        f"(default {DEFAULT_MEMORY_FACTOR}, --quick 0: not)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the memory runs (subprocesses)")
    p.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=15,
        default=None,
        metavar="TOP",
        help="profile one run of each side with cProfile; print TOP functions (default 15)",
    )
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep the database and HTML here")
    p.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--side", choices=("doctrack", "floor"), help=argparse.SUPPRESS)
    args = resolve(p, p.parse_args(argv))
    if args.memory_factor is None:
        args.memory_factor = 0 if args.quick else DEFAULT_MEMORY_FACTOR
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child is not None:
        try:
            print(json.dumps(memory_child(args.memory_child, args.side or "doctrack")))
        except BenchError as exc:
            print(f"bench.report: {exc}", file=sys.stderr)
            return 1
        return 0
    return run_main("report", rows, args)


def rows(args: argparse.Namespace) -> list[Row]:
    n = args.instruments
    workflows = load_workflows()
    with tempfile.TemporaryDirectory(prefix="doctrack-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / f"report-{n}.db"
        db.unlink(missing_ok=True)
        data = build_database(db, workflows, n)
        ours_html, floor_html = folder / "doctrack.html", folder / "floor.html"

        ours, floor = DoctrackSide(db, workflows), FloorSide(db, workflows)
        try:
            try:
                timed(ours, ours_html)  # warm-up: template compilation, imports, connection
            except Exception as exc:
                raise BenchError(f"doctrack's report failed: {type(exc).__name__}: {exc}") from exc
            timed(floor, floor_html)
            check_same_html(ours_html, floor_html)
            ours_t: list[Timing] = []
            floor_t: list[Timing] = []
            for repeat in range(args.repeats):
                if repeat % 2:
                    floor_t.append(timed(floor, floor_html))
                    ours_t.append(timed(ours, ours_html))
                else:
                    ours_t.append(timed(ours, ours_html))
                    floor_t.append(timed(floor, floor_html))
                check_same_html(ours_html, floor_html)
            profiles = None
            if args.profile is not None:
                profiles = (
                    profile(ours, ours_html, args.profile),
                    profile(floor, floor_html, args.profile),
                )
        finally:
            ours.close()
            floor.close()
        html_bytes = ours_html.stat().st_size

        memory: list[tuple[str, int, dict[str, Any]]] = []
        if not args.no_memory:
            memory.append(("doctrack", n, measure_memory(db, "doctrack")))
            memory.append(("floor", n, measure_memory(db, "floor")))
            if args.memory_factor > 1:
                big_n = n * args.memory_factor
                big = folder / f"report-{big_n}.db"
                big.unlink(missing_ok=True)
                build_database(big, workflows, big_n)
                memory.append(("doctrack", big_n, measure_memory(big, "doctrack")))
                if args.keep is None:
                    big.unlink()

    print_data(data, html_bytes)
    print(
        f"{args.repeats} repeat(s), the two alternating (target: at most {TARGET_RATIO:g}x); "
        "both write the same file; once-per-process costs (template compilation, imports, "
        "first connection) are paid in an untimed warm-up run"
    )
    if memory:
        print_memory(memory)
    if profiles is not None:
        print_profile(*profiles)
    return [make_row(n, ours_t, floor_t, memory)]


if __name__ == "__main__":
    sys.exit(main())
