"""``audit.verify``: a clean history verifies; an edit behind doctrack's back is named."""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select, text, update

from audit_support import behind_the_back, event_ids
from doctrack.clock import FixedClock
from doctrack.demo import load_scenario, replay
from doctrack.services import audit
from doctrack.services.tracking import Tracker
from doctrack.storage import chain
from doctrack.storage.tables import EVENT, INSTRUMENT
from helpers import approve_all


def _busy(world: Tracker) -> None:
    """Two instruments through every kind of change; a summit moved."""
    for slug in ("convention", "strategy"):
        world.add_instrument(
            slug, title=slug.title(), workflow="convention", summit="t16", lead="KZ",
            actor="setup",
        )  # fmt: skip
        world.revise(
            slug, content=b"draft 1 of " + slug.encode(), filename="d1.docx", as_user="drafter"
        )
        world.advance(slug, "submit", as_user="coord")
        approve_all(world, slug)
    world.revise("convention", content=b"draft 2", filename="d2.docx", as_user="drafter")
    approve_all(world, "convention")
    world.advance("convention", "agree", as_user="coord", comment="consensus")
    world.retarget("strategy", summit="a17", as_user="sec", comment="next year")
    world.move_summit("a17", starts=date(2017, 6, 15), as_user="sec", comment="new dates")


def test_a_clean_history_verifies_and_its_digest_follows_it(world: Tracker) -> None:
    _busy(world)
    report = audit.verify(world.db)
    print(
        f"chains {report.chains}, events {report.events}, revisions {report.revisions}, "
        f"problems {len(report.problems)}"
    )
    assert report.ok, report.problems
    assert (report.instruments, report.summits, report.revisions) == (2, 2, 3)
    engine = create_engine(world.db.url)
    with engine.connect() as conn:
        assert report.events == conn.execute(select(func.count()).select_from(EVENT)).scalar()
    engine.dispose()
    again = audit.verify(world.db, expect=report.digest)
    assert again.ok and again.digest == report.digest
    world.advance("convention", "approve", as_user="sec")
    later = audit.verify(world.db, expect=report.digest)
    assert later.digest != report.digest
    [problem] = later.problems
    assert problem.what == "digest"
    assert report.digest in problem.detail or later.digest in problem.detail


def test_the_demo_scenario_verifies(db_url: str) -> None:
    import doctrack

    clock = FixedClock(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    tracker = doctrack.connect(db_url, clock=clock)
    try:
        replay(tracker, clock, load_scenario())
        report = audit.verify(tracker.db)
    finally:
        tracker.db.dispose()
    print(f"demo: {report.chains} chains, {report.events} events, {report.revisions} revisions")
    assert report.ok, report.problems
    assert report.events > 50 and report.revisions > 0


def test_a_comment_edited_behind_the_back_names_its_event(world: Tracker, db_url: str) -> None:
    _busy(world)
    ids = event_ids(db_url, slug="convention")
    target = ids[3]
    edit = "UPDATE event SET comment = 'nothing happened' WHERE id = :id"
    assert behind_the_back(db_url, edit, {"id": target}) == 1
    report = audit.verify(world.db)
    [problem] = report.problems
    assert (problem.what, problem.subject, problem.slug, problem.event_id) == (
        "hash", "instrument", "convention", target,
    )  # fmt: skip
    assert f"event {target} (#4, position) does not match its hash" in problem.line()
    assert problem.line().startswith("instrument convention: ")


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link(
    world: Tracker, db_url: str
) -> None:
    _busy(world)
    ids = event_ids(db_url, slug="convention")
    _rehash(db_url, ids[2], comment="rewritten")
    [problem] = audit.verify(world.db).problems
    assert (problem.what, problem.event_id) == ("link", ids[3])
    assert f"does not follow event {ids[2]}" in problem.detail


def test_a_deleted_tail_is_detected(world: Tracker, db_url: str) -> None:
    _busy(world)
    ids = event_ids(db_url, slug="convention")
    deleted = behind_the_back(
        db_url, "DELETE FROM event WHERE id IN (:a, :b)", {"a": ids[-2], "b": ids[-1]}
    )
    assert deleted == 2
    report = audit.verify(world.db)
    tails = [p for p in report.problems if p.slug == "convention"]
    [problem] = tails
    assert (problem.what, problem.event_id) == ("tail", ids[-3])
    assert "events after it are missing" in problem.detail
    assert f"version {len(ids)}" in problem.detail


def test_a_deleted_middle_event_is_detected(world: Tracker, db_url: str) -> None:
    _busy(world)
    ids = event_ids(db_url, slug="convention")
    behind_the_back(db_url, "DELETE FROM event WHERE id = :id", {"id": ids[5]})
    [problem] = audit.verify(world.db).problems
    assert (problem.what, problem.slug, problem.event_id) == ("link", "convention", ids[6])


def test_a_summit_event_edited_is_detected(world: Tracker, db_url: str) -> None:
    _busy(world)
    behind_the_back(
        db_url,
        "UPDATE event SET actor = 'nobody' WHERE kind = 'summit_moved'",
    )
    [problem] = audit.verify(world.db).problems
    assert (problem.what, problem.subject, problem.slug) == ("hash", "summit", "a17")


def test_revision_content_changed_is_detected(world: Tracker, db_url: str) -> None:
    _busy(world)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE revision SET content = :c WHERE number = 2"), {"c": b"draft 2, edited"}
        )
    engine.dispose()
    [problem] = audit.verify(world.db).problems
    assert (problem.what, problem.slug) == ("revision", "convention")
    assert "revision 2: its content does not match its sha256" in problem.detail


def test_revision_content_and_sha256_changed_is_detected_by_its_event(
    world: Tracker, db_url: str
) -> None:
    import hashlib

    _busy(world)
    forged = b"draft 2, forged"
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE revision SET content = :c, sha256 = :s, size = :n WHERE number = 2"),
            {"c": forged, "s": hashlib.sha256(forged).hexdigest(), "n": len(forged)},
        )
    engine.dispose()
    [problem] = audit.verify(world.db).problems
    revision_event = event_ids(db_url, slug="convention")[9]
    assert (problem.what, problem.slug, problem.event_id) == (
        "revision",
        "convention",
        revision_event,
    )
    assert "its sha256 is not the one event" in problem.detail


def test_a_consistent_rewrite_is_caught_only_by_the_digest(world: Tracker, db_url: str) -> None:
    _busy(world)
    digest = audit.verify(world.db).digest
    ids = event_ids(db_url, slug="convention")
    for event_id in ids[4:]:
        _rehash(db_url, event_id, comment="rewritten" if event_id == ids[4] else None)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        last = conn.execute(select(EVENT.c.hash).where(EVENT.c.id == ids[-1])).scalar_one()
        conn.execute(
            update(INSTRUMENT).where(INSTRUMENT.c.slug == "convention").values(chain_head=last)
        )
    engine.dispose()
    assert audit.verify(world.db).ok
    [problem] = audit.verify(world.db, expect=digest).problems
    assert problem.what == "digest"


def _rehash(url: str, event_id: int, *, comment: str | None) -> None:
    """Change an event's comment (if given) and recompute its link from its predecessor."""
    engine = create_engine(url)
    with engine.connect() as conn:
        e = conn.execute(select(EVENT).where(EVENT.c.id == event_id)).one()
        prev = conn.execute(
            select(EVENT.c.hash).where(
                EVENT.c.instrument_id == e.instrument_id, EVENT.c.seq == e.seq - 1
            )
        ).scalar_one()
    engine.dispose()
    content = chain.EventContent(
        at=e.at, actor=e.actor, kind=e.kind, trigger=e.trigger, from_state=e.from_state,
        to_state=e.to_state, comment=comment if comment is not None else e.comment,
        payload=e.payload,
    )  # fmt: skip
    link = chain.next_link(prev, chain.INSTRUMENT, e.instrument_id, e.seq, content)
    behind_the_back(
        url,
        "UPDATE event SET comment = :c, prev_hash = :p, hash = :h WHERE id = :id",
        {"c": content.comment, "p": link.prev_hash, "h": link.hash, "id": event_id},
    )


@pytest.mark.parametrize("every", [3])
def test_progress_is_reported_for_long_runs(
    world: Tracker, every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _busy(world)
    monkeypatch.setattr(audit, "PROGRESS_EVERY", every)
    seen: list[int] = []
    report = audit.verify(world.db, progress=seen.append)
    assert seen == list(range(every, report.events + 1, every))
