"""``user passwd``, ``user add --password-stdin``, ``user token create|list|revoke`` and
``user set`` through the CLI, on each backend. Every refusal: one line, its exit code,
nothing changed in any table."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from cli_support import Cli
from sqlalchemy import create_engine, select

from doctrack.clock import FixedClock
from doctrack.services import accounts as accounts_module
from doctrack.services.accounts import Accounts
from doctrack.storage.db import Database
from doctrack.storage.tables import METADATA, USER
from helpers import START

PASSWORD = "correct horse battery staple"
#: The convention's 14-day reminders of `agreed` (due 2016-05-09) go out then, in Tashkent.
AGREED_14 = "2016-04-25T04:00"  # 09:00+05:00


PRODUCTION_HASHER = accounts_module.default_hasher


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI hashes with cheap parameters here (the production profile is tested apart)."""
    monkeypatch.setattr(accounts_module, "default_hasher", cheap_hasher)


def rows(cli: Cli) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    assert cli.db is not None
    engine = create_engine(cli.db)
    try:
        with engine.connect() as conn:
            return {
                t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in METADATA.sorted_tables
            }
    finally:
        engine.dispose()


def stored_hash(cli: Cli, name: str) -> str | None:
    [row] = [r for r in rows(cli)["app_user"] if r[1] == name]
    value = row[USER.c.keys().index("password_hash")]
    return None if value is None else str(value)


def password_is(cli: Cli, name: str, password: str) -> bool:
    stored = stored_hash(cli, name)
    assert stored is not None, f"{name} has no password"
    try:
        return PasswordHasher().verify(stored, password)
    except VerifyMismatchError:
        return False


@pytest.fixture
def accounts(cli: Cli) -> Iterator[Accounts]:
    """The service on the CLI's database, to check what the commands did."""
    assert cli.db is not None
    db = Database(cli.db)
    yield Accounts(db, FixedClock(START), hasher=cheap_hasher())
    db.dispose()


def refused(cli: Cli, *args: str, **kwargs: Any) -> str:
    """Exit 1, one line, no table changed; the message after ``doctrack: ``."""
    before = rows(cli)
    line = cli.refused(*args, **kwargs)
    assert rows(cli) == before
    return line.removeprefix("doctrack: ")


def usage(cli: Cli, *args: str, **kwargs: Any) -> str:
    """Exit 2, no table changed; stderr."""
    before = rows(cli)
    text = cli.usage(*args, **kwargs)
    assert rows(cli) == before
    return text


# -- passwords -------------------------------------------------------------------------------


def test_passwd_reads_the_first_line_of_stdin(scenario: Cli) -> None:
    out = scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\nsecond line\n").stdout
    assert out == "password set for user sec; their web sessions have ended\n"
    assert password_is(scenario, "sec", PASSWORD)
    assert PASSWORD not in repr(rows(scenario))


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_passwd_strips_only_the_line_end(scenario: Cli, ending: str) -> None:
    scenario.ok("user", "passwd", "sec", input=f"  {PASSWORD}  {ending}")
    assert password_is(scenario, "sec", f"  {PASSWORD}  ")


def test_passwd_hashes_with_the_production_profile(
    scenario: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts_module, "default_hasher", PRODUCTION_HASHER)
    scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\n")
    stored = stored_hash(scenario, "sec")
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_passwd_on_a_terminal_asks_twice_without_echo(
    scenario: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from doctrack.cli import admin

    monkeypatch.setattr(admin, "_stdin_is_terminal", lambda: True)
    result = scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "Password" in result.stderr
    assert "Repeat for confirmation" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert password_is(scenario, "sec", PASSWORD)


def test_passwd_on_a_terminal_with_two_different_answers_sets_nothing(
    scenario: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from doctrack.cli import admin

    monkeypatch.setattr(admin, "_stdin_is_terminal", lambda: True)
    before = rows(scenario)
    result = scenario.run("user", "passwd", "sec", input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code == 1
    assert "do not match" in result.stderr
    assert rows(scenario) == before


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "no password on stdin"),
        ("\n", "at least 10 characters"),
        ("123456789\n", "at least 10 characters"),
        ("x" * 1025 + "\n", "at most 1024 characters"),
    ],
)
def test_passwd_refuses_a_bad_password_and_changes_nothing(
    scenario: Cli, stdin: str, message: str
) -> None:
    scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\n")
    assert message in usage(scenario, "user", "passwd", "sec", input=stdin)
    assert password_is(scenario, "sec", PASSWORD)


def test_passwd_for_an_unknown_user_is_refused(scenario: Cli) -> None:
    assert refused(scenario, "user", "passwd", "nobody", input=f"{PASSWORD}\n") == (
        "no user 'nobody'"
    )


def epochs(cli: Cli) -> dict[str, int]:
    index = USER.c.keys().index("session_epoch")
    return {r[1]: r[index] for r in rows(cli)["app_user"]}


def test_passwd_and_signout_end_the_users_web_sessions_only(scenario: Cli) -> None:
    """The session epoch is what a web session must still hold (tests/web/test_sessions.py)."""
    before = epochs(scenario)
    scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\n")
    assert epochs(scenario) == {**before, "sec": before["sec"] + 1}
    out = scenario.ok("user", "signout", "sec").stdout
    assert out == "every web session of user sec has ended\n"
    assert epochs(scenario) == {**before, "sec": before["sec"] + 2}
    assert password_is(scenario, "sec", PASSWORD)


def test_signout_of_an_unknown_user_is_refused(scenario: Cli) -> None:
    assert refused(scenario, "user", "signout", "nobody") == "no user 'nobody'"


def test_user_add_with_a_password_from_stdin(scenario: Cli, accounts: Accounts) -> None:
    out = scenario.ok(
        "user",
        "add",
        "aliya",
        "--email",
        "aliya@example.org",
        "--role",
        "coordinator",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    ).stdout
    assert out == "added user aliya (coordinator), password set\n"
    assert accounts.login("aliya", PASSWORD).roles == ("coordinator",)


def test_user_add_with_a_refused_password_adds_nobody(scenario: Cli) -> None:
    args = ("user", "add", "aliya", "--email", "aliya@example.org", "--role", "coordinator")
    assert "at least 10" in usage(scenario, *args, "--password-stdin", input="short\n")
    assert "no password on stdin" in usage(scenario, *args, "--password-stdin", input="")
    assert "aliya" not in {u["name"] for u in scenario.json("user", "list")}


def test_user_add_of_an_existing_user_keeps_their_password(scenario: Cli) -> None:
    scenario.ok("user", "passwd", "sec", input=f"{PASSWORD}\n")
    line = refused(
        scenario,
        "user",
        "add",
        "sec",
        "--email",
        "other@example.org",
        "--role",
        "admin",
        "--password-stdin",
        input="another password\n",
    )
    assert line == "user 'sec' already exists"
    assert password_is(scenario, "sec", PASSWORD)


# -- tokens ----------------------------------------------------------------------------------


def test_token_create_prints_one_line_whose_last_word_is_the_token(
    scenario: Cli, accounts: Accounts
) -> None:
    out = scenario.ok("user", "token", "create", "sec", "--label", "nightly export").stdout
    assert out.count("\n") == 1
    assert re.fullmatch(r"token \d+ for sec \(nightly export\): dt_[A-Za-z0-9_-]{43}\n", out)
    token = out.split()[-1]  # what awk '{print $NF}' takes
    user = accounts.user_for_token(token)
    assert user is not None
    assert user.name == "sec"
    assert token not in repr(rows(scenario))
    bare = scenario.ok("user", "token", "create", "sec").stdout
    assert re.fullmatch(r"token \d+ for sec: dt_[A-Za-z0-9_-]{43}\n", bare)
    assert bare.split()[-1] != token


def test_token_list_shows_everything_but_the_token(scenario: Cli, accounts: Accounts) -> None:
    token = scenario.ok("user", "token", "create", "sec", "--label", "ci").stdout.split()[-1]
    scenario.ok("user", "token", "create", "sec", "--label", "laptop")
    scenario.ok("user", "token", "create", "coord")
    assert accounts.user_for_token(token) is not None  # used at START
    listed = scenario.json("user", "token", "list", "sec")
    assert [t["label"] for t in listed] == ["ci", "laptop"]
    assert set(listed[0]) == {"id", "label", "created_at", "last_used_at", "revoked_at"}
    assert listed[0]["created_at"] == "2016-03-01T06:00:00+00:00"
    assert listed[0]["last_used_at"] == "2016-03-01T06:00:00+00:00"
    assert listed[1]["last_used_at"] is None
    assert listed[0]["revoked_at"] is None
    table = scenario.ok("user", "token", "list", "sec").stdout
    assert "ci" in table
    assert "laptop" in table
    assert "2016-03-01 06:00" in table
    assert token not in table
    assert scenario.json("user", "token", "list", "drafter") == []
    assert scenario.ok("user", "token", "list", "drafter").stdout == "(none)\n"


def test_token_revoke_stops_the_token(scenario: Cli, accounts: Accounts) -> None:
    out = scenario.ok("user", "token", "create", "sec").stdout
    token_id = out.split()[1]
    token = out.split()[-1]
    later = "2016-03-02T10:00"
    assert scenario.ok("user", "token", "revoke", token_id, now=later).stdout == (
        f"revoked token {token_id}\n"
    )
    assert accounts.user_for_token(token) is None
    [listed] = scenario.json("user", "token", "list", "sec")
    assert listed["revoked_at"] == "2016-03-02T10:00:00+00:00"
    assert refused(scenario, "user", "token", "revoke", token_id) == (
        f"token {token_id} is already revoked"
    )


def test_token_refusals_change_nothing(scenario: Cli) -> None:
    scenario.ok("user", "token", "create", "sec")
    assert refused(scenario, "user", "token", "create", "nobody") == "no user 'nobody'"
    assert refused(scenario, "user", "token", "list", "nobody") == "no user 'nobody'"
    assert refused(scenario, "user", "token", "revoke", "999") == "no token '999'"
    assert "at most 100" in usage(scenario, "user", "token", "create", "sec", "--label", "x" * 101)
    assert "one line" in usage(scenario, "user", "token", "create", "sec", "--label", "a\nb")
    assert "not a valid integer" in usage(scenario, "user", "token", "revoke", "three")


# -- user set --------------------------------------------------------------------------------


def test_user_set_changes_email_language_and_full_name(scenario: Cli) -> None:
    out = scenario.ok(
        "user",
        "set",
        "coord",
        "--language",
        "ru",
        "--email",
        "chief@example.org",
        "--full-name",
        "Chief Coordinator",
    ).stdout
    assert out == (
        "user coord: email chief@example.org, language ru, full name Chief Coordinator\n"
    )
    [coord] = [u for u in scenario.json("user", "list") if u["name"] == "coord"]
    assert (coord["email"], coord["language"], coord["full_name"]) == (
        "chief@example.org",
        "ru",
        "Chief Coordinator",
    )
    scenario.ok("user", "set", "coord", "--language", "en-GB")
    [coord] = [u for u in scenario.json("user", "list") if u["name"] == "coord"]
    assert (coord["email"], coord["language"]) == ("chief@example.org", "en-GB")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to change"),
        (("--email", "not-an-address"), "bad email"),
        (("--language", "Russian"), "bad language"),
        (("--full-name", "  "), "full name must not be empty"),
        (("--email", "ok@example.org", "--language", "xx_YY"), "bad language"),
    ],
)
def test_user_set_refuses_bad_values_and_changes_nothing(
    scenario: Cli, args: tuple[str, ...], message: str
) -> None:
    assert message in usage(scenario, "user", "set", "coord", *args)


def test_user_set_on_an_unknown_user_is_refused(scenario: Cli) -> None:
    assert refused(scenario, "user", "set", "nobody", "--language", "ru") == "no user 'nobody'"


def test_user_set_re_plans_nothing_and_the_next_email_follows_it(scenario: Cli) -> None:
    before = scenario.json("reminders", "list")
    scenario.ok("user", "set", "coord", "--language", "ru", "--email", "chief@example.org")
    after = scenario.json("reminders", "list")

    def without_address(listing: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "to"} for r in listing]

    assert without_address(after) == without_address(before)  # same rows, same times
    assert {r["to"] for r in after if r["user"] == "coord"} == {"chief@example.org"}
    scenario.ok("reminders", "run", now=AGREED_14)
    sent = [
        email.message_from_bytes(f.read_bytes(), policy=policy.default)
        for f in Path("var/outbox").glob("*.eml")
    ]
    to_coord = [m for m in sent if "chief@example.org" in str(m["To"])]
    assert to_coord, [str(m["To"]) for m in sent]
    assert not [m for m in sent if "coord@example.org" in str(m["To"])]
    text = to_coord[0].get_body(("plain",)).get_content()
    assert "Здравствуйте" in text
    others = [m for m in sent if "kz@example.org" in str(m["To"])]
    assert others
    assert "Здравствуйте" not in others[0].get_body(("plain",)).get_content()
