"""Dispatchers as real processes against a real SMTP server, on both backends.

Four ``reminders run`` processes over 2,000 due reminders deliver each exactly once; a
dispatcher killed with SIGKILL mid-batch loses nothing (its claims are taken over after the
lease); ``scheduler`` dispatches on its interval and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.services.reminders import ReminderDesk
from doctrack.services.tracking import Tracker
from helpers import ROOT, START, WORKFLOWS
from smtp_support import SmtpTestServer

pytestmark = pytest.mark.slow

#: Every reminder of the world below is due by then (planned in time, so sent late).
LATE = "2016-06-30T12:00"
COORDINATORS = 40
INSTRUMENTS = 6


def _world(url: str) -> Tracker:
    t = doctrack.connect(url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS))
    t.add_party("KZ", name="Kazakhstan", actor="setup")
    t.add_user("sec", email="sec@example.org", roles=["secretary"], actor="setup")
    for n in range(COORDINATORS):
        t.add_user(f"c{n}", email=f"c{n}@example.org", roles=["coordinator"], actor="setup")
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="setup",
    )
    for n in range(INSTRUMENTS):
        t.add_instrument(
            f"i{n}", title=f"Instrument {n}", workflow="convention", summit="t16", actor="setup"
        )
    return t


def _env(url: str, server: SmtpTestServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return env | {
        "PYTHONPATH": os.pathsep.join(paths),
        "DOCTRACK_DATABASE_URL": url,
        "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
        "DOCTRACK_SMTP_HOST": server.host,
        "DOCTRACK_SMTP_PORT": str(server.port),
        "DOCTRACK_MAIL_FROM": "doctrack@example.org",
    }


def _spawn(
    url: str, server: SmtpTestServer, folder: Path, *args: str, now: str = LATE
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doctrack", "--now", now, *args],
        cwd=folder,
        env=_env(url, server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _statuses(t: Tracker) -> Counter[str]:
    return Counter(r.status for r in ReminderDesk(t.db, t.clock).list())


def test_four_dispatchers_deliver_two_thousand_reminders_once_each(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    t = _world(db_url)
    due = _statuses(t)["pending"]
    assert due >= 2000
    procs = [_spawn(db_url, smtp_server, tmp_path, "reminders", "run") for _ in range(4)]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    assert _statuses(t) == Counter({"sent": due})
    ids = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
    assert len(ids) == due
    assert max(ids.values()) == 1, "a reminder was delivered twice"


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    t = _world(db_url)
    due = _statuses(t)["pending"]
    victim = _spawn(db_url, smtp_server, tmp_path, "reminders", "run")
    smtp_server.wait_for(150, timeout=120)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    # After the 10-minute lease another dispatcher takes over what the victim held.
    rescuer = _spawn(db_url, smtp_server, tmp_path, "reminders", "run", now="2016-06-30T12:11")
    _out, err = rescuer.communicate(timeout=600)
    assert rescuer.returncode == 0, err
    assert _statuses(t) == Counter({"sent": due})
    ids = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
    duplicates = sum(n - 1 for n in ids.values())
    print(f"\nSIGKILL mid-batch: {due} reminders, {len(ids)} delivered, {duplicates} twice")
    assert len(ids) == due  # nothing lost
    assert duplicates <= 100  # at most the batch that was in flight at the kill


def test_scheduler_dispatches_on_its_interval_and_stops_on_sigterm(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    t = _world(db_url)
    due = _statuses(t)["pending"]
    proc = _spawn(db_url, smtp_server, tmp_path, "scheduler", "--interval", "1")
    try:
        smtp_server.wait_for(due, timeout=300)
        # Planned while it runs (the world's clock is still in March): the next run sends it.
        before = sum(_statuses(t).values())
        t.add_user("late", email="late@example.org", roles=["coordinator"], actor="setup")
        # Counted as rows added, not as rows pending: the scheduler may claim some already.
        added = sum(_statuses(t).values()) - before
        assert added > 0
        smtp_server.wait_for(due + added, timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "scheduler started" in err
    assert "received SIGTERM" in err
    assert "scheduler stopped" in err
    assert "Traceback" not in err
    assert _statuses(t) == Counter({"sent": due + added})


def test_a_reader_that_goes_away_stops_the_output_quietly(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    _world(db_url)
    proc = _spawn(db_url, smtp_server, tmp_path, "reminders", "list")
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _out, err = proc.communicate(timeout=120)
    assert "internal error" not in err
    assert "Traceback" not in err
    assert proc.returncode in (0, 141)
