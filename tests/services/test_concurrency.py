"""Two OS processes writing the same instrument at the same moment, on each backend.

Each child process connects on its own, warms up (schema checked, connection open), says
``ready`` and then waits on its stdin; the test releases both with one line each, so both
requests are in flight together. No timing is assumed: the assertions hold whichever wins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from tracking_support import add, tables

import doctrack
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import DEADLINE, INSTRUMENT
from helpers import START, WORKFLOWS

pytestmark = pytest.mark.slow
ROUNDS = 5

CHILD = """
import json, sys
from datetime import datetime
import doctrack
from doctrack.clock import FixedClock

url, workflows, now, slug = sys.argv[1:5]
tracker = doctrack.connect(url, settings=doctrack.Settings(workflows=workflows),
                           clock=FixedClock(datetime.fromisoformat(now)))
tracker.show(slug)
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    try:
        if request["do"] == "advance":
            result = tracker.advance(request["slug"], request["trigger"], as_user=request["as"],
                                     expect_version=request["version"])
            reply = {"ok": True, "version": result.version}
        else:
            tracker.record_position(request["slug"], request["party"], request["stance"],
                                    as_user=request["as"])
            reply = {"ok": True}
    except doctrack.DoctrackError as exc:
        reply = {"ok": False, "error": type(exc).__name__, "message": str(exc),
                 "refused": isinstance(exc, doctrack.RefusedError)}
    print(json.dumps(reply), flush=True)
"""


class Child:
    """A tracker in another process, answering one JSON request per line."""

    def __init__(self, url: str, slug: str) -> None:
        src = str(Path(doctrack.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(WORKFLOWS), START.isoformat(), slug],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"child process died: {self.stderr()}")
        return line.strip()

    def send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def stderr(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate(timeout=60)
        return err

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def race(children: list[Child], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send one request to each child at once; their replies, in the same order."""
    for child, request in zip(children, requests, strict=True):
        child.send(request)
    return [json.loads(child.read()) for child in children]


@pytest.fixture
def pair(world: Tracker) -> Iterator[list[Child]]:
    """Two ready child processes on the world's database, and ``prog`` (a programme with a
    revision)."""
    add(world, "prog", "programme")
    world.revise("prog", content=b"draft", filename="d1.txt", as_user="drafter")
    children = [Child(world.db.url, "prog") for _ in range(2)]
    try:
        for child in children:
            assert child.read() == "ready"
        yield children
    finally:
        for child in children:
            child.close()


def transitions(t: Tracker) -> int:
    return sum(e.kind == "transition" for e in t.history("prog"))


@pytest.mark.parametrize("expect", [True, False], ids=["expect-version", "no-expect-version"])
def test_one_of_two_racing_advances_wins(world: Tracker, pair: list[Child], expect: bool) -> None:
    for n in range(ROUNDS):
        trigger = "submit" if n % 2 == 0 else "rework"
        start = world.show("prog")
        request = {
            "do": "advance",
            "slug": "prog",
            "trigger": trigger,
            "as": "coord",
            "version": start.version if expect else None,
        }
        replies = race(pair, [request, request])
        winners = [r for r in replies if r["ok"]]
        losers = [r for r in replies if not r["ok"]]
        assert len(winners) == 1, replies
        assert winners[0]["version"] == start.version + 1
        (loser,) = losers
        assert loser["error"] in {"ConflictError", "InvalidTriggerError"}, loser
        assert loser["refused"]
        after = world.show("prog")
        assert after.version == start.version + 1
        assert after.state == ("expert_review" if trigger == "submit" else "drafting")
        assert len(world.history("prog")) == after.version
        assert transitions(world) == n + 1


def test_racing_positions_of_two_parties_are_both_kept(world: Tracker, pair: list[Child]) -> None:
    for n, (first, second) in enumerate(
        [("KZ", "RU"), ("CN", "KG"), ("TJ", "UZ"), ("RU", "KZ"), ("UZ", "CN")][:ROUNDS]
    ):
        if n:
            world.revise(
                "prog", content=f"draft {n + 1}".encode(), filename="d.txt", as_user="drafter"
            )
        start = world.show("prog").version
        requests = [
            {
                "do": "position",
                "slug": "prog",
                "party": party,
                "stance": "approve",
                "as": party.lower(),
            }
            for party in (first, second)
        ]
        replies = race(pair, requests)
        for child, request, reply in zip(pair, requests, replies, strict=True):
            if not reply["ok"]:
                # Losing a race may be a clean refusal; asking again must then succeed.
                assert reply["refused"], reply
                assert race([child], [request]) == [{"ok": True}]
        view = world.show("prog")
        assert view.to_json()["positions"] == {first: "approve", second: "approve"}
        assert view.version == start + 2 == len(world.history("prog"))
        assert len(tables(world)["position"]) == 2 * (n + 1)


# -- a summit moving while an instrument is added to it or retargeted to it ---------------
# PostgreSQL only: a second session holds a row lock so that the interleaving below happens
# for certain. The summit move locks the summit row, reads the summit's instruments and
# stops on the held deadline row; meanwhile the other use case reads the summit's (old)
# dates and waits on the summit row's lock; then the held lock is released.


def wait_for_lock_waiters(url: str, count: int) -> None:
    """Return once ``count`` sessions of this database wait for a lock."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(50_000):
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                conn.rollback()
                if waiting >= count:
                    return
    finally:
        engine.dispose()
    raise AssertionError(f"{count} sessions never waited for a lock")


class InThread:
    """Run ``call`` in a thread; ``result()`` joins it and re-raises what it raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._outcome: list[object] = []
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], object]) -> None:
        try:
            self._outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self._outcome.append(exc)

    def result(self) -> object:
        self._thread.join(timeout=120)
        (outcome,) = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def dues(t: Tracker, slug: str) -> list[tuple[str, str]]:
    return [(d.milestone, d.to_json()["due"]) for d in t.show(slug).deadlines]


@pytest.fixture
def pg_world(world: Tracker) -> Tracker:
    if not world.db.url.startswith("postgresql"):
        pytest.skip("orchestrated with PostgreSQL row locks")
    return world


def while_summit_moves(
    world: Tracker, summit: str, starts: date, other: Callable[[], object]
) -> None:
    """Move ``summit`` to ``starts`` while ``other`` runs, interleaved as described above.
    ``anchor``, an instrument of the summit, is the one whose deadline row is held."""
    engine = create_engine(world.db.url)
    try:
        with engine.connect() as holder:
            holder.execute(
                select(DEADLINE.c.id)
                .join(INSTRUMENT)
                .where(INSTRUMENT.c.slug == "anchor")
                .with_for_update(of=DEADLINE)
            )
            moving = InThread(lambda: world.move_summit(summit, starts=starts, as_user="sec"))
            wait_for_lock_waiters(world.db.url, 1)
            running = InThread(other)
            wait_for_lock_waiters(world.db.url, 2)
            holder.commit()
            moving.result()
            running.result()
    finally:
        engine.dispose()


def test_instrument_added_while_its_summit_moves_gets_the_new_due_times(
    pg_world: Tracker,
) -> None:
    add(pg_world, "anchor")
    while_summit_moves(pg_world, "t16", date(2016, 7, 7), lambda: add(pg_world, "late"))
    add(pg_world, "control")
    assert dues(pg_world, "late") == dues(pg_world, "control")


def test_instrument_retargeted_while_its_new_summit_moves_gets_the_new_due_times(
    pg_world: Tracker,
) -> None:
    add(pg_world, "anchor", summit="a17")
    add(pg_world, "conv")
    while_summit_moves(
        pg_world,
        "a17",
        date(2017, 7, 1),
        lambda: pg_world.retarget("conv", summit="a17", as_user="sec", comment="postponed"),
    )
    add(pg_world, "control", summit="a17")
    assert dues(pg_world, "conv") == dues(pg_world, "control")
