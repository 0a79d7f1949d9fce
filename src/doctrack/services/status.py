"""The status report: where each instrument stands against its summit, as of a moment.

:meth:`StatusReports.open` reads in one snapshot (a read transaction; REPEATABLE READ on
PostgreSQL) and hands out a :class:`StatusReport` whose sections are iterators over that
snapshot, so a renderer can stream a summit of any size: the instruments are read in
chunks (``storage.reporting.CHUNK``) and never all held at once.

How an instrument is classed, at the report's moment ``as_of``:

- **closed**: in a final state of its workflow (adopted for good, or withdrawn);
- **late**: a deadline is past due and its milestone was not reached by ``as_of``;
- **at risk**: not late, and the next deadline falls within the workflow's reminder
  window (its earliest reminder, 14 days in the shipped workflows; 14 days when a workflow
  sends no reminders): the milestone is due soon and not yet reached;
- **on track**: anything else (no deadline left, or the next one is further away).

Day counts are calendar days in the summit's time zone, as in the reminder emails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any

from sqlalchemy.engine import Connection, Row

from doctrack.clock import Clock
from doctrack.domain import DeadlineStatus
from doctrack.engine.deadlines import deadline_status
from doctrack.engine.definition import WorkflowDef
from doctrack.engine.registry import Workflows
from doctrack.errors import NotFoundError, UsageError
from doctrack.storage import repo, reporting
from doctrack.storage.db import Database
from doctrack.storage.records import SummitRecord
from doctrack.timerules import start_of_day, zone

#: The at-risk window of a workflow that sends no deadline reminders.
DEFAULT_WINDOW = timedelta(days=14)
#: Instruments drawn in a summit's timeline chart (the most urgent ones).
TIMELINE_LIMIT = 40
#: What "what changed" covers when no other start is given.
DEFAULT_CHANGES_DAYS = 7


class Health(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    LATE = "late"
    CLOSED = "closed"


def classify(
    *, closed: bool, next_due: datetime | None, as_of: datetime, window: timedelta
) -> Health:
    """The class of one instrument (see the module's docstring)."""
    if closed:
        return Health.CLOSED
    if next_due is None:
        return Health.ON_TRACK
    if next_due <= as_of:
        return Health.LATE
    if next_due - as_of <= window:
        return Health.AT_RISK
    return Health.ON_TRACK


def local_days(later: datetime | date, earlier: datetime | date, tz: str) -> int:
    """Calendar days from ``earlier`` to ``later`` in zone ``tz`` (a date is that day)."""
    place = zone(tz)
    a = later.astimezone(place).date() if isinstance(later, datetime) else later
    b = earlier.astimezone(place).date() if isinstance(earlier, datetime) else earlier
    return (a - b).days


@dataclass(frozen=True, slots=True, kw_only=True)
class Headline:
    total: int
    on_track: int
    at_risk: int
    late: int
    closed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineLine:
    milestone: str
    label: str
    due: datetime
    met_at: datetime | None  # only when met by the report's moment
    status: DeadlineStatus
    days_left: int  # calendar days from as_of to due, in the summit's zone; < 0 once past


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyLine:
    slug: str
    state_label: str
    adopted: bool
    blocks: bool  # not adopted, while the dependent instrument still has to be


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionCell:
    party: str
    stance: str | None  # approve | reserve | object; None: no position yet
    comment: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentLine:
    slug: str
    title: str
    kind: str
    workflow: str
    state: str
    state_label: str
    state_since: datetime
    days_in_state: int
    health: Health
    final: bool
    adopted: bool
    lead: str | None
    revision: int | None
    deadlines: tuple[DeadlineLine, ...]
    next_deadline: DeadlineLine | None
    missed: tuple[DeadlineLine, ...]
    dependencies: tuple[DependencyLine, ...]
    blocked: bool
    positions: tuple[PositionCell, ...]  # one per party, in party order

    @property
    def not_agreed(self) -> tuple[str, ...]:
        """Parties without an ``approve`` on the current revision."""
        return tuple(p.party for p in self.positions if p.stance != "approve")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeLine:
    at: datetime
    actor: str
    kind: str
    instrument: str | None  # None: an event of the summit itself
    trigger: str | None
    from_label: str | None
    to_label: str | None
    comment: str | None
    details: Mapping[str, Any]  # the event's payload: party and stance, draft number...


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    code: str
    name: str


class SummitReport:
    """One summit's part of the report; its sections are read when iterated."""

    def __init__(
        self,
        conn: Connection,
        workflows: Workflows,
        summit: SummitRecord,
        parties: Sequence[Party],
        as_of: datetime,
        since: datetime,
        *,
        historic: bool = False,
    ) -> None:
        self._conn = conn
        self.historic = historic
        self._workflows = workflows
        self.summit = summit
        self.parties = tuple(parties)
        self.as_of = as_of
        self.since = since
        self.tz = summit.tz
        self.days_to_summit = local_days(summit.starts, as_of, summit.tz)
        self.in_session = summit.starts <= as_of.astimezone(zone(summit.tz)).date() <= summit.ends
        self._final = sorted(
            (name, state.name)
            for name in workflows.names()
            for state in workflows.get(name).states.values()
            if state.final
        )
        self._headline: Headline | None = None

    def _workflow(self, name: str) -> WorkflowDef | None:
        return self._workflows.get(name) if name in self._workflows else None

    def _window(self, name: str) -> timedelta:
        wf = self._workflow(name)
        if wf is None or not wf.reminders.before:
            return DEFAULT_WINDOW
        return timedelta(days=max(d.days for d in wf.reminders.before))

    @property
    def headline(self) -> Headline:
        """Counts by class, in one streamed pass over the summit's instruments."""
        if self._headline is None:
            counts = dict.fromkeys(Health, 0)
            windows: dict[str, timedelta] = {}
            for r in reporting.classification_rows(
                self._conn, self.summit.id, self.as_of, self._final, historic=self.historic
            ):
                window = windows.get(r.workflow)
                if window is None:
                    window = windows[r.workflow] = self._window(r.workflow)
                counts[
                    classify(
                        closed=bool(r.closed), next_due=r.next_due, as_of=self.as_of, window=window
                    )
                ] += 1
            self._headline = Headline(
                total=sum(counts.values()),
                on_track=counts[Health.ON_TRACK],
                at_risk=counts[Health.AT_RISK],
                late=counts[Health.LATE],
                closed=counts[Health.CLOSED],
            )
        return self._headline

    def lines(
        self, *, open_only: bool = False, limit: int | None = None
    ) -> Iterator[InstrumentLine]:
        """The instruments, most urgent first (see ``reporting.instrument_rows``)."""
        rows = reporting.instrument_rows(
            self._conn,
            self.summit.id,
            self.as_of,
            self._final,
            historic=self.historic,
            open_only=open_only,
            limit=limit,
        )
        while chunk := list(islice(rows, reporting.CHUNK)):
            yield from self._chunk(chunk)

    def timeline(self) -> list[InstrumentLine]:
        """The most urgent open instruments, for the chart."""
        return list(self.lines(open_only=True, limit=TIMELINE_LIMIT))

    def changes(self) -> Iterator[ChangeLine]:
        """What happened after ``since`` up to ``as_of``, oldest first."""
        for e in reporting.summit_events(self._conn, self.summit.id, self.since, self.as_of):
            wf = self._workflow(e.workflow) if e.workflow else None
            label = wf.label if wf else str
            yield ChangeLine(
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                instrument=e.slug,
                trigger=e.trigger,
                from_label=label(e.from_state) if e.from_state else None,
                to_label=label(e.to_state) if e.to_state else None,
                comment=e.comment,
                details=json.loads(e.payload) if e.payload else {},
            )

    def _chunk(self, rows: list[Row[Any]]) -> Iterator[InstrumentLine]:
        ids = [r.id for r in rows]
        deadlines = reporting.deadlines_of(self._conn, ids)
        dependencies = reporting.dependencies_of(
            self._conn, ids, self.as_of if self.historic else None
        )
        stances: dict[int, dict[str, tuple[str, str | None]]] = {}
        if self.historic:
            drafts = {r.id: r.revision_number for r in rows}
            then = reporting.position_events(self._conn, ids, self.as_of)
            for (instrument_id, number, party), value in then.items():
                if number == drafts[instrument_id]:
                    stances.setdefault(instrument_id, {})[party] = value
        else:
            by_revision = reporting.positions_on(
                self._conn, [r.revision_id for r in rows if r.revision_id is not None]
            )
            for r in rows:
                if r.revision_id is not None:
                    stances[r.id] = {
                        p.party_code: (p.stance, p.comment)
                        for p in by_revision.get(r.revision_id, ())
                    }
        for r in rows:
            yield self._line(
                r, deadlines.get(r.id, ()), stances.get(r.id, {}), dependencies.get(r.id, ())
            )

    def _line(
        self,
        r: Row[Any],
        deadline_rows: Sequence[Row[Any]],
        stances: Mapping[str, tuple[str, str | None]],
        dependency_rows: Sequence[Row[Any]],
    ) -> InstrumentLine:
        wf = self._workflow(r.workflow)
        label = wf.label if wf else str
        as_of, tz = self.as_of, self.tz
        final = bool(r.closed)
        adopted = bool(wf and wf.is_adopted(r.state))
        deadlines = []
        for d in deadline_rows:
            met = d.met_at if d.met_at is not None and d.met_at <= as_of else None
            deadlines.append(
                DeadlineLine(
                    milestone=d.milestone,
                    label=label(d.milestone),
                    due=d.due_at,
                    met_at=met,
                    status=deadline_status(d.due_at, met, as_of),
                    days_left=local_days(d.due_at, as_of, tz),
                )
            )
        pending = [d for d in deadlines if d.met_at is None]
        dependencies = []
        for dep in dependency_rows:
            dep_wf = self._workflow(dep.workflow)
            dep_adopted = bool(dep_wf and dep_wf.is_adopted(dep.state))
            dependencies.append(
                DependencyLine(
                    slug=dep.slug,
                    state_label=dep_wf.label(dep.state) if dep_wf else dep.state,
                    adopted=dep_adopted,
                    blocks=not dep_adopted and not adopted and not final,
                )
            )
        cells = []
        for party in self.parties:
            stance, comment = stances.get(party.code, (None, None))
            cells.append(PositionCell(party=party.code, stance=stance, comment=comment))
        return InstrumentLine(
            slug=r.slug,
            title=r.title,
            kind=r.kind,
            workflow=r.workflow,
            state=r.state,
            state_label=label(r.state),
            state_since=r.state_since,
            days_in_state=max(0, local_days(as_of, r.state_since, tz)),
            health=classify(
                closed=final,
                next_due=pending[0].due if pending else None,
                as_of=as_of,
                window=self._window(r.workflow),
            ),
            final=final,
            adopted=adopted,
            lead=r.lead_party,
            revision=r.revision_number,
            deadlines=tuple(deadlines),
            # A closed instrument has nothing left to meet: no next deadline, and only the
            # deadlines it missed before it closed.
            next_deadline=None if final else next((d for d in pending if d.due > as_of), None),
            missed=tuple(
                d
                for d in deadlines
                if d.status is DeadlineStatus.MISSED
                and not (final and d.met_at is None and d.due >= r.state_since)
            ),
            dependencies=tuple(dependencies),
            blocked=any(d.blocks for d in dependencies),
            positions=tuple(cells),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    generated_at: datetime
    as_of: datetime
    summits: tuple[SummitReport, ...]


class StatusReports:
    """Builds status reports from the database."""

    def __init__(self, db: Database, workflows: Workflows, clock: Clock) -> None:
        self.db = db
        self.workflows = workflows
        self.clock = clock

    @contextmanager
    def open(
        self,
        *,
        summit: str | None = None,
        as_of: datetime | date | None = None,
        since: datetime | date | None = None,
        days: int | None = None,
    ) -> Iterator[StatusReport]:
        """The report, readable until the ``with`` block ends.

        ``as_of``: the moment the numbers are computed for (default: now); a date is the
        start of that day in each summit's zone. The data is what the database holds now:
        a deadline met after ``as_of`` counts as not met, states are today's.
        ``since`` (or ``days`` before ``as_of``, default 7): where "what changed" starts.
        ``summit``: one summit; by default every summit not over by ``as_of``, or the most
        recent one when all are over.
        """
        if days is not None and days < 0:
            raise UsageError(f"--days must be 0 or more, not {days}")
        now = self.clock.now()
        with self.db.snapshot() as conn:
            summits = self._summits(conn, summit, as_of if as_of is not None else now)
            parties = [Party(code=p.code, name=p.name) for p in reporting.party_rows(conn)]
            parts = []
            for s in summits:
                moment = _instant(as_of, s.tz) if as_of is not None else now
                start = (
                    _instant(since, s.tz)
                    if since is not None
                    else moment - timedelta(days=DEFAULT_CHANGES_DAYS if days is None else days)
                )
                if start > moment:
                    raise UsageError("--since is after --as-of: nothing can have changed")
                parts.append(
                    SummitReport(
                        conn, self.workflows, s, parties, moment, start, historic=moment < now
                    )
                )
            yield StatusReport(
                generated_at=now,
                as_of=_instant(as_of, "UTC") if as_of is not None else now,
                summits=tuple(parts),
            )

    def _summits(
        self, conn: Connection, slug: str | None, as_of: datetime | date
    ) -> list[SummitRecord]:
        if slug is not None:
            found = repo.get_summit_by_slug(conn, slug)
            if found is None:
                raise NotFoundError("summit", slug)
            return [found]
        every = repo.list_summits(conn)
        if not every:
            raise UsageError("there are no summits yet: add one with 'doctrack summit add'")

        def over(s: SummitRecord) -> bool:
            day = as_of if not isinstance(as_of, datetime) else as_of.astimezone(zone(s.tz)).date()
            return s.ends < day

        current = [s for s in every if not over(s)]
        return current or [max(every, key=lambda s: (s.ends, s.slug))]


def _instant(value: datetime | date, tz: str) -> datetime:
    return value if isinstance(value, datetime) else start_of_day(value, tz)
