"""``doctrack serve``: uvicorn, and the reminder dispatcher beside it when asked.

With ``--with-scheduler`` the web server runs in a thread and the scheduler
(:func:`doctrack.scheduler.run_scheduler`) in the main thread, which owns the signals:
SIGTERM or Ctrl-C stops the scheduler after the batch in flight, then the web server after
the requests in flight. If the web server cannot start (the port is taken), the scheduler
is stopped too and the command fails.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn

from doctrack.config import Settings
from doctrack.errors import UsageError
from doctrack.services.tracking import Tracker
from doctrack.web.app import create_app

if TYPE_CHECKING:
    from doctrack.services.notify import Sender


def make_server(tracker: Tracker, settings: Settings, *, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(tracker, settings),
        host=host,
        port=port,
        proxy_headers=True,  # X-Forwarded-For/-Proto from a reverse proxy on 127.0.0.1
        server_header=False,
        log_level="info",
    )
    return uvicorn.Server(config)


def serve(
    tracker: Tracker,
    settings: Settings,
    *,
    host: str,
    port: int,
    with_scheduler: bool,
    log: Callable[[str], None],
    sender: Sender | None = None,
) -> None:
    """Serve until stopped; with the scheduler when ``with_scheduler``, which sends through
    ``sender`` (default: as the settings say, by SMTP or into the outbox)."""
    server = make_server(tracker, settings, host=host, port=port)
    if not with_scheduler:
        with _stopping_is_success():
            server.run()
        _check_started(server, host, port)
        return
    from doctrack.scheduler import run_scheduler
    from doctrack.wiring import make_dispatcher

    dispatcher = make_dispatcher(
        tracker, settings, sender=sender
    )  # a bad setting stops us before listening
    stop = threading.Event()

    def web() -> None:
        try:
            server.run()
        finally:
            stop.set()  # the web server ended (or never started): stop the scheduler too

    thread = threading.Thread(target=web, name="doctrack-web", daemon=True)
    thread.start()
    try:
        run_scheduler(dispatcher, interval=settings.dispatch_interval, log=log, stop=stop)
    finally:
        server.should_exit = True
        thread.join()
    _check_started(server, host, port)


@contextlib.contextmanager
def _stopping_is_success() -> Iterator[None]:
    """SIGTERM and Ctrl-C stop the server gracefully and the command ends with status 0.

    uvicorn finishes the requests in flight, puts back the handlers it found and raises the
    signal again, for the default action (killed by SIGTERM: status 143). Finding no-op
    handlers instead, the command carries on and exits as a completed command does.
    """
    stopping = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, lambda _sig, _frame: None) for sig in stopping}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _check_started(server: uvicorn.Server, host: str, port: int) -> None:
    if not server.started:
        raise UsageError(f"the web server could not start on {host}:{port} (see the log above)")
