"""Run doctrack and SIGKILL it at its Nth kill point: ``python kill_at.py <doctrack args>``.

Kill points, counted from 1 in the order they happen: every SQL statement about to be sent
(``before_cursor_execute``), every COMMIT about to be sent (the ``commit`` event), and every
message the SMTP server has just accepted (before its reminder row is updated). Listeners
go on SQLAlchemy's ``Engine`` class and on ``SmtpSender._deliver`` of this process only;
doctrack's code is not changed.

``DOCTRACK_KILL_AT=N``: the process kills itself with SIGKILL at point N (unset, 0 or more
than the points it has: it runs to the end); ``DOCTRACK_KILL_AFTER_MESSAGE=K``: just after
the Kth message accepted. ``DOCTRACK_KILL_LOG=FILE``: before the kill it writes ``killed
<kind> <what>`` there; on a normal exit, ``points <all points> <messages accepted>``.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from doctrack.cli import main
from doctrack.services import notify

AT = int(os.environ.get("DOCTRACK_KILL_AT") or "0")
AFTER_MESSAGE = int(os.environ.get("DOCTRACK_KILL_AFTER_MESSAGE") or "0")
LOG = os.environ.get("DOCTRACK_KILL_LOG")
passed = Counter[str]()


def _log(line: str) -> None:
    if LOG:
        with open(LOG, "w", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def point(kind: str, what: str) -> None:
    """One more kill point; the Nth one is the last thing this process does."""
    passed["all"] += 1
    passed[kind] += 1
    if passed["all"] == AT or (kind == "delivered" and passed[kind] == AFTER_MESSAGE):
        _log(f"killed {kind} {' '.join(what.split())[:80]}")
        os.kill(os.getpid(), signal.SIGKILL)


def _statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
    point("statement", statement)


def _commit(_conn: Any) -> None:
    point("commit", "COMMIT")


_deliver = notify.SmtpSender._deliver


def _delivered(sender: notify.SmtpSender, conn: Any, delivery: notify.Delivery) -> notify.Outcome:
    outcome = _deliver(sender, conn, delivery)
    if outcome.sent:
        point("delivered", str(delivery.message["Message-ID"]))
    return outcome


event.listen(Engine, "before_cursor_execute", _statement)
event.listen(Engine, "commit", _commit)
notify.SmtpSender._deliver = _delivered  # type: ignore[method-assign]
atexit.register(lambda: _log(f"points {passed['all']} {passed['delivered']}"))

if __name__ == "__main__":
    sys.argv[0] = "doctrack"
    main()
