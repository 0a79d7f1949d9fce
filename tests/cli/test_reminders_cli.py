"""``reminders list|run|retry|cancel|plan`` and ``user grant|revoke`` through the CLI."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

from cli_support import Cli

#: The convention's 14-day reminders of `agreed` (due 2016-05-09) go out then, in Tashkent.
AGREED_14 = "2016-04-25T04:00"  # 09:00+05:00


def _pending(cli: Cli) -> list[dict[str, object]]:
    return list(cli.json("reminders", "list", "--status", "pending"))


def test_list_json_holds_the_pinned_fields(scenario: Cli) -> None:
    rows = scenario.json("reminders", "list")
    assert rows, "the scenario plans reminders"
    for field in ("instrument", "kind", "to", "send_at", "status", "message_id"):
        assert all(field in r for r in rows), field
    convention = [r for r in rows if r["instrument"] == "convention" and r["days_before"] == 14]
    assert {r["to"] for r in convention} >= {"coord@example.org", "kz@example.org"}
    assert "2016-04-25T09:00:00+05:00" in {r["send_at"] for r in convention}


def test_run_writes_due_reminders_to_the_outbox_once(scenario: Cli) -> None:
    before = scenario.ok("reminders", "run", now="2016-04-25T03:59").stdout
    assert "no reminders due" in before
    out = scenario.ok("reminders", "run", now=AGREED_14).stdout
    assert "sent" in out
    files = sorted(Path("var/outbox").glob("*.eml"))
    assert files
    sent = scenario.json("reminders", "list", "--status", "sent", now=AGREED_14)
    assert len(files) == len(sent)
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert str(message["Message-ID"]) in {r["message_id"] for r in sent}
    again = scenario.ok("reminders", "run", now=AGREED_14).stdout
    assert "no reminders due" in again
    assert len(list(Path("var/outbox").glob("*.eml"))) == len(files)
    assert scenario.ok("reminders", "run", "--quiet", now=AGREED_14).stdout == ""


def test_cancel_and_retry_through_the_cli(scenario: Cli) -> None:
    target = _pending(scenario)[0]
    rid = str(target["id"])
    assert "cancelled" in scenario.ok("reminders", "cancel", rid, "--as", "sec").stdout
    line = scenario.refused("reminders", "cancel", rid, "--as", "sec")
    assert "only a pending one" in line
    assert "may not" in scenario.refused("reminders", "retry", rid, "--as", "drafter")
    assert "pending again" in scenario.ok("reminders", "retry", rid, "--as", "coord").stdout
    assert "no reminder" in scenario.refused("reminders", "retry", "999999", "--as", "coord")
    assert "nobody" in scenario.refused("reminders", "cancel", rid, "--as", "nobody")


def test_list_refuses_an_unknown_status(scenario: Cli) -> None:
    assert "pending" in scenario.usage("reminders", "list", "--status", "lost")


def test_plan_is_idempotent(scenario: Cli) -> None:
    before = scenario.json("reminders", "list")
    assert "pending" in scenario.ok("reminders", "plan").stdout
    assert scenario.json("reminders", "list") == before


def test_grant_and_revoke_change_who_is_reminded(scenario: Cli) -> None:
    def mine() -> set[str]:
        return {
            str(r["status"]) for r in scenario.json("reminders", "list") if r["user"] == "drafter"
        }

    assert mine() == set()
    assert "coordinator" in scenario.ok("user", "grant", "drafter", "coordinator").stdout
    assert mine() == {"pending"}
    scenario.ok("user", "revoke", "drafter", "coordinator")
    assert mine() == {"cancelled"}
    assert "already" in scenario.refused("user", "grant", "coord", "coordinator")
    assert "unknown role" in scenario.usage("user", "grant", "coord", "king")


#: Every Monday at 08:00 in the summit's zone, only for t16 (a17 is off), no PDF.
WEEKLY_REPORTS = {
    "DOCTRACK_REPORT_SCHEDULE": "0 8 * * mon",
    "DOCTRACK_REPORT_SCHEDULE_BY_SUMMIT": "a17=off",
    "DOCTRACK_REPORT_PDF": "false",
}


def test_scheduled_reports_are_planned_listed_and_sent(scenario: Cli) -> None:
    sunday = "2016-05-15T12:00"
    out = scenario.ok("reminders", "plan", now=sunday, env=WEEKLY_REPORTS).stdout
    assert "scheduled reports: 2 planned, 0 cancelled" in out  # sec and multi
    reports = [r for r in scenario.json("reminders", "list", now=sunday) if r["kind"] == "report"]
    assert sorted(r["to"] for r in reports) == ["multi@example.org", "sec@example.org"]
    assert {(r["instrument"], r["summit"], r["send_at"]) for r in reports} == {
        (None, "t16", "2016-05-16T08:00:00+05:00")
    }
    table = scenario.ok("reminders", "list", "--status", "pending", now=sunday).stdout
    assert " report " in table and "report -0d" not in table
    monday = "2016-05-16T03:00"  # 08:00 in Tashkent
    scenario.ok("reminders", "run", now=monday, env=WEEKLY_REPORTS)
    subjects = [
        str(email.message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"])
        for f in Path("var/outbox").glob("*.eml")
    ]
    assert subjects.count("Status report: Council of Heads of State, 16 May 2016") == 2
    scenario.ok("reminders", "run", now="2016-05-16T03:30", env=WEEKLY_REPORTS)
    again = [
        f
        for f in Path("var/outbox").glob("*.eml")
        if "Status report" in f.read_text(errors="replace")
    ]
    assert len(again) == 2  # never twice in one period


def test_a_weekday_number_in_the_rule_is_refused(scenario: Cli) -> None:
    line = scenario.usage("reminders", "plan", env={"DOCTRACK_REPORT_SCHEDULE": "0 8 * * 1"})
    assert "weekday" in line and "report_schedule" in line
