"""The iCalendar export: summits as all-day events, deadlines at their due time in the summit's
zone with a VTIMEZONE, stable UIDs, reproducible output. Every .ics is parsed back with
icalendar; due times are computed by hand from DESIGN.md's time rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event
from tracking_support import add, create, set_clock

from doctrack.errors import NotFoundError
from doctrack.services.calendar import export_calendar
from doctrack.services.tracking import Tracker
from helpers import START, approve_all

DUES = {
    ("convention", "t16"): {
        "agreed": "2016-05-09T00:00:00+05:00",
        "approved": "2016-06-09T00:00:00+05:00",
        "signed": "2016-06-25T00:00:00+05:00",
    },
    ("programme", "t16"): {
        "agreed": "2016-05-24T00:00:00+05:00",
        "approved": "2016-06-13T00:00:00+05:00",
        "adopted": "2016-06-25T00:00:00+05:00",
    },
    ("convention", "a17"): {
        "agreed": "2017-04-24T00:00:00+06:00",
        "approved": "2017-05-25T00:00:00+06:00",
        "signed": "2017-06-10T00:00:00+06:00",
    },
}
ZONES = {"t16": "Asia/Tashkent", "a17": "Asia/Almaty"}


def parse(tracker: Tracker, summit: str | None = None) -> Calendar:
    return Calendar.from_ical(export_calendar(tracker, summit=summit).ics)


def by_uid(calendar: Calendar) -> dict[str, Event]:
    return {str(e["UID"]): e for e in calendar.events}


def deadline_starts(calendar: Calendar) -> dict[str, str]:
    return {
        str(e["UID"]): e.start.isoformat() for e in calendar.events if "deadline" in e.categories
    }


def uids(calendar: Calendar) -> list[str]:
    return [str(e["UID"]) for e in calendar.events]


# -- the calendar itself ------------------------------------------------------------------


def test_calendar_header(world: Tracker) -> None:
    calendar = parse(world)
    assert str(calendar["PRODID"]) == "-//doctrack//calendar//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "doctrack: summits and deadlines"


def test_empty_database_gives_a_calendar_without_events(tracker: Tracker) -> None:
    exported = export_calendar(tracker)
    assert (exported.summits, exported.deadlines, exported.events) == (0, 0, 0)
    calendar = Calendar.from_ical(exported.ics)
    assert calendar.events == []
    assert calendar.timezones == []


def test_counts_match_the_events(world: Tracker) -> None:
    add(world, "conv")
    add(world, "prog", "programme", summit="a17")
    exported = export_calendar(world)
    assert (exported.summits, exported.deadlines, exported.events) == (2, 6, 8)
    assert len(Calendar.from_ical(exported.ics).events) == 8


# -- summits ------------------------------------------------------------------------------


def test_summit_is_an_all_day_event_with_exclusive_end(world: Tracker) -> None:
    events = by_uid(parse(world))
    t16 = events["summit-t16@doctrack"]
    assert t16["DTSTART"].params.get("VALUE") == "DATE"
    assert type(t16.start) is date
    assert type(t16.end) is date
    assert (t16.start, t16.end) == (date(2016, 6, 23), date(2016, 6, 25))
    assert str(t16["SUMMARY"]) == "Council of Heads of State, Tashkent"
    assert str(t16["LOCATION"]) == "Tashkent"
    assert list(t16.categories) == ["summit"]
    a17 = events["summit-a17@doctrack"]
    assert (a17.start, a17.end) == (date(2017, 6, 8), date(2017, 6, 10))
    assert str(a17["LOCATION"]) == "Astana"


def test_one_day_summit_ends_the_next_day(world: Tracker) -> None:
    world.add_summit(
        "ss16",
        title="Security Council Secretaries",
        city="Tashkent",
        starts=date(2016, 4, 13),
        tz="Asia/Tashkent",
        actor="setup",
    )
    event = by_uid(parse(world))["summit-ss16@doctrack"]
    assert (event.start, event.end) == (date(2016, 4, 13), date(2016, 4, 14))


# -- deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(("workflow", "summit"), list(DUES))
def test_deadline_starts_at_the_due_time_in_the_summits_zone(
    world: Tracker, workflow: str, summit: str
) -> None:
    add(world, "doc", workflow, summit=summit)
    events = by_uid(parse(world))
    for milestone, due in DUES[workflow, summit].items():
        event = events[f"deadline-doc-{milestone}@doctrack"]
        assert event.start == datetime.fromisoformat(due)
        assert event.start.isoformat() == due
        assert event["DTSTART"].params["TZID"] == ZONES[summit]
        assert event.start.tzinfo == ZoneInfo(ZONES[summit])


def test_deadline_is_an_instant_without_dtend(world: Tracker) -> None:
    add(world, "conv")
    event = by_uid(parse(world))["deadline-conv-agreed@doctrack"]
    assert "DTEND" not in event
    assert "DURATION" not in event
    assert event.end == event.start
    assert str(event["TRANSP"]) == "TRANSPARENT"


def test_deadline_summary_description_and_category(world: Tracker) -> None:
    add(world, "conv")
    event = by_uid(parse(world))["deadline-conv-agreed@doctrack"]
    assert str(event["SUMMARY"]) == "Due: Agreed ad referendum — conv"
    assert list(event.categories) == ["deadline"]
    description = str(event["DESCRIPTION"])
    assert "conv must reach agreed (Agreed ad referendum) by 2016-05-09T00:00:00+05:00" in (
        description
    )
    assert "Status: pending" in description
    assert "Current state: drafting" in description
    assert "As of 2016-03-01T11:00:00+05:00." in description


def test_deadline_description_says_met_or_missed(world: Tracker) -> None:
    create(world, "ontime", "expert_review")
    create(world, "late", "expert_review")
    set_clock(world, "2016-05-01T10:00:00+05:00")
    approve_all(world, "ontime")
    world.advance("ontime", "agree", as_user="coord")
    set_clock(world, "2016-05-10T00:00:00+05:00")
    events = by_uid(parse(world))
    ontime = str(events["deadline-ontime-agreed@doctrack"]["DESCRIPTION"])
    assert "Status: met, met 2016-05-01T10:00:00+05:00" in ontime
    assert "Current state: agreed" in ontime
    late = str(events["deadline-late-agreed@doctrack"]["DESCRIPTION"])
    assert "Status: missed" in late
    assert "Current state: expert_review" in late


# -- time zones ---------------------------------------------------------------------------


def test_each_zone_used_has_one_vtimezone(world: Tracker) -> None:
    add(world, "conv")
    add(world, "next", summit="a17")
    calendar = parse(world)
    assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Almaty", "Asia/Tashkent"]
    assert calendar.get_missing_tzids() == set()
    assert calendar.get_used_tzids() == {"Asia/Almaty", "Asia/Tashkent"}


def test_no_vtimezone_without_deadlines(world: Tracker) -> None:
    calendar = parse(world)
    assert calendar.timezones == []
    assert calendar.get_used_tzids() == set()


def test_vtimezone_alone_gives_the_local_offsets(world: Tracker) -> None:
    """A client that ignores the TZID's name and reads only the VTIMEZONE shows the right
    wall time, also across Asia/Almaty's change from UTC+6 to UTC+5 on 1 March 2024."""
    world.add_summit(
        "a24",
        title="Council of Heads of State",
        city="Astana",
        starts=date(2024, 4, 10),
        ends=date(2024, 4, 11),
        tz="Asia/Almaty",
        actor="setup",
    )
    add(world, "conv", summit="a24")
    calendar = parse(world)
    (almaty,) = calendar.timezones
    own = almaty.to_tz(lookup_tzid=False)
    events = by_uid(calendar)
    expected = {
        "agreed": datetime(2024, 2, 24, 18, 0, tzinfo=UTC),  # 2024-02-25 00:00+06:00
        "approved": datetime(2024, 3, 26, 19, 0, tzinfo=UTC),  # 2024-03-27 00:00+05:00
        "signed": datetime(2024, 4, 11, 19, 0, tzinfo=UTC),  # 2024-04-12 00:00+05:00
    }
    for milestone, due in expected.items():
        start = events[f"deadline-conv-{milestone}@doctrack"].start
        assert start == due
        wall = start.replace(tzinfo=None)
        assert wall.replace(tzinfo=own) == due, milestone


def test_vtimezone_holds_daylight_saving_rules(world: Tracker) -> None:
    world.add_summit(
        "b16",
        title="Conference",
        city="Berlin",
        starts=date(2016, 11, 10),
        tz="Europe/Berlin",
        actor="setup",
    )
    add(world, "conv", summit="b16")
    calendar = parse(world, "b16")
    (berlin,) = calendar.timezones
    assert berlin.daylight
    assert berlin.standard
    own = berlin.to_tz(lookup_tzid=False)
    events = by_uid(calendar)
    # agreed: 45 days before 10 November = 26 September, in summer time (+02:00)
    agreed = events["deadline-conv-agreed@doctrack"].start
    assert agreed.isoformat() == "2016-09-26T00:00:00+02:00"
    assert agreed.replace(tzinfo=None).replace(tzinfo=own).utcoffset().total_seconds() == 7200
    # signed: 00:00 on 11 November, in winter time (+01:00)
    signed = events["deadline-conv-signed@doctrack"].start
    assert signed.isoformat() == "2016-11-11T00:00:00+01:00"
    assert signed.replace(tzinfo=None).replace(tzinfo=own).utcoffset().total_seconds() == 3600


# -- UIDs, DTSTAMP, reproducibility -------------------------------------------------------


def test_uids_are_unique_and_name_the_summit_or_the_deadline(world: Tracker) -> None:
    add(world, "conv")
    add(world, "prog", "programme", summit="a17")
    found = uids(parse(world))
    assert len(found) == len(set(found))
    assert sorted(found) == [
        "deadline-conv-agreed@doctrack",
        "deadline-conv-approved@doctrack",
        "deadline-conv-signed@doctrack",
        "deadline-prog-adopted@doctrack",
        "deadline-prog-agreed@doctrack",
        "deadline-prog-approved@doctrack",
        "summit-a17@doctrack",
        "summit-t16@doctrack",
    ]


def test_uids_stay_the_same_across_exports(world: Tracker) -> None:
    add(world, "conv")
    add(world, "prog", "programme")
    first = uids(parse(world))
    create(world, "other", "drafting")
    set_clock(world, "2016-05-10T00:00:00+05:00")
    second = uids(parse(world))
    assert set(first) < set(second)
    assert set(second) - set(first) == {
        "deadline-other-agreed@doctrack",
        "deadline-other-approved@doctrack",
        "deadline-other-signed@doctrack",
    }


def test_dtstamp_comes_from_the_trackers_clock(world: Tracker) -> None:
    add(world, "conv")
    set_clock(world, "2016-04-02T09:30:00+05:00")
    events = parse(world).events
    assert events
    assert {e.stamp for e in events} == {datetime(2016, 4, 2, 4, 30, tzinfo=UTC)}


def test_same_data_and_clock_give_the_same_bytes(world: Tracker) -> None:
    add(world, "conv")
    add(world, "next", summit="a17")
    assert export_calendar(world).ics == export_calendar(world).ics
    assert export_calendar(world, summit="t16").ics == export_calendar(world, summit="t16").ics


def test_export_changes_nothing(world: Tracker) -> None:
    add(world, "conv")
    before = (world.show("conv"), world.list_summits(), list(world.deadlines()))
    export_calendar(world)
    export_calendar(world, summit="t16")
    assert (world.show("conv"), world.list_summits(), list(world.deadlines())) == before
    assert world.clock.now() == START


# -- one summit ---------------------------------------------------------------------------


def test_summit_filter_keeps_that_summit_and_its_deadlines(world: Tracker) -> None:
    add(world, "conv")
    add(world, "next", summit="a17")
    calendar = parse(world, "a17")
    assert sorted(uids(calendar)) == [
        "deadline-next-agreed@doctrack",
        "deadline-next-approved@doctrack",
        "deadline-next-signed@doctrack",
        "summit-a17@doctrack",
    ]
    assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Almaty"]
    assert str(calendar["X-WR-CALNAME"]) == "doctrack: Council of Heads of State, Astana (a17)"
    exported = export_calendar(world, summit="a17")
    assert (exported.summits, exported.deadlines) == (1, 3)


def test_summit_filter_uids_match_the_full_export(world: Tracker) -> None:
    add(world, "conv")
    add(world, "next", summit="a17")
    full = by_uid(parse(world))
    for summit in ("t16", "a17"):
        for uid, event in by_uid(parse(world, summit)).items():
            assert full[uid].to_ical() == event.to_ical()


def test_unknown_summit_is_not_found(world: Tracker) -> None:
    with pytest.raises(NotFoundError, match="no summit 'x99'"):
        export_calendar(world, summit="x99")


# -- moves --------------------------------------------------------------------------------


def test_summit_move_moves_the_events_and_keeps_the_uids(world: Tracker) -> None:
    add(world, "conv")
    before = parse(world)
    world.move_summit("t16", starts=date(2016, 7, 7), as_user="sec", comment="Ufa")
    after = parse(world)
    assert uids(after) != [] and sorted(uids(after)) == sorted(uids(before))
    assert deadline_starts(before) == {
        f"deadline-conv-{m}@doctrack": due for m, due in DUES["convention", "t16"].items()
    }
    assert deadline_starts(after) == {
        "deadline-conv-agreed@doctrack": "2016-05-23T00:00:00+05:00",
        "deadline-conv-approved@doctrack": "2016-06-23T00:00:00+05:00",
        "deadline-conv-signed@doctrack": "2016-07-09T00:00:00+05:00",
    }
    moved = by_uid(after)["summit-t16@doctrack"]
    assert (moved.start, moved.end) == (date(2016, 7, 7), date(2016, 7, 9))


def test_retarget_moves_the_deadlines_to_the_new_zone(world: Tracker) -> None:
    add(world, "conv")
    world.retarget("conv", summit="a17", as_user="coord", comment="carried over")
    events = by_uid(parse(world))
    for milestone, due in DUES["convention", "a17"].items():
        event = events[f"deadline-conv-{milestone}@doctrack"]
        assert event.start.isoformat() == due
        assert event["DTSTART"].params["TZID"] == "Asia/Almaty"
    assert uids(parse(world, "t16")) == ["summit-t16@doctrack"]
