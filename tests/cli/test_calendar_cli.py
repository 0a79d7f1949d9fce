"""``doctrack calendar export``: the .ics file, ``-o -``, ``--summit``, and every refusal, on
SQLite and PostgreSQL. Every calendar is parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_support import Cli
from icalendar import Calendar, Event

CONVENTION_DUE_T16 = {
    "agreed": "2016-05-09T00:00:00+05:00",
    "approved": "2016-06-09T00:00:00+05:00",
    "signed": "2016-06-25T00:00:00+05:00",
}
#: The scenario's events: 2 summits, 3 instruments with 3 deadlines each, all on t16.
SCENARIO_UIDS = {
    "summit-t16@doctrack",
    "summit-a17@doctrack",
    *(
        f"deadline-{slug}-{milestone}@doctrack"
        for slug, milestones in [
            ("convention", ("agreed", "approved", "signed")),
            ("strategy", ("agreed", "approved", "adopted")),
            ("action-plan", ("agreed", "approved", "adopted")),
        ]
        for milestone in milestones
    ),
}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for the exported files."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def export(cli: Cli, path: Path, *args: str, **kwargs: object) -> Calendar:
    """Export to ``path``; check the success line; return the parsed file."""
    result = cli.ok("calendar", "export", *args, "-o", str(path), **kwargs)
    calendar = Calendar.from_ical(path.read_bytes())
    summits = sum(1 for e in calendar.events if "summit" in e.categories)
    deadlines = len(calendar.events) - summits
    assert result.stdout == (
        f"wrote {len(calendar.events)} events ({summits} summits, {deadlines} deadlines) "
        f"to {path}\n"
    )
    return calendar


def by_uid(calendar: Calendar) -> dict[str, Event]:
    return {str(e["UID"]): e for e in calendar.events}


def starts(calendar: Calendar, slug: str) -> dict[str, str]:
    prefix = f"deadline-{slug}-"
    return {
        uid.removeprefix(prefix).removesuffix("@doctrack"): event.start.isoformat()
        for uid, event in by_uid(calendar).items()
        if uid.startswith(prefix)
    }


# -- the file ----------------------------------------------------------------------------------


def test_export_writes_every_summit_and_deadline(scenario: Cli, out: Path) -> None:
    path = out / "doctrack.ics"
    result = scenario.ok("calendar", "export", "-o", str(path))
    assert result.stdout == f"wrote 11 events (2 summits, 9 deadlines) to {path}\n"
    assert result.stderr == ""
    calendar = Calendar.from_ical(path.read_bytes())
    assert str(calendar["PRODID"]) == "-//doctrack//calendar//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "doctrack: summits and deadlines"
    assert set(by_uid(calendar)) == SCENARIO_UIDS
    assert len(calendar.events) == len(SCENARIO_UIDS)


def test_summit_is_all_day_with_an_exclusive_end(scenario: Cli, out: Path) -> None:
    events = by_uid(export(scenario, out / "c.ics"))
    t16 = events["summit-t16@doctrack"]
    assert t16["DTSTART"].params.get("VALUE") == "DATE"
    assert (t16.start, t16.end) == (date(2016, 6, 23), date(2016, 6, 25))
    assert str(t16["SUMMARY"]) == "Council of Heads of State, Tashkent"
    assert str(t16["LOCATION"]) == "Tashkent"
    a17 = events["summit-a17@doctrack"]
    assert (a17.start, a17.end) == (date(2017, 6, 8), date(2017, 6, 10))


def test_deadlines_start_at_the_due_time_in_the_summits_zone(scenario: Cli, out: Path) -> None:
    calendar = export(scenario, out / "c.ics")
    assert starts(calendar, "convention") == CONVENTION_DUE_T16
    agreed = by_uid(calendar)["deadline-convention-agreed@doctrack"]
    assert agreed.start == datetime(2016, 5, 8, 19, 0, tzinfo=UTC)
    assert agreed["DTSTART"].params["TZID"] == "Asia/Tashkent"
    assert str(agreed["SUMMARY"]) == "Due: Agreed ad referendum — convention"
    assert "Status: pending" in str(agreed["DESCRIPTION"])
    assert "Current state: drafting" in str(agreed["DESCRIPTION"])
    assert list(agreed.categories) == ["deadline"]


def test_tzid_has_its_vtimezone(scenario: Cli, out: Path) -> None:
    calendar = export(scenario, out / "c.ics")
    assert calendar.get_used_tzids() == {"Asia/Tashkent"}
    assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Tashkent"]
    assert calendar.get_missing_tzids() == set()
    raw = (out / "c.ics").read_bytes()
    assert b"BEGIN:VTIMEZONE\r\nTZID:Asia/Tashkent\r\n" in raw
    assert b"DTSTART;TZID=Asia/Tashkent:20160509T000000\r\n" in raw


def test_deadline_status_follows_the_clock(scenario: Cli, out: Path) -> None:
    scenario.to_agreed("convention", now="2016-05-01T00:00")
    events = by_uid(export(scenario, out / "c.ics", now="2016-05-30T00:00"))
    convention = str(events["deadline-convention-agreed@doctrack"]["DESCRIPTION"])
    assert "Status: met, met 2016-05-01T05:00:00+05:00" in convention
    assert "Current state: agreed" in convention
    strategy = str(events["deadline-strategy-agreed@doctrack"]["DESCRIPTION"])
    assert "Status: missed" in strategy


def test_dtstamp_is_now_and_exports_are_reproducible(scenario: Cli, out: Path) -> None:
    first, second = out / "first.ics", out / "second.ics"
    calendar = export(scenario, first, now="2016-04-02T09:30")
    export(scenario, second, now="2016-04-02T09:30")
    assert first.read_bytes() == second.read_bytes()
    assert {e.stamp for e in calendar.events} == {datetime(2016, 4, 2, 9, 30, tzinfo=UTC)}


def test_uids_are_unique_and_stable_across_exports(scenario: Cli, out: Path) -> None:
    first = export(scenario, out / "first.ics")
    scenario.to_agreed("convention", now="2016-05-01T00:00")
    second = export(scenario, out / "second.ics", now="2016-06-01T00:00")
    for calendar in (first, second):
        found = [str(e["UID"]) for e in calendar.events]
        assert len(found) == len(set(found))
        assert set(found) == SCENARIO_UIDS


def test_export_overwrites_the_file_and_leaves_no_temporary_file(scenario: Cli, out: Path) -> None:
    path = out / "c.ics"
    path.write_text("old content", encoding="utf-8")
    export(scenario, path)
    assert path.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert [p.name for p in out.iterdir()] == ["c.ics"]


def test_export_to_a_relative_path_writes_in_the_current_folder(scenario: Cli) -> None:
    result = scenario.ok("calendar", "export", "-o", "doctrack.ics")
    assert result.stdout == "wrote 11 events (2 summits, 9 deadlines) to doctrack.ics\n"
    assert Calendar.from_ical(Path("doctrack.ics").read_bytes()).events


def test_dash_writes_the_calendar_to_stdout(scenario: Cli, out: Path) -> None:
    result = scenario.ok("calendar", "export", "-o", "-")
    assert result.stderr == ""
    assert "wrote" not in result.stdout
    assert result.stdout_bytes.startswith(b"BEGIN:VCALENDAR\r\n")
    calendar = Calendar.from_ical(result.stdout_bytes)
    assert set(by_uid(calendar)) == SCENARIO_UIDS
    assert starts(calendar, "convention") == CONVENTION_DUE_T16
    export(scenario, out / "c.ics")
    assert result.stdout_bytes == (out / "c.ics").read_bytes()
    assert list(Path.cwd().iterdir()) == []


def test_help_lists_calendar(cli: Cli) -> None:
    assert "calendar" in cli.ok("--help").stdout
    assert "--summit" in cli.ok("calendar", "export", "--help").stdout


# -- --summit ------------------------------------------------------------------------------------


def test_summit_option_keeps_that_summit_and_its_deadlines(scenario: Cli, out: Path) -> None:
    scenario.ok(
        "doc", "retarget", "convention", "--summit", "a17", "--as", "coord", "--comment", "later"
    )
    path = out / "a17.ics"
    result = scenario.ok("calendar", "export", "--summit", "a17", "-o", str(path))
    assert result.stdout == f"wrote 4 events (1 summits, 3 deadlines) to {path}\n"
    calendar = Calendar.from_ical(path.read_bytes())
    assert set(by_uid(calendar)) == {
        "summit-a17@doctrack",
        "deadline-convention-agreed@doctrack",
        "deadline-convention-approved@doctrack",
        "deadline-convention-signed@doctrack",
    }
    assert starts(calendar, "convention") == {
        "agreed": "2017-04-24T00:00:00+06:00",
        "approved": "2017-05-25T00:00:00+06:00",
        "signed": "2017-06-10T00:00:00+06:00",
    }
    assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Almaty"]
    assert str(calendar["X-WR-CALNAME"]) == "doctrack: Council of Heads of State, Astana (a17)"
    t16 = by_uid(export(scenario, out / "t16.ics", "--summit", "t16"))
    assert "summit-a17@doctrack" not in t16
    assert not any(uid.startswith("deadline-convention-") for uid in t16)
    assert len(t16) == 7


def test_summit_move_moves_the_events_and_keeps_the_uids(scenario: Cli, out: Path) -> None:
    before = export(scenario, out / "before.ics")
    scenario.ok("summit", "move", "t16", "--starts", "2016-07-07", "--as", "sec")
    after = export(scenario, out / "after.ics")
    assert set(by_uid(after)) == set(by_uid(before)) == SCENARIO_UIDS
    assert starts(before, "convention") == CONVENTION_DUE_T16
    assert starts(after, "convention") == {
        "agreed": "2016-05-23T00:00:00+05:00",
        "approved": "2016-06-23T00:00:00+05:00",
        "signed": "2016-07-09T00:00:00+05:00",
    }
    moved = by_uid(after)["summit-t16@doctrack"]
    assert (moved.start, moved.end) == (date(2016, 7, 7), date(2016, 7, 9))
    assert by_uid(after)["summit-a17@doctrack"].to_ical() == (
        by_uid(before)["summit-a17@doctrack"].to_ical()
    )


# -- refusals --------------------------------------------------------------------------------------


def test_unknown_summit_is_refused_and_writes_nothing(scenario: Cli, out: Path) -> None:
    path = out / "x.ics"
    line = scenario.refused("calendar", "export", "--summit", "x99", "-o", str(path))
    assert line == "doctrack: no summit 'x99'"
    assert list(out.iterdir()) == []


def test_unknown_summit_leaves_an_existing_file_as_it_was(scenario: Cli, out: Path) -> None:
    path = out / "x.ics"
    path.write_bytes(b"previous export")
    scenario.refused("calendar", "export", "--summit", "x99", "-o", str(path))
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in out.iterdir()] == ["x.ics"]


def test_unknown_summit_with_dash_prints_nothing_on_stdout(scenario: Cli) -> None:
    line = scenario.refused("calendar", "export", "--summit", "x99", "-o", "-")
    assert line == "doctrack: no summit 'x99'"


def test_output_in_a_missing_folder_is_a_usage_error(scenario: Cli, out: Path) -> None:
    path = out / "missing" / "c.ics"
    stderr = scenario.usage("calendar", "export", "-o", str(path))
    assert stderr == f"doctrack: cannot write {str(path)!r}: No such file or directory\n"
    assert list(out.iterdir()) == []


def test_output_that_is_a_folder_is_a_usage_error(scenario: Cli, out: Path) -> None:
    folder = out / "already-a-folder"
    folder.mkdir()
    stderr = scenario.usage("calendar", "export", "-o", str(folder))
    assert stderr.startswith(f"doctrack: cannot write {str(folder)!r}: ")
    assert len(stderr.splitlines()) == 1
    assert [p.name for p in out.iterdir()] == ["already-a-folder"]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", ["", ".", "/"])
def test_output_that_is_not_a_file_name_is_a_usage_error(scenario: Cli, name: str) -> None:
    stderr = scenario.usage("calendar", "export", "-o", name)
    assert stderr.startswith(f"doctrack: cannot write {name!r}: ")
    assert len(stderr.splitlines()) == 1
    assert list(Path.cwd().iterdir()) == []


def test_output_is_required(scenario: Cli) -> None:
    stderr = scenario.usage("calendar", "export")
    assert "Missing option '-o' / '--output'" in stderr


def test_database_without_schema_is_a_usage_error(bare_cli: Cli, out: Path) -> None:
    path = out / "c.ics"
    stderr = bare_cli.usage("calendar", "export", "-o", str(path))
    assert stderr.startswith("doctrack: ")
    assert "doctrack init" in stderr
    assert len(stderr.splitlines()) == 1
    assert list(out.iterdir()) == []
