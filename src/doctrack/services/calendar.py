"""Summits and deadlines as an iCalendar (RFC 5545) file, for staff to subscribe to.

Built only from the tracker's public read use cases. The output depends only on the database
and the tracker's clock (DTSTAMP), never on the system time, so two exports of the same data
at the same ``--now`` are byte for byte the same, and every event keeps its UID from one
export to the next: a mail client that re-imports the file updates its events instead of
adding copies.

- A summit is an all-day event: DTSTART its first day, DTEND the day after its last day
  (exclusive, as RFC 5545 requires for DATE values).
- A deadline is an instant: DTSTART the due time in the summit's zone (``TZID=`` with a
  VTIMEZONE component, so clients show the summit's local time), no DTEND (RFC 5545: the
  event then ends when it starts; a DTEND equal to DTSTART would break its "DTEND later
  than DTSTART" rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event, Timezone

from doctrack.services.tracking import Tracker
from doctrack.services.views import DeadlineView, SummitView
from doctrack.timerules import to_local, zone

PRODID = "-//doctrack//calendar//EN"
UID_DOMAIN = "doctrack"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarExport:
    """An exported calendar: the ``.ics`` bytes and what they hold."""

    ics: bytes
    summits: int
    deadlines: int

    @property
    def events(self) -> int:
        return self.summits + self.deadlines


def summit_uid(slug: str) -> str:
    return f"summit-{slug}@{UID_DOMAIN}"


def deadline_uid(instrument: str, milestone: str) -> str:
    return f"deadline-{instrument}-{milestone}@{UID_DOMAIN}"


def export_calendar(tracker: Tracker, *, summit: str | None = None) -> CalendarExport:
    """Every summit and deadline, or only summit ``summit`` and its instruments' deadlines.

    An unknown ``summit`` raises :class:`~doctrack.errors.NotFoundError`.
    """
    if summit is None:
        summits = tracker.list_summits()
        name = "doctrack: summits and deadlines"
    else:
        one = tracker.get_summit(summit)
        summits = [one]
        name = f"doctrack: {one.title}, {one.city} ({one.slug})"
    deadlines = list(tracker.deadlines(summit=summit))
    stamp = tracker.clock.now()

    calendar = Calendar.new(
        prodid=PRODID,
        name=name,
        uid=f"calendar{'' if summit is None else '-' + summit}@{UID_DOMAIN}",
    )
    for tz in _zones(deadlines):
        calendar.add_component(tz)
    for s in summits:
        calendar.add_component(
            Event.new(
                uid=summit_uid(s.slug),
                stamp=stamp,
                start=s.starts,
                end=s.ends + timedelta(days=1),
                summary=f"{s.title}, {s.city}",
                location=s.city,
                description=_summit_text(s),
                categories=["summit"],
            )
        )
    for d in deadlines:
        event = Event.new(
            uid=deadline_uid(d.instrument, d.milestone),
            stamp=stamp,
            start=to_local(d.due, d.tz),
            summary=f"Due: {d.label} — {d.instrument}",
            description=_deadline_text(d, stamp),
            categories=["deadline"],
        )
        event.add("TRANSP", "TRANSPARENT")  # a deadline does not make anyone busy
        calendar.add_component(event)
    missing = calendar.get_missing_tzids()
    assert not missing, f"no VTIMEZONE for {sorted(missing)}"
    return CalendarExport(ics=calendar.to_ical(), summits=len(summits), deadlines=len(deadlines))


def _zones(deadlines: Iterable[DeadlineView]) -> list[Timezone]:
    """One VTIMEZONE per zone the deadlines use, in name order, from doctrack's own tz data.

    Each covers the years of its deadlines with a year to spare on either side, so the
    component stays small and depends only on the data (icalendar's default span is
    1970-2038, and ``add_missing_timezones`` adds zones in set order, which varies between
    processes).
    """
    years: dict[str, list[int]] = {}
    for d in deadlines:
        years.setdefault(d.tz, []).append(to_local(d.due, d.tz).year)
    return [
        Timezone.from_tzinfo(
            zone(name),
            tzid=name,
            first_date=date(min(span) - 1, 1, 1),
            last_date=date(max(span) + 2, 1, 1),
        )
        for name, span in sorted(years.items())
    ]


def _summit_text(s: SummitView) -> str:
    return f"Summit {s.slug}: {s.title}, {s.city}, {s.starts} to {s.ends} ({s.tz})"


def _deadline_text(d: DeadlineView, stamp: datetime) -> str:
    due = to_local(d.due, d.tz).isoformat()
    met = f", met {to_local(d.met_at, d.tz).isoformat()}" if d.met_at else ""
    return "\n".join(
        [
            f"{d.instrument} must reach {d.milestone} ({d.label}) by {due} for summit {d.summit}.",
            f"Status: {d.status.value}{met}",
            f"Current state: {d.state}",
            f"As of {to_local(stamp, d.tz).isoformat()}.",
        ]
    )
