"""SIGKILL at random points inside a loop of CLI operations loses no committed work.

Real doctrack processes (advance, position, revise, retarget, summit move, reminders run
against a real SMTP server) run one after another through ``kill_at.py``, which SIGKILLs
its own process at its Nth kill point: before an SQL statement, before a COMMIT, or just
after the SMTP server accepted a message (before the reminder row says so). N is drawn per
operation (seeded: the seed is printed), from 1 to a bit beyond the points an operation of
that kind was seen to pass, so some run to the end. The clock (``--now``) moves through the
weeks before the summit, sometimes by less than the 10-minute claim lease. After every
operation: each instrument's state is its last transition's destination and its version
the number of its events; after every kill ``audit verify`` passes. At the end a clean
``reminders run`` after the lease, then: every operation that exited 0 is in the history
(each carries a unique comment); every reminder due is sent or cancelled, never left
claimed; every one sent reached the server; none went out before its time; a message went
out twice only when the run that sent it first was killed before recording it, and again
only after that run's lease (the README's at-least-once promise).
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from faults_support import process_env, record
from sqlalchemy import select

import doctrack
from doctrack.clock import FixedClock
from doctrack.domain import EventKind
from doctrack.engine.registry import Workflows
from doctrack.services.audit import verify
from doctrack.services.reminders import ReminderDesk, ReminderView
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import EVENT
from helpers import PARTIES, START, WORKFLOWS
from smtp_support import SmtpTestServer

pytestmark = pytest.mark.slow
OPERATIONS = int(os.environ.get("DOCTRACK_SIGKILL_OPERATIONS", "30"))
KILL_AT = Path(__file__).with_name("kill_at.py")
#: The loop's clock: from a week before the first deadline reminders to after the summit.
FIRST, LAST = datetime(2016, 4, 20, 3, 0, tzinfo=UTC), datetime(2016, 6, 26, 3, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
SLUGS = ("conv", "prog")


@dataclass
class Op:
    """One operation of the loop and what became of it."""

    n: int
    kind: str
    args: list[str]
    now: datetime
    tag: str | None  # the unique comment a committed change carries
    kill_at: int = 0  # 0: no kill
    kill_after_message: int = 0  # 0: no kill
    points: int = 0  # the kill points it passed, when it ran to the end
    outcome: str = ""  # exit 0 | refused | killed
    killed_at: str = ""  # statement | commit | delivered
    delivered: tuple[str, ...] = ()  # Message-IDs the server accepted during it


def _setup(t: Tracker, draft: Path) -> None:
    for code, name in PARTIES.items():
        t.add_party(code, name=name, actor="setup")
        t.add_user(
            code.lower(), email=f"{code.lower()}@e.org", roles=["delegate"], party=code, actor="s"
        )
    t.add_user("admin", email="admin@e.org", roles=["admin", "coordinator", "secretary"], actor="s")
    t.add_user("coord", email="coord@e.org", roles=["coordinator"], actor="s")
    t.add_user("sec", email="sec@e.org", roles=["secretary"], actor="s")
    t.add_summit(
        "t16",
        title="Council",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="s",
    )
    t.add_summit(
        "a17", title="Council", city="Astana", starts=date(2017, 6, 8), tz="Asia/Almaty", actor="s"
    )
    t.add_instrument("conv", title="C", workflow="convention", summit="t16", lead="KZ", actor="s")
    t.add_instrument("prog", title="P", workflow="programme", summit="t16", lead="RU", actor="s")
    for slug in SLUGS:
        t.revise(slug, content=draft.read_bytes(), filename="draft.txt", as_user="admin")


def _choose(rng: random.Random, t: Tracker, n: int, now: datetime, draft: Path) -> Op:
    """The next operation: mostly one that moves an instrument on, or a dispatcher run."""
    tag = f"op-{n}"
    slug = rng.choice(SLUGS)
    shown = t.show(slug)
    roll = rng.random()
    if roll < 0.35:
        return Op(n, "reminders run", ["reminders", "run"], now, None)
    approved = {p.party for p in shown.positions if p.stance == "approve"}
    if roll < 0.6 and shown.allowed_triggers:
        forward = [x for x in shown.allowed_triggers if x != "withdraw"] or ["withdraw"]
        trigger = rng.choice(shown.allowed_triggers if rng.random() < 0.05 else forward)
        args = ["doc", "advance", slug, trigger, "--as", "admin", "--comment", tag]
        return Op(n, "advance", args, now, tag)
    if roll < 0.85:
        party = rng.choice(sorted(set(PARTIES) - approved) or sorted(PARTIES))
        stance = "approve" if rng.random() < 0.9 else "reserve"
        args = ["doc", "position", slug, party, stance, "--as", party.lower(), "--comment", tag]
        return Op(n, "position", args, now, tag)
    if roll < 0.9:
        args = ["doc", "revise", slug, "--file", str(draft), "--as", "admin", "--note", tag]
        return Op(n, "revise", args, now, tag)
    if roll < 0.94:
        summit = "a17" if shown.summit == "t16" else "t16"
        args = ["doc", "retarget", slug, "--summit", summit, "--as", "admin", "--comment", tag]
        return Op(n, "retarget", args, now, tag)
    starts = t.get_summit("t16").starts + timedelta(days=rng.choice([-3, -1, 1, 2]))
    args = ["summit", "move", "t16", "--starts", str(starts), "--as", "admin", "--comment", tag]
    return Op(n, "summit move", args, now, tag)


def _run(op: Op, env: dict[str, str], cwd: Path, smtp: SmtpTestServer) -> None:
    """Run ``op`` under kill_at.py; fill in its outcome."""
    log = cwd / "kill.log"
    log.unlink(missing_ok=True)
    before = len(smtp.messages)
    proc = subprocess.run(
        [sys.executable, str(KILL_AT), "--now", op.now.isoformat(), *op.args],
        cwd=cwd,
        check=False,
        env=env
        | {
            "DOCTRACK_KILL_AT": str(op.kill_at),
            "DOCTRACK_KILL_AFTER_MESSAGE": str(op.kill_after_message),
            "DOCTRACK_KILL_LOG": str(log),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    op.delivered = tuple(str(m.message["Message-ID"]) for m in smtp.messages[before:])
    said = log.read_text().split() if log.exists() else []
    if proc.returncode == -signal.SIGKILL:
        assert said[:1] == ["killed"], said
        op.outcome, op.killed_at = "killed", said[1]
    elif proc.returncode == 0:
        op.outcome = "exit 0"
    else:
        assert proc.returncode == 1, proc.stderr  # refused: one line, as every refusal
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        op.outcome = "refused"
    if said[:1] == ["points"]:
        op.points = int(said[1])


def _check_instruments(t: Tracker) -> int:
    """State is the last transition's destination, version the number of events."""
    checked = 0
    for slug in SLUGS:
        shown = t.show(slug)
        events = t.history(slug)
        moves = [e for e in events if e.kind == EventKind.TRANSITION]
        assert shown.state == (
            moves[-1].to_state if moves else t.workflows.get(shown.workflow).initial
        )
        assert shown.version == len(events)
        assert shown.revision == sum(e.kind == EventKind.REVISION for e in events)
        checked += len(events)
    return checked


def _check_reminders(ops: list[Op], rows: list[ReminderView], final: datetime) -> Counter[str]:
    """The README's delivery promise, reminder by reminder. Returns what was seen."""
    seen: Counter[str] = Counter()
    by_id = {r.message_id: r for r in rows}
    deliveries: defaultdict[str, list[Op]] = defaultdict(list)
    for op in ops:
        assert len(set(op.delivered)) == len(op.delivered), f"op {op.n} sent a message twice"
        for mid in op.delivered:
            deliveries[mid].append(op)
    for r in rows:
        assert r.status != "sending", f"reminder {r.id} still claimed after the lease"
        assert r.status != "failed", f"reminder {r.id} failed: {r.last_error}"
        if r.send_at <= final:
            assert r.status in ("sent", "cancelled"), f"reminder {r.id} due but {r.status}"
        if r.status == "sent":
            assert deliveries[r.message_id], f"reminder {r.id} is sent but never reached the server"
    for mid, ops_ in deliveries.items():
        r = by_id[mid]
        seen["messages"] += 1
        seen["deliveries"] += len(ops_)
        for op in ops_:
            assert r.send_at <= op.now, f"{mid} went out before its time"
        for first, again in itertools.pairwise(ops_):
            assert first.outcome == "killed", f"{mid} sent again though op {first.n} recorded it"
            assert again.now >= first.now + LEASE, f"{mid} taken over within the lease"
            seen["sent again after a kill"] += 1
        if r.status == "cancelled":
            assert all(op.outcome == "killed" for op in ops_), (
                f"{mid} delivered, recorded cancelled"
            )
            seen["delivered by a killed run, then cancelled"] += 1
    return seen


def test_sigkill_at_random_points_loses_no_committed_work(
    db_url: str, smtp_server: SmtpTestServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DOCTRACK_SIGKILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    clock = FixedClock(START)
    t = doctrack.connect(db_url, clock=clock, workflows=Workflows.from_folder(WORKFLOWS))
    draft = tmp_path / "draft.txt"
    draft.write_text("a draft")
    _setup(t, draft)
    env = process_env(
        db_url, DOCTRACK_SMTP_HOST=smtp_server.host, DOCTRACK_SMTP_PORT=str(smtp_server.port)
    )
    points: dict[str, int] = defaultdict(lambda: 12)  # most points seen per kind of operation
    ops: list[Op] = []
    now = FIRST
    events_checked = audits = 0
    for n in range(OPERATIONS):
        if rng.random() < 0.3:  # a few minutes on: within or just beyond the lease
            now += timedelta(minutes=rng.randint(1, 15))
        else:
            now = max(now + timedelta(minutes=1), FIRST + (LAST - FIRST) * (n + 1) / OPERATIONS)
        clock.set(now)
        op = _choose(rng, t, n, now, draft)
        if op.kind == "reminders run" and rng.random() < 0.4:
            op.kill_after_message = rng.randint(1, 3)  # between SMTP and the row update
        elif rng.random() < 0.8:
            op.kill_at = rng.randint(1, points[op.kind] + points[op.kind] // 4 + 1)
        _run(op, env, tmp_path, smtp_server)
        points[op.kind] = max(points[op.kind], op.points)
        ops.append(op)
        events_checked += _check_instruments(t)
        if op.outcome == "killed":
            assert verify(t.db).ok, f"audit verify fails after op {n} was killed"
            audits += 1
    final = now + LEASE + timedelta(minutes=1)
    last = Op(OPERATIONS, "reminders run", ["reminders", "run"], final, None)
    _run(last, env, tmp_path, smtp_server)
    assert last.outcome == "exit 0"
    ops.append(last)
    # Every invariant, read afresh.
    events_checked += _check_instruments(t)
    audit = subprocess.run(
        [sys.executable, "-m", "doctrack", "audit", "verify"],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    with t.db.read() as conn:
        comments = set(conn.execute(select(EVENT.c.comment)).scalars())
    for op in ops:
        if op.outcome == "exit 0" and op.tag is not None:
            assert op.tag in comments, f"{op.tag} ({op.kind}) exited 0 but is not in the history"
    clock.set(final)
    seen = _check_reminders(ops, list(ReminderDesk(t.db, clock).list()), final)
    killed = [op for op in ops if op.outcome == "killed"]
    states = {slug: t.show(slug).state for slug in SLUGS}
    reminders = dict(Counter(r.status for r in ReminderDesk(t.db, clock).list()))
    t.db.dispose()
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    record(
        f"faults_sigkill_loop_{backend}",
        seed=seed,
        operations=OPERATIONS,
        kills=len(killed),
        kills_at=dict(Counter(op.killed_at for op in killed)),
        kills_by_op=dict(Counter(op.kind for op in killed)),
        killed_after_commit=sum(op.tag in comments for op in killed),
        exit_0=sum(op.outcome == "exit 0" for op in ops),
        exit_0_by_op=dict(Counter(op.kind for op in ops if op.outcome == "exit 0")),
        refused=sum(op.outcome == "refused" for op in ops),
        committed_ops_verified=sum(op.outcome == "exit 0" and op.tag is not None for op in ops),
        events_checked=events_checked,
        audits_after_kill=audits,
        states=states,
        reminders=reminders,
        **{k.replace(" ", "_").replace(",", ""): v for k, v in seen.items()},
    )
