"""The named guards: each holds or says what is missing; summit_in_session at its boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from engine_fakes import BEFORE, PARTY_CODES, T16, FakeFacts, everyone

from doctrack.domain import Stance, SummitDays
from doctrack.engine.guards import GUARDS, describe

SECOND = timedelta(seconds=1)


def run(name: str, facts: FakeFacts) -> str | None:
    return GUARDS[name](facts)


def test_registry_holds_the_designed_guards() -> None:
    assert set(GUARDS) >= {
        "has_revision",
        "all_parties_approve",
        "no_objection",
        "dependencies_adopted",
        "summit_in_session",
    }


def test_every_guard_has_a_description() -> None:
    assert all(text for text in describe().values())
    assert set(describe()) == set(GUARDS)


def test_every_guard_holds_on_the_default_facts() -> None:
    assert {name: run(name, FakeFacts()) for name in GUARDS} == dict.fromkeys(GUARDS)


# -- has_revision --------------------------------------------------------------------------


def test_has_revision_holds_with_a_revision() -> None:
    assert run("has_revision", FakeFacts(rev=1)) is None


def test_has_revision_fails_without_a_revision() -> None:
    assert run("has_revision", FakeFacts(rev=None)) == "no draft revision uploaded yet"


# -- all_parties_approve -------------------------------------------------------------------


def test_all_parties_approve_holds_when_everyone_approves() -> None:
    assert run("all_parties_approve", FakeFacts(stances=everyone(Stance.APPROVE))) is None


def test_all_parties_approve_names_the_parties_without_approve_sorted() -> None:
    stances = everyone(Stance.APPROVE) | {"UZ": Stance.RESERVE, "KG": Stance.OBJECT}
    del stances["RU"]
    detail = run("all_parties_approve", FakeFacts(rev=3, stances=stances))
    assert detail == "no approve on revision 3 from KG, RU, UZ"


def test_all_parties_approve_with_no_positions_names_every_party() -> None:
    detail = run("all_parties_approve", FakeFacts(rev=2, stances={}))
    assert detail == f"no approve on revision 2 from {', '.join(PARTY_CODES)}"


def test_all_parties_approve_fails_without_a_revision() -> None:
    detail = run("all_parties_approve", FakeFacts(rev=None))
    assert detail == "no draft revision uploaded yet"


def test_all_parties_approve_ignores_a_stance_from_a_non_party() -> None:
    stances = everyone(Stance.APPROVE) | {"IN": Stance.OBJECT}
    assert run("all_parties_approve", FakeFacts(stances=stances)) is None


# -- no_objection --------------------------------------------------------------------------


def test_no_objection_holds_with_reserves_and_missing_positions() -> None:
    assert run("no_objection", FakeFacts(stances={"CN": Stance.RESERVE})) is None


def test_no_objection_names_the_objecting_parties_sorted() -> None:
    stances = {"RU": Stance.OBJECT, "CN": Stance.OBJECT, "KZ": Stance.RESERVE}
    detail = run("no_objection", FakeFacts(rev=4, stances=stances))
    assert detail == "revision 4 has objections from CN, RU"


# -- dependencies_adopted ------------------------------------------------------------------


def test_dependencies_adopted_holds_without_dependencies() -> None:
    assert run("dependencies_adopted", FakeFacts(deps=[])) is None


def test_dependencies_adopted_holds_when_every_dependency_is_adopted() -> None:
    deps = [("strategy", "adopted", True), ("treaty", "in_force", True)]
    assert run("dependencies_adopted", FakeFacts(deps=deps)) is None


def test_dependencies_adopted_names_the_pending_ones_with_their_states() -> None:
    deps = [
        ("action-plan", "agreed", False),
        ("strategy", "adopted", True),
        ("treaty", "drafting", False),
    ]
    detail = run("dependencies_adopted", FakeFacts(deps=deps))
    assert detail == "dependencies not adopted: action-plan (agreed), treaty (drafting)"


# -- summit_in_session ---------------------------------------------------------------------


def at_local(day: date, hh: int, mm: int, ss: int, days: SummitDays, fold: int = 0) -> datetime:
    wall = datetime(day.year, day.month, day.day, hh, mm, ss, fold=fold, tzinfo=ZoneInfo(days.tz))
    return wall.astimezone(UTC)


def in_session(now: datetime, days: SummitDays) -> bool:
    return run("summit_in_session", FakeFacts(now=now, days=days)) is None


TASHKENT = T16
BERLIN_SPRING = SummitDays(starts=date(2025, 3, 29), ends=date(2025, 3, 30), tz="Europe/Berlin")
BERLIN_AUTUMN = SummitDays(starts=date(2025, 10, 25), ends=date(2025, 10, 26), tz="Europe/Berlin")
NEW_YORK_AUTUMN = SummitDays(
    starts=date(2025, 11, 1), ends=date(2025, 11, 2), tz="America/New_York"
)
SUMMITS = [TASHKENT, BERLIN_SPRING, BERLIN_AUTUMN, NEW_YORK_AUTUMN]


@pytest.mark.parametrize("days", SUMMITS, ids=lambda d: f"{d.tz}-{d.starts}")
def test_in_session_from_midnight_local_on_the_first_day(days: SummitDays) -> None:
    first = at_local(days.starts, 0, 0, 0, days)
    assert in_session(first, days)
    assert not in_session(first - SECOND, days)


@pytest.mark.parametrize("days", SUMMITS, ids=lambda d: f"{d.tz}-{d.starts}")
def test_in_session_until_the_last_second_of_the_last_day(days: SummitDays) -> None:
    last = at_local(days.ends, 23, 59, 59, days)
    after = at_local(days.ends + timedelta(days=1), 0, 0, 0, days)
    assert in_session(last, days)
    assert not in_session(after, days)
    assert after - last == SECOND


def test_in_session_tashkent_boundaries_in_utc() -> None:
    assert in_session(datetime(2016, 6, 22, 19, 0, 0, tzinfo=UTC), TASHKENT)
    assert not in_session(datetime(2016, 6, 22, 18, 59, 59, tzinfo=UTC), TASHKENT)
    assert in_session(datetime(2016, 6, 24, 18, 59, 59, tzinfo=UTC), TASHKENT)
    assert not in_session(datetime(2016, 6, 24, 19, 0, 0, tzinfo=UTC), TASHKENT)


def test_in_session_berlin_spring_forward_last_day_ends_at_22_utc() -> None:
    # 30 March 2025 has 23 hours in Berlin: the day after starts at 00:00 CEST = 22:00 UTC.
    assert in_session(datetime(2025, 3, 28, 23, 0, tzinfo=UTC), BERLIN_SPRING)
    assert in_session(datetime(2025, 3, 30, 21, 59, 59, tzinfo=UTC), BERLIN_SPRING)
    assert not in_session(datetime(2025, 3, 30, 22, 0, tzinfo=UTC), BERLIN_SPRING)


def test_in_session_berlin_fall_back_last_day_ends_at_23_utc() -> None:
    # 26 October 2025 has 25 hours in Berlin: it starts at 22:00 UTC and ends at 23:00 UTC.
    assert not in_session(datetime(2025, 10, 24, 21, 59, 59, tzinfo=UTC), BERLIN_AUTUMN)
    assert in_session(datetime(2025, 10, 24, 22, 0, tzinfo=UTC), BERLIN_AUTUMN)
    assert in_session(datetime(2025, 10, 26, 22, 59, 59, tzinfo=UTC), BERLIN_AUTUMN)
    assert not in_session(datetime(2025, 10, 26, 23, 0, tzinfo=UTC), BERLIN_AUTUMN)


def test_in_session_new_york_across_the_end_of_dst() -> None:
    # Starts 00:00 EDT (04:00 UTC) on 1 Nov, ends 00:00 EST (05:00 UTC) on 3 Nov.
    assert not in_session(datetime(2025, 11, 1, 3, 59, 59, tzinfo=UTC), NEW_YORK_AUTUMN)
    assert in_session(datetime(2025, 11, 1, 4, 0, tzinfo=UTC), NEW_YORK_AUTUMN)
    assert in_session(datetime(2025, 11, 3, 4, 59, 59, tzinfo=UTC), NEW_YORK_AUTUMN)
    assert not in_session(datetime(2025, 11, 3, 5, 0, tzinfo=UTC), NEW_YORK_AUTUMN)


def test_summit_in_session_detail_names_the_days_zone_and_local_time() -> None:
    now = datetime(2016, 6, 24, 19, 0, tzinfo=UTC)  # 25 June 00:00 in Tashkent
    detail = run("summit_in_session", FakeFacts(now=now, days=TASHKENT))
    assert detail == (
        "the summit is not in session: it runs 2016-06-23 to 2016-06-24 (Asia/Tashkent), "
        "now is 2016-06-25 00:00 there"
    )


def test_summit_in_session_detail_before_the_summit_shows_local_time() -> None:
    detail = run("summit_in_session", FakeFacts(now=BEFORE, days=TASHKENT))
    assert detail is not None
    assert detail.endswith("now is 2016-03-01 11:00 there")
