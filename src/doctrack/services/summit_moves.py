"""Moving a summit, before it is done: what the move would change, read-only.

:func:`preview_move` answers "if summit S ran from these dates, what would change?" with
the code the move itself runs (:meth:`doctrack.services.tracking.Tracker.move_summit`):

- the new dates and their checks come from :func:`new_dates`, which the move calls too
  (the last day defaults to keeping the summit's length; ends before starts, the same
  dates, dates out of range are one-line :class:`~doctrack.errors.UsageError`);
- each deadline's new due time comes from :func:`doctrack.engine.deadlines.due_times` over
  the instrument's workflow, as the move recomputes them (only the milestones stored for
  the instrument, as the move updates only those);
- the reminders follow the planner's rules (:mod:`doctrack.services.planning`): a pending
  reminder whose new time has already passed is cancelled, not sent; reminders already
  sent stay sent and are not repeated.

Everything is read in one snapshot and nothing is written: previewing changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from doctrack.domain import DeadlineStatus, ReminderStatus
from doctrack.engine.deadlines import deadline_status, due_times
from doctrack.errors import ConflictError, NotFoundError, UsageError
from doctrack.services.planning import ReminderSettings
from doctrack.services.views import SummitView, iso
from doctrack.storage import reminders as reminder_store
from doctrack.storage import repo
from doctrack.storage.records import DeadlineRecord, ReminderRecord, SummitRecord
from doctrack.timerules import local_instant, reminder_time

if TYPE_CHECKING:
    from doctrack.services.tracking import Tracker

#: The dates a summit may be moved to: far enough from the calendar's ends that every due
#: time and reminder derived from them exists.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)

#: What happens to one of the summit's own reminders (the words the page and the API show).
UNCHANGED = "unchanged"
MOVES = "moves"
PASSED = "not sent: its new time has already passed"
ALREADY_SENT = "already sent: not repeated"


class SummitMovedError(ConflictError):
    """The summit moved since the caller read it (a stale ``expect_version``)."""

    def __init__(self, slug: str, starts: date, ends: date, version: int, expected: int) -> None:
        super().__init__(slug, f"{starts}/{ends}", version, expected)
        self.starts = starts
        self.ends = ends
        # ConflictError speaks of an instrument's state; a summit has dates instead.
        message = (
            f"conflict: summit {slug!r} now runs {starts} to {ends} at version {version} "
            f"(expected version {expected})"
        )
        self.args = (message,)


def new_dates(summit: SummitRecord, starts: date, ends: date | None) -> tuple[date, date]:
    """The summit's new first and last day, checked; without ``ends`` it keeps its length.

    Shared by the move and its preview, so that both refuse the same dates the same way.
    """
    for day, what in ((starts, "starts"), (ends, "ends")):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise UsageError(
                f"the summit {what} on {day}: a summit's dates must fall between "
                f"{FIRST_DAY} and {LAST_DAY}"
            )
    try:
        new_ends = ends or starts + (summit.ends - summit.starts)
    except OverflowError:
        raise UsageError(
            f"the summit cannot keep its length from {starts}: give its last day"
        ) from None
    if new_ends > LAST_DAY:
        raise UsageError(
            f"the summit would end on {new_ends}: a summit's dates must fall between "
            f"{FIRST_DAY} and {LAST_DAY}"
        )
    if new_ends < starts:
        raise UsageError(f"the summit ends ({new_ends}) before it starts ({starts})")
    if (starts, new_ends) == (summit.starts, summit.ends):
        raise UsageError(f"summit {summit.slug!r} already runs {starts} to {new_ends}")
    return starts, new_ends


def check_version(summit: SummitRecord, expected: int | None) -> None:
    """Refuse as a conflict when the summit is no longer at the ``expected`` version."""
    if expected is not None and summit.version != expected:
        raise SummitMovedError(summit.slug, summit.starts, summit.ends, summit.version, expected)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineShift:
    """One deadline of one instrument of the summit: its due time now and after the move."""

    instrument: str
    title: str
    milestone: str
    label: str
    before: datetime
    after: datetime
    tz: str
    met_at: datetime | None
    status_before: DeadlineStatus
    status_after: DeadlineStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "title": self.title,
            "milestone": self.milestone,
            "label": self.label,
            "before": iso(self.before, self.tz),
            "after": iso(self.after, self.tz),
            "tz": self.tz,
            "met_at": iso(self.met_at, self.tz) if self.met_at else None,
            "status_before": self.status_before.value,
            "status_after": self.status_after.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderShift:
    """The summit's own reminder N days before its first day: its send time now and after."""

    days_before: int
    before: datetime
    after: datetime
    tz: str
    outcome: str  # UNCHANGED, MOVES, PASSED or ALREADY_SENT

    def to_json(self) -> dict[str, Any]:
        return {
            "days_before": self.days_before,
            "before": iso(self.before, self.tz),
            "after": iso(self.after, self.tz),
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MovePreview:
    """What moving ``summit`` to ``starts``-``ends`` would change, as of ``as_of``.

    ``summit`` is the summit as it is now; its ``version`` is what a confirmation must
    carry (``expect_version``), so that a move made meanwhile is refused as a conflict.
    """

    summit: SummitView
    starts: date
    ends: date
    as_of: datetime
    deadlines: tuple[DeadlineShift, ...]
    summit_reminders: tuple[ReminderShift, ...]
    #: Pending deadline reminders the move reschedules, and those it cancels because
    #: their new send time has already passed.
    reminders_moved: int
    reminders_cancelled: int

    @property
    def version(self) -> int:
        return self.summit.version

    @property
    def tz(self) -> str:
        return self.summit.tz

    def to_json(self) -> dict[str, Any]:
        s = self.summit
        return {
            "summit": s.slug,
            "version": s.version,
            "tz": s.tz,
            "as_of": iso(self.as_of, s.tz),
            "before": {"starts": s.starts.isoformat(), "ends": s.ends.isoformat()},
            "after": {"starts": self.starts.isoformat(), "ends": self.ends.isoformat()},
            "deadlines": [d.to_json() for d in self.deadlines],
            "summit_reminders": [r.to_json() for r in self.summit_reminders],
            "deadline_reminders": {
                "moved": self.reminders_moved,
                "cancelled": self.reminders_cancelled,
            },
        }


def preview_move(tracker: Tracker, slug: str, *, starts: date, ends: date | None) -> MovePreview:
    """What ``tracker.move_summit(slug, starts=starts, ends=ends, ...)`` would change now.

    Read-only. Refuses as the move does: an unknown summit is a
    :class:`~doctrack.errors.NotFoundError`, bad dates a :class:`~doctrack.errors.UsageError`.
    """
    now = tracker.clock.now()
    settings = tracker.reminder_settings
    with tracker.db.snapshot() as conn:
        summit = repo.get_summit_by_slug(conn, slug)
        if summit is None:
            raise NotFoundError("summit", slug)
        new_starts, new_ends = new_dates(summit, starts, ends)
        shifts: list[DeadlineShift] = []
        moved = cancelled = 0
        for instrument_id in repo.instrument_ids_for_summit(conn, summit.id):
            r = repo.get_instrument_by_id(conn, instrument_id)
            wf = tracker.workflows.get(r.workflow)
            after = dict(due_times(wf, starts=new_starts, ends=new_ends, tz=summit.tz))
            stored = repo.deadlines_of(conn, r.id)
            for d in stored:
                due = after.get(d.milestone, d.due_at)  # the move updates stored ones only
                shifts.append(
                    DeadlineShift(
                        instrument=r.slug,
                        title=r.title,
                        milestone=d.milestone,
                        label=wf.label(d.milestone),
                        before=d.due_at,
                        after=due,
                        tz=summit.tz,
                        met_at=d.met_at,
                        status_before=deadline_status(d.due_at, d.met_at, now),
                        status_after=deadline_status(due, d.met_at, now),
                    )
                )
            if wf.is_final(r.state):
                continue  # its reminders stopped when it reached a final state
            offsets = {b.days for b in wf.reminders.before}
            outcomes = _deadline_reminders(
                conn, r.id, stored, after, offsets, settings, summit.tz, now
            )
            moved += outcomes[MOVES]
            cancelled += outcomes[PASSED]
        reminders = _summit_reminders(conn, summit, new_starts, settings, now)
        return MovePreview(
            summit=SummitView(
                slug=summit.slug,
                title=summit.title,
                city=summit.city,
                starts=summit.starts,
                ends=summit.ends,
                tz=summit.tz,
                version=summit.version,
            ),
            starts=new_starts,
            ends=new_ends,
            as_of=now,
            deadlines=tuple(sorted(shifts, key=lambda s: (s.before, s.instrument, s.milestone))),
            summit_reminders=reminders,
            reminders_moved=moved,
            reminders_cancelled=cancelled,
        )


def _deadline_reminders(
    conn: Connection,
    instrument_id: int,
    deadlines: list[DeadlineRecord],
    after: dict[str, datetime],
    offsets: set[int],
    settings: ReminderSettings,
    tz: str,
    now: datetime,
) -> Counter[str]:
    """How the move treats the instrument's pending deadline reminders, as the planner
    reschedules them: the same reminder at its new time, cancelled if that has passed."""
    open_deadlines = {d.id: d for d in deadlines if d.met_at is None}
    outcomes: Counter[str] = Counter()
    for row in reminder_store.for_instrument(conn, instrument_id):
        d = open_deadlines.get(row.deadline_id) if row.deadline_id is not None else None
        if row.status != ReminderStatus.PENDING or d is None or row.days_before not in offsets:
            continue
        due = after.get(d.milestone, d.due_at)
        send_at = reminder_time(due, row.days_before, settings.send_time, tz)
        outcomes[_outcome(row.send_at, send_at, now)] += 1
    return outcomes


def _summit_reminders(
    conn: Connection,
    summit: SummitRecord,
    starts: date,
    settings: ReminderSettings,
    now: datetime,
) -> tuple[ReminderShift, ...]:
    """The summit's own reminders, at the planner's times (``send_time`` on the day N days
    before the first day), before and after the move."""
    rows: dict[int, list[ReminderRecord]] = {}
    for row in reminder_store.for_summit(conn, summit.id):
        rows.setdefault(row.days_before, []).append(row)
    shifts = []
    for offset in sorted({b.days for b in settings.summit_before}, reverse=True):
        before = local_instant(
            summit.starts - timedelta(days=offset), settings.send_time, summit.tz
        )
        after = local_instant(starts - timedelta(days=offset), settings.send_time, summit.tz)
        sent = any(r.status == ReminderStatus.SENT for r in rows.get(offset, ()))
        shifts.append(
            ReminderShift(
                days_before=offset,
                before=before,
                after=after,
                tz=summit.tz,
                outcome=ALREADY_SENT if sent else _outcome(before, after, now),
            )
        )
    return tuple(shifts)


def _outcome(before: datetime, after: datetime, now: datetime) -> str:
    """The planner's rule: a reminder at the same time stays as it is (even if due now); a
    moved one is sent at its new time, or not at all when that has already passed."""
    if after == before:
        return UNCHANGED
    return PASSED if after <= now else MOVES


__all__ = [
    "ALREADY_SENT",
    "MOVES",
    "PASSED",
    "UNCHANGED",
    "DeadlineShift",
    "MovePreview",
    "ReminderShift",
    "SummitMovedError",
    "check_version",
    "new_dates",
    "preview_move",
]
