"""Advance N ``convention`` instruments through their 5 transitions, against a raw sqlite3 floor.

doctrack: ``Tracker.advance(slug, trigger, as_user=...)`` for submit, agree, approve, sign and
enter_into_force on every instrument, one transaction each, through the public API on SQLite
in the project's default mode (WAL, synchronous=NORMAL, foreign_keys=ON, busy_timeout,
``BEGIN IMMEDIATE`` for writers).

floor: the stdlib ``sqlite3`` module on a copy of the same database, same pragmas,
``isolation_level=None`` with explicit ``BEGIN IMMEDIATE``/``COMMIT``, executing the very
statements doctrack executes per transition, in the same order, with the same parameters.
They are not written by hand: doctrack's statements are captured with a SQLAlchemy
``before_cursor_execute`` listener while two instruments advance, and each parameter is
either the same for every instrument (a constant), the instrument's slug, or a column of a
row read earlier in the same transaction (the instrument's id, its revision's id, its chain
head), which the floor takes from the row it has just read, as doctrack does, or the hash of
the event the transition inserts (where doctrack chains its events), which the floor computes
from that INSERT's other parameters with ``doctrack.storage.chain.event_hash``. Before
anything is timed, the floor's SQLite trace (the expanded SQL SQLite ran) must equal
doctrack's for those two instruments; after every timed run, the two databases must hold the
same rows.

Setup (parties, users, a summit, N instruments each with a revision and every party's
approve) is done once through the public API and is not timed; every timed run starts from
a fresh copy of that database.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import re
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import event

import doctrack
from bench._suite import (
    BenchError,
    Row,
    Side,
    checkpoint,
    count_option,
    fresh_copy,
    median,
    mib,
    parser,
    resolve,
    run_main,
    sqlite_url,
)

WORKFLOW = "convention"
SUMMIT = "tashkent-2016"
SUMMIT_STARTS = date(2016, 6, 23)
SUMMIT_ENDS = date(2016, 6, 24)
SUMMIT_TZ = "Asia/Tashkent"
#: 11:00 in Tashkent on the summit's first day: ``sign`` (summit_in_session) holds.
NOW = datetime(2016, 6, 23, 6, 0, tzinfo=UTC)
PARTIES = {
    "CN": "People's Republic of China",
    "KG": "Kyrgyz Republic",
    "KZ": "Republic of Kazakhstan",
    "RU": "Russian Federation",
    "TJ": "Republic of Tajikistan",
    "UZ": "Republic of Uzbekistan",
}
COORDINATOR = "coordinator1"
SECRETARY = "secretary1"
ACTOR = "bench"
#: The workflow's path to ``in_force``, each trigger fired by a user holding its role.
STEPS: tuple[tuple[str, str], ...] = (
    ("submit", COORDINATOR),
    ("agree", COORDINATOR),
    ("approve", SECRETARY),
    ("sign", SECRETARY),
    ("enter_into_force", COORDINATOR),
)
DRAFT = b"Draft Convention of the SCO on countering extremism.\n" * 80
PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
DEFAULT_INSTRUMENTS = 2000
DEFAULT_REPEATS = 3
QUICK_INSTRUMENTS = 200
TARGET_RATIO = 5.0  # issue 6: at most 5x the raw sqlite3 floor in WAL mode
#: doctrack and the floor take turns every this many instruments (same background load).
INTERLEAVE = 25
#: Instruments advanced in the extra, untimed run that measures peak memory.
MEMORY_INSTRUMENTS = 500


# -- setup (untimed) ------------------------------------------------------------------------


def slugs_for(n: int) -> list[str]:
    return [f"convention-{i:05d}" for i in range(1, n + 1)]


def warm_up(tracker: doctrack.Tracker) -> None:
    """Once-per-process costs, kept out of the timings: the schema check, the first pooled
    connection and its pragmas, the workflow's machine."""
    tracker.get_summit(SUMMIT)
    tracker.workflows.machine(WORKFLOW)


def build_world(url: str, slugs: Sequence[str]) -> None:
    """The world every run starts from, made through the public API on ``url`` (any
    database doctrack supports; an empty one): 6 parties, a coordinator, a secretary, a
    delegate per party, the summit, and ``slugs`` as ``convention`` instruments, each with
    a revision and every party's ``approve``."""
    doctrack.init_database(url)
    tracker = doctrack.connect(url, clock=doctrack.FixedClock(NOW))
    try:
        for code, name in PARTIES.items():
            tracker.add_party(code, name=name, actor=ACTOR)
        tracker.add_user(
            COORDINATOR, email="coordinator1@example.org", roles=["coordinator"], actor=ACTOR
        )
        tracker.add_user(
            SECRETARY, email="secretary1@example.org", roles=["secretary"], actor=ACTOR
        )
        for code in PARTIES:
            tracker.add_user(
                code.lower(),
                email=f"{code.lower()}@example.org",
                roles=["delegate"],
                party=code,
                actor=ACTOR,
            )
        tracker.add_summit(
            SUMMIT,
            title="SCO Heads of State Council",
            city="Tashkent",
            starts=SUMMIT_STARTS,
            ends=SUMMIT_ENDS,
            tz=SUMMIT_TZ,
            actor=ACTOR,
        )
        for number, slug in enumerate(slugs, 1):
            tracker.add_instrument(
                slug,
                title=f"Convention {number} on countering extremism",
                workflow=WORKFLOW,
                summit=SUMMIT,
                lead="KZ",
                actor=ACTOR,
            )
        # Revisions in reverse order, so that no instrument's id equals its revision's id:
        # the floor planner tells instrument.id from instrument.revision_id by their values.
        for slug in reversed(slugs):
            tracker.revise(slug, content=DRAFT, filename="draft-1.docx", as_user=COORDINATOR)
        for slug in slugs:
            for code in PARTIES:
                tracker.record_position(slug, code, "approve", as_user=code.lower())
    finally:
        tracker.db.dispose()


def build_sqlite(path: Path, slugs: Sequence[str]) -> None:
    """:func:`build_world` in a new SQLite file, checkpointed so that it can be copied."""
    build_world(sqlite_url(path), slugs)
    checkpoint(path)


def floor_busy_timeout_ms() -> int:
    """doctrack's busy timeout setting, so that the floor waits exactly as long."""
    return int(doctrack.load_settings().busy_timeout * 1000)


def open_floor(path: Path, *, trace: list[str] | None = None) -> sqlite3.Connection:
    """A raw connection set up as doctrack sets up its own (storage/db.py)."""
    busy_ms = floor_busy_timeout_ms()
    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    if trace is not None:
        conn.set_trace_callback(trace.append)
    return conn


def read_pragmas(conn: sqlite3.Connection) -> dict[str, Any]:
    return {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS}


# -- capturing doctrack's statements ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Executed:
    """One statement as doctrack handed it to the DB-API cursor."""

    sql: str
    params: tuple[Any, ...]


@dataclass(slots=True)
class Capture:
    """What doctrack ran for each captured instrument, transition by transition."""

    #: slug -> per transition: the statements seen by ``before_cursor_execute``, without
    #: the transaction's BEGIN (the floor issues ``BEGIN IMMEDIATE`` and ``COMMIT`` itself;
    #: the SQLite traces show that doctrack does the same).
    statements: dict[str, list[list[Executed]]] = field(default_factory=dict)
    #: slug -> per transition: the SQL SQLite itself ran (trace callback, values expanded).
    traces: dict[str, list[list[str]]] = field(default_factory=dict)
    pragmas: dict[str, Any] = field(default_factory=dict)


def capture_doctrack(path: Path, slugs: Sequence[str]) -> Capture:
    """Advance ``slugs`` through the workflow, recording every statement doctrack runs."""
    tracker = doctrack.connect(sqlite_url(path), clock=doctrack.FixedClock(NOW))
    engine = tracker.db.engine
    trace: list[str] = []
    executed: list[Executed] = []
    unsupported: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(trace.append)

    def on_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if _many or not isinstance(parameters, tuple | list):
            unsupported.append(statement)
        executed.append(Executed(statement, tuple(parameters or ())))

    capture = Capture()
    event.listen(engine, "connect", on_connect)
    try:
        warm_up(tracker)  # the schema check runs here: once per process, not per transition
        with engine.connect() as conn:
            capture.pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS
            }
        event.listen(engine, "before_cursor_execute", on_execute)
        for slug in slugs:
            statements = capture.statements[slug] = []
            traces = capture.traces[slug] = []
            for trigger, user in STEPS:
                executed.clear()
                trace.clear()
                tracker.advance(slug, trigger, as_user=user)
                if unsupported:
                    raise BenchError(
                        f"{trigger}: the floor replays single statements with positional "
                        f"parameters; doctrack ran {unsupported[0]!r} otherwise"
                    )
                statements.append([e for e in executed if not _is_begin(e.sql)])
                traces.append(list(trace))
    finally:
        tracker.db.dispose()
    return capture


# -- the floor ------------------------------------------------------------------------------

#: (parameter index, index in the transition's statements or SLUG or HASH, column index)
Hole = tuple[int, int, int]
#: A hole for the instrument's slug.
SLUG = -1
#: A hole for the hash of the event the transition inserts (doctrack.storage.chain).
HASH = -2
_NO_ROWS: list[Any] = []
_EVENT_INSERT = re.compile(r"^\s*INSERT INTO event \(([^)]*)\)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FloorStatement:
    sql: str
    #: the parameters, with ``None`` where a hole is filled in per instrument
    template: tuple[Any, ...]
    holes: tuple[Hole, ...]
    fetch: bool
    #: an ``INSERT INTO event``: its columns, in parameter order
    event_columns: tuple[str, ...] = ()


def event_columns(sql: str) -> tuple[str, ...]:
    """The columns of an ``INSERT INTO event`` statement, else ()."""
    match = _EVENT_INSERT.match(sql)
    if match is None:
        return ()
    return tuple(c.strip().strip('"') for c in match.group(1).split(","))


def _event_hash(
    statements: Sequence[FloorStatement], results: Sequence[list[Any]], slug: str
) -> str:
    """The hash of the event the transition inserts, from that INSERT's other parameters
    (filled in from the rows read so far): what doctrack's chain computes, by
    ``doctrack.storage.chain.event_hash`` (hashlib over canonical JSON, no ORM)."""
    from doctrack.storage import chain

    insert = next(st for st in statements if st.event_columns)
    params = list(insert.template)
    for i, s, c in insert.holes:
        if s != HASH:
            params[i] = slug if s == SLUG else results[s][0][c]
    v = dict(zip(insert.event_columns, params, strict=True))
    subject, subject_id = (
        (chain.INSTRUMENT, v["instrument_id"])
        if v["instrument_id"] is not None
        else (chain.SUMMIT, v["summit_id"])
    )
    at = v["at"]
    if isinstance(at, str):  # as SQLAlchemy binds it for SQLite: naive UTC
        at = datetime.fromisoformat(at).replace(tzinfo=UTC)
    content = chain.EventContent(
        at=at,
        actor=v["actor"],
        kind=v["kind"],
        trigger=v["trigger"],
        from_state=v["from_state"],
        to_state=v["to_state"],
        comment=v["comment"],
        payload=v["payload"],
    )
    return chain.event_hash(subject, subject_id, v["seq"], v["prev_hash"], content)


@dataclass(frozen=True, slots=True)
class FloorTransition:
    trigger: str
    statements: tuple[FloorStatement, ...]


def _is_begin(sql: str) -> bool:
    return sql.lstrip().upper().startswith("BEGIN")


BEGIN = FloorStatement("BEGIN IMMEDIATE", (), (), False)
COMMIT = FloorStatement("COMMIT", (), (), False)


def _plain(value: Any) -> Any:
    """A parameter as a hand-written client would pass it (``StrEnum`` members as str)."""
    return value.value if isinstance(value, Enum) else value


def _same(x: Any, y: Any) -> bool:
    return type(x) is type(y) and bool(x == y)


def replay_rows(
    path: Path, capture: Capture, slugs: Sequence[str]
) -> dict[str, list[list[list[Any] | None]]]:
    """Run doctrack's captured statements verbatim on a raw connection; keep what each
    returned (``None`` for statements without a result set)."""
    rows: dict[str, list[list[list[Any] | None]]] = {}
    conn = open_floor(path)
    try:
        cur = conn.cursor()
        for slug in slugs:
            per_transition = rows[slug] = []
            for statements in capture.statements[slug]:
                results: list[list[Any] | None] = []
                cur.execute(BEGIN.sql)
                for st in statements:
                    cur.execute(st.sql, tuple(_plain(p) for p in st.params))
                    results.append(cur.fetchall() if cur.description is not None else None)
                cur.execute(COMMIT.sql)
                per_transition.append(results)
    except sqlite3.Error as exc:
        raise BenchError(f"replaying doctrack's statements on sqlite3 failed: {exc}") from exc
    finally:
        conn.close()
    return rows


def plan_floor(
    capture: Capture, rows: dict[str, list[list[list[Any] | None]]], a: str, b: str
) -> list[FloorTransition]:
    """Turn the statements captured for instruments ``a`` and ``b`` into a replay plan."""
    plan: list[FloorTransition] = []
    for k, (trigger, _user) in enumerate(STEPS):
        seq_a, seq_b = capture.statements[a][k], capture.statements[b][k]
        if [s.sql for s in seq_a] != [s.sql for s in seq_b]:
            raise BenchError(f"{trigger}: doctrack ran different statements for {a} and {b}")
        rows_a, rows_b = rows[a][k], rows[b][k]
        # The hash of the event inserted (where doctrack chains its events): a per-instrument
        # value no row holds; the floor computes it.
        new_hash = {
            dict(zip(event_columns(ea.sql), ea.params, strict=True)).get("hash"): dict(
                zip(event_columns(eb.sql), eb.params, strict=True)
            ).get("hash")
            for ea, eb in zip(seq_a, seq_b, strict=True)
            if event_columns(ea.sql)
        }
        new_hash.pop(None, None)
        statements: list[FloorStatement] = []
        for j, (ex_a, ex_b) in enumerate(zip(seq_a, seq_b, strict=True)):
            template: list[Any] = []
            holes: list[Hole] = []
            for i, (va, vb) in enumerate(zip(ex_a.params, ex_b.params, strict=True)):
                pa, pb = _plain(va), _plain(vb)
                if _same(pa, pb):
                    template.append(pa)
                    continue
                template.append(None)
                if isinstance(pa, str) and pa in new_hash and _same(new_hash[pa], pb):
                    holes.append((i, HASH, 0))
                    continue
                source, column = _source(pa, pb, a, b, rows_a[:j], rows_b[:j], trigger, ex_a)
                # +1: in the plan, statement 0 is the BEGIN IMMEDIATE
                holes.append((i, source + 1 if source >= 0 else source, column))
            statements.append(
                FloorStatement(
                    ex_a.sql,
                    tuple(template),
                    tuple(holes),
                    rows_a[j] is not None,
                    event_columns(ex_a.sql),
                )
            )
        plan.append(FloorTransition(trigger, (BEGIN, *statements, COMMIT)))
    return plan


def _source(
    va: Any,
    vb: Any,
    a: str,
    b: str,
    earlier_a: Sequence[list[Any] | None],
    earlier_b: Sequence[list[Any] | None],
    trigger: str,
    executed: Executed,
) -> tuple[int, int]:
    """Where a per-instrument parameter comes from: the slug, or a column of the first row
    of an earlier statement in the same transaction."""
    if _same(va, a) and _same(vb, b):
        return SLUG, 0
    for s, (ra, rb) in enumerate(zip(earlier_a, earlier_b, strict=True)):
        if not ra or not rb:
            continue
        for c, (x, y) in enumerate(zip(ra[0], rb[0], strict=True)):
            if _same(x, va) and _same(y, vb):
                return s, c
    raise BenchError(
        f"{trigger}: cannot tell where parameter {va!r}/{vb!r} of {executed.sql!r} comes from"
    )


def run_floor_transition(
    cur: sqlite3.Cursor, statements: tuple[FloorStatement, ...], slug: str
) -> None:
    results: list[list[Any]] = []
    new_hash: str | None = None
    for st in statements:
        if st.holes:
            params = list(st.template)
            for i, s, c in st.holes:
                if s >= 0:
                    params[i] = results[s][0][c]
                elif s == SLUG:
                    params[i] = slug
                else:
                    if new_hash is None:
                        new_hash = _event_hash(statements, results, slug)
                    params[i] = new_hash
            cur.execute(st.sql, params)
        else:
            cur.execute(st.sql, st.template)
        results.append(cur.fetchall() if st.fetch else _NO_ROWS)


def trace_floor(path: Path, plan: Sequence[FloorTransition], slugs: Sequence[str]) -> Capture:
    """The floor's own SQLite trace for ``slugs``, transition by transition."""
    trace: list[str] = []
    capture = Capture()
    conn = open_floor(path, trace=trace)
    try:
        capture.pragmas = read_pragmas(conn)
        cur = conn.cursor()
        for slug in slugs:
            traces = capture.traces[slug] = []
            for transition in plan:
                trace.clear()
                run_floor_transition(cur, transition.statements, slug)
                traces.append(list(trace))
    finally:
        conn.close()
    return capture


def check_same_trace(doctrack_run: Capture, floor_run: Capture, slugs: Sequence[str]) -> None:
    for slug in slugs:
        for (trigger, _), ours, theirs in zip(
            STEPS, doctrack_run.traces[slug], floor_run.traces[slug], strict=True
        ):
            if ours != theirs:
                raise BenchError(
                    f"{slug} {trigger}: the floor ran different SQL from doctrack:\n"
                    f"  doctrack: {ours}\n  floor:    {theirs}"
                )


def db_digest(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every table's rows, in rowid order."""
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        digest: dict[str, tuple[int, str]] = {}
        for name in names:
            h = hashlib.sha256()
            count = 0
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                h.update(repr(row).encode())
                count += 1
            digest[name] = (count, h.hexdigest())
        return digest
    finally:
        conn.close()


def check_same_outcome(doctrack_db: Path, floor_db: Path, n: int) -> None:
    ours, theirs = db_digest(doctrack_db), db_digest(floor_db)
    if ours != theirs:
        differing = sorted(t for t in ours.keys() | theirs.keys() if ours.get(t) != theirs.get(t))
        raise BenchError(f"doctrack and the floor left different rows in: {', '.join(differing)}")
    conn = sqlite3.connect(doctrack_db)
    try:
        final = conn.execute("SELECT count(*) FROM instrument WHERE state = 'in_force'").fetchone()
    finally:
        conn.close()
    if final[0] != n:
        raise BenchError(f"only {final[0]} of {n} instruments reached in_force")


# -- timed runs -----------------------------------------------------------------------------


class DoctrackSide:
    """doctrack through its public API, warmed up, on its own copy of the database (any
    database URL: ``bench.web`` runs it on PostgreSQL too)."""

    def __init__(self, url: str) -> None:
        self.tracker = doctrack.connect(url, clock=doctrack.FixedClock(NOW))
        warm_up(self.tracker)

    def run(self, slugs: Sequence[str]) -> None:
        advance = self.tracker.advance
        for slug in slugs:
            for trigger, user in STEPS:
                advance(slug, trigger, as_user=user)

    def close(self) -> None:
        self.tracker.db.dispose()


class FloorSide:
    """The raw sqlite3 floor, connected, on its own copy of the database."""

    def __init__(self, path: Path, plan: Sequence[FloorTransition]) -> None:
        self.conn = open_floor(path)
        self.cur = self.conn.cursor()
        self.transitions = [t.statements for t in plan]

    def run(self, slugs: Sequence[str]) -> None:
        cur, transitions = self.cur, self.transitions
        for slug in slugs:
            for statements in transitions:
                run_floor_transition(cur, statements, slug)

    def close(self) -> None:
        self.conn.close()


@dataclass(slots=True)
class Timing:
    wall_ns: int = 0
    cpu_ns: int = 0

    def add(self, side: DoctrackSide | FloorSide, slugs: Sequence[str]) -> None:
        wall, cpu = time.perf_counter_ns(), time.process_time_ns()
        side.run(slugs)
        self.wall_ns += time.perf_counter_ns() - wall
        self.cpu_ns += time.process_time_ns() - cpu


def timed_pair(
    doctrack_db: Path, floor_db: Path, plan: Sequence[FloorTransition], slugs: Sequence[str]
) -> tuple[Timing, Timing]:
    """One repeat: doctrack and the floor take turns, INTERLEAVE instruments at a time, so
    that both see the same background load; each side's time is the sum of its turns."""
    ours, theirs = DoctrackSide(sqlite_url(doctrack_db)), FloorSide(floor_db, plan)
    ours_t, theirs_t = Timing(), Timing()
    try:
        gc.collect()
        for i in range(0, len(slugs), INTERLEAVE):
            chunk = slugs[i : i + INTERLEAVE]
            ours_t.add(ours, chunk)
            theirs_t.add(theirs, chunk)
    finally:
        ours.close()
        theirs.close()
    return ours_t, theirs_t


def peak_heap(side: DoctrackSide | FloorSide, slugs: Sequence[str]) -> int:
    """tracemalloc's peak (bytes above the start) while ``side`` advances ``slugs``; untimed."""
    try:
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        side.run(slugs)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        side.close()


# -- report ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    instruments: int
    transitions: int
    repeats: int
    setup_s: float
    doctrack_wall_ns: list[int]
    doctrack_cpu_ns: list[int]
    floor_wall_ns: list[int]
    floor_cpu_ns: list[int]
    memory_instruments: int
    doctrack_peak_bytes: int | None
    floor_peak_bytes: int | None
    statements_per_transition: dict[str, int]
    pragmas: dict[str, Any]

    def row(self) -> Row:
        ops = self.transitions
        ours = Side("doctrack", self.doctrack_wall_ns, ops, "tx", self.doctrack_cpu_ns)
        floor = Side("raw sqlite3, same SQL", self.floor_wall_ns, ops, "tx", self.floor_cpu_ns)
        notes = [f"{ours.rate:,.0f} vs {floor.rate:,.0f} tx/s"]
        if self.floor_peak_bytes is not None:
            notes.append(f"floor heap {mib(self.floor_peak_bytes)}")
        return Row(
            workload=f"advance ({WORKFLOW}, Python API)",
            size=f"{self.instruments:,} x {len(STEPS)} = {ops:,} tx",
            doctrack=ours,
            floor=floor,
            peak_bytes=self.doctrack_peak_bytes,
            peak_kind="heap",
            target=TARGET_RATIO,
            notes=notes,
            details={
                "setup_s": self.setup_s,
                "memory_instruments": self.memory_instruments,
                "floor_peak_bytes": self.floor_peak_bytes,
                "statements_per_transition": self.statements_per_transition,
                "pragmas": self.pragmas,
            },
        )


def show_sql(capture: Capture, slug: str) -> None:
    print(
        f"statements doctrack ran for {slug} (before_cursor_execute; the first and the last "
        "line of each transition as SQLite traced them):"
    )
    for (trigger, user), statements, trace in zip(
        STEPS, capture.statements[slug], capture.traces[slug], strict=True
    ):
        print(f"  -- advance {slug} {trigger} as {user}: {len(trace)} statements")
        print(f"     {trace[0] if trace else '?'}")
        for st in statements:
            print(f"     {' '.join(st.sql.split())}")
            if st.params:
                print(f"       params {tuple(_plain(p) for p in st.params)!r}")
        print(f"     {trace[-1] if trace else '?'}")


def report(result: Result) -> None:
    """What only this benchmark shows; the numbers are in its row."""
    ops = result.transitions
    counts = result.statements_per_transition
    per_transition = ", ".join(f"{t} {n}" for t, n in counts.items())
    mean = sum(counts.values()) / len(counts)
    pragmas = " ".join(f"{k}={v}" for k, v in result.pragmas.items())
    print(
        f"setup (untimed, public API): {result.instruments} {WORKFLOW} instruments with a "
        f"revision and {len(PARTIES)} approvals each, {result.setup_s:.1f} s; every run starts "
        "from a fresh copy"
    )
    print(f"pragmas (doctrack = floor): {pragmas}; writers BEGIN IMMEDIATE, one per transition")
    print(
        f"SQL statements per transition, traced by SQLite (BEGIN IMMEDIATE and COMMIT "
        f"included): doctrack {per_transition}: {mean:.1f} on average; floor: the same "
        f"statements with the same parameters (SQLite traces compared on 2 instruments, final "
        f"databases compared after every run)"
    )
    d_wait = (median(result.doctrack_wall_ns) - median(result.doctrack_cpu_ns)) / ops / 1000
    f_wait = (median(result.floor_wall_ns) - median(result.floor_cpu_ns)) / ops / 1000
    print(
        f"off-CPU time per transition (median wall - median CPU): doctrack {d_wait:,.0f} µs, "
        f"floor {f_wait:,.0f} µs: on an idle machine, mostly the fsyncs of WAL checkpoints "
        "(synchronous=NORMAL), the same for both; on a busy one, also waiting for a CPU"
    )
    print(
        f"{result.repeats} repeat(s), doctrack and the floor taking turns every {INTERLEAVE} "
        f"instruments; target: at most {TARGET_RATIO:g}x; CPU ratio: without the checkpoint "
        "fsyncs both sides wait for; peak heap: advancing "
        f"{result.memory_instruments} instruments in an extra untimed run (not SQLite's page "
        "cache)"
    )


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.advance",
        "Tracker.advance throughput against a raw sqlite3 floor doing the same SQL.",
        repeats=DEFAULT_REPEATS,
        quick=f"{QUICK_INSTRUMENTS} instruments",
    )
    count_option(
        p,
        "instruments",
        default=DEFAULT_INSTRUMENTS,
        quick=QUICK_INSTRUMENTS,
        minimum=2,
        help=f"instruments to advance through {len(STEPS)} transitions each",
    )
    p.add_argument(
        "--show-sql",
        action="store_true",
        help="print the statements doctrack runs for one instrument's transitions",
    )
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the extra untimed runs that measure peak memory",
    )
    return resolve(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("advance", rows, parse_args(argv))


def rows(args: argparse.Namespace) -> list[Row]:
    slugs = slugs_for(args.instruments)
    probes = [slugs[0], slugs[-1]]
    with tempfile.TemporaryDirectory(prefix="doctrack-bench-") as tmp:
        folder = Path(tmp)
        template = folder / "template.db"
        started = time.perf_counter()
        build_sqlite(template, slugs)
        setup_s = time.perf_counter() - started

        # Untimed: what doctrack runs, the floor's plan, and proof that they match.
        capture = capture_doctrack(fresh_copy(template, folder / "capture.db"), probes)
        replayed = replay_rows(fresh_copy(template, folder / "replay.db"), capture, probes)
        plan = plan_floor(capture, replayed, *probes)
        floor_trace = trace_floor(fresh_copy(template, folder / "check.db"), plan, probes)
        check_same_trace(capture, floor_trace, probes)
        if capture.pragmas != floor_trace.pragmas:
            raise BenchError(
                f"pragmas differ: doctrack {capture.pragmas}, floor {floor_trace.pragmas}"
            )
        if args.show_sql:
            show_sql(capture, probes[0])
            print()

        doctrack_db, floor_db = folder / "doctrack.db", folder / "floor.db"
        timings: list[tuple[Timing, Timing]] = []
        for _ in range(args.repeats):
            fresh_copy(template, doctrack_db)
            fresh_copy(template, floor_db)
            timings.append(timed_pair(doctrack_db, floor_db, plan, slugs))
            check_same_outcome(doctrack_db, floor_db, len(slugs))

        memory_slugs = slugs[:MEMORY_INSTRUMENTS]
        doctrack_peak = floor_peak = None
        if not args.no_memory:
            ours = DoctrackSide(sqlite_url(fresh_copy(template, doctrack_db)))
            doctrack_peak = peak_heap(ours, memory_slugs)
            floor_peak = peak_heap(FloorSide(fresh_copy(template, floor_db), plan), memory_slugs)

    result = Result(
        instruments=len(slugs),
        transitions=len(slugs) * len(STEPS),
        repeats=args.repeats,
        setup_s=setup_s,
        doctrack_wall_ns=[ours.wall_ns for ours, _ in timings],
        doctrack_cpu_ns=[ours.cpu_ns for ours, _ in timings],
        floor_wall_ns=[theirs.wall_ns for _, theirs in timings],
        floor_cpu_ns=[theirs.cpu_ns for _, theirs in timings],
        memory_instruments=len(memory_slugs),
        doctrack_peak_bytes=doctrack_peak,
        floor_peak_bytes=floor_peak,
        statements_per_transition={
            trigger: len(t)
            for (trigger, _), t in zip(STEPS, capture.traces[probes[0]], strict=True)
        },
        pragmas=capture.pragmas,
    )
    report(result)
    return [result.row()]


if __name__ == "__main__":
    sys.exit(main())
