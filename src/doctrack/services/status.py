"""The status report: where each instrument stands against its summit, as of a moment.

:meth:`StatusReports.open` reads in one snapshot (a read transaction; REPEATABLE READ on
PostgreSQL) and hands out a :class:`StatusReport` whose sections are iterators over that
snapshot, so a renderer can stream a summit of any size: the instruments are read in
chunks (``storage.reporting.CHUNK``) and never all held at once. The positions matrix has
its own, lighter section (:meth:`SummitReport.position_lines`): the open instruments and
the positions on their current drafts, without their deadlines and dependencies.

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

from sqlalchemy.engine import Connection

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
#: Entries a report's memo of deadline lines or position cells holds before it starts over
#: (most instruments of a summit share their due times, most positions have no comment).
MEMO_LIMIT = 4096


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


def next_and_missed(
    deadlines: Sequence[DeadlineLine],
    pending: Sequence[DeadlineLine],
    *,
    final: bool,
    as_of: datetime,
    state_since: datetime,
) -> tuple[DeadlineLine | None, tuple[DeadlineLine, ...]]:
    """An instrument's next deadline and its missed ones. A closed instrument has nothing
    left to meet: no next deadline, and only the deadlines it missed before it closed."""
    upcoming = None if final else next((d for d in pending if d.due > as_of), None)
    missed = tuple(
        d
        for d in deadlines
        if d.status is DeadlineStatus.MISSED
        and not (final and d.met_at is None and d.due >= state_since)
    )
    return upcoming, missed


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
class PositionsLine:
    """One row of the positions matrix: an open instrument and the parties' positions on
    its current draft (an :class:`InstrumentLine` has the same fields, and more)."""

    slug: str
    title: str
    revision: int | None
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
    """One summit's part of the report; its sections are read when iterated.

    What many instruments share is worked out once: each workflow's at-risk window, the
    lines of deadlines due at the same time and not met, the position cells with the same
    party, stance and comment (the lines are frozen, so sharing them is safe).
    """

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
        self._place = zone(summit.tz)
        self._today = as_of.astimezone(self._place).date()  # the report's day, there
        self.in_session = summit.starts <= self._today <= summit.ends
        self._final = sorted(
            (name, state.name)
            for name in workflows.names()
            for state in workflows.get(name).states.values()
            if state.final
        )
        self._headline: Headline | None = None
        self._windows: dict[str, timedelta] = {}
        #: (workflow, milestone, raw due time) -> the line of that deadline, not met
        self._pending: dict[tuple[str, str, datetime], DeadlineLine] = {}
        self._cells: dict[tuple[str, str | None, str | None], PositionCell] = {}

    def _workflow(self, name: str) -> WorkflowDef | None:
        return self._workflows.get(name) if name in self._workflows else None

    def _window(self, name: str) -> timedelta:
        """The at-risk window of workflow ``name`` (see the module's docstring)."""
        window = self._windows.get(name)
        if window is None:
            wf = self._workflow(name)
            if wf is None or not wf.reminders.before:
                window = DEFAULT_WINDOW
            else:
                window = timedelta(days=max(d.days for d in wf.reminders.before))
            self._windows[name] = window
        return window

    @property
    def headline(self) -> Headline:
        """Counts by class, in one streamed pass over the summit's instruments."""
        if self._headline is None:
            counts = dict.fromkeys(Health, 0)
            as_of, as_utc = self.as_of, reporting.as_utc
            for workflow, _state, closed, next_due in reporting.classification_rows(
                self._conn, self.summit.id, as_of, self._final, historic=self.historic
            ):
                counts[
                    classify(
                        closed=bool(closed),
                        next_due=None if next_due is None else as_utc(next_due),
                        as_of=as_of,
                        window=self._window(workflow),
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

    def position_lines(self) -> Iterator[PositionsLine]:
        """The positions matrix: the open instruments, in the order of ``lines``, with the
        parties' positions on their current drafts (as they were, in a historic report)."""
        rows = reporting.instrument_rows(
            self._conn,
            self.summit.id,
            self.as_of,
            self._final,
            historic=self.historic,
            open_only=True,
        )
        while chunk := list(islice(rows, reporting.CHUNK)):
            stances = self._stances(chunk)
            for instrument_id, slug, title, *_, revision, _closed, _next_due in chunk:
                yield PositionsLine(
                    slug=slug,
                    title=title,
                    revision=revision,
                    positions=self._positions(stances.get(instrument_id, {})),
                )

    def timeline(self) -> list[InstrumentLine]:
        """The most urgent open instruments, for the chart."""
        return list(self.lines(open_only=True, limit=TIMELINE_LIMIT))

    def changes(self) -> Iterator[ChangeLine]:
        """What happened after ``since`` up to ``as_of``, oldest first."""
        for (
            at,
            actor,
            kind,
            trigger,
            from_state,
            to_state,
            comment,
            payload,
            slug,
            workflow,
        ) in reporting.summit_events(self._conn, self.summit.id, self.since, self.as_of):
            wf = self._workflow(workflow) if workflow else None
            label = wf.label if wf else str
            yield ChangeLine(
                at=reporting.as_utc(at),
                actor=actor,
                kind=kind,
                instrument=slug,
                trigger=trigger,
                from_label=label(from_state) if from_state else None,
                to_label=label(to_state) if to_state else None,
                comment=comment,
                details=json.loads(payload) if payload else {},
            )

    def _stances(self, rows: Sequence[Any]) -> dict[int, dict[str, tuple[str, str | None]]]:
        """Instrument id to party to (stance, comment) on the draft of each of ``rows``
        (``instrument_rows``): the current one, or in a historic report the one of then."""
        drafts: dict[int, tuple[int | None, int | None]] = {
            instrument_id: (revision_id, revision_number)
            for instrument_id, *_, revision_id, revision_number, _closed, _next_due in rows
        }
        if self.historic:
            stances: dict[int, dict[str, tuple[str, str | None]]] = {}
            then = reporting.position_events(self._conn, list(drafts), self.as_of)
            for (instrument_id, number, party), value in then.items():
                if number == drafts[instrument_id][1]:
                    stances.setdefault(instrument_id, {})[party] = value
            return stances
        revisions = {
            i: revision_id for i, (revision_id, _) in drafts.items() if revision_id is not None
        }
        by_revision = reporting.positions_on(self._conn, list(revisions.values()))
        return {i: by_revision.get(revision_id, {}) for i, revision_id in revisions.items()}

    def _positions(self, stances: Mapping[str, tuple[str, str | None]]) -> tuple[PositionCell, ...]:
        """One cell per party, in party order, from party to (stance, comment)."""
        cells = []
        memo = self._cells
        for party in self.parties:
            stance, comment = stances.get(party.code, (None, None))
            key = (party.code, stance, comment)
            cell = memo.get(key)
            if cell is None:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                cell = memo[key] = PositionCell(party=party.code, stance=stance, comment=comment)
            cells.append(cell)
        return tuple(cells)

    def _deadline(
        self, wf: WorkflowDef | None, workflow: str, row: reporting.DeadlineRow
    ) -> DeadlineLine:
        """The line of one deadline (``deadlines_of``) of an instrument of ``workflow``. A
        deadline not met by ``as_of`` is the same for every instrument due at that time:
        made once."""
        milestone, due_at, met_at = row
        met = None if met_at is None else reporting.as_utc(met_at)
        if met is not None and met <= self.as_of:
            return self._deadline_line(wf, milestone, reporting.as_utc(due_at), met)
        key = (workflow, milestone, due_at)
        line = self._pending.get(key)
        if line is None:
            if len(self._pending) >= MEMO_LIMIT:
                self._pending.clear()
            line = self._deadline_line(wf, milestone, reporting.as_utc(due_at), None)
            self._pending[key] = line
        return line

    def _deadline_line(
        self, wf: WorkflowDef | None, milestone: str, due: datetime, met: datetime | None
    ) -> DeadlineLine:
        """A deadline's line; ``met``: when its milestone was reached, if by ``as_of``."""
        return DeadlineLine(
            milestone=milestone,
            label=wf.label(milestone) if wf else milestone,
            due=due,
            met_at=met,
            status=deadline_status(due, met, self.as_of),
            days_left=(self._local_date(due) - self._today).days,
        )

    def _local_date(self, moment: datetime) -> date:
        """The day of ``moment`` in the summit's zone (as ``local_days`` counts)."""
        return moment.astimezone(self._place).date()

    def _chunk(self, rows: Sequence[Any]) -> Iterator[InstrumentLine]:
        ids = [r[0] for r in rows]
        deadlines = reporting.deadlines_of(self._conn, ids)
        dependencies = reporting.dependencies_of(
            self._conn, ids, self.as_of if self.historic else None
        )
        stances = self._stances(rows)
        for r in rows:
            instrument_id = r[0]
            yield self._line(
                r,
                deadlines.get(instrument_id, ()),
                stances.get(instrument_id, {}),
                dependencies.get(instrument_id, ()),
            )

    def _line(
        self,
        r: Sequence[Any],
        deadline_rows: Sequence[reporting.DeadlineRow],
        stances: Mapping[str, tuple[str, str | None]],
        dependency_rows: Sequence[tuple[str, str, str]],
    ) -> InstrumentLine:
        """One instrument's line, from its row of ``instrument_rows`` and what hangs off it."""
        (_id, slug, title, kind, workflow, state, since, lead, _rev, revision, closed, _due) = r
        wf = self._workflow(workflow)
        label = wf.label if wf else str
        as_of = self.as_of
        state_since = reporting.as_utc(since)
        final = bool(closed)
        adopted = bool(wf and wf.is_adopted(state))
        deadlines = [self._deadline(wf, workflow, d) for d in deadline_rows]
        pending = [d for d in deadlines if d.met_at is None]
        dependencies = []
        for dep_slug, dep_workflow, dep_state in dependency_rows:
            dep_wf = self._workflow(dep_workflow)
            dep_adopted = bool(dep_wf and dep_wf.is_adopted(dep_state))
            dependencies.append(
                DependencyLine(
                    slug=dep_slug,
                    state_label=dep_wf.label(dep_state) if dep_wf else dep_state,
                    adopted=dep_adopted,
                    blocks=not dep_adopted and not adopted and not final,
                )
            )
        upcoming, missed = next_and_missed(
            deadlines, pending, final=final, as_of=as_of, state_since=state_since
        )
        return InstrumentLine(
            slug=slug,
            title=title,
            kind=kind,
            workflow=workflow,
            state=state,
            state_label=label(state),
            state_since=state_since,
            days_in_state=max(0, (self._today - self._local_date(state_since)).days),
            health=classify(
                closed=final,
                next_due=pending[0].due if pending else None,
                as_of=as_of,
                window=self._window(workflow),
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
            positions=self._positions(stances),
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
