"""SIGKILL at random points of a loop of CLI operations loses no committed work.

Real ``python -m doctrack`` processes (advance, position, revise, reminders run with a real
SMTP server) run one after another; about half are killed with SIGKILL after a random
delay (seeded: the seed is printed). Then every invariant is checked: each instrument's
state is its last transition's destination and its version the number of its events;
every operation that exited 0 is in the history (each carries a unique comment); nothing
is half-written; no reminder was delivered twice within its lease.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from faults_support import process_env, record

import doctrack
from doctrack.clock import FixedClock
from doctrack.domain import EventKind
from doctrack.engine.registry import Workflows
from doctrack.services.reminders import ReminderDesk
from helpers import PARTIES, START, WORKFLOWS
from smtp_support import SmtpTestServer

pytestmark = pytest.mark.slow
OPERATIONS = int(os.environ.get("DOCTRACK_SIGKILL_OPERATIONS", "20"))
NOW = "2016-06-30T12:00"


def test_sigkill_at_random_points_loses_no_committed_work(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DOCTRACK_SIGKILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    t = doctrack.connect(
        db_url, clock=FixedClock(START), workflows=Workflows.from_folder(WORKFLOWS)
    )
    for code, name in PARTIES.items():
        t.add_party(code, name=name, actor="setup")
        t.add_user(
            code.lower(),
            email=f"{code.lower()}@e.org",
            roles=["delegate"],
            party=code,
            actor="setup",
        )
    t.add_user(
        "admin", email="admin@e.org", roles=["admin", "coordinator", "secretary"], actor="setup"
    )
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="setup",
    )
    slugs = ["conv", "prog"]
    t.add_instrument("conv", title="C", workflow="convention", summit="t16", lead="KZ", actor="s")
    t.add_instrument("prog", title="P", workflow="programme", summit="t16", lead="RU", actor="s")
    draft = tmp_path / "draft.txt"
    draft.write_text("a draft")
    env = process_env(
        db_url, DOCTRACK_SMTP_HOST=smtp_server.host, DOCTRACK_SMTP_PORT=str(smtp_server.port)
    )
    outcome: Counter[str] = Counter()
    done: list[tuple[str, str]] = []  # (slug, comment) of operations that exited 0
    for n in range(OPERATIONS):
        slug = rng.choice(slugs)
        tag = f"op-{n}"
        shown = t.show(slug)
        choice = rng.randrange(4)
        if choice == 0 and shown.allowed_triggers:
            args = [
                "doc",
                "advance",
                slug,
                rng.choice(shown.allowed_triggers),
                "--as",
                "admin",
                "--comment",
                tag,
            ]
        elif choice == 1:
            party = rng.choice(sorted(PARTIES))
            args = [
                "doc",
                "position",
                slug,
                party,
                "approve",
                "--as",
                party.lower(),
                "--comment",
                tag,
            ]
        elif choice == 2:
            args = ["doc", "revise", slug, "--file", str(draft), "--as", "admin", "--note", tag]
        else:
            args = ["reminders", "run"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "doctrack", "--now", NOW, *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0.1, 1.5))  # a random point of the process's life
            proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if proc.returncode == -signal.SIGKILL:
            outcome["killed"] += 1
        elif proc.returncode == 0:
            outcome["exit 0"] += 1
            if args[0] == "doc":
                done.append((slug, tag))
        else:
            assert proc.returncode == 1, err  # refused (guard, final state): one line
            assert len(err.splitlines()) == 1, err
            outcome["refused"] += 1
    # Invariants, read afresh.
    events_checked = 0
    for slug in slugs:
        shown = t.show(slug)
        events = t.history(slug)
        moves = [e for e in events if e.kind == EventKind.TRANSITION]
        wf = t.workflows.get(shown.workflow)
        assert shown.state == (moves[-1].to_state if moves else wf.initial)
        assert shown.version == len(events)
        assert (shown.revision or 0) == sum(e.kind == EventKind.REVISION for e in events)
        comments = {e.comment for e in events}
        for done_slug, tag in done:
            if done_slug == slug:
                assert tag in comments, f"{tag} exited 0 but is not in {slug}'s history"
        events_checked += len(events)
    ids = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
    assert not ids or max(ids.values()) == 1, "a reminder was delivered twice"
    statuses = Counter(r.status for r in ReminderDesk(t.db, t.clock).list())
    assert statuses["sent"] <= len(ids)
    t.db.dispose()
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    record(
        f"faults_sigkill_loop_{backend}",
        seed=seed,
        operations=OPERATIONS,
        kills=outcome["killed"],
        exit_0=outcome["exit 0"],
        refused=outcome["refused"],
        committed_ops_verified=len(done),
        events_checked=events_checked,
        emails=len(ids),
        sent_twice=0,
        lost=0,
    )
