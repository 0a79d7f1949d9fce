"""Replay a demo scenario through the public :class:`~doctrack.Tracker` use cases.

``replay`` creates the parties, users, summits and instruments at the scenario's setup time,
then applies each timeline entry at its own time (the injected :class:`~doctrack.FixedClock`
is moved to it), and returns a :class:`DemoSummary`; ``render_summary`` prints it as plain
text. Every line of progress starts with ``[article]`` or ``[illustrative]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from doctrack.clock import FixedClock, as_utc
from doctrack.demo.scenario import (
    Advance,
    ArticleRef,
    Entry,
    Note,
    Position,
    Retarget,
    Revise,
    Scenario,
    ScenarioError,
    Sourced,
    TimelineEntry,
    load_scenario,
    one_line,
)
from doctrack.errors import GuardFailedError, RefusedError, UsageError
from doctrack.services.reminders import RunReport
from doctrack.services.tracking import Tracker
from doctrack.services.views import InstrumentView
from doctrack.timerules import to_local

__all__ = [
    "DeadlineRow",
    "DemoCounts",
    "DemoSummary",
    "InstrumentRow",
    "Refusal",
    "SourceCount",
    "load_scenario",
    "render_summary",
    "replay",
]

Progress = Callable[[str], None]


class ReminderPump(Protocol):
    """What the replay needs of a reminder dispatcher (a ``Dispatcher``)."""

    def next_due(self) -> datetime | None: ...

    def run(self) -> RunReport: ...


_VERB = {"approve": "approves", "reserve": "reserves its position on", "object": "objects to"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceCount:
    """How many things of one category come from the article and how many are invented."""

    category: str
    article: int
    illustrative: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCounts:
    """What the replay created and did.

    ``entries`` timeline entries were processed; ``events`` of them changed an instrument
    (one history event each); ``refusals`` were refused as the scenario expected; ``notes``
    were printed only; ``skipped`` entries lay after ``until`` and were not applied.
    """

    parties: int
    users: int
    summits: int
    instruments: int
    entries: int
    events: int
    refusals: int
    notes: int
    skipped: int
    reminders: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineRow:
    milestone: str
    label: str
    due: datetime
    tz: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentRow:
    slug: str
    title: str
    kind: str
    state: str
    state_label: str
    summit: str
    lead: str | None
    revision: int | None
    version: int
    deadlines: tuple[DeadlineRow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """An action the scenario expected doctrack to refuse, and doctrack's reason."""

    at: datetime
    instrument: str
    action: str
    as_user: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    scenario: str
    title: str
    tz: str
    article: ArticleRef
    notice: str | None
    counts: DemoCounts
    sources: tuple[SourceCount, ...]
    instruments: tuple[InstrumentRow, ...]
    refusals: tuple[Refusal, ...]
    started_at: datetime
    finished_at: datetime
    until: datetime | None


def replay(
    tracker: Tracker,
    clock: FixedClock,
    scenario: Scenario,
    *,
    until: datetime | None = None,
    progress: Progress | None = None,
    reminders: ReminderPump | None = None,
) -> DemoSummary:
    """Build the scenario in an empty database and replay its timeline up to ``until``.

    Entries dated after ``until`` are not applied, and the clock is left at ``until``; without
    it, the whole timeline is applied and the clock is left at the last entry. An entry marked
    ``expect: refused`` must be refused (:class:`~doctrack.RefusedError`), else the scenario is
    broken and :class:`ScenarioError` is raised; so is any other entry that doctrack refuses.
    ``tracker`` must use ``clock``; the database must not hold the scenario's names yet.

    With ``reminders``, the reminders that fall due between two entries are sent at their
    own send time (the clock is moved there), as a dispatcher running all along would have.
    """
    say: Progress = progress or _silent
    limit = as_utc(until) if until is not None else None
    if limit is not None and limit < as_utc(scenario.setup_at):
        raise UsageError(
            f"the scenario starts at {_when(scenario.setup_at)}: cannot stop before that "
            f"({_when(to_local(limit, scenario.tz))})"
        )
    _setup(tracker, clock, scenario, say)

    revisions: dict[str, int] = {}
    refusals: list[Refusal] = []
    entries = events = notes = skipped = 0
    sent = 0

    def send_due(until_time: datetime) -> None:
        nonlocal sent
        if reminders is None:
            return
        while (due := reminders.next_due()) is not None and due <= until_time:
            clock.set(max(due, clock.now()))
            report = reminders.run()
            sent += report.sent
            if report.claimed:
                when = _when(to_local(clock.now(), scenario.tz))
                say(f"[illustrative] {when} reminders: {report.summary()}")

    for index, entry in enumerate(scenario.timeline):
        if limit is not None and entry.at_utc > limit:
            skipped = len(scenario.timeline) - index
            break
        send_due(entry.at_utc)
        clock.set(entry.at)
        entries += 1
        if isinstance(entry, Note):
            notes += 1
            say(_line(entry, _describe_note(entry)))
            continue
        try:
            text = _apply(tracker, scenario, entry, revisions)
        except RefusedError as exc:
            if not entry.expect_refused:
                raise _broken(scenario, entry, f"refused: {exc}") from exc
            if entry.refused_by is not None and not (
                isinstance(exc, GuardFailedError) and exc.guard == entry.refused_by
            ):
                raise _broken(
                    scenario, entry, f"expected a refusal by guard {entry.refused_by}, got: {exc}"
                ) from exc
            refusal = _refusal(entry, str(exc))
            refusals.append(refusal)
            say(
                _line(
                    entry,
                    f"{refusal.instrument}: {refusal.action} REFUSED, as expected: "
                    f"{refusal.reason}",
                )
            )
            continue
        except UsageError as exc:
            raise _broken(scenario, entry, str(exc)) from exc
        if entry.expect_refused:
            raise _broken(scenario, entry, f"expected a refusal, but it was applied: {text}")
        events += 1
        say(_line(entry, text))
    if limit is not None and limit > clock.now():
        send_due(limit)
        clock.set(limit)

    counts = DemoCounts(
        parties=len(scenario.parties),
        users=len(scenario.users),
        summits=len(scenario.summits),
        instruments=len(scenario.instruments),
        entries=entries,
        events=events,
        refusals=len(refusals),
        notes=notes,
        skipped=skipped,
        reminders=sent,
    )
    applied = scenario.timeline[:entries]
    return DemoSummary(
        scenario=scenario.name,
        title=scenario.title,
        tz=scenario.tz,
        article=scenario.article,
        notice=scenario.notice,
        counts=counts,
        sources=(
            _count("parties", scenario.parties),
            _count("users", scenario.users),
            _count("summits", scenario.summits),
            _count("instruments", scenario.instruments),
            _count("timeline entries", applied),
        ),
        instruments=tuple(_row(tracker.show(i.slug)) for i in scenario.instruments),
        refusals=tuple(refusals),
        started_at=as_utc(scenario.setup_at),
        finished_at=clock.now(),
        until=limit,
    )


def _silent(_line: str) -> None:
    return None


def _setup(tracker: Tracker, clock: FixedClock, scenario: Scenario, say: Progress) -> None:
    clock.set(scenario.setup_at)
    actor = scenario.actor
    at = _when(scenario.setup_at)
    for p in scenario.parties:
        tracker.add_party(p.code, name=p.name, actor=actor)
        say(f"{p.tag} {at} party {p.code}: {p.name}")
    for u in scenario.users:
        tracker.add_user(
            u.name,
            email=u.email,
            roles=u.roles,
            party=u.party,
            full_name=u.full_name,
            language=u.language,
            actor=actor,
        )
        party = f", {u.party}" if u.party else ""
        say(f"{u.tag} {at} user {u.name}: {u.full_name} ({', '.join(u.roles)}{party})")
    for s in scenario.summits:
        tracker.add_summit(
            s.slug,
            title=s.title,
            city=s.city,
            starts=s.starts,
            ends=s.ends,
            tz=s.tz,
            actor=actor,
        )
        say(f"{s.tag} {at} summit {s.slug}: {s.title}, {s.city}, {s.starts} to {s.ends} ({s.tz})")
    for i in scenario.instruments:
        tracker.add_instrument(
            i.slug,
            title=i.title,
            workflow=i.workflow,
            summit=i.summit,
            lead=i.lead,
            depends_on=i.depends_on,
            kind=i.kind,
            actor=actor,
        )
        needs = f", depends on {', '.join(i.depends_on)}" if i.depends_on else ""
        lead = f", lead {i.lead}" if i.lead else ""
        say(
            f"{i.tag} {at} instrument {i.slug} ({i.kind}, {i.workflow} workflow, "
            f"for {i.summit}{lead}{needs}): {i.title}"
        )


def _apply(
    tracker: Tracker, scenario: Scenario, entry: TimelineEntry, revisions: dict[str, int]
) -> str:
    """Apply one entry; returns its one-line description."""
    if isinstance(entry, Revise):
        number = tracker.revise(
            entry.instrument,
            content=entry.text.encode("utf-8"),
            filename=entry.filename,
            as_user=entry.as_user,
            note=entry.note,
        )
        revisions[entry.instrument] = number
        afresh = "; positions start afresh" if number > 1 else ""
        return _with(
            f"{entry.instrument}: revision {number} ({entry.filename}) uploaded by "
            f"{entry.as_user}{afresh}",
            entry.note,
        )
    if isinstance(entry, Position):
        tracker.record_position(
            entry.instrument,
            entry.party,
            entry.stance,
            as_user=entry.as_user,
            comment=entry.comment,
        )
        user = scenario.user(entry.as_user)
        own = "delegate" in user.roles and user.party == entry.party
        by = entry.as_user if own else f"{entry.as_user} on behalf of {entry.party}"
        revision = revisions.get(entry.instrument)
        on = f"revision {revision}" if revision is not None else "the current revision"
        return _with(
            f"{entry.instrument}: {entry.party} {_VERB[entry.stance]} {on} (by {by})", entry.comment
        )
    if isinstance(entry, Advance):
        result = tracker.advance(
            entry.instrument, entry.trigger, as_user=entry.as_user, comment=entry.comment
        )
        return _with(
            f"{entry.instrument}: {entry.trigger} by {entry.as_user}: {result.from_state} -> "
            f"{result.to_state} ({result.to_label})",
            entry.comment,
        )
    if isinstance(entry, Retarget):
        before = tracker.show(entry.instrument).summit
        tracker.retarget(
            entry.instrument, summit=entry.summit, as_user=entry.as_user, comment=entry.comment
        )
        return _with(
            f"{entry.instrument}: retargeted by {entry.as_user} from {before} to {entry.summit}",
            entry.comment,
        )
    raise AssertionError(f"unhandled entry {entry!r}")  # pragma: no cover


def _describe_note(entry: Note) -> str:
    about = entry.summit or entry.instrument
    return f"{about}: {entry.text}" if about else entry.text


def _refusal(entry: Entry, reason: str) -> Refusal:
    assert isinstance(entry, Revise | Position | Advance | Retarget)
    if isinstance(entry, Advance):
        action = entry.trigger
    elif isinstance(entry, Position):
        action = f"position {entry.party} {entry.stance}"
    elif isinstance(entry, Retarget):
        action = f"retarget to {entry.summit}"
    else:
        action = "revise"
    return Refusal(
        at=entry.at,
        instrument=entry.instrument,
        action=f"{action} by {entry.as_user}",
        as_user=entry.as_user,
        reason=reason,
        source=entry.source,
    )


def _broken(scenario: Scenario, entry: Entry, message: str) -> ScenarioError:
    return ScenarioError(
        scenario.file, entry.line, None, f"timeline entry at {_when(entry.at)}: {message}"
    )


def _with(text: str, comment: str | None) -> str:
    return f"{text}: {one_line(comment)}" if comment else text


def _when(at: datetime) -> str:
    """``2016-02-10 10:00+05:00``."""
    return at.isoformat(sep=" ", timespec="minutes")


def _line(entry: Entry, text: str) -> str:
    return f"{entry.tag} {_when(entry.at)} {text}"


def _count(category: str, items: Sequence[Sourced]) -> SourceCount:
    article = sum(1 for i in items if i.source == "article")
    return SourceCount(category=category, article=article, illustrative=len(items) - article)


def _row(view: InstrumentView) -> InstrumentRow:
    return InstrumentRow(
        slug=view.slug,
        title=view.title,
        kind=view.kind,
        state=view.state,
        state_label=view.state_label,
        summit=view.summit,
        lead=view.lead,
        revision=view.revision,
        version=view.version,
        deadlines=tuple(
            DeadlineRow(
                milestone=d.milestone, label=d.label, due=d.due, tz=d.tz, status=d.status.value
            )
            for d in view.deadlines
        ),
    )


# -- rendering --------------------------------------------------------------------------------


def render_summary(summary: DemoSummary) -> str:
    """The summary as plain text: header, instruments, deadlines, refusals and a legend."""
    c = summary.counts
    started = _when(to_local(summary.started_at, summary.tz))
    finished = _when(to_local(summary.finished_at, summary.tz))
    out = [
        f"Demo scenario {summary.scenario}: {summary.title}",
        f"Replayed from {started} to {finished} ({summary.tz})",
    ]
    if c.skipped:
        out.append(f"Stopped early: {c.skipped} later timeline entries not applied")
    created = ", ".join(
        _plural(n, what)
        for n, what in (
            (c.parties, "parties"),
            (c.users, "users"),
            (c.summits, "summits"),
            (c.instruments, "instruments"),
        )
    )
    out.append(
        f"{created}; {_plural(c.entries, 'timeline entries')}: {_plural(c.events, 'changes')}, "
        f"{c.refusals} refused as expected, {_plural(c.notes, 'notes')}"
        + (f"; {_plural(c.reminders, 'reminder emails')} sent" if c.reminders else "")
    )

    out += ["", "Instruments"]
    out += _table(
        ("Instrument", "Kind", "State", "Summit", "Lead", "Rev", "Ver"),
        [
            (
                r.slug,
                r.kind,
                r.state_label,
                r.summit,
                r.lead or "-",
                "-" if r.revision is None else str(r.revision),
                str(r.version),
            )
            for r in summary.instruments
        ],
        right=(5, 6),
    )
    out += ["", "Titles"]
    width = max((len(r.slug) for r in summary.instruments), default=0)
    out += [f"  {r.slug.ljust(width)}  {r.title}" for r in summary.instruments]

    out += ["", "Deadlines"]
    out += _table(
        ("Instrument", "Milestone", "Due (summit time)", "Status"),
        [
            (r.slug, d.milestone, _when(to_local(d.due, d.tz)), d.status)
            for r in summary.instruments
            for d in r.deadlines
        ],
    )
    if summary.refusals:
        out += ["", "Refused, as the scenario expected"]
        out += [
            f"  [{r.source}] {_when(r.at)} {r.instrument}: {r.action}: {r.reason}"
            for r in summary.refusals
        ]
    out += ["", _legend(summary)]
    return "\n".join(out) + "\n"


def _legend(summary: DemoSummary) -> str:
    a = summary.article

    def part(source: str) -> str:
        items = [
            _plural(getattr(s, source), s.category) for s in summary.sources if getattr(s, source)
        ]
        return ", ".join(items) or "nothing"

    legend = (
        f"Legend: [article] = from the seed article ({a.publisher}, {a.published}, "
        f'"{a.title}", {a.url}): {part("article")}. '
        f"[illustrative] = invented for the demo, not a historical record: "
        f"{part('illustrative')}."
    )
    if summary.notice:
        legend += f" {summary.notice}"
    return legend


def _plural(n: int, category: str) -> str:
    """``1 summit``, ``2 summits``: ``category`` is the plural; ``parties`` -> ``party``."""
    if n != 1:
        return f"{n} {category}"
    if category.endswith("ies"):
        return f"1 {category[:-3]}y"
    return f"1 {category[:-1]}" if category.endswith("s") else f"1 {category}"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
) -> list[str]:
    """Columns aligned with spaces; ``right`` lists the right-aligned columns."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return ("  " + "  ".join(parts)).rstrip()

    return [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]
