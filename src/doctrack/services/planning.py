"""Reminder planning: which reminder rows should exist, reconciled inside the caller's
transaction with the rows that do.

Called by the tracking use cases whenever something a reminder depends on changes
(instrument added or retargeted, summit added or moved, deadline met, final state reached,
users or roles changed), so that reminders change together with their cause.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from doctrack.domain import LEAD_DELEGATE, Days, ReminderKind, ReminderStatus, Role
from doctrack.engine.definition import WorkflowDef
from doctrack.storage import reminders as store
from doctrack.storage import repo
from doctrack.storage.records import InstrumentRecord, ReminderRecord, SummitRecord, UserRecord
from doctrack.timerules import local_instant, reminder_time

#: Notes on reminders cancelled by planning (staff cancellations say who cancelled).
MOVED_INTO_PAST = "its new time had already passed when it was moved"
DEADLINE_MET = "the deadline was met"
FINAL_STATE = "the instrument reached a final state"
NO_LONGER_RECIPIENT = "the recipient no longer holds a role it is sent to"
NO_LONGER_PLANNED = "no longer planned (summit moved, instrument retargeted or settings changed)"
STAFF_CANCELLED = "cancelled by "


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderSettings:
    """What planning needs from the settings."""

    send_time: time = time(9, 0)
    summit_before: tuple[Days, ...] = field(default=(Days(days=30), Days(days=7)))
    summit_to: tuple[str, ...] = (Role.SECRETARY.value,)
    mail_domain: str = "localhost"


@dataclass(frozen=True, slots=True)
class _Wanted:
    kind: ReminderKind
    summit_id: int
    instrument_id: int | None
    deadline_id: int | None
    user_id: int
    days_before: int
    send_at: datetime


def recipients(
    roles: Iterable[str], users: Sequence[UserRecord], lead_party: str | None
) -> list[UserRecord]:
    """The users holding any of ``roles`` (``lead_delegate``: a delegate of the lead party)."""
    wanted = set(roles)
    chosen: list[UserRecord] = []
    for user in users:
        held = set(user.roles) & wanted
        lead = (
            LEAD_DELEGATE in wanted
            and lead_party is not None
            and Role.DELEGATE.value in user.roles
            and user.party_code == lead_party
        )
        if held or lead:
            chosen.append(user)
    return chosen


class Planner:
    """Reconciles reminder rows; one per use case call (it caches the user list)."""

    def __init__(self, conn: Connection, settings: ReminderSettings, now: datetime) -> None:
        self._conn = conn
        self._settings = settings
        self._now = now
        self._users: list[UserRecord] | None = None

    def users(self) -> list[UserRecord]:
        if self._users is None:
            self._users = repo.list_users(self._conn)
        return self._users

    # -- what should exist ------------------------------------------------------------------

    def _deadline_wants(
        self, wf: WorkflowDef, r: InstrumentRecord, summit: SummitRecord
    ) -> dict[str, _Wanted]:
        wants: dict[str, _Wanted] = {}
        if wf.is_final(r.state) or not wf.reminders.before:
            return wants
        people = recipients(wf.reminders.to, self.users(), r.lead_party)
        if not people:
            return wants
        for d in repo.deadlines_of(self._conn, r.id):
            if d.met_at is not None:
                continue
            for before in wf.reminders.before:
                send_at = reminder_time(d.due_at, before.days, self._settings.send_time, summit.tz)
                for user in people:
                    key = f"deadline:{d.id}:{before.days}:{user.id}"
                    wants[key] = _Wanted(
                        ReminderKind.DEADLINE, summit.id, r.id, d.id, user.id, before.days, send_at
                    )
        return wants

    def _summit_wants(self, summit: SummitRecord) -> dict[str, _Wanted]:
        wants: dict[str, _Wanted] = {}
        people = recipients(self._settings.summit_to, self.users(), None)
        for before in self._settings.summit_before:
            day = summit.starts - timedelta(days=before.days)
            send_at = local_instant(day, self._settings.send_time, summit.tz)
            for user in people:
                key = f"summit:{summit.id}:{before.days}:{user.id}"
                wants[key] = _Wanted(
                    ReminderKind.SUMMIT, summit.id, None, None, user.id, before.days, send_at
                )
        return wants

    # -- reconciling ------------------------------------------------------------------------

    def plan_instrument(self, wf: WorkflowDef, r: InstrumentRecord, summit: SummitRecord) -> None:
        """Make the instrument's deadline reminders match its deadlines, state and summit."""
        wants = self._deadline_wants(wf, r, summit)
        gone = FINAL_STATE if wf.is_final(r.state) else NO_LONGER_PLANNED
        self._reconcile(wants, store.for_instrument(self._conn, r.id), gone)

    def plan_summit(self, summit: SummitRecord) -> None:
        """Make the summit's own reminders match its dates and the settings."""
        self._reconcile(
            self._summit_wants(summit), store.for_summit(self._conn, summit.id), NO_LONGER_PLANNED
        )

    def _reconcile(
        self, wants: dict[str, _Wanted], existing: Sequence[ReminderRecord], gone_note: str
    ) -> None:
        by_key = {r.key: r for r in existing}
        new_rows: list[dict[str, Any]] = []
        for key, want in wants.items():
            row = by_key.pop(key, None)
            if row is None:
                # A reminder whose time has already passed when it is planned is not sent.
                if want.send_at > self._now:
                    new_rows.append(self._row(key, want))
                continue
            if row.status not in (ReminderStatus.PENDING, ReminderStatus.CANCELLED):
                continue  # sending, sent or failed: never planned again
            if row.status == ReminderStatus.CANCELLED and (
                row.note is None or row.note.startswith(STAFF_CANCELLED)
            ):
                continue  # staff cancelled it: planning does not undo that
            moved = row.send_at != want.send_at or row.summit_id != want.summit_id
            if row.status == ReminderStatus.PENDING and not moved:
                continue  # unchanged; if its time passed meanwhile it goes out late
            if want.send_at > self._now:
                status, note = ReminderStatus.PENDING, None
            elif row.status == ReminderStatus.PENDING:
                status, note = ReminderStatus.CANCELLED, MOVED_INTO_PAST
            else:
                continue  # cancelled, and its time has passed: leave it
            store.reschedule(
                self._conn,
                row.id,
                summit_id=want.summit_id,
                send_at=want.send_at,
                status=status,
                note=note,
            )
        store.insert(self._conn, new_rows)
        # Pending rows no longer wanted are cancelled, saying why.
        slots = {_slot(w.kind, w.deadline_id, w.summit_id, w.days_before) for w in wants.values()}
        by_note: dict[str, list[int]] = {}
        for row in by_key.values():
            if row.status != ReminderStatus.PENDING:
                continue
            slot = _slot(ReminderKind(row.kind), row.deadline_id, row.summit_id, row.days_before)
            note = NO_LONGER_RECIPIENT if slot in slots else gone_note
            by_note.setdefault(note, []).append(row.id)
        for note, ids in by_note.items():
            store.cancel_pending(self._conn, ids=ids, note=note)

    def _row(self, key: str, want: _Wanted) -> dict[str, Any]:
        token = hashlib.sha256(f"{key}|{self._now.isoformat()}".encode()).hexdigest()[:12]
        ref = want.deadline_id if want.kind == ReminderKind.DEADLINE else want.summit_id
        message_id = (
            f"<doctrack.{want.kind.value}.{ref}.{want.days_before}d.u{want.user_id}.{token}"
            f"@{self._settings.mail_domain}>"
        )
        return {
            "key": key,
            "kind": want.kind.value,
            "summit_id": want.summit_id,
            "instrument_id": want.instrument_id,
            "deadline_id": want.deadline_id,
            "user_id": want.user_id,
            "days_before": want.days_before,
            "send_at": want.send_at,
            "status": ReminderStatus.PENDING.value,
            "next_attempt_at": want.send_at,
            "attempts": 0,
            "late": False,
            "message_id": message_id,
            "created_at": self._now,
        }


def _slot(
    kind: ReminderKind, deadline_id: int | None, summit_id: int, days: int
) -> tuple[str, int | None, int]:
    return (kind.value, deadline_id if kind == ReminderKind.DEADLINE else summit_id, days)
