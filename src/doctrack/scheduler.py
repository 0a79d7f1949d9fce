"""``doctrack scheduler``: APScheduler as the timer that wakes the dispatcher.

The scheduler keeps nothing of its own: every reminder, its time and its state are rows in
the database, so stopping or restarting it loses nothing. It runs the dispatcher at once,
then every ``interval`` seconds; a run that takes longer than the interval is not
overlapped by the next (``max_instances=1``, missed runs coalesced). A run the database
fails (connection lost in a server restart, locked, full) is logged in one line and the
next run tries again on a fresh connection. SIGTERM or SIGINT stops it after the batch in
flight.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from doctrack.errors import DatabaseFailedError
from doctrack.services.reminders import Dispatcher, RunReport


def run_scheduler(
    dispatcher: Dispatcher,
    *,
    interval: float,
    log: Callable[[str], None],
    stop: threading.Event | None = None,
) -> int:
    """Dispatch every ``interval`` seconds until SIGTERM/SIGINT (or ``stop`` is set).

    Returns the number of runs that raised (they are logged, and the next run still happens).
    """
    stop = stop or threading.Event()
    failures = 0

    def dispatch() -> None:
        nonlocal failures
        try:
            report: RunReport = dispatcher.run(stopping=stop.is_set)
        except DatabaseFailedError as exc:
            failures += 1
            log(f"dispatcher run failed: {exc}; next run in {interval:g} s")
            return
        if report.claimed:
            log(f"dispatcher: {report.summary()}")
        for error in report.errors:
            log(f"dispatcher: {error}")

    def on_error(event: JobExecutionEvent) -> None:
        nonlocal failures
        failures += 1
        log(f"dispatcher run failed: {type(event.exception).__name__}: {event.exception}")

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(f"received {signal.Signals(signum).name}: stopping after the batch in flight")
        stop.set()

    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.add_listener(on_error, EVENT_JOB_ERROR)
    scheduler.add_job(
        dispatch,
        IntervalTrigger(seconds=interval, timezone=UTC),
        id="dispatch-reminders",
        next_run_time=datetime.now(UTC),
    )
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    log(
        f"scheduler started (dispatcher {dispatcher.name}); dispatching every {interval:g} s; "
        "stop with SIGTERM or Ctrl-C"
    )
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log("scheduler stopped")
    return failures
