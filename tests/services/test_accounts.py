"""Accounts on each backend: argon2id passwords, one answer for every failed login,
throttling by user name in the database, API tokens stored hashed.

Time moves with the tracker's fixed clock; nothing sleeps. argon2 runs with cheap
parameters here (the production profile costs ~50 ms and 64 MiB per hash), except where a
test checks the production defaults themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import select
from tracking_support import refused, set_clock, tables, unchanged

import doctrack
from doctrack.errors import AuthError, NotFoundError, RefusedError, ThrottledError, UsageError
from doctrack.services.accounts import FAILURE_WINDOW, Accounts, token_hash
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import API_TOKEN, LOGIN_FAILURE, USER
from helpers import START

PASSWORD = "correct horse battery staple"


class CountingHasher(PasswordHasher):
    """Cheap argon2id parameters, counting every verification (a timing proxy)."""

    def __init__(self, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def accounts(world: Tracker, hasher: CountingHasher) -> Accounts:
    return Accounts(world.db, world.clock, hasher=hasher)


def stored_hash(t: Tracker, name: str) -> str | None:
    with t.db.read() as conn:
        value = conn.execute(select(USER.c.password_hash).where(USER.c.name == name)).scalar()
    return None if value is None else str(value)


def failures(t: Tracker) -> list[tuple[str, str]]:
    with t.db.read() as conn:
        rows = conn.execute(select(LOGIN_FAILURE).order_by(LOGIN_FAILURE.c.id))
        return [(r.user_name, r.source) for r in rows]


def every_value(t: Tracker) -> str:
    """Every row of every table, as one string to search."""
    return repr(tables(t))


# -- passwords -------------------------------------------------------------------------------


def test_production_hasher_is_argon2id_with_the_rfc_9106_low_memory_profile(
    world: Tracker,
) -> None:
    h = Accounts(world.db, world.clock).hasher
    assert (h.type, h.time_cost, h.memory_cost, h.parallelism) == (Type.ID, 3, 65536, 4)
    assert (h.hash_len, h.salt_len) == (32, 16)


def test_set_password_keeps_an_argon2id_hash_never_the_password(
    world: Tracker, accounts: Accounts
) -> None:
    accounts.set_password("sec", PASSWORD)
    stored = stored_hash(world, "sec")
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert PASSWORD not in every_value(world)
    PasswordHasher().verify(stored, PASSWORD)
    accounts.set_password("sec", PASSWORD)
    assert stored_hash(world, "sec") != stored  # a new salt every time


def test_login_returns_the_user(accounts: Accounts) -> None:
    accounts.set_password("sec", PASSWORD)
    user = accounts.login("sec", PASSWORD)
    assert (user.name, user.roles, user.email) == ("sec", ("secretary",), "sec@example.org")


@pytest.mark.parametrize("length", [10, 1024])
def test_password_lengths_at_the_limits_are_accepted(accounts: Accounts, length: int) -> None:
    password = ("a1-B" * 300)[:length]
    accounts.set_password("sec", password)
    assert accounts.login("sec", password).name == "sec"


@pytest.mark.parametrize(
    ("password", "message"),
    [("", "at least 10"), ("123456789", "at least 10"), ("x" * 1025, "at most 1024")],
)
def test_a_password_too_short_or_too_long_is_refused_and_nothing_changes(
    world: Tracker, accounts: Accounts, password: str, message: str
) -> None:
    accounts.set_password("sec", PASSWORD)
    refused(world, UsageError, lambda: accounts.set_password("sec", password), message)
    assert accounts.login("sec", PASSWORD).name == "sec"


def test_a_password_for_an_unknown_user_is_refused(world: Tracker, accounts: Accounts) -> None:
    refused(world, NotFoundError, lambda: accounts.set_password("nobody", PASSWORD), "nobody")


def test_wrong_password_unknown_user_and_no_password_give_one_answer_in_one_time(
    accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.set_password("sec", PASSWORD)
    cases = [
        ("sec", "wrong password!"),  # wrong password
        ("nobody", PASSWORD),  # no such user
        ("coord", PASSWORD),  # a user without a password
        ("Not a Name", PASSWORD),  # a name no user can have
        ("sec", "x" * 5000),  # longer than any password that can be set
    ]
    for name, password in cases:
        hasher.verified = 0
        with pytest.raises(AuthError) as caught:
            accounts.login(name, password)
        assert str(caught.value) == "wrong user name or password", name
        # one argon2 verification each, real or against a dummy hash: the time tells nothing
        assert hasher.verified == 1, name


def test_failures_are_kept_with_their_source_and_a_success_keeps_nothing(
    world: Tracker, accounts: Accounts
) -> None:
    accounts.set_password("sec", PASSWORD)
    with pytest.raises(AuthError):
        accounts.login("sec", "wrong password!", source="203.0.113.7")
    with pytest.raises(AuthError):
        accounts.login("ghost", PASSWORD)
    accounts.login("sec", PASSWORD, source="203.0.113.7")
    assert failures(world) == [("sec", "203.0.113.7"), ("ghost", "")]


# -- throttling ------------------------------------------------------------------------------


def fail(accounts: Accounts, name: str = "sec", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(AuthError):
            accounts.login(name, "wrong password!")


def test_five_failures_throttle_the_name_for_fifteen_minutes(
    world: Tracker, accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.set_password("sec", PASSWORD)
    for minute in range(5):  # failures at 06:00, 06:01, ... 06:04
        set_clock(world, START + timedelta(minutes=minute))
        fail(accounts)
    set_clock(world, START + timedelta(minutes=5))
    hasher.verified = 0
    with unchanged(world), pytest.raises(ThrottledError) as caught:
        accounts.login("sec", PASSWORD)  # even the right password is not looked at
    assert str(caught.value) == "too many failed logins for sec: try again in 10 minutes"
    assert caught.value.retry_after == 600
    assert isinstance(caught.value, RefusedError)
    assert caught.value.exit_code == 1
    assert hasher.verified == 0
    set_clock(world, START + FAILURE_WINDOW - timedelta(seconds=1))
    with pytest.raises(ThrottledError, match=r"try again in 1 minute$"):
        accounts.login("sec", PASSWORD)
    set_clock(world, START + FAILURE_WINDOW)  # the first failure is 15 minutes old
    assert accounts.login("sec", PASSWORD).name == "sec"


def test_failures_spread_over_more_than_fifteen_minutes_do_not_throttle(
    world: Tracker, accounts: Accounts
) -> None:
    accounts.set_password("sec", PASSWORD)
    for minute in (0, 4, 8, 12, 16, 20):  # never five within 15 minutes
        set_clock(world, START + timedelta(minutes=minute))
        fail(accounts)
    assert accounts.login("sec", PASSWORD).name == "sec"
    # the failures that aged out were dropped; four of them still count
    assert len(failures(world)) == 4


def test_throttling_is_per_user_name(world: Tracker, accounts: Accounts) -> None:
    accounts.set_password("sec", PASSWORD)
    accounts.set_password("coord", PASSWORD)
    fail(accounts, "sec", 5)
    with pytest.raises(ThrottledError):
        accounts.login("sec", PASSWORD)
    assert accounts.login("coord", PASSWORD).name == "coord"


def test_unknown_names_are_throttled_alike(accounts: Accounts) -> None:
    fail(accounts, "ghost", 5)
    with pytest.raises(ThrottledError, match="too many failed logins for ghost"):
        accounts.login("ghost", PASSWORD)


def test_a_success_does_not_erase_earlier_failures(world: Tracker, accounts: Accounts) -> None:
    accounts.set_password("sec", PASSWORD)
    fail(accounts, "sec", 4)
    assert accounts.login("sec", PASSWORD).name == "sec"
    fail(accounts, "sec", 1)
    with pytest.raises(ThrottledError):
        accounts.login("sec", PASSWORD)
    set_clock(world, START + FAILURE_WINDOW)
    assert accounts.login("sec", PASSWORD).name == "sec"


def test_a_hash_with_old_parameters_is_replaced_at_the_next_good_login(
    world: Tracker, accounts: Accounts
) -> None:
    accounts.set_password("sec", PASSWORD)
    old = stored_hash(world, "sec")
    assert old is not None
    assert "t=1" in old
    stronger = Accounts(world.db, world.clock, hasher=CountingHasher(time_cost=2))
    with pytest.raises(AuthError):
        stronger.login("sec", "wrong password!")
    assert stored_hash(world, "sec") == old  # a failed login rehashes nothing
    assert stronger.login("sec", PASSWORD).name == "sec"
    new = stored_hash(world, "sec")
    assert new is not None
    assert new.startswith("$argon2id$v=19$m=8,t=2,p=1$")
    assert stronger.login("sec", PASSWORD).name == "sec"
    assert stored_hash(world, "sec") == new  # up to date: left alone
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(new, "wrong password!")


CHILD = """
import json, sys
from datetime import datetime
from argon2 import PasswordHasher
from doctrack.clock import FixedClock
from doctrack.errors import DoctrackError
from doctrack.services.accounts import Accounts
from doctrack.storage.db import Database

url, now, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = Database(url)
accounts = Accounts(db, FixedClock(datetime.fromisoformat(now)),
                    hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
accounts.tokens("sec")  # schema checked, connection open
print("ready", flush=True)
sys.stdin.readline()
results = []
for _ in range(attempts):
    try:
        accounts.login("sec", "wrong password!", source="child")
        results.append("ok")
    except DoctrackError as exc:
        results.append(type(exc).__name__)
print(json.dumps(results), flush=True)
"""


@pytest.mark.slow
def test_the_limit_holds_across_processes(world: Tracker, accounts: Accounts) -> None:
    """Four processes guess at once, three times each: exactly five guesses are checked."""
    accounts.set_password("sec", PASSWORD)
    src = str(Path(doctrack.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, world.db.url, START.isoformat(), "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    results: list[str] = []
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.extend(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert sorted(results) == ["AuthError"] * 5 + ["ThrottledError"] * 7
    assert failures(world) == [("sec", "child")] * 5


# -- API tokens ------------------------------------------------------------------------------


def token_rows(t: Tracker) -> list[dict[str, Any]]:
    with t.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(API_TOKEN).order_by(API_TOKEN.c.id))]


def test_a_token_is_made_shown_once_and_kept_only_as_its_sha256(
    world: Tracker, accounts: Accounts
) -> None:
    token_id, token = accounts.create_token("sec", label="  nightly export  ")
    assert token.startswith("dt_")
    assert len(token) == 46
    assert token not in every_value(world)
    [row] = token_rows(world)
    assert row["id"] == token_id
    assert row["token_hash"] == token_hash(token)
    assert len(row["token_hash"]) == 64
    [view] = accounts.tokens("sec")
    assert (view.id, view.label, view.created_at) == (token_id, "nightly export", START)
    assert (view.last_used_at, view.revoked_at) == (None, None)
    assert set(view.to_json()) == {"id", "label", "created_at", "last_used_at", "revoked_at"}
    assert token not in json.dumps(view.to_json())
    _, other = accounts.create_token("sec")
    assert other != token


def test_a_token_finds_its_user_and_records_its_use_at_most_once_a_minute(
    world: Tracker, accounts: Accounts
) -> None:
    _, token = accounts.create_token("kz", label="ci")
    user = accounts.user_for_token(token)
    assert user is not None
    assert (user.name, user.party_code, user.roles) == ("kz", "KZ", ("delegate",))
    [view] = accounts.tokens("kz")
    assert view.last_used_at == START
    set_clock(world, START + timedelta(seconds=59))
    assert accounts.user_for_token(token) is not None
    assert accounts.tokens("kz")[0].last_used_at == START  # not rewritten within a minute
    set_clock(world, START + timedelta(minutes=1))
    assert accounts.user_for_token(token) is not None
    assert accounts.tokens("kz")[0].last_used_at == START + timedelta(minutes=1)


@pytest.mark.parametrize(
    "token",
    ["", "dt_", "dt_" + "A" * 43, "Bearer dt_x", "dt_" + "é" * 43, "x" * 10_000],
)
def test_an_unknown_or_malformed_token_finds_nobody(accounts: Accounts, token: str) -> None:
    accounts.create_token("sec")
    assert accounts.user_for_token(token) is None


def test_a_revoked_token_finds_nobody_and_stays_listed(world: Tracker, accounts: Accounts) -> None:
    token_id, token = accounts.create_token("sec", label="old")
    _, kept = accounts.create_token("sec", label="new")
    set_clock(world, START + timedelta(hours=1))
    accounts.revoke_token(token_id)
    assert accounts.user_for_token(token) is None
    assert accounts.user_for_token(kept) is not None
    views = {v.label: v for v in accounts.tokens("sec")}
    assert views["old"].revoked_at == START + timedelta(hours=1)
    assert views["old"].revoked
    assert views["old"].last_used_at is None  # a refused use is not a use
    assert views["new"].revoked_at is None


def test_revoking_twice_or_an_unknown_token_is_refused(world: Tracker, accounts: Accounts) -> None:
    token_id, _ = accounts.create_token("sec")
    accounts.revoke_token(token_id)
    refused(world, RefusedError, lambda: accounts.revoke_token(token_id), "already revoked")
    refused(world, NotFoundError, lambda: accounts.revoke_token(token_id + 1), "no token")


def test_token_refusals_change_nothing(world: Tracker, accounts: Accounts) -> None:
    refused(world, NotFoundError, lambda: accounts.create_token("nobody"), "no user 'nobody'")
    refused(world, NotFoundError, lambda: accounts.tokens("nobody"), "no user 'nobody'")
    refused(world, UsageError, lambda: accounts.create_token("sec", label="x" * 101), "at most")
    refused(world, UsageError, lambda: accounts.create_token("sec", label="a\nb"), "one line")


def test_tokens_are_listed_per_user(accounts: Accounts) -> None:
    accounts.create_token("sec", label="one")
    accounts.create_token("coord", label="two")
    accounts.create_token("sec", label="three")
    assert [v.label for v in accounts.tokens("sec")] == ["one", "three"]
    assert [v.label for v in accounts.tokens("coord")] == ["two"]
    assert accounts.tokens("drafter") == []
