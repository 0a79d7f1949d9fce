"""bench.generate writes what doctrack's own use cases would have written, and bench.growth runs.

No ``__init__.py`` in this folder, on purpose: a package ``tests/bench`` would be imported as
``bench`` and hide the benchmarks' package of the same name.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

import doctrack
from doctrack.clock import FixedClock
from doctrack.config import Settings
from doctrack.domain import ReminderStatus
from doctrack.engine.registry import Workflows
from doctrack.services.emails import templates_folder
from doctrack.services.notify import Delivery, Outcome
from doctrack.services.planning import DEADLINE_MET, FINAL_STATE
from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import (
    DEADLINE,
    DEPENDENCY,
    EVENT,
    INSTRUMENT,
    METADATA,
    POSITION,
    REMINDER,
    REVISION,
    SUMMIT,
    USER,
    USER_ROLE,
)
from doctrack.wiring import make_dispatcher
from helpers import ROOT, WORKFLOWS

if str(ROOT) not in sys.path:  # the benchmarks live beside the package, in the checkout
    sys.path.insert(0, str(ROOT))

from bench import generate as gen
from bench import growth

SETTINGS = Settings(workflows=str(WORKFLOWS))


class Accepting:
    """A mail server that takes every message."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    def send(self, deliveries: Any) -> list[Outcome]:
        self.sent += deliveries
        return [Outcome(d.reminder_id, sent=True) for d in deliveries]


def connect(url: str) -> Tracker:
    return doctrack.connect(
        url,
        settings=SETTINGS,
        clock=FixedClock(gen.NOW),
        workflows=Workflows.from_folder(WORKFLOWS),
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = create_engine(db_url)
    yield e
    e.dispose()


# -- consistency of a generated database ------------------------------------------------------


def test_histories_states_versions_and_reminders_agree(db_url: str, engine: Engine) -> None:
    info = gen.generate(db_url, 400, fixed=40, workflows=Workflows.from_folder(WORKFLOWS))
    workflows = Workflows.from_folder(WORKFLOWS)
    with engine.connect() as conn:
        instruments = conn.execute(select(INSTRUMENT)).all()
        events: dict[int, list[Any]] = {}
        for e in conn.execute(select(EVENT).order_by(EVENT.c.id)):
            if e.instrument_id is not None:
                events.setdefault(e.instrument_id, []).append(e)
        revisions = {
            (r.instrument_id, r.number): r
            for r in conn.execute(
                select(REVISION.c.id, REVISION.c.instrument_id, REVISION.c.number)
            )
        }
        deadlines = conn.execute(select(DEADLINE)).all()
        positions = conn.execute(select(POSITION)).all()
        reminders = conn.execute(select(REMINDER)).all()
        times = list(conn.execute(select(EVENT.c.at).order_by(EVENT.c.id)).scalars())
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (INSTRUMENT, EVENT, REVISION, POSITION, DEADLINE, DEPENDENCY, REMINDER)
        }
    assert counts == {
        "instrument": info.instruments,
        "event": info.events,
        "revision": info.revisions,
        "position": info.positions,
        "deadline": info.deadlines,
        "dependency": info.dependencies,
        "reminder": sum(info.reminders.values()),
    }
    assert info.by_summit[gen.FIXED_SUMMIT] == 40
    assert times == sorted(times), "event ids are not in time order"
    assert 7 <= info.events / info.instruments <= 12

    entered: dict[tuple[int, str], datetime] = {}
    final_at: dict[int, datetime] = {}
    for r in instruments:
        wf = workflows.get(r.workflow)
        history = events[r.id]
        # The version counts the changes: every event of the instrument, its creation first.
        assert r.version == len(history), r.slug
        assert history[0].kind == "created"
        assert all(e.kind != "created" for e in history[1:])
        transitions = [e for e in history if e.kind == "transition"]
        state = wf.initial
        for t in transitions:
            assert t.from_state == state, r.slug
            assert any(
                x.trigger == t.trigger and x.dest == t.to_state for x in wf.transitions_from(state)
            ), f"{r.slug}: {t.trigger} from {state}"
            state = t.to_state
            entered.setdefault((r.id, state), t.at)
            if wf.is_final(state):
                final_at[r.id] = t.at
        assert r.state == state, r.slug
        assert r.state_since == (transitions[-1].at if transitions else r.created_at), r.slug
        drafts = [e for e in history if e.kind == "revision"]
        assert r.revision_number == (len(drafts) or None), r.slug
        if drafts:
            assert revisions[r.id, len(drafts)].id == r.revision_id, r.slug
    for d in deadlines:
        assert d.met_at == entered.get((d.instrument_id, d.milestone)), (d.instrument_id, d)
    for p in positions:
        number = next(n for (i, n), rev in revisions.items() if rev.id == p.revision_id)
        last = [
            e
            for e in events[p.instrument_id]
            if e.kind == "position" and f'"party": "{p.party_code}"' in e.payload
            if f'"revision": {number},' in e.payload
        ][-1]
        assert (last.at, last.actor, last.comment) == (p.at, p.recorded_by, p.comment)
        assert f'"stance": "{p.stance}"' in last.payload

    # Reminders: nothing due; sent when their time came; cancelled when met or final first.
    met = {d.id: d.met_at for d in deadlines}
    statuses = Counter(r.status for r in reminders)
    assert statuses == Counter(info.reminders)
    assert {"pending", "sent", "cancelled"} <= set(statuses)
    for r in reminders:
        assert r.next_attempt_at == r.send_at
        if r.status == ReminderStatus.PENDING:
            assert r.send_at > gen.NOW and r.attempts == 0
        elif r.status == ReminderStatus.SENT:
            assert r.sent_at == r.send_at <= gen.NOW and r.attempts == 1
        elif r.note == DEADLINE_MET:
            assert met[r.deadline_id] is not None and met[r.deadline_id] < r.send_at
        elif r.note == FINAL_STATE:
            assert final_at[r.instrument_id] < r.send_at
        else:
            assert (r.kind, r.note) == ("summit", gen.NO_OPEN_INSTRUMENTS), r

    # And doctrack reads it through the public API.
    tracker = connect(db_url)
    try:
        view = tracker.show(info.show_slug)
        assert (view.summit, view.state) == (gen.FIXED_SUMMIT, "agreed")
        assert len(tracker.history(info.show_slug)) == view.version
        page = list(
            tracker.list_instruments(summit=gen.LIST_SUMMIT, state=gen.LIST_STATE, limit=50)
        )
        assert len(page) == min(50, info.list_matches)
        assert [i.slug for i in page] == sorted(i.slug for i in page)
        overdue = list(tracker.deadlines(summit=gen.FIXED_SUMMIT, overdue=True))
        assert overdue and all(d.status.value == "missed" for d in overdue)
        reports = StatusReports(tracker.db, tracker.workflows, tracker.clock)
        with reports.open(summit=gen.FIXED_SUMMIT) as status:
            out = io.StringIO()
            ReportWriter(templates_folder(None), "en").write(status, "json", out)
            assert status.summits[0].headline.total == 40
        assert '"slug": "tashkent-2016"' in out.getvalue()
        sender = Accepting()
        run = make_dispatcher(tracker, SETTINGS, sender=sender).run()
        assert (run.claimed, sender.sent) == (0, [])
    finally:
        tracker.db.dispose()


def test_the_fixed_summit_is_the_same_at_every_size(tmp_path: Path) -> None:
    small, large = (f"sqlite:///{tmp_path / f'{n}.db'}" for n in (300, 900))
    workflows = Workflows.from_folder(WORKFLOWS)
    gen.generate(small, 300, fixed=30, workflows=workflows)
    gen.generate(large, 900, fixed=30, workflows=workflows)
    outputs = []
    for url in (small, large):
        tracker = connect(url)
        try:
            reports = StatusReports(tracker.db, tracker.workflows, tracker.clock)
            with reports.open(summit=gen.FIXED_SUMMIT) as status:
                out = io.StringIO()
                ReportWriter(templates_folder(None), "en").write(status, "json", out)
            outputs.append(out.getvalue())
        finally:
            tracker.db.dispose()
    assert outputs[0] == outputs[1]


# -- the same rows as the public API --------------------------------------------------------------


def replay(url: str, script: list[Any]) -> None:
    """Every call of the generated history through the public API, at its time, with a
    dispatcher run (to a server that takes everything) whenever a reminder came due."""
    clock = FixedClock(gen.STAFF_SINCE)
    workflows = Workflows.from_folder(WORKFLOWS)
    tracker = doctrack.connect(url, settings=SETTINGS, clock=clock, workflows=workflows)
    dispatcher = make_dispatcher(tracker, SETTINGS, sender=Accepting())
    dispatcher.name = gen.DISPATCHER
    try:
        for code, name in gen.PARTIES.items():
            tracker.add_party(code, name=name, actor=gen.ACTOR)
        for at, _seq, op, *args in script:
            clock.set(at)
            if op == "add_user":
                (u,) = args
                tracker.add_user(
                    u.name, email=u.email, roles=list(u.roles), party=u.party, actor=gen.ACTOR
                )
            elif op == "add_summit":
                (s,) = args
                tracker.add_summit(
                    s.slug,
                    title=s.title,
                    city=s.city,
                    starts=s.starts,
                    ends=s.ends,
                    tz=s.tz,
                    actor=gen.ACTOR,
                )
            elif op == "add_instrument":
                slug, title, workflow, summit, lead, depends_on, kind = args
                tracker.add_instrument(
                    slug,
                    title=title,
                    workflow=workflow,
                    summit=summit,
                    lead=lead,
                    depends_on=depends_on,
                    kind=kind,
                    actor=gen.ACTOR,
                )
            elif op == "revise":
                slug, content, filename, actor, note = args
                tracker.revise(slug, content=content, filename=filename, as_user=actor, note=note)
            elif op == "position":
                slug, party, stance, actor, comment = args
                tracker.record_position(slug, party, stance, as_user=actor, comment=comment)
            elif op == "advance":
                slug, trigger, actor, comment = args
                tracker.advance(slug, trigger, as_user=actor, comment=comment)
            elif op == "dispatch":
                dispatcher.run()
            else:
                raise AssertionError(f"unknown step {op}")
    finally:
        tracker.db.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Every table by what its rows are about (slugs, names, numbers), not by surrogate ids
    where the order of writing may differ (drafts and positions)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            slug = {r.id: r.slug for r in conn.execute(select(INSTRUMENT.c.id, INSTRUMENT.c.slug))}
            summit = {r.id: r.slug for r in conn.execute(select(SUMMIT.c.id, SUMMIT.c.slug))}
            user = {r.id: r.name for r in conn.execute(select(USER.c.id, USER.c.name))}
            number = {
                r.id: r.number for r in conn.execute(select(REVISION.c.id, REVISION.c.number))
            }
            milestone = {
                r.id: r.milestone for r in conn.execute(select(DEADLINE.c.id, DEADLINE.c.milestone))
            }

            def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
                return [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]

            result: dict[str, Any] = {
                "users": rows(USER, USER.c.id),
                "roles": rows(USER_ROLE, USER_ROLE.c.user_id, USER_ROLE.c.role),
                "summits": rows(SUMMIT, SUMMIT.c.id),
                "instruments": [
                    r | {"revision_id": number.get(r["revision_id"])}
                    for r in rows(INSTRUMENT, INSTRUMENT.c.id)
                ],
                "dependencies": sorted(
                    (slug[r.instrument_id], slug[r.depends_on_id])
                    for r in conn.execute(select(DEPENDENCY))
                ),
                "revisions": sorted(
                    (slug[r["instrument_id"]], *(v for k, v in r.items() if k != "instrument_id"))
                    for r in (
                        {k: v for k, v in row.items() if k != "id"}
                        for row in rows(REVISION, REVISION.c.id)
                    )
                ),
                "positions": sorted(
                    (
                        slug[r["instrument_id"]],
                        number[r["revision_id"]],
                        r["party_code"],
                        r["stance"],
                        r["comment"] or "",
                        r["recorded_by"],
                        r["on_behalf"],
                        r["at"],
                    )
                    for r in rows(POSITION, POSITION.c.id)
                ),
                "deadlines": rows(DEADLINE, DEADLINE.c.id),
                "events": rows(EVENT, EVENT.c.id),
                "reminders": [
                    r
                    | {
                        "summit_id": summit[r["summit_id"]],
                        "instrument_id": slug.get(r["instrument_id"]),
                        "deadline_id": milestone.get(r["deadline_id"]),
                        "user_id": user[r["user_id"]],
                    }
                    for r in rows(REMINDER, REMINDER.c.id)
                ],
            }
        return result
    finally:
        engine.dispose()


def _empty(url: str, tmp_path: Path) -> str:
    """A fresh, migrated database: a new file (SQLite), the same one emptied (PostgreSQL)."""
    if url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'generated.db'}"
        doctrack.init_database(other)
        return other
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in METADATA.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def test_the_public_api_writes_the_very_same_rows(db_url: str, tmp_path: Path) -> None:
    """The generated history, replayed call by call through ``doctrack.Tracker`` (and a
    dispatcher whenever a reminder came due), leaves the rows the generator wrote."""
    workflows = Workflows.from_folder(WORKFLOWS)
    played = gen.Generator(workflows, 70, fixed=15, keep_script=True)
    played.build()
    steps = played.script()
    ops = Counter(step[2] for step in steps)
    assert {"add_instrument", "revise", "position", "advance", "dispatch"} <= set(ops)
    replay(db_url, steps)
    replayed = snapshot(db_url)
    generated_url = _empty(db_url, tmp_path)
    gen.generate(generated_url, 70, fixed=15, workflows=workflows)
    generated = snapshot(generated_url)
    for table in replayed:
        assert generated[table] == replayed[table], table
    statuses = Counter(r["status"] for r in generated["reminders"])
    assert {"pending", "sent", "cancelled"} <= set(statuses), statuses


# -- the growth benchmark -----------------------------------------------------------------------


@pytest.mark.slow
def test_growth_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert growth.main(["--quick", "--backend", "sqlite"]) == 0
    out = capsys.readouterr().out
    for name in ("doc show SLUG", "reminders run (nothing due)", "report status --summit"):
        assert name in out
    assert "floor: python -c 'import sqlmodel'" in out


def test_growth_verdicts() -> None:
    def m(size: int, ms: float) -> growth.Measure:
        return growth.Measure("op", size, 1, process_ms=[500.0], inner_ms=[ms])

    assert growth.verdict(m(1000, 10.0), m(10_000, 11.0)) == "flat"
    assert growth.verdict(m(1000, 10.0), m(10_000, 12.5)) == "flat"  # under NOISE_MS more
    assert growth.verdict(m(1000, 10.0), m(10_000, 30.0)) == "linear"
    assert growth.verdict(m(1000, 10.0), m(10_000, 100.0)) == "linear"
    assert growth.verdict(m(1000, 10.0), m(10_000, 900.0)) == "worse"
