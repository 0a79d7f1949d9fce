"""Reminder planning: rows appear, move and stop with their causes, in the same transaction.

Times follow DESIGN.md: a reminder N days before a deadline goes out at 09:00 in the
summit's zone on the calendar date of (due - N days); a summit reminder at 09:00 on the
date N days before the first day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import update
from tracking_support import add, reach, refused, set_clock

from doctrack.errors import NotFoundError, RefusedError, UsageError
from doctrack.services.planning import (
    DEADLINE_MET,
    FINAL_STATE,
    MOVED_INTO_PAST,
    NO_LONGER_RECIPIENT,
)
from doctrack.services.tracking import Tracker
from doctrack.storage import reminders as store
from doctrack.storage.tables import REMINDER
from doctrack.timerules import to_local


def listing(t: Tracker, **where: Any) -> list[dict[str, Any]]:
    """Every reminder as a dict, send time shown in the summit's zone; filtered by ``where``."""
    with t.db.read() as conn:
        found = [
            {
                "id": r.id,
                "kind": r.kind,
                "instrument": instrument,
                "summit": summit,
                "user": user,
                "days": r.days_before,
                "deadline_id": r.deadline_id,
                "send_at": to_local(r.send_at, tz).isoformat(),
                "status": r.status,
                "note": r.note,
                "message_id": r.message_id,
            }
            for r, instrument, summit, tz, user, _email in store.iter_listing(conn)
        ]
    return [row for row in found if all(row[k] == v for k, v in where.items())]


def times(t: Tracker, **where: Any) -> set[tuple[str, int, str]]:
    return {(r["user"], r["days"], r["send_at"]) for r in listing(t, **where)}


def milestone_rows(t: Tracker, slug: str, milestone: str, **where: Any) -> list[dict[str, Any]]:
    """The reminders of one deadline of ``slug``."""
    with t.db.read() as conn:
        ids = {
            d.id
            for d in store.deadlines_of_instruments(conn, [_instrument_id(t, slug)]).get(
                _instrument_id(t, slug), []
            )
            if d.milestone == milestone
        }
    return [r for r in listing(t, instrument=slug, **where) if r["deadline_id"] in ids]


def _instrument_id(t: Tracker, slug: str) -> int:
    from doctrack.storage import repo

    with t.db.read() as conn:
        found = repo.get_instrument(conn, slug)
    assert found is not None
    return found.id


# -- planning when things are added ------------------------------------------------------


def test_summit_reminders_are_planned_for_secretaries_at_nine_local(world: Tracker) -> None:
    assert times(world, kind="summit", summit="t16") == {
        ("sec", 30, "2016-05-24T09:00:00+05:00"),
        ("sec", 7, "2016-06-16T09:00:00+05:00"),
    }
    assert times(world, kind="summit", summit="a17") == {
        ("sec", 30, "2017-05-09T09:00:00+06:00"),
        ("sec", 7, "2017-06-01T09:00:00+06:00"),
    }


def test_adding_an_instrument_plans_each_deadline_offset_and_recipient(world: Tracker) -> None:
    add(world, "conv")  # lead KZ: recipients are the coordinator and KZ's delegate
    planned = listing(world, instrument="conv")
    assert {r["status"] for r in planned} == {"pending"}
    assert {r["user"] for r in planned} == {"coord", "kz"}
    agreed = milestone_rows(world, "conv", "agreed")  # due 2016-05-09 00:00+05:00
    assert {(r["days"], r["send_at"]) for r in agreed} == {
        (14, "2016-04-25T09:00:00+05:00"),
        (7, "2016-05-02T09:00:00+05:00"),
        (1, "2016-05-08T09:00:00+05:00"),
    }
    signed = milestone_rows(world, "conv", "signed")  # due 2016-06-25 00:00 (end of summit)
    assert {(r["days"], r["send_at"]) for r in signed} == {
        (14, "2016-06-11T09:00:00+05:00"),
        (7, "2016-06-18T09:00:00+05:00"),
        (1, "2016-06-24T09:00:00+05:00"),
    }
    assert len(planned) == 3 * 3 * 2  # three deadlines, three offsets, two recipients
    assert len({r["message_id"] for r in planned}) == len(planned)


def test_without_a_lead_party_only_the_coordinators_are_reminded(world: Tracker) -> None:
    add(world, "conv", lead=None)
    assert {r["user"] for r in listing(world, instrument="conv")} == {"coord"}


def test_a_user_with_two_matching_roles_gets_one_email(world: Tracker) -> None:
    world.add_user(
        "both", email="both@example.org", roles=["coordinator", "delegate"], party="KZ", actor="x"
    )
    add(world, "conv")
    mine = listing(world, instrument="conv", user="both")
    assert len(mine) == 9  # 3 deadlines x 3 offsets, not twice that


def test_reminders_whose_time_has_passed_are_not_planned(world: Tracker) -> None:
    set_clock(world, "2016-06-18T10:00:00+05:00")  # after the 7-day reminder of `signed`
    add(world, "late")
    assert {(r["days"], r["send_at"]) for r in milestone_rows(world, "late", "signed")} == {
        (1, "2016-06-24T09:00:00+05:00"),
    }
    assert milestone_rows(world, "late", "agreed") == []


def test_zone_with_daylight_saving_keeps_nine_local_across_the_change(tracker: Tracker) -> None:
    tracker.add_party("KZ", name="Kazakhstan", actor="x")
    tracker.add_user("coord", email="c@example.org", roles=["coordinator"], actor="x")
    tracker.add_summit(
        "berlin",
        title="T",
        city="Berlin",
        starts=date(2016, 4, 5),
        tz="Europe/Berlin",
        actor="x",
    )
    set_clock(tracker, datetime(2016, 1, 1, tzinfo=UTC))
    add(tracker, "conv", summit="berlin", lead=None)
    approved = milestone_rows(tracker, "conv", "approved")  # due 2016-03-22 00:00+01:00
    assert {(r["days"], r["send_at"]) for r in approved} == {
        (14, "2016-03-08T09:00:00+01:00"),
        (7, "2016-03-15T09:00:00+01:00"),
        (1, "2016-03-21T09:00:00+01:00"),
    }
    signed = milestone_rows(tracker, "conv", "signed")  # due 2016-04-06 00:00+02:00 (CEST)
    assert {(r["days"], r["send_at"]) for r in signed} == {
        (14, "2016-03-23T09:00:00+01:00"),
        (7, "2016-03-30T09:00:00+02:00"),  # the clocks went forward on 27 March
        (1, "2016-04-05T09:00:00+02:00"),
    }


def test_almaty_offset_change_of_2024_is_applied(tracker: Tracker) -> None:
    tracker.add_user("sec", email="s@example.org", roles=["secretary"], actor="x")
    set_clock(tracker, datetime(2024, 1, 1, tzinfo=UTC))
    tracker.add_summit(
        "astana",
        title="T",
        city="Astana",
        starts=date(2024, 3, 15),
        tz="Asia/Almaty",
        actor="x",
    )
    assert times(tracker, kind="summit") == {
        ("sec", 30, "2024-02-14T09:00:00+06:00"),
        ("sec", 7, "2024-03-08T09:00:00+05:00"),  # UTC+5 since 1 March 2024
    }


# -- moving, meeting, finishing ----------------------------------------------------------


def test_summit_move_moves_pending_reminders_and_keeps_sent_ones(world: Tracker) -> None:
    add(world, "conv")
    first = milestone_rows(world, "conv", "agreed", days=14, user="coord")[0]
    _mark(world, first["id"], status="sent")
    world.move_summit("t16", starts=date(2016, 7, 7), as_user="sec")  # two weeks later
    moved = {r["id"]: r for r in listing(world, instrument="conv")}
    assert moved[first["id"]]["send_at"] == first["send_at"]  # sent: untouched
    assert moved[first["id"]]["status"] == "sent"
    twin = milestone_rows(world, "conv", "agreed", days=14, user="kz")[0]
    assert twin["send_at"] == "2016-05-09T09:00:00+05:00"  # agreed now due 2016-05-23
    assert twin["status"] == "pending"
    assert times(world, kind="summit", summit="t16") == {
        ("sec", 30, "2016-06-07T09:00:00+05:00"),
        ("sec", 7, "2016-06-30T09:00:00+05:00"),
    }


def test_a_reminder_moved_into_the_past_is_cancelled_and_the_next_still_goes(
    world: Tracker,
) -> None:
    add(world, "conv")
    set_clock(world, "2016-04-28T12:00:00+05:00")
    # Earlier by a week: `agreed` falls due 2016-05-02; its 7-day reminder would have been
    # 2016-04-25, already past; the 1-day one (2016-05-01) still goes.
    world.move_summit("t16", starts=date(2016, 6, 16), as_user="sec")
    agreed = {r["days"]: r for r in milestone_rows(world, "conv", "agreed", user="coord")}
    assert agreed[14]["status"] == "cancelled"
    assert agreed[14]["note"] == MOVED_INTO_PAST
    assert agreed[7]["status"] == "cancelled"
    assert agreed[1]["status"] == "pending"
    assert agreed[1]["send_at"] == "2016-05-01T09:00:00+05:00"


def test_an_unchanged_pending_reminder_whose_time_passed_stays_pending(world: Tracker) -> None:
    add(world, "conv")
    set_clock(world, "2016-04-26T12:00:00+05:00")  # the 14-day `agreed` one was due yesterday
    world.add_user("other", email="o@example.org", roles=["drafter"], actor="x")  # re-plans all
    due = milestone_rows(world, "conv", "agreed", days=14, user="coord")[0]
    assert due["status"] == "pending"  # planned in time: it goes out late, not never


def test_meeting_a_deadline_cancels_its_reminders_only(world: Tracker) -> None:
    add(world, "conv")
    reach(world, "conv", "agreed")
    assert {r["status"] for r in milestone_rows(world, "conv", "agreed")} == {"cancelled"}
    assert {r["note"] for r in milestone_rows(world, "conv", "agreed")} == {DEADLINE_MET}
    assert {r["status"] for r in milestone_rows(world, "conv", "approved")} == {"pending"}


def test_a_final_state_cancels_every_pending_reminder(world: Tracker) -> None:
    add(world, "conv")
    world.advance("conv", "withdraw", as_user="sec")
    assert {(r["status"], r["note"]) for r in listing(world, instrument="conv")} == {
        ("cancelled", FINAL_STATE)
    }


def test_retarget_moves_reminders_to_the_new_summit_and_zone(world: Tracker) -> None:
    add(world, "conv")
    world.retarget("conv", summit="a17", as_user="coord", comment="not ready")
    signed = milestone_rows(world, "conv", "signed", user="coord")  # due 2017-06-10 00:00+06
    assert {(r["days"], r["send_at"], r["summit"]) for r in signed} == {
        (14, "2017-05-27T09:00:00+06:00", "a17"),
        (7, "2017-06-03T09:00:00+06:00", "a17"),
        (1, "2017-06-09T09:00:00+06:00", "a17"),
    }
    assert {r["status"] for r in listing(world, instrument="conv")} == {"pending"}


# -- users and roles ---------------------------------------------------------------------


def test_a_new_coordinator_is_reminded_of_existing_instruments(world: Tracker) -> None:
    add(world, "conv")
    world.add_user("aliya", email="aliya@example.org", roles=["coordinator"], actor="x")
    assert len(listing(world, instrument="conv", user="aliya")) == 9


def test_granting_and_revoking_a_role_plans_and_cancels(world: Tracker) -> None:
    add(world, "conv")
    world.grant_role("drafter", "coordinator")
    mine = listing(world, instrument="conv", user="drafter")
    assert len(mine) == 9
    assert {r["status"] for r in mine} == {"pending"}
    world.revoke_role("drafter", "coordinator")
    mine = listing(world, instrument="conv", user="drafter")
    assert {(r["status"], r["note"]) for r in mine} == {("cancelled", NO_LONGER_RECIPIENT)}
    world.grant_role("drafter", "coordinator")  # back again: the same rows, pending again
    again = listing(world, instrument="conv", user="drafter")
    assert {r["id"] for r in again} == {r["id"] for r in mine}
    assert {r["status"] for r in again} == {"pending"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.grant_role("drafter", "coordinator"), id="grant coordinator"),
        pytest.param(lambda t: t.grant_role("drafter", "secretary"), id="grant secretary"),
        pytest.param(lambda t: t.revoke_role("sec", "secretary"), id="revoke secretary"),
        pytest.param(
            lambda t: t.add_user(
                "kz2", email="kz2@example.org", roles=["delegate"], party="KZ", actor="x"
            ),
            id="a delegate of the lead party",
        ),
        pytest.param(
            lambda t: t.add_user(
                "cn2", email="cn2@example.org", roles=["delegate"], party="CN", actor="x"
            ),
            id="a delegate of another party",
        ),
        pytest.param(
            lambda t: t.add_user("d2", email="d2@example.org", roles=["drafter"], actor="x"),
            id="a drafter",
        ),
    ],
)
def test_a_user_change_plans_what_a_full_replanning_would(
    world: Tracker, change: Callable[[Tracker], object]
) -> None:
    """Only the reminders a user change can affect are planned again; planning everything
    afterwards must find nothing left to do."""
    world.grant_role("sec", "coordinator")  # so that revoking secretary leaves a role
    add(world, "conv")
    add(world, "other", lead="CN")
    change(world)
    after = listing(world)
    world.plan_reminders()
    assert listing(world) == after


def test_role_changes_are_refused_clearly(world: Tracker) -> None:
    refused(world, UsageError, lambda: world.grant_role("drafter", "king"), "unknown role")
    refused(world, NotFoundError, lambda: world.grant_role("nobody", "secretary"), "nobody")
    refused(world, RefusedError, lambda: world.grant_role("coord", "coordinator"), "already")
    refused(world, RefusedError, lambda: world.revoke_role("coord", "secretary"), "does not")
    refused(world, RefusedError, lambda: world.revoke_role("coord", "coordinator"), "without")
    refused(world, UsageError, lambda: world.grant_role("coord", "delegate"), "party")


def test_planning_again_changes_nothing(world: Tracker) -> None:
    add(world, "conv")
    before = listing(world)
    assert "pending" in world.plan_reminders()
    assert listing(world) == before


def test_a_sent_reminder_is_never_planned_again(world: Tracker) -> None:
    add(world, "conv")
    row = milestone_rows(world, "conv", "agreed", days=1, user="coord")[0]
    _mark(world, row["id"], status="sent")
    world.move_summit("t16", starts=date(2016, 7, 1), as_user="sec")
    world.move_summit("t16", starts=date(2016, 6, 23), as_user="sec")
    world.plan_reminders()
    same = [r for r in listing(world) if r["id"] == row["id"]]
    assert same == [row | {"status": "sent"}]
    assert len(milestone_rows(world, "conv", "agreed", days=1, user="coord")) == 1


@pytest.mark.parametrize("status", ["sent", "failed", "sending"])
def test_reminders_past_pending_are_left_alone_by_a_move(world: Tracker, status: str) -> None:
    add(world, "conv")
    row = milestone_rows(world, "conv", "approved", days=7, user="kz")[0]
    _mark(world, row["id"], status=status)
    world.move_summit("t16", starts=date(2016, 7, 1), as_user="sec")
    after = next(r for r in listing(world) if r["id"] == row["id"])
    assert (after["status"], after["send_at"]) == (status, row["send_at"])


def _mark(t: Tracker, reminder_id: int, *, status: str) -> None:
    with t.db.write() as conn:
        conn.execute(update(REMINDER).where(REMINDER.c.id == reminder_id).values(status=status))
