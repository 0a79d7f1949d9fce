"""Refusals exit 1 with one line and change nothing; bad usage exits 2; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Cli

SLUGS = ("convention", "strategy", "action-plan")


def _refused(cli: Cli, *args: str, **kwargs: object) -> str:
    """The refusal's message (after ``doctrack: ``), checking it left everything as it was."""
    before = cli.snapshot(*SLUGS)
    line = cli.refused(*args, **kwargs)
    assert cli.snapshot(*SLUGS) == before
    return line.removeprefix("doctrack: ")


def _in_session(cli: Cli, **kwargs: object) -> bool:
    """Whether ``summit_in_session`` holds for adopting ``strategy``, as ``sec`` sees it."""
    checks = cli.json("doc", "triggers", "strategy", "--as", "sec", **kwargs)
    [adopt] = [c for c in checks if c["trigger"] == "adopt"]
    return next(g["ok"] for g in adopt["guards"] if g["name"] == "summit_in_session")


@pytest.fixture
def approved(scenario: Cli) -> Cli:
    """The scenario with ``strategy`` approved, waiting to be adopted at the summit."""
    scenario.to_approved("strategy")
    return scenario


# -- refused: exit 1 ---------------------------------------------------------------------------


def test_advance_by_a_role_that_may_not_is_refused(scenario: Cli) -> None:
    message = _refused(scenario, "doc", "advance", "convention", "withdraw", "--as", "kz")
    assert "may not" in message
    assert "secretary" in message


def test_revise_by_a_delegate_is_refused(scenario: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text("text", encoding="utf-8")
    message = _refused(scenario, "doc", "revise", "convention", "--file", str(draft), "--as", "kz")
    assert "may not" in message


def test_position_for_another_party_is_refused(scenario: Cli) -> None:
    scenario.revise("convention")
    message = _refused(scenario, "doc", "position", "convention", "CN", "approve", "--as", "kz")
    assert "may not" in message
    assert "CN" in message


def test_retarget_by_a_drafter_is_refused(scenario: Cli) -> None:
    message = _refused(
        scenario,
        "doc",
        "retarget",
        "convention",
        "--summit",
        "a17",
        "--as",
        "drafter",
        "--comment",
        "later",
    )
    assert "coordinator" in message


def test_summit_move_by_a_drafter_is_refused(scenario: Cli) -> None:
    message = _refused(
        scenario, "summit", "move", "t16", "--starts", "2016-07-07", "--as", "drafter"
    )
    assert "may not" in message


def test_failed_guard_names_the_guard_and_the_parties_without_approve(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok("doc", "advance", "convention", "submit", "--as", "drafter")
    scenario.ok("doc", "position", "convention", "KZ", "approve", "--as", "kz")
    scenario.ok("doc", "position", "convention", "CN", "object", "--as", "cn")
    message = _refused(scenario, "doc", "advance", "convention", "agree", "--as", "coord")
    assert "all_parties_approve" in message
    assert "CN, KG, RU, TJ, UZ" in message


def test_failed_guard_names_the_dependencies_not_adopted(scenario: Cli) -> None:
    scenario.to_approved("action-plan")
    message = _refused(
        scenario,
        "doc",
        "advance",
        "action-plan",
        "adopt",
        "--as",
        "sec",
        now="2016-06-23T10:00:00+05:00",
    )
    assert "dependencies_adopted" in message
    assert "strategy" in message


def test_failed_guard_has_revision_is_named(scenario: Cli) -> None:
    message = _refused(scenario, "doc", "advance", "convention", "submit", "--as", "drafter")
    assert "has_revision" in message


def test_unknown_trigger_lists_the_possible_triggers(scenario: Cli) -> None:
    message = _refused(scenario, "doc", "advance", "convention", "sign", "--as", "sec")
    assert "submit, withdraw" in message
    assert "submit, withdraw" in _refused(
        scenario, "doc", "advance", "convention", "publish", "--as", "sec"
    )


def test_stale_expect_version_is_a_conflict_naming_state_and_version(scenario: Cli) -> None:
    scenario.revise("convention")
    message = _refused(
        scenario,
        "doc",
        "advance",
        "convention",
        "submit",
        "--as",
        "drafter",
        "--expect-version",
        "1",
    )
    assert "conflict" in message
    assert "'drafting'" in message
    assert "version 2" in message


def test_position_on_an_instrument_in_a_final_state_is_refused(scenario: Cli) -> None:
    scenario.revise("strategy")
    scenario.ok("doc", "advance", "strategy", "withdraw", "--as", "sec")
    message = _refused(scenario, "doc", "position", "strategy", "RU", "approve", "--as", "ru")
    assert "final" in message


def test_position_without_a_revision_is_refused(scenario: Cli) -> None:
    assert "revision" in _refused(
        scenario, "doc", "position", "convention", "KZ", "approve", "--as", "kz"
    )


ADD = ("doc", "add", "x", "--title", "X", "--workflow", "programme")


def test_unknown_instrument_is_not_found(scenario: Cli) -> None:
    for args in [
        ("doc", "show", "nope"),
        ("doc", "history", "nope"),
        ("doc", "advance", "nope", "submit", "--as", "sec"),
        (*ADD, "--summit", "t16", "--depends-on", "nope"),
    ]:
        assert "no instrument 'nope'" in _refused(scenario, *args)


def test_unknown_summit_is_not_found(scenario: Cli) -> None:
    for args in [
        (*ADD, "--summit", "nope"),
        ("summit", "move", "nope", "--starts", "2016-07-01", "--as", "sec"),
        ("doc", "retarget", "convention", "--summit", "nope", "--as", "sec", "--comment", "c"),
        ("doc", "list", "--summit", "nope"),
        ("deadlines", "--summit", "nope"),
    ]:
        assert "no summit 'nope'" in _refused(scenario, *args)


def test_unknown_summit_in_a_json_listing_prints_nothing_on_stdout(scenario: Cli) -> None:
    for args in [
        ("doc", "list", "--summit", "nope", "--json"),
        ("deadlines", "--summit", "nope", "--json"),
    ]:
        assert "no summit 'nope'" in _refused(scenario, *args)


def test_unknown_party_is_not_found(scenario: Cli) -> None:
    for args in [
        (*ADD, "--summit", "t16", "--lead", "XX"),
        ("doc", "position", "convention", "XX", "approve", "--as", "coord"),
        ("user", "add", "zz", "--email", "zz@example.org", "--role", "delegate", "--party", "XX"),
    ]:
        assert "no party 'XX'" in _refused(scenario, *args)


def test_unknown_user_is_not_found(scenario: Cli) -> None:
    for args in [
        ("doc", "advance", "convention", "submit", "--as", "nobody"),
        ("doc", "triggers", "convention", "--as", "nobody"),
        ("summit", "move", "t16", "--starts", "2016-07-01", "--as", "nobody"),
    ]:
        assert "no user 'nobody'" in _refused(scenario, *args)


def test_unknown_workflow_is_not_found(scenario: Cli) -> None:
    assert "no workflow 'nope'" in _refused(
        scenario, "doc", "add", "x", "--title", "X", "--workflow", "nope", "--summit", "t16"
    )


def test_adding_a_taken_name_is_refused(scenario: Cli) -> None:
    for args in [
        ("party", "add", "KZ", "--name", "Kazakhstan again"),
        ("user", "add", "kz", "--email", "other@example.org", "--role", "drafter"),
        (
            "summit",
            "add",
            "t16",
            "--title",
            "T",
            "--city",
            "C",
            "--starts",
            "2016-01-01",
            "--tz",
            "UTC",
        ),
        ("doc", "add", "convention", "--title", "X", "--workflow", "convention", "--summit", "t16"),
    ]:
        assert "already exists" in _refused(scenario, *args)


# -- bad usage: exit 2 -------------------------------------------------------------------------


def test_missing_required_option_is_bad_usage(cli: Cli) -> None:
    assert "--as" in cli.usage("doc", "advance", "convention", "submit")
    assert "--tz" in cli.usage(
        "summit", "add", "s", "--title", "T", "--city", "C", "--starts", "2016-01-01"
    )


@pytest.mark.parametrize("day", ["2016-02-30", "23.06.2016", "tomorrow"])
def test_bad_date_is_bad_usage(cli: Cli, day: str) -> None:
    assert day in cli.usage(
        "summit",
        "add",
        "t16",
        "--title",
        "T",
        "--city",
        "Tashkent",
        "--starts",
        day,
        "--tz",
        "Asia/Tashkent",
    )
    assert cli.json("summit", "list") == []


@pytest.mark.parametrize("now", ["yesterday", "2016-13-01T00:00", "2016-06-23T25:00"])
def test_bad_now_is_bad_usage(cli: Cli, now: str) -> None:
    assert now in cli.usage("doc", "list", now=now)


def test_unknown_time_zone_is_bad_usage(cli: Cli) -> None:
    err = cli.usage(
        "summit",
        "add",
        "t16",
        "--title",
        "T",
        "--city",
        "Tashkent",
        "--starts",
        "2016-06-23",
        "--tz",
        "Asia/Atlantis",
    )
    assert err.startswith("doctrack: ")
    assert "Asia/Atlantis" in err
    assert cli.json("summit", "list") == []


def test_bad_stance_is_bad_usage(cli: Cli) -> None:
    assert "maybe" in cli.usage("doc", "position", "convention", "KZ", "maybe", "--as", "kz")


def test_revise_with_a_missing_file_is_bad_usage(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    err = cli.usage("doc", "revise", "convention", "--file", str(missing), "--as", "drafter")
    assert err.startswith("doctrack: ")
    assert str(missing) in err


def test_empty_revision_file_is_bad_usage(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert "empty" in cli.usage("doc", "revise", "convention", "--file", str(empty), "--as", "sec")


def test_retarget_with_an_empty_comment_is_bad_usage(cli: Cli) -> None:
    assert "--comment" in cli.usage(
        "doc", "retarget", "convention", "--summit", "a17", "--as", "sec", "--comment", " "
    )


@pytest.mark.parametrize(
    "args",
    [
        ("doc", "show", "convention"),
        ("doc", "list", "--json"),
        ("party", "add", "KZ", "--name", "Kazakhstan"),
    ],
)
def test_uninitialised_database_says_run_init(bare_cli: Cli, args: tuple[str, ...]) -> None:
    err = bare_cli.usage(*args)
    assert err.startswith("doctrack: ")
    assert "run 'doctrack init'" in err


def test_a_missing_database_file_is_not_created(bare_cli: Cli, tmp_path: Path) -> None:
    """Only init (and import) create an SQLite file and its folder; other commands refuse."""
    where = tmp_path / "not" / "yet" / "doctrack.db"
    url = f"sqlite:///{where}"
    for args in (("doc", "list"), ("party", "add", "KZ", "--name", "Kazakhstan")):
        err = bare_cli.usage(*args, db=url)
        assert err == f"doctrack: no database at {where}: run 'doctrack init' to create one\n"
    assert not (tmp_path / "not").exists()
    bare_cli.ok("init", db=url)
    assert where.is_file()
    assert bare_cli.ok("doc", "list", "--json", db=url).stdout.strip() == "[]"


def test_missing_config_file_is_bad_usage(bare_cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    err = bare_cli.usage("--config", str(missing), "doc", "show", "convention")
    assert err.startswith("doctrack: ")
    assert str(missing) in err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('smtp_port = "twenty-five"\n', "smtp_port"),
        ("send_time = 9 o'clock\n", "not valid TOML"),
        ('colour = "blue"\n', "colour"),
    ],
)
def test_bad_config_file_is_bad_usage(bare_cli: Cli, tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "doctrack.toml"
    config.write_text(text, encoding="utf-8")
    err = bare_cli.usage("--config", str(config), "doc", "show", "convention")
    assert err.startswith("doctrack: ")
    assert named in err


def test_bad_environment_setting_is_bad_usage_naming_the_variable(bare_cli: Cli) -> None:
    err = bare_cli.usage("doc", "show", "convention", env={"DOCTRACK_SMTP_PORT": "many"})
    assert "DOCTRACK_SMTP_PORT" in err


def test_bad_doctrack_now_is_bad_usage(cli: Cli) -> None:
    assert "yesterday" in cli.usage("doc", "list", now=None, env={"DOCTRACK_NOW": "yesterday"})


# -- the clock: --now and DOCTRACK_NOW -----------------------------------------------------------

#: --now value -> whether the Tashkent summit (23-24 June 2016, UTC+5) is in session.
SESSION_AT = {
    "2016-06-23T10:00:00+05:00": True,
    "2016-06-23T10:00": True,
    "2016-06-22T22:00": True,  # UTC: 03:00 on 23 June in Tashkent
    "2016-06-22T22:00:00+05:00": False,  # 22 June in Tashkent
    "2016-06-24T21:00:00+05:00": True,
    "2016-06-24T21:00": False,  # UTC: 02:00 on 25 June in Tashkent
}


def test_now_without_an_offset_is_utc_for_summit_in_session(approved: Cli) -> None:
    found = {now: _in_session(approved, now=now) for now in SESSION_AT}
    assert found == SESSION_AT


def test_doctrack_now_sets_the_clock_like_now(approved: Cli) -> None:
    found = {now: _in_session(approved, now=None, env={"DOCTRACK_NOW": now}) for now in SESSION_AT}
    assert found == SESSION_AT


def test_now_option_wins_over_doctrack_now(approved: Cli) -> None:
    assert _in_session(approved, now="2016-06-23T10:00", env={"DOCTRACK_NOW": "2016-01-01"})


def test_adopting_out_of_session_is_refused_naming_summit_in_session(approved: Cli) -> None:
    message = _refused(
        approved,
        "doc",
        "advance",
        "strategy",
        "adopt",
        "--as",
        "sec",
        now="2016-06-22T22:00:00+05:00",
    )
    assert "summit_in_session" in message
    approved.ok("doc", "advance", "strategy", "adopt", "--as", "sec", now="2016-06-22T22:00")
    assert approved.show("strategy")["state"] == "adopted"


@pytest.mark.parametrize(
    "args",
    [
        ("doc", "revise", "convention", "--file", "draft\x00.txt", "--as", "drafter"),
        ("workflow", "check", "a\x00.yaml"),
        ("import", "backup\x00.jsonl"),
        ("calendar", "export", "-o", "out\x00.ics"),
    ],
    ids=["revise", "workflow-check", "import", "calendar-export"],
)
def test_a_path_holding_nul_is_bad_usage(scenario: Cli, args: tuple[str, ...]) -> None:
    """Found by tests/security/test_cli_fuzz.py: it was an internal error (exit 3)."""
    before = scenario.snapshot(*SLUGS)
    assert "NUL" in scenario.usage(*args)
    assert scenario.snapshot(*SLUGS) == before


@pytest.mark.parametrize(
    "args",
    [
        ("reminders", "cancel", str(2**63), "--as", "coord"),
        ("user", "token", "revoke", str(2**63)),
        ("doc", "advance", "convention", "submit", "--as", "drafter", "--expect-version", "0"),
        ("report", "status", "--days", "1000000000"),
    ],
    ids=["reminder-id", "token-id", "version-0", "days"],
)
def test_numbers_out_of_range_are_bad_usage(scenario: Cli, args: tuple[str, ...]) -> None:
    """Found by the CLI fuzz: past 2**63 SQLite's driver overflowed (exit 3)."""
    before = scenario.snapshot(*SLUGS)
    assert "range" in scenario.usage(*args)
    assert scenario.snapshot(*SLUGS) == before
