"""Every pinned command through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path

import pytest
from cli_support import Cli
from sqlalchemy.engine import make_url

from helpers import PARTIES, WORKFLOWS

CONVENTION_DUE_T16 = {
    "agreed": "2016-05-09T00:00:00+05:00",
    "approved": "2016-06-09T00:00:00+05:00",
    "signed": "2016-06-25T00:00:00+05:00",
}
PINNED_SHOW_FIELDS = {
    "slug",
    "title",
    "workflow",
    "state",
    "summit",
    "lead",
    "version",
    "revision",
    "depends_on",
    "positions",
    "deadlines",
    "allowed_triggers",
}
PINNED_EVENT_FIELDS = {"at", "actor", "kind", "trigger", "from", "to", "comment"}
IN_SESSION = "2016-06-23T10:00:00+05:00"


def _triggers(cli: Cli, slug: str, user: str) -> dict[str, dict[str, object]]:
    return {t["trigger"]: t for t in cli.json("doc", "triggers", slug, "--as", user)}


# -- init, parties, users --------------------------------------------------------------------


def test_init_creates_a_fresh_database_then_says_up_to_date(tmp_path: Path, cli: Cli) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'doctrack.db'}"
    assert "created" in cli.ok("init", db=url).stdout
    again = cli.ok("init", db=url).stdout
    assert "up to date" in again
    assert "created" not in again


def test_init_on_a_migrated_database_says_up_to_date(cli: Cli) -> None:
    assert "up to date" in cli.ok("init").stdout


def test_init_does_not_print_the_database_password(cli: Cli) -> None:
    assert cli.db is not None
    if not cli.db.startswith("postgresql"):
        pytest.skip("only a server URL holds a password")
    url = make_url(cli.db).set(password="s3cret-pw").render_as_string(hide_password=False)
    result = cli.ok("init", db=url)
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_party_add_makes_the_party_usable_as_lead(cli: Cli) -> None:
    assert "KZ" in cli.ok("party", "add", "KZ", "--name", "Republic of Kazakhstan").stdout
    cli.ok(
        "summit",
        "add",
        "t16",
        "--title",
        "Council",
        "--city",
        "Tashkent",
        "--starts",
        "2016-06-23",
        "--tz",
        "Asia/Tashkent",
    )
    cli.ok(
        "doc",
        "add",
        "conv",
        "--title",
        "Convention",
        "--workflow",
        "convention",
        "--summit",
        "t16",
        "--lead",
        "KZ",
    )
    assert cli.show("conv")["lead"] == "KZ"


def test_user_add_with_several_roles_grants_each_role(scenario: Cli) -> None:
    assert set(_triggers(scenario, "strategy", "coord")) == {"submit"}
    assert set(_triggers(scenario, "strategy", "sec")) == {"withdraw"}
    assert set(_triggers(scenario, "strategy", "multi")) == {"submit", "withdraw"}


def test_user_add_with_party_makes_a_delegate_of_that_party(scenario: Cli) -> None:
    out = scenario.ok(
        "user", "add", "kz2", "--email", "kz2@example.org", "--role", "delegate", "--party", "KZ"
    ).stdout
    assert "kz2" in out
    scenario.revise("convention")
    scenario.ok("doc", "position", "convention", "KZ", "reserve", "--as", "kz2")
    assert scenario.show("convention")["positions"] == {"KZ": "reserve"}


# -- summits -----------------------------------------------------------------------------------


def test_summit_list_json_holds_every_summit(scenario: Cli) -> None:
    summits = {s["slug"]: s for s in scenario.json("summit", "list")}
    assert set(summits) == {"t16", "a17"}
    t16 = summits["t16"]
    assert (t16["title"], t16["city"], t16["tz"]) == (
        "Council of Heads of State",
        "Tashkent",
        "Asia/Tashkent",
    )
    assert (t16["starts"], t16["ends"]) == ("2016-06-23", "2016-06-24")


def test_summit_list_text_names_every_summit(scenario: Cli) -> None:
    out = scenario.ok("summit", "list").stdout
    assert "t16" in out
    assert "Astana" in out


def test_summit_add_without_ends_lasts_one_day(cli: Cli) -> None:
    cli.ok(
        "summit",
        "add",
        "d16",
        "--title",
        "Ministers",
        "--city",
        "Dushanbe",
        "--starts",
        "2016-04-21",
        "--tz",
        "Asia/Dushanbe",
    )
    [summit] = cli.json("summit", "list")
    assert summit["starts"] == summit["ends"] == "2016-04-21"


def test_summit_move_keeps_the_length_and_moves_deadlines(scenario: Cli) -> None:
    scenario.ok(
        "summit", "move", "t16", "--starts", "2016-07-07", "--as", "sec", "--comment", "postponed"
    )
    t16 = {s["slug"]: s for s in scenario.json("summit", "list")}["t16"]
    assert (t16["starts"], t16["ends"]) == ("2016-07-07", "2016-07-08")
    due = {d["milestone"]: d["due"] for d in scenario.show("convention")["deadlines"]}
    assert due == {
        "agreed": "2016-05-23T00:00:00+05:00",
        "approved": "2016-06-23T00:00:00+05:00",
        "signed": "2016-07-09T00:00:00+05:00",
    }


def test_summit_move_with_ends_sets_both_days(scenario: Cli) -> None:
    scenario.ok(
        "summit", "move", "t16", "--starts", "2016-06-20", "--ends", "2016-06-22", "--as", "coord"
    )
    t16 = {s["slug"]: s for s in scenario.json("summit", "list")}["t16"]
    assert (t16["starts"], t16["ends"]) == ("2016-06-20", "2016-06-22")


def test_summit_move_preview_shows_the_effect_and_changes_nothing(scenario: Cli) -> None:
    before = (scenario.json("summit", "list"), scenario.show("convention"))
    out = scenario.ok("summit", "move", "t16", "--starts", "2016-07-07", "--preview").stdout
    assert out.splitlines()[0] == (
        "summit t16 (version 1): 2016-06-23 to 2016-06-24 -> 2016-07-07 to 2016-07-08 "
        "(Asia/Tashkent); nothing changed yet"
    )
    assert "convention   agreed     2016-05-09 00:00  2016-05-23 00:00  pending" in out
    assert out.splitlines()[-1] == "to move: add --as USER --expect-version 1"
    preview = scenario.json("summit", "move", "t16", "--starts", "2016-07-07", "--preview")
    agreed = next(
        d
        for d in preview["deadlines"]
        if (d["instrument"], d["milestone"]) == ("convention", "agreed")
    )
    assert (agreed["before"], agreed["after"]) == (
        "2016-05-09T00:00:00+05:00",
        "2016-05-23T00:00:00+05:00",
    )
    assert (scenario.json("summit", "list"), scenario.show("convention")) == before
    # What the preview showed is what the move does.
    scenario.ok(
        "summit", "move", "t16", "--starts", "2016-07-07", "--as", "sec", "--expect-version", "1"
    )
    due = {d["milestone"]: d["due"] for d in scenario.show("convention")["deadlines"]}
    assert due["agreed"] == agreed["after"]


def test_summit_move_with_a_stale_version_is_refused_and_changes_nothing(scenario: Cli) -> None:
    scenario.ok("summit", "move", "t16", "--starts", "2016-07-07", "--as", "sec")
    before = scenario.json("summit", "list")
    line = scenario.refused(
        "summit", "move", "t16", "--starts", "2016-08-01", "--as", "sec", "--expect-version", "1"
    )
    assert line == (
        "doctrack: conflict: summit 't16' now runs 2016-07-07 to 2016-07-08 at version 2 "
        "(expected version 1)"
    )
    assert scenario.json("summit", "list") == before


def test_summit_move_needs_as_unless_previewing(scenario: Cli) -> None:
    assert "Missing option '--as'" in scenario.usage(
        "summit", "move", "t16", "--starts", "2016-07-07"
    )
    assert "--json goes with --preview" in scenario.usage(
        "summit", "move", "t16", "--starts", "2016-07-07", "--as", "sec", "--json"
    )
    assert scenario.json("summit", "list")[0]["starts"] == "2016-06-23"


# -- doc add, list, show ---------------------------------------------------------------------


def test_doc_add_starts_in_the_initial_state_at_version_1(scenario: Cli) -> None:
    shown = scenario.show("convention")
    assert (shown["state"], shown["version"], shown["revision"]) == ("drafting", 1, None)
    assert (shown["workflow"], shown["summit"], shown["lead"]) == ("convention", "t16", "KZ")


def test_doc_add_with_several_depends_on_records_each(scenario: Cli) -> None:
    scenario.ok(
        "doc",
        "add",
        "package",
        "--title",
        "Package",
        "--workflow",
        "programme",
        "--summit",
        "t16",
        "--depends-on",
        "strategy",
        "--depends-on",
        "convention",
    )
    shown = scenario.show("package")
    assert sorted(shown["depends_on"]) == ["convention", "strategy"]
    assert shown["lead"] is None


def test_doc_list_json_is_in_slug_order(scenario: Cli) -> None:
    items = scenario.json("doc", "list")
    assert [i["slug"] for i in items] == ["action-plan", "convention", "strategy"]
    assert {i["state"] for i in items} == {"drafting"}


def test_doc_list_text_names_every_instrument(scenario: Cli) -> None:
    out = scenario.ok("doc", "list").stdout
    for slug in ("action-plan", "convention", "strategy"):
        assert slug in out


def test_doc_list_filters_by_summit(scenario: Cli) -> None:
    scenario.ok(
        "doc", "retarget", "strategy", "--summit", "a17", "--as", "coord", "--comment", "not ready"
    )
    assert [i["slug"] for i in scenario.json("doc", "list", "--summit", "a17")] == ["strategy"]
    assert [i["slug"] for i in scenario.json("doc", "list", "--summit", "t16")] == [
        "action-plan",
        "convention",
    ]


def test_doc_list_filters_by_state(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok("doc", "advance", "convention", "submit", "--as", "drafter")
    assert [i["slug"] for i in scenario.json("doc", "list", "--state", "expert_review")] == [
        "convention"
    ]
    assert len(scenario.json("doc", "list", "--state", "drafting")) == 2


def test_doc_list_pages_with_limit_and_offset(scenario: Cli) -> None:
    page = scenario.json("doc", "list", "--limit", "1", "--offset", "1")
    assert [i["slug"] for i in page] == ["convention"]
    assert [i["slug"] for i in scenario.json("doc", "list", "--offset", "2")] == ["strategy"]
    assert scenario.json("doc", "list", "--limit", "0") == []


def test_doc_list_pages_after_the_last_slug_of_the_previous_page(scenario: Cli) -> None:
    pages, after = [], None
    while True:
        page = scenario.json("doc", "list", "--limit", "2", *(["--after", after] if after else []))
        if not page:
            break
        pages.append([i["slug"] for i in page])
        after = page[-1]["slug"]
    assert pages == [["action-plan", "convention"], ["strategy"]]
    assert scenario.json("doc", "list", "--after", "zzz") == []


def test_doc_show_json_has_every_pinned_field(scenario: Cli) -> None:
    shown = scenario.show("action-plan")
    assert set(shown) >= PINNED_SHOW_FIELDS
    assert shown["slug"] == "action-plan"
    assert shown["title"] == "Action plan of the strategy"
    assert shown["depends_on"] == ["strategy"]
    assert shown["positions"] == {}
    assert shown["allowed_triggers"] == ["submit", "withdraw"]
    for deadline in shown["deadlines"]:
        assert {"milestone", "due", "status"} <= set(deadline)


def test_doc_show_deadline_due_is_iso_with_the_summit_offset(scenario: Cli) -> None:
    deadlines = scenario.show("convention")["deadlines"]
    assert {d["milestone"]: d["due"] for d in deadlines} == CONVENTION_DUE_T16
    for d in deadlines:
        assert datetime.fromisoformat(d["due"]).utcoffset() is not None


def test_doc_show_deadline_status_is_pending_met_or_missed(scenario: Cli) -> None:
    assert {d["status"] for d in scenario.show("convention")["deadlines"]} == {"pending"}
    scenario.to_agreed("convention", now="2016-05-01T12:00")
    status = {
        d["milestone"]: d["status"]
        for d in scenario.show("convention", now="2016-06-10T12:00")["deadlines"]
    }
    assert status == {"agreed": "met", "approved": "missed", "signed": "pending"}


def test_doc_show_positions_map_party_to_stance(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok("doc", "position", "convention", "KZ", "approve", "--as", "kz")
    scenario.ok(
        "doc", "position", "convention", "CN", "object", "--as", "cn", "--comment", "art. 5"
    )
    scenario.ok("doc", "position", "convention", "RU", "reserve", "--as", "ru")
    assert scenario.show("convention")["positions"] == {
        "KZ": "approve",
        "CN": "object",
        "RU": "reserve",
    }


def test_doc_show_allowed_triggers_follow_the_state(scenario: Cli) -> None:
    scenario.revise("strategy")
    scenario.ok("doc", "advance", "strategy", "submit", "--as", "drafter")
    assert scenario.show("strategy")["allowed_triggers"] == ["rework", "agree", "withdraw"]


def test_doc_show_text_names_state_and_deadlines(scenario: Cli) -> None:
    out = scenario.ok("doc", "show", "convention").stdout
    assert "Convention on countering extremism" in out
    assert "drafting" in out
    assert CONVENTION_DUE_T16["signed"] in out


# -- triggers, advance, revise, position, retarget -------------------------------------------


def test_doc_triggers_says_whether_guards_hold(scenario: Cli) -> None:
    submit = _triggers(scenario, "convention", "drafter")["submit"]
    assert submit["ready"] is False
    assert [(g["name"], g["ok"]) for g in submit["guards"]] == [("has_revision", False)]
    scenario.revise("convention")
    submit = _triggers(scenario, "convention", "drafter")["submit"]
    assert submit["ready"] is True
    assert [(g["name"], g["ok"]) for g in submit["guards"]] == [("has_revision", True)]


def test_doc_triggers_lists_only_what_the_users_roles_allow(scenario: Cli) -> None:
    assert set(_triggers(scenario, "convention", "drafter")) == {"submit"}
    assert set(_triggers(scenario, "convention", "admin")) == {"submit", "withdraw"}
    assert _triggers(scenario, "convention", "kz") == {}


def test_doc_triggers_text_says_ready_or_blocked(scenario: Cli) -> None:
    out = scenario.ok("doc", "triggers", "convention", "--as", "drafter").stdout
    assert "submit" in out
    assert "blocked" in out
    scenario.revise("convention")
    assert "ready" in scenario.ok("doc", "triggers", "convention", "--as", "drafter").stdout


def test_doc_advance_moves_the_state_and_raises_the_version(scenario: Cli) -> None:
    scenario.revise("convention")
    before = scenario.show("convention")["version"]
    scenario.ok(
        "doc",
        "advance",
        "convention",
        "submit",
        "--as",
        "drafter",
        "--comment",
        "first reading",
        "--expect-version",
        str(before),
    )
    shown = scenario.show("convention")
    assert (shown["state"], shown["version"]) == ("expert_review", before + 1)
    last = scenario.history("convention")[-1]
    assert (last["trigger"], last["comment"], last["actor"]) == (
        "submit",
        "first reading",
        "drafter",
    )


def test_doc_revise_numbers_revisions_and_starts_positions_afresh(scenario: Cli) -> None:
    scenario.revise("convention", "first draft")
    scenario.ok("doc", "position", "convention", "KZ", "approve", "--as", "kz")
    assert scenario.show("convention")["revision"] == 1
    scenario.revise("convention", "second draft", as_user="coord", note="after Astana round")
    shown = scenario.show("convention")
    assert (shown["revision"], shown["positions"]) == (2, {})
    assert scenario.history("convention")[-1]["comment"] == "after Astana round"


def test_doc_position_by_a_coordinator_on_a_partys_behalf(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok("doc", "position", "convention", "UZ", "approve", "--as", "coord")
    assert scenario.show("convention")["positions"] == {"UZ": "approve"}
    last = scenario.history("convention")[-1]
    assert (last["kind"], last["actor"]) == ("position", "coord")


def test_doc_retarget_moves_the_deadlines_to_the_new_summit(scenario: Cli) -> None:
    scenario.ok(
        "doc",
        "retarget",
        "convention",
        "--summit",
        "a17",
        "--as",
        "sec",
        "--comment",
        "carried over to Astana",
    )
    shown = scenario.show("convention")
    assert shown["summit"] == "a17"
    assert {d["milestone"]: d["due"] for d in shown["deadlines"]} == {
        "agreed": "2017-04-24T00:00:00+06:00",
        "approved": "2017-05-25T00:00:00+06:00",
        "signed": "2017-06-10T00:00:00+06:00",
    }
    last = scenario.history("convention")[-1]
    assert (last["kind"], last["comment"]) == ("retarget", "carried over to Astana")


# -- history -------------------------------------------------------------------------------


def test_doc_history_json_events_have_the_pinned_fields(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok("doc", "advance", "convention", "submit", "--as", "drafter")
    scenario.ok("doc", "position", "convention", "KZ", "approve", "--as", "kz")
    events = scenario.history("convention")
    assert [e["kind"] for e in events] == ["created", "revision", "transition", "position"]
    for e in events:
        assert set(e) >= PINNED_EVENT_FIELDS
        assert e["at"] == "2016-03-01T11:00:00+05:00"  # --now 06:00 UTC, shown in Tashkent
    transition = events[2]
    assert (transition["trigger"], transition["from"], transition["to"]) == (
        "submit",
        "drafting",
        "expert_review",
    )
    for e in (events[0], events[1], events[3]):
        assert (e["trigger"], e["from"], e["to"]) == (None, None, None)


def test_doc_history_text_lists_each_event(scenario: Cli) -> None:
    scenario.revise("convention")
    scenario.ok(
        "doc", "advance", "convention", "submit", "--as", "drafter", "--comment", "to the experts"
    )
    out = scenario.ok("doc", "history", "convention").stdout
    assert "drafting -> expert_review" in out
    assert "to the experts" in out


def test_administration_commands_record_the_os_user(scenario: Cli) -> None:
    created = scenario.history("convention")[0]
    assert (created["kind"], created["actor"]) == ("created", getpass.getuser())


# -- deadlines ---------------------------------------------------------------------------------


def test_deadlines_json_in_due_order(scenario: Cli) -> None:
    items = scenario.json("deadlines")
    assert len(items) == 9
    dues = [datetime.fromisoformat(d["due"]) for d in items]
    assert dues == sorted(dues)
    assert {d["status"] for d in items} == {"pending"}
    assert (items[0]["instrument"], items[0]["milestone"]) == ("convention", "agreed")


def test_deadlines_filter_by_summit(scenario: Cli) -> None:
    scenario.ok(
        "doc",
        "retarget",
        "convention",
        "--summit",
        "a17",
        "--as",
        "coord",
        "--comment",
        "next year",
    )
    items = scenario.json("deadlines", "--summit", "a17")
    assert {d["instrument"] for d in items} == {"convention"}
    assert len(items) == 3


def test_deadlines_overdue_lists_only_missed_unmet_deadlines(scenario: Cli) -> None:
    scenario.to_agreed("convention", now="2016-05-01T00:00")
    scenario.ok("doc", "advance", "action-plan", "withdraw", "--as", "sec")
    overdue = scenario.json("deadlines", "--overdue", now="2016-05-30T00:00")
    assert [(d["instrument"], d["milestone"]) for d in overdue] == [("strategy", "agreed")]
    assert {d["status"] for d in overdue} == {"missed"}


def test_deadlines_text_shows_due_and_status(scenario: Cli) -> None:
    out = scenario.ok("deadlines", "--summit", "t16").stdout
    assert CONVENTION_DUE_T16["agreed"] in out
    assert "pending" in out


def test_db_option_wins_over_doctrack_database_url(cli: Cli, tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    cli.ok("party", "add", "KZ", "--name", "Kazakhstan", env={"DOCTRACK_DATABASE_URL": elsewhere})
    assert "KZ" in cli.ok("party", "list").stdout


# -- workflows ---------------------------------------------------------------------------------


def test_workflow_list_names_every_workflow(cli: Cli) -> None:
    out = cli.ok("workflow", "list").stdout
    assert "convention" in out
    assert "programme" in out


def test_workflow_check_accepts_the_shipped_files(cli: Cli) -> None:
    assert cli.ok("workflow", "check").stdout.count("ok ") == 2
    assert "ok " in cli.ok("workflow", "check", str(WORKFLOWS / "convention.yaml")).stdout


def test_workflow_check_names_file_and_line_of_an_error(cli: Cli, tmp_path: Path) -> None:
    text = (WORKFLOWS / "programme.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace("when: [no_objection]", "when: [no_objections]"), encoding="utf-8"
    )
    line = 1 + next(
        i for i, s in enumerate(broken.read_text().splitlines()) if "no_objections" in s
    )
    result = cli.run("workflow", "check", str(WORKFLOWS / "convention.yaml"), str(broken))
    assert result.exit_code == 2
    assert "ok " in result.stdout
    assert f"{broken}:{line}" in result.stderr
    assert "no_objections" in result.stderr


def test_workflow_check_refuses_two_files_of_one_name(cli: Cli, tmp_path: Path) -> None:
    """As loading the folder would: the second file to define a name is an error."""
    folder = tmp_path / "wf"
    folder.mkdir()
    text = (WORKFLOWS / "convention.yaml").read_text(encoding="utf-8")
    for name in ("a.yaml", "b.yaml"):
        (folder / name).write_text(text, encoding="utf-8")
    line = 1 + next(i for i, s in enumerate(text.splitlines()) if s.startswith("name:"))
    for args in ((), (str(folder / "a.yaml"), str(folder / "b.yaml"))):
        result = cli.run("workflow", "check", *args, env={"DOCTRACK_WORKFLOWS": str(folder)})
        assert result.exit_code == 2
        assert result.stdout == f"ok {folder / 'a.yaml'}: convention, 7 states, 6 transitions\n"
        assert (
            f"doctrack: {folder / 'b.yaml'}:{line}: name: workflow 'convention' is also "
            f"defined in {folder / 'a.yaml'}\n"
        ) in result.stderr
        assert "1 of 2 workflow files have errors" in result.stderr
    listed = cli.run("workflow", "list", env={"DOCTRACK_WORKFLOWS": str(folder)})
    assert "is also defined in" in listed.stderr  # the same refusal


def test_workflow_show_json_describes_the_workflow(cli: Cli) -> None:
    data = json.loads(cli.ok("workflow", "show", "convention", "--format", "json").stdout)
    assert (data["name"], data["initial"]) == ("convention", "drafting")
    assert [s["name"] for s in data["states"]][:2] == ["drafting", "expert_review"]
    sign = next(t for t in data["transitions"] if t["trigger"] == "sign")
    assert sign["when"] == ["summit_in_session", "dependencies_adopted"]


def test_workflow_show_mermaid_is_a_state_diagram(cli: Cli) -> None:
    out = cli.ok("workflow", "show", "programme", "--format", "mermaid").stdout
    assert "stateDiagram" in out
    assert "Adopted by decision at the summit" in out


# -- the whole way -------------------------------------------------------------------------------


def test_convention_is_signed_in_session_after_its_dependency_is_adopted(scenario: Cli) -> None:
    scenario.ok(
        "doc",
        "add",
        "conv2",
        "--title",
        "Convention 2",
        "--workflow",
        "convention",
        "--summit",
        "t16",
        "--lead",
        "UZ",
        "--depends-on",
        "strategy",
    )
    scenario.to_approved("strategy", now="2016-04-01T06:00")
    scenario.to_approved("conv2", now="2016-04-01T06:00")
    scenario.ok("doc", "advance", "strategy", "adopt", "--as", "sec", now=IN_SESSION)
    scenario.ok("doc", "advance", "conv2", "sign", "--as", "sec", now=IN_SESSION)
    scenario.ok(
        "doc", "advance", "conv2", "enter_into_force", "--as", "coord", now="2016-12-01T06:00"
    )
    shown = scenario.show("conv2", now="2016-12-01T06:00")
    assert (shown["state"], shown["allowed_triggers"]) == ("in_force", [])
    assert {d["status"] for d in shown["deadlines"]} == {"met"}
    assert len(PARTIES) == len(shown["positions"])


@pytest.mark.parametrize("option", ["--offset", "--limit"])
def test_doc_list_refuses_a_page_beyond_any_database(scenario: Cli, option: str) -> None:
    # 2**63 overflowed SQLite's integer ("Python int too large") into a traceback
    line = scenario.usage("doc", "list", option, str(2**63))
    assert option in line and "2147483647" in line
