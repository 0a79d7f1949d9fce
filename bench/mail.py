"""Send N due reminders through doctrack's dispatcher, against a raw smtplib floor.

doctrack: ``Dispatcher.run()`` with doctrack's ``MailRenderer`` and ``SmtpSender``, on SQLite
in the project's default mode: it claims the due reminders batch by batch, renders each
message, sends each batch over one SMTP connection and records every outcome. Claims,
rendering and marks are all in the timing.

floor: the stdlib ``smtplib`` on ONE reused connection, ``sendmail(from, [to], bytes)`` for
the very messages doctrack sends (rendered once beforehand, untimed, by the dispatcher on a
throw-away copy of the database with a sender that only collects them), then ``quit()``.

Both send to the same in-process aiosmtpd server (one handler that counts messages), so the
server's cost is the same for both sides. Setup (a party, a secretary, 40 coordinators, a
summit, enough ``convention`` instruments for N reminders) is done once through the public
API and is not timed; every timed doctrack run starts from a fresh copy of that database.
"""

from __future__ import annotations

import argparse
import gc
import smtplib
import sqlite3
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

import doctrack
from bench._suite import (
    BenchError,
    Row,
    Side,
    checkpoint,
    count_option,
    free_port,
    fresh_copy,
    parser,
    resolve,
    run_main,
    sqlite_url,
)
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.services.emails import MailRenderer, templates_folder
from doctrack.services.notify import Delivery, Outcome, SmtpSender, message_bytes
from doctrack.services.reminders import Dispatcher

WORKFLOW = "convention"
SUMMIT = "t16"
#: When the world is set up (reminders are planned ahead of the summit).
START = datetime(2016, 3, 1, 6, 0, tzinfo=UTC)
#: Every reminder planned for the summit is due by then (sent late).
LATE = datetime(2016, 6, 30, 12, 0, tzinfo=UTC)
COORDINATORS = 40
ACTOR = "bench"
MAIL_FROM = "doctrack@example.org"
BASE_URL = "http://x"
HOST = "127.0.0.1"
DEFAULT_REMINDERS = 2000
DEFAULT_REPEATS = 3
QUICK_REMINDERS = 200
TARGET_RATIO = 1.25


# -- the SMTP server ------------------------------------------------------------------------


class CountingHandler:
    """aiosmtpd handler: accepts every message and counts it (nothing else)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"

    def reset(self) -> int:
        with self.lock:
            count, self.count = self.count, 0
        return count


# -- setup (untimed) ------------------------------------------------------------------------


def workflows() -> Workflows:
    return Workflows.from_folder(Path("workflows"))


def pending(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT count(*) FROM reminder WHERE status = 'pending'").fetchone()
        return int(row[0])
    finally:
        conn.close()


def build_template(path: Path, reminders: int) -> int:
    """The database every run starts from, made through the public API; returns the number
    of instruments it took to plan at least ``reminders`` reminders."""
    url = sqlite_url(path)
    doctrack.init_database(url)
    tracker = doctrack.connect(url, clock=FixedClock(START), workflows=workflows())
    instruments = 0
    try:
        tracker.add_party("KZ", name="Kazakhstan", actor=ACTOR)
        tracker.add_user("sec", email="sec@example.org", roles=["secretary"], actor=ACTOR)
        for n in range(COORDINATORS):
            tracker.add_user(f"c{n}", email=f"c{n}@example.org", roles=["coordinator"], actor=ACTOR)
        tracker.add_summit(
            SUMMIT,
            title="Council",
            city="Tashkent",
            starts=date(2016, 6, 23),
            ends=date(2016, 6, 24),
            tz="Asia/Tashkent",
            actor=ACTOR,
        )
        while pending(path) < reminders:
            tracker.add_instrument(
                f"i{instruments}",
                title=f"Instrument {instruments}",
                workflow=WORKFLOW,
                summit=SUMMIT,
                actor=ACTOR,
            )
            instruments += 1
    finally:
        tracker.db.dispose()
    checkpoint(path)
    return instruments


def open_tracker(path: Path) -> doctrack.Tracker:
    """A tracker at LATE on ``path``, warmed up (schema check, first pooled connection,
    the workflow's machine) so that once-per-process costs stay out of the timings."""
    tracker = doctrack.connect(sqlite_url(path), clock=FixedClock(LATE), workflows=workflows())
    tracker.get_summit(SUMMIT)
    tracker.workflows.machine(WORKFLOW)
    return tracker


class Collector:
    """A ``Sender`` that only keeps the messages (to render the floor's messages)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        self.messages.extend(d.message for d in deliveries)
        return [Outcome(d.reminder_id, sent=True) for d in deliveries]


def _address(message: EmailMessage, header: str) -> str:
    addresses = [addr for _name, addr in getaddresses([str(message[header] or "")]) if addr]
    if len(addresses) != 1:
        raise BenchError(f"expected one {header} address, got {addresses!r}")
    return addresses[0]


def render_floor(path: Path, renderer: MailRenderer, n: int) -> list[tuple[str, str, bytes]]:
    """The messages doctrack sends for ``n`` reminders, as (from, to, bytes)."""
    tracker = open_tracker(path)
    collector = Collector()
    try:
        report = Dispatcher(
            tracker.db, tracker.workflows, tracker.clock, renderer, collector, name="render"
        ).run(limit=n)
    finally:
        tracker.db.dispose()
    if report.sent != n or len(collector.messages) != n:
        raise BenchError(f"rendering: {report.summary()}, {len(collector.messages)} messages")
    return [(_address(m, "From"), _address(m, "To"), message_bytes(m)) for m in collector.messages]


# -- timed runs -----------------------------------------------------------------------------


@dataclass(slots=True)
class Timing:
    wall_ns: int
    cpu_ns: int


def run_doctrack(
    path: Path,
    renderer: MailRenderer,
    server: tuple[str, int],
    n: int,
    handler: CountingHandler,
    *,
    trace_memory: bool = False,
) -> tuple[Timing, int | None]:
    """One dispatcher run of ``n`` reminders; with ``trace_memory``, under tracemalloc (then
    the peak above the start, bytes, and a timing worth nothing)."""
    tracker = open_tracker(path)
    peak = None
    try:
        dispatcher = Dispatcher(
            tracker.db,
            tracker.workflows,
            tracker.clock,
            renderer,
            SmtpSender(*server),
            name="bench",
        )
        handler.reset()
        gc.collect()
        if trace_memory:
            tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            wall, cpu = time.perf_counter_ns(), time.process_time_ns()
            report = dispatcher.run(limit=n)
            timing = Timing(time.perf_counter_ns() - wall, time.process_time_ns() - cpu)
            if trace_memory:
                peak = tracemalloc.get_traced_memory()[1] - start
        finally:
            tracemalloc.stop()
    finally:
        tracker.db.dispose()
    received = handler.reset()
    if report.sent != n or received != n:
        raise BenchError(f"doctrack: {report.summary()}; the server received {received} of {n}")
    return timing, peak


def run_floor(
    messages: Sequence[tuple[str, str, bytes]], server: tuple[str, int], handler: CountingHandler
) -> Timing:
    handler.reset()
    gc.collect()
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    conn = smtplib.SMTP(*server)
    for mail_from, rcpt_to, data in messages:
        conn.sendmail(mail_from, [rcpt_to], data)
    conn.quit()
    timing = Timing(time.perf_counter_ns() - wall, time.process_time_ns() - cpu)
    received = handler.reset()
    if received != len(messages):
        raise BenchError(f"floor: the server received {received} of {len(messages)}")
    return timing


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser(
        "python -m bench.mail",
        "Dispatcher throughput to SMTP against a raw smtplib floor, same messages.",
        repeats=DEFAULT_REPEATS,
        quick=f"{QUICK_REMINDERS} reminders",
    )
    count_option(
        p,
        "reminders",
        default=DEFAULT_REMINDERS,
        quick=QUICK_REMINDERS,
        minimum=1,
        help="due reminders to send",
    )
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the extra untimed run that measures peak memory",
    )
    return resolve(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("mail", rows, parse_args(argv))


def rows(args: argparse.Namespace) -> list[Row]:
    n = args.reminders
    handler = CountingHandler()
    port = free_port(HOST)
    controller = Controller(handler, hostname=HOST, port=port, ready_timeout=10.0)
    peak = None
    with tempfile.TemporaryDirectory(prefix="doctrack-bench-") as tmp:
        folder = Path(tmp)
        template = folder / "template.db"
        started = time.perf_counter()
        instruments = build_template(template, n)
        setup_s = time.perf_counter() - started

        renderer = MailRenderer(templates_folder(None), base_url=BASE_URL, mail_from=MAIL_FROM)
        messages = render_floor(fresh_copy(template, folder / "render.db"), renderer, n)
        mean_bytes = sum(len(m[2]) for m in messages) / len(messages)

        controller.start()
        try:
            server = (HOST, port)
            # Untimed warm-up of both sides (server loop, sockets, code paths).
            run_floor(messages[: min(50, n)], server, handler)
            ours: list[Timing] = []
            floor: list[Timing] = []
            db = folder / "doctrack.db"
            for repeat in range(args.repeats):
                fresh_copy(template, db)
                if repeat % 2:
                    floor.append(run_floor(messages, server, handler))
                    ours.append(run_doctrack(db, renderer, server, n, handler)[0])
                else:
                    ours.append(run_doctrack(db, renderer, server, n, handler)[0])
                    floor.append(run_floor(messages, server, handler))
            if not args.no_memory:
                fresh_copy(template, db)
                _, peak = run_doctrack(db, renderer, server, n, handler, trace_memory=True)
        finally:
            controller.stop()

    print(
        f"setup (untimed, public API): {COORDINATORS} coordinators, a secretary, "
        f"{instruments} {WORKFLOW} instruments on a summit 2016-06-23..24 Asia/Tashkent, "
        f"{setup_s:.1f} s; clock at {LATE:%Y-%m-%dT%H:%MZ}, every reminder due; every "
        "doctrack run starts from a fresh copy"
    )
    print(
        f"messages: {n:,} reminders, {mean_bytes:,.0f} bytes on average; server: aiosmtpd "
        f"on {HOST} in this process, one counting handler for both sides; every run: the "
        "server received all of them, the dispatcher reported all of them sent"
    )
    print(
        f"{args.repeats} repeat(s), the two alternating (target: at most {TARGET_RATIO:g}x); "
        "doctrack = Dispatcher.run (claims, rendering, SmtpSender on one connection per batch "
        f"of 100, marks); floor = the same {n:,} pre-rendered messages, smtplib.sendmail on "
        "one connection; CPU times include the server thread (same process)"
        + ("" if peak is None else "; peak heap: an extra untimed run, the server's included")
    )
    d = Side("doctrack", [t.wall_ns for t in ours], n, "msg", [t.cpu_ns for t in ours])
    f = Side(
        "smtplib, pre-rendered",
        [t.wall_ns for t in floor],
        n,
        "msg",
        [t.cpu_ns for t in floor],
    )
    row = Row(
        workload="reminder dispatch (SMTP)",
        size=f"{n:,} msg",
        doctrack=d,
        floor=f,
        peak_bytes=peak,
        peak_kind="heap",
        target=TARGET_RATIO,
        notes=[f"{d.rate:,.0f} vs {f.rate:,.0f} msg/s"],
        details={
            "instruments": instruments,
            "setup_s": setup_s,
            "mean_message_bytes": mean_bytes,
        },
    )
    return [row]


if __name__ == "__main__":
    sys.exit(main())
