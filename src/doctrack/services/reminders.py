"""Reminder dispatch and the staff's reminder desk.

The database is the source of truth. A dispatcher run claims due reminders in batches (one
``UPDATE ... RETURNING`` per batch, with a lease), renders them, hands the batch to the
sender on one connection, and records each outcome. Several dispatchers may run at once;
a claim whose lease ran out (its process died) is taken over. Delivery is at least once:
a process killed between handing a message to the server and recording it sends that
message again after the lease, with the same Message-ID.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from doctrack.clock import Clock
from doctrack.domain import ReminderKind, ReminderStatus, Role
from doctrack.engine.machine import roles_permit
from doctrack.engine.registry import Workflows
from doctrack.errors import NotAllowedError, NotFoundError, RefusedError, UsageError
from doctrack.services.emails import DeadlineMail, MailRenderer, SummitMail, SummitMailItem
from doctrack.services.notify import Delivery, Outcome, Sender
from doctrack.services.planning import STAFF_CANCELLED
from doctrack.services.views import iso
from doctrack.storage import reminders as store
from doctrack.storage import repo
from doctrack.storage.db import Database
from doctrack.storage.records import (
    DeadlineRecord,
    InstrumentRecord,
    ReminderRecord,
    SummitRecord,
)

if TYPE_CHECKING:
    from doctrack.services.report_mail import ReportMailer
    from doctrack.services.report_schedule import ReportPlan

STAFF_ROLES = (Role.COORDINATOR, Role.SECRETARY)
#: Why a report row is skipped by a dispatcher built without a report mailer.
REPORTS_NOT_CONFIGURED = "scheduled reports are not configured in this dispatcher"


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchPolicy:
    """How a dispatcher claims and retries. The defaults follow DESIGN.md's time rules."""

    batch: int = 100
    lease: timedelta = timedelta(minutes=10)
    #: Sent more than this after its time: the text says it is late.
    late_after: timedelta = timedelta(minutes=15)
    #: Transient failures: retry after first_retry, doubling up to max_retry_delay, for
    #: at least give_up_after from the first failure; then the reminder is failed.
    first_retry: timedelta = timedelta(minutes=5)
    max_retry_delay: timedelta = timedelta(hours=4)
    give_up_after: timedelta = timedelta(hours=24)

    def is_late(self, send_at: datetime, now: datetime) -> bool:
        return now - send_at > self.late_after

    def retry_delay(self, failures: int) -> timedelta:
        delay = self.first_retry * (1 << max(0, failures - 1))
        return min(delay, self.max_retry_delay)


@dataclass(slots=True)
class RunReport:
    """What one dispatcher run did."""

    claimed: int = 0
    sent: int = 0
    late: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.claimed:
            return "no reminders due"
        parts = [f"{self.sent} sent" + (f" ({self.late} late)" if self.late else "")]
        if self.retrying:
            parts.append(f"{self.retrying} to retry")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        return f"{self.claimed} due: " + ", ".join(parts)


def dispatcher_name() -> str:
    """Who holds a claim: host, process id and a random part (unique per dispatcher)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Sends the reminders that are due; build one per process and call :meth:`run`."""

    def __init__(
        self,
        db: Database,
        workflows: Workflows,
        clock: Clock,
        renderer: MailRenderer,
        sender: Sender,
        *,
        policy: DispatchPolicy | None = None,
        name: str | None = None,
        reports: ReportMailer | None = None,
        plan_reports: Callable[[], ReportPlan] | None = None,
    ) -> None:
        self.db = db
        self.workflows = workflows
        self.clock = clock
        self.renderer = renderer
        self.sender = sender
        self.policy = policy or DispatchPolicy()
        self.name = name or dispatcher_name()
        #: Renders rows of kind ``report`` (scheduled status reports); None skips them.
        self.reports = reports
        #: Plans the next period's report rows; called at the start of every run.
        self.plan_reports = plan_reports

    def run(
        self,
        *,
        limit: int | None = None,
        progress: Callable[[RunReport], None] | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> RunReport:
        """Send everything due now, batch by batch, until nothing is due (or ``limit``, or
        ``stopping()`` says so after a batch: the scheduler's SIGTERM).

        Scheduled reports are planned first, so a run at a report's time sends it."""
        report = RunReport()
        if self.plan_reports is not None:
            self.plan_reports()
        while (limit is None or report.claimed < limit) and not (stopping and stopping()):
            size = (
                self.policy.batch
                if limit is None
                else min(self.policy.batch, limit - report.claimed)
            )
            batch = self.claim(size)
            if not batch:
                break
            self.send_batch(batch, report)
            if progress is not None:
                progress(report)
        return report

    def next_due(self) -> datetime | None:
        """When the earliest pending reminder may be sent (None: nothing is pending)."""
        with self.db.read() as conn:
            return store.next_due(conn)

    def claim(self, size: int) -> list[ReminderRecord]:
        now = self.clock.now()
        with self.db.write() as conn:
            return store.claim(
                conn,
                now=now,
                lease_until=now + self.policy.lease,
                owner=self.name,
                limit=size,
                skip_locked=not self.db.is_sqlite,
            )

    def send_batch(self, batch: Sequence[ReminderRecord], report: RunReport) -> None:
        """Render, send on one connection, record the outcomes."""
        report.claimed += len(batch)
        now = self.clock.now()
        deliveries: list[Delivery] = []
        skipped: list[tuple[int, str]] = []
        broken: list[tuple[int, str]] = []
        for reminder_id, message, problem in self._render(batch, now):
            if message is not None:
                deliveries.append(Delivery(reminder_id, message))
            elif problem is not None and problem.startswith("template"):
                broken.append((reminder_id, problem))
            else:
                skipped.append((reminder_id, problem or "nothing to send"))
        outcomes = self.sender.send(deliveries) if deliveries else []
        self._record(batch, outcomes, skipped, broken, report)

    # -- rendering ----------------------------------------------------------------------

    def _render(
        self, batch: Sequence[ReminderRecord], now: datetime
    ) -> Iterator[tuple[int, EmailMessage | None, str | None]]:
        reports = [r for r in batch if r.kind == ReminderKind.REPORT]
        if reports:
            yield from self._render_reports(reports, now)
            batch = [r for r in batch if r.kind != ReminderKind.REPORT]
            if not batch:
                return
        with self.db.read() as conn:
            context = _BatchContext.load(conn, batch, self.workflows)
        for r in batch:
            late = self.policy.is_late(r.send_at, now)
            try:
                if r.kind == ReminderKind.DEADLINE:
                    mail_d = context.deadline_mail(r, now, late)
                    if isinstance(mail_d, str):
                        yield r.id, None, mail_d
                        continue
                    yield r.id, self.renderer.deadline(mail_d), None
                else:
                    mail_s = context.summit_mail(r, now, late)
                    if isinstance(mail_s, str):
                        yield r.id, None, mail_s
                        continue
                    yield r.id, self.renderer.summit(mail_s), None
            except Exception as exc:  # noqa: BLE001 - a template bug fails its reminders, not the run
                yield r.id, None, f"template error: {type(exc).__name__}: {exc}"

    def _render_reports(
        self, rows: Sequence[ReminderRecord], now: datetime
    ) -> Iterator[tuple[int, EmailMessage | None, str | None]]:
        if self.reports is None:
            for r in rows:
                yield r.id, None, REPORTS_NOT_CONFIGURED
            return
        yield from self.reports.render(rows, now)

    # -- recording ----------------------------------------------------------------------

    def _record(
        self,
        batch: Sequence[ReminderRecord],
        outcomes: Sequence[Outcome],
        skipped: Sequence[tuple[int, str]],
        broken: Sequence[tuple[int, str]],
        report: RunReport,
    ) -> None:
        now = self.clock.now()
        by_id = {r.id: r for r in batch}
        sent: list[tuple[int, datetime, bool]] = []
        with self.db.write() as conn:
            for outcome in outcomes:
                r = by_id[outcome.reminder_id]
                if outcome.sent:
                    late = self.policy.is_late(r.send_at, now)
                    sent.append((r.id, now, late))
                    report.late += late
                    continue
                error = (outcome.error or "unknown error").strip()[:2000]
                first = r.first_failure_at or now
                if outcome.permanent or now - first >= self.policy.give_up_after:
                    note = (
                        error
                        if outcome.permanent
                        else f"gave up after {_span(now - first)} of failures: {error}"
                    )
                    store.mark_failed(conn, r.id, error=note)
                    report.failed += 1
                    report.errors.append(f"reminder {r.id}: {note}")
                else:
                    failures = _failures(r)
                    store.mark_retry(
                        conn,
                        r.id,
                        next_at=now + self.policy.retry_delay(failures),
                        error=error,
                        first_failure=first,
                    )
                    report.retrying += 1
            store.mark_sent(conn, sent)
            report.sent += len(sent)
            for reminder_id, note in skipped:
                store.mark_cancelled(conn, reminder_id, note=note)
                report.cancelled += 1
            for reminder_id, error in broken:
                store.mark_failed(conn, reminder_id, error=error)
                report.failed += 1
                report.errors.append(f"reminder {reminder_id}: {error}")


def _span(span: timedelta) -> str:
    """A time span in words, to the minute: ``1 day 2 hours``, ``25 minutes``."""
    minutes = max(0, int(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or "0 minutes"


def _failures(r: ReminderRecord) -> int:
    """How many transient failures this reminder has had, this one included.

    ``attempts`` counts claims; the first claim that failed is failure 1.
    """
    return max(1, r.attempts)


@dataclass(slots=True)
class _BatchContext:
    """Everything a batch of emails says, read in a handful of queries."""

    workflows: Workflows
    users: dict[int, store.Recipient]
    summits: dict[int, SummitRecord]
    instruments: dict[int, InstrumentRecord]
    deadlines: dict[int, list[DeadlineRecord]]
    parties: list[str]
    approvals: dict[int, set[str]]
    dependencies: dict[int, list[tuple[str, str, str]]]
    summit_instruments: dict[int, list[InstrumentRecord]]

    @classmethod
    def load(
        cls, conn: Any, batch: Sequence[ReminderRecord], workflows: Workflows
    ) -> _BatchContext:
        instrument_ids = {r.instrument_id for r in batch if r.instrument_id is not None}
        summit_ids = {r.summit_id for r in batch if r.kind == ReminderKind.SUMMIT}
        instruments = store.instruments_by_id(conn, instrument_ids)
        summit_instruments = store.instruments_of_summits(conn, summit_ids)
        everything = set(instruments) | {
            i.id for group in summit_instruments.values() for i in group
        }
        revisions = {i.revision_id for i in instruments.values() if i.revision_id is not None}
        return cls(
            workflows=workflows,
            users=store.recipients(conn, {r.user_id for r in batch}),
            summits={s.id: s for s in repo.list_summits(conn)},
            instruments=instruments,
            deadlines=store.deadlines_of_instruments(conn, everything),
            parties=repo.party_codes(conn),
            approvals=store.approvals_on(conn, revisions),
            dependencies=store.dependencies_of_instruments(conn, instrument_ids),
            summit_instruments=summit_instruments,
        )

    def deadline_mail(self, r: ReminderRecord, now: datetime, late: bool) -> DeadlineMail | str:
        assert r.instrument_id is not None
        instrument = self.instruments[r.instrument_id]
        wf = self.workflows.get(instrument.workflow)
        if wf.is_final(instrument.state):
            return "the instrument reached a final state"
        deadline = next(
            (d for d in self.deadlines.get(instrument.id, []) if d.id == r.deadline_id), None
        )
        if deadline is None:
            return "the deadline no longer exists"
        if deadline.met_at is not None:
            return "the deadline was met"
        summit = self.summits[r.summit_id]
        user = self.users[r.user_id]
        approved = (
            self.approvals.get(instrument.revision_id, set())
            if instrument.revision_id is not None
            else set()
        )
        not_adopted = tuple(
            (slug, self.workflows.get(w).label(state) if w in self.workflows else state)
            for slug, w, state in self.dependencies.get(instrument.id, [])
            if not (w in self.workflows and self.workflows.get(w).is_adopted(state))
        )
        return DeadlineMail(
            message_id=r.message_id,
            to_email=user.email,
            to_name=user.full_name or user.name,
            instrument_slug=instrument.slug,
            instrument_title=instrument.title,
            state_label=wf.label(instrument.state),
            milestone_label=wf.label(deadline.milestone),
            due=deadline.due_at,
            tz=summit.tz,
            summit_title=summit.title,
            summit_city=summit.city,
            summit_starts=summit.starts,
            days_before=r.days_before,
            now=now,
            send_at=r.send_at,
            late=late,
            missing_parties=tuple(p for p in self.parties if p not in approved),
            dependencies_not_adopted=not_adopted,
            lang=user.language,
        )

    def summit_mail(self, r: ReminderRecord, now: datetime, late: bool) -> SummitMail | str:
        summit = self.summits[r.summit_id]
        user = self.users[r.user_id]
        items: list[SummitMailItem] = []
        for instrument in self.summit_instruments.get(summit.id, []):
            if instrument.workflow not in self.workflows:
                continue
            wf = self.workflows.get(instrument.workflow)
            if wf.is_final(instrument.state):
                continue
            upcoming = next(
                (d for d in self.deadlines.get(instrument.id, []) if d.met_at is None), None
            )
            items.append(
                SummitMailItem(
                    slug=instrument.slug,
                    title=instrument.title,
                    state_label=wf.label(instrument.state),
                    next_milestone_label=wf.label(upcoming.milestone) if upcoming else None,
                    next_due=upcoming.due_at if upcoming else None,
                    next_status=(
                        None
                        if upcoming is None
                        else ("missed" if upcoming.due_at <= now else "pending")
                    ),
                )
            )
        if not items:
            return "no open instruments for this summit"
        return SummitMail(
            message_id=r.message_id,
            to_email=user.email,
            to_name=user.full_name or user.name,
            summit_slug=summit.slug,
            summit_title=summit.title,
            city=summit.city,
            starts=summit.starts,
            ends=summit.ends,
            tz=summit.tz,
            days_before=r.days_before,
            now=now,
            send_at=r.send_at,
            late=late,
            instruments=tuple(items),
            lang=user.language,
        )


# -- the staff's desk ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderView:
    id: int
    kind: str
    instrument: str | None
    summit: str
    tz: str
    to: str
    user: str
    days_before: int
    send_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    late: bool
    last_error: str | None
    note: str | None
    message_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "instrument": self.instrument,
            "summit": self.summit,
            "to": self.to,
            "user": self.user,
            "days_before": self.days_before,
            "send_at": iso(self.send_at, self.tz),
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at, self.tz),
            "sent_at": iso(self.sent_at, self.tz) if self.sent_at else None,
            "late": self.late,
            "last_error": self.last_error,
            "note": self.note,
            "message_id": self.message_id,
        }


class ReminderDesk:
    """List reminders; retry a failed one or cancel a pending one."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def list(self, *, status: str | None = None) -> Iterator[ReminderView]:
        if status is not None:
            try:
                ReminderStatus(status)
            except ValueError:
                known = ", ".join(s.value for s in ReminderStatus)
                raise UsageError(f"unknown status {status!r} (known: {known})") from None
        with self.db.read() as conn:
            for r, instrument, summit, tz, user, email in store.iter_listing(conn, status=status):
                yield ReminderView(
                    id=r.id,
                    kind=r.kind,
                    instrument=instrument,
                    summit=summit,
                    tz=tz,
                    to=email,
                    user=user,
                    days_before=r.days_before,
                    send_at=r.send_at,
                    status=r.status,
                    attempts=r.attempts,
                    next_attempt_at=r.next_attempt_at,
                    sent_at=r.sent_at,
                    late=r.late,
                    last_error=r.last_error,
                    note=r.note,
                    message_id=r.message_id,
                )

    def retry(self, reminder_id: int, *, as_user: str) -> None:
        """Send a failed (or cancelled) reminder again at the next dispatcher run."""
        with self.db.write() as conn:
            r = self._checked(conn, reminder_id, as_user, "retry")
            if r.status not in (ReminderStatus.FAILED, ReminderStatus.CANCELLED):
                raise RefusedError(
                    f"reminder {reminder_id} is {r.status}: only a failed or cancelled one "
                    "can be retried"
                )
            store.set_status(
                conn,
                reminder_id,
                status=ReminderStatus.PENDING,
                note=f"retry asked by {as_user}",
                next_attempt_at=self.clock.now(),
            )

    def cancel(self, reminder_id: int, *, as_user: str) -> None:
        """Never send a pending reminder (planning will not bring it back)."""
        with self.db.write() as conn:
            r = self._checked(conn, reminder_id, as_user, "cancel")
            if r.status != ReminderStatus.PENDING:
                raise RefusedError(
                    f"reminder {reminder_id} is {r.status}: only a pending one can be cancelled"
                )
            store.set_status(
                conn, reminder_id, status=ReminderStatus.CANCELLED, note=STAFF_CANCELLED + as_user
            )

    def _checked(self, conn: Any, reminder_id: int, as_user: str, action: str) -> ReminderRecord:
        user = repo.get_user(conn, as_user)
        if user is None:
            raise NotFoundError("user", as_user)
        if not roles_permit(STAFF_ROLES, user.roles):
            raise NotAllowedError(
                as_user, f"{action} reminder {reminder_id}", STAFF_ROLES, user.roles
            )
        r = store.get(conn, reminder_id, for_update=True)
        if r is None:
            raise NotFoundError("reminder", str(reminder_id))
        return r
