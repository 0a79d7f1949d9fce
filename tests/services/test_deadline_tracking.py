"""Deadlines: due times from the summit, met and missed, overdue lists, summit moves and
retargeting. Due times are computed by hand from DESIGN.md's time rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from tracking_support import add, create, refused, set_clock

from doctrack.errors import (
    GuardFailedError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    UsageError,
)
from doctrack.services.tracking import Tracker
from helpers import approve_all

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
    ("programme", "a17"): {
        "agreed": "2017-05-09T00:00:00+06:00",
        "approved": "2017-05-29T00:00:00+06:00",
        "adopted": "2017-06-10T00:00:00+06:00",
    },
}


def dues(t: Tracker, slug: str) -> dict[str, str]:
    return {d["milestone"]: d["due"] for d in t.show(slug).to_json()["deadlines"]}


def deadline(t: Tracker, slug: str, milestone: str) -> dict[str, Any]:
    deadlines: list[dict[str, Any]] = t.show(slug).to_json()["deadlines"]
    (found,) = [d for d in deadlines if d["milestone"] == milestone]
    return found


def agree(t: Tracker, slug: str) -> None:
    approve_all(t, slug)
    t.advance(slug, "agree", as_user="coord")


# -- due times ----------------------------------------------------------------------------


@pytest.mark.parametrize(("workflow", "summit"), list(DUES))
def test_due_times(world: Tracker, workflow: str, summit: str) -> None:
    add(world, "doc", workflow, summit=summit)
    assert dues(world, "doc") == DUES[workflow, summit]


def test_due_times_are_stored_in_utc(world: Tracker) -> None:
    add(world, "conv")
    agreed = world.show("conv").deadlines[0]
    assert agreed.due == datetime(2016, 5, 8, 19, 0, tzinfo=UTC)


def test_new_deadlines_are_pending(world: Tracker) -> None:
    add(world, "conv")
    deadlines = world.show("conv").to_json()["deadlines"]
    assert {(d["status"], d["met_at"]) for d in deadlines} == {("pending", None)}


# -- met, missed, pending -----------------------------------------------------------------


@pytest.mark.parametrize("entered", ["2016-03-01T11:00:00+05:00", "2016-05-08T23:59:59+05:00"])
def test_deadline_met_when_state_entered_before_due(world: Tracker, entered: str) -> None:
    create(world, "conv", "expert_review")
    set_clock(world, entered)
    agree(world, "conv")
    assert deadline(world, "conv", "agreed") == {
        "milestone": "agreed",
        "label": "Agreed ad referendum",
        "due": "2016-05-09T00:00:00+05:00",
        "status": "met",
        "met_at": entered,
    }


@pytest.mark.parametrize("entered", ["2016-05-09T00:00:00+05:00", "2016-05-20T15:00:00+05:00"])
def test_deadline_missed_when_state_entered_after_due(world: Tracker, entered: str) -> None:
    create(world, "conv", "expert_review")
    set_clock(world, entered)
    agree(world, "conv")
    found = deadline(world, "conv", "agreed")
    assert (found["status"], found["met_at"]) == ("missed", entered)


def test_deadline_pending_until_due_then_missed(world: Tracker) -> None:
    add(world, "conv")
    set_clock(world, "2016-05-08T23:59:59+05:00")
    assert deadline(world, "conv", "agreed")["status"] == "pending"
    set_clock(world, "2016-05-09T00:00:00+05:00")
    assert deadline(world, "conv", "agreed")["status"] == "missed"
    assert deadline(world, "conv", "approved")["status"] == "pending"


def test_deadlines_lists_every_deadline_in_due_order(world: Tracker) -> None:
    add(world, "prog", "programme")
    add(world, "conv")
    rows = [(d.instrument, d.milestone) for d in world.deadlines()]
    assert rows == [
        ("conv", "agreed"),
        ("prog", "agreed"),
        ("conv", "approved"),
        ("prog", "approved"),
        ("conv", "signed"),
        ("prog", "adopted"),
    ]
    first = next(iter(world.deadlines())).to_json()
    assert first == {
        "instrument": "conv",
        "summit": "t16",
        "milestone": "agreed",
        "label": "Agreed ad referendum",
        "due": "2016-05-09T00:00:00+05:00",
        "status": "pending",
        "met_at": None,
        "state": "drafting",
    }


def test_overdue_lists_only_passed_unmet_deadlines_of_open_instruments(world: Tracker) -> None:
    add(world, "late")
    create(world, "ontime", "agreed")
    create(world, "gone", "withdrawn")
    add(world, "prog", "programme")
    add(world, "next-year", summit="a17")
    create(world, "late-met", "expert_review")
    set_clock(world, "2016-05-10T00:00:00+05:00")
    agree(world, "late-met")
    assert [(d.instrument, d.milestone, d.status.value) for d in world.deadlines(overdue=True)] == [
        ("late", "agreed", "missed")
    ]
    set_clock(world, "2016-06-10T00:00:00+05:00")
    assert [(d.instrument, d.milestone) for d in world.deadlines(overdue=True)] == [
        ("late", "agreed"),
        ("prog", "agreed"),
        ("late", "approved"),
        ("late-met", "approved"),
        ("ontime", "approved"),
    ]


def test_deadlines_filter_by_summit(world: Tracker) -> None:
    add(world, "conv")
    add(world, "next-year", summit="a17")
    assert {d.instrument for d in world.deadlines(summit="a17")} == {"next-year"}
    with pytest.raises(NotFoundError, match="no summit 'x99'"):
        list(world.deadlines(summit="x99"))


# -- moving a summit ----------------------------------------------------------------------


@pytest.mark.parametrize("user", ["coord", "sec", "admin"])
def test_move_summit_allowed_roles(world: Tracker, user: str) -> None:
    moved = world.move_summit("t16", starts=date(2016, 7, 7), as_user=user, comment="Ufa")
    assert (moved.starts, moved.ends, moved.version) == (date(2016, 7, 7), date(2016, 7, 8), 2)
    assert world.get_summit("t16") == moved


@pytest.mark.parametrize("user", ["drafter", "kz"])
def test_move_summit_refused_for_other_roles(world: Tracker, user: str) -> None:
    add(world, "conv")
    err = refused(
        world,
        NotAllowedError,
        lambda: world.move_summit("t16", starts=date(2016, 7, 7), as_user=user),
        f"{user!r} may not move summit 't16'",
    )
    assert err.needed == ("coordinator", "secretary")


def test_move_summit_with_ends(world: Tracker) -> None:
    moved = world.move_summit("t16", starts=date(2016, 7, 7), ends=date(2016, 7, 9), as_user="sec")
    assert (moved.starts, moved.ends) == (date(2016, 7, 7), date(2016, 7, 9))


def test_move_summit_refuses_ends_before_starts(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world,
        UsageError,
        lambda: world.move_summit(
            "t16", starts=date(2016, 7, 7), ends=date(2016, 7, 6), as_user="sec"
        ),
        r"ends \(2016-07-06\) before it starts \(2016-07-07\)",
    )


@pytest.mark.parametrize("ends", [None, date(2016, 6, 24)])
def test_move_summit_refuses_the_same_dates(world: Tracker, ends: date | None) -> None:
    add(world, "conv")
    refused(
        world,
        UsageError,
        lambda: world.move_summit("t16", starts=date(2016, 6, 23), ends=ends, as_user="sec"),
        "summit 't16' already runs 2016-06-23 to 2016-06-24",
    )


def test_move_summit_refuses_unknown_summit(world: Tracker) -> None:
    refused(
        world,
        NotFoundError,
        lambda: world.move_summit("x99", starts=date(2016, 7, 7), as_user="sec"),
        "no summit 'x99'",
    )


def test_move_summit_recomputes_every_instrument_deadline(world: Tracker) -> None:
    create(world, "conv", "agreed")
    add(world, "prog", "programme")
    add(world, "next-year", summit="a17")
    world.move_summit("t16", starts=date(2016, 7, 7), as_user="sec")
    assert dues(world, "conv") == {
        "agreed": "2016-05-23T00:00:00+05:00",
        "approved": "2016-06-23T00:00:00+05:00",
        "signed": "2016-07-09T00:00:00+05:00",
    }
    assert dues(world, "prog") == {
        "agreed": "2016-06-07T00:00:00+05:00",
        "approved": "2016-06-27T00:00:00+05:00",
        "adopted": "2016-07-09T00:00:00+05:00",
    }
    assert dues(world, "next-year") == DUES["convention", "a17"]


def test_move_summit_keeps_met_at(world: Tracker) -> None:
    set_clock(world, "2016-04-01T10:00:00+05:00")
    create(world, "conv", "agreed")
    world.move_summit("t16", starts=date(2016, 7, 7), as_user="sec")
    assert deadline(world, "conv", "agreed")["met_at"] == "2016-04-01T10:00:00+05:00"
    assert deadline(world, "conv", "agreed")["status"] == "met"
    world.move_summit("t16", starts=date(2016, 5, 1), as_user="sec")
    found = deadline(world, "conv", "agreed")
    assert found["due"] == "2016-03-17T00:00:00+05:00"
    assert (found["met_at"], found["status"]) == ("2016-04-01T10:00:00+05:00", "missed")


# -- retargeting --------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["coord", "sec", "admin"])
def test_retarget_moves_deadlines_to_the_new_summit_zone(world: Tracker, user: str) -> None:
    create(world, "conv", "agreed")
    version = world.show("conv").version
    view = world.retarget("conv", summit="a17", as_user=user, comment="no consensus in 2016")
    assert (view.summit, view.version) == ("a17", version + 1)
    assert dues(world, "conv") == DUES["convention", "a17"]
    assert deadline(world, "conv", "agreed")["met_at"] == "2016-03-01T12:00:00+06:00"
    event = world.history("conv")[-1].to_json()
    assert {k: event[k] for k in ("kind", "actor", "trigger", "from", "to", "comment")} == {
        "kind": "retarget",
        "actor": user,
        "trigger": None,
        "from": None,
        "to": None,
        "comment": "no consensus in 2016",
    }
    assert event["payload"] == {"from_summit": "t16", "to_summit": "a17"}


def test_retarget_moves_the_session_guard_to_the_new_summit(world: Tracker) -> None:
    create(world, "conv", "approved")
    world.retarget("conv", summit="a17", as_user="sec", comment="postponed")
    set_clock(world, "2016-06-23T12:00:00+05:00")
    refused(
        world,
        GuardFailedError,
        lambda: world.advance("conv", "sign", as_user="sec"),
        "it runs 2017-06-08 to 2017-06-09",
    )
    set_clock(world, "2017-06-08T00:30:00+06:00")
    assert world.advance("conv", "sign", as_user="sec").to_state == "signed"


@pytest.mark.parametrize("user", ["drafter", "kz"])
def test_retarget_refused_for_other_roles(world: Tracker, user: str) -> None:
    add(world, "conv")
    err = refused(
        world,
        NotAllowedError,
        lambda: world.retarget("conv", summit="a17", as_user=user, comment="c"),
        f"{user!r} may not retarget 'conv'",
    )
    assert err.needed == ("coordinator", "secretary")


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_retarget_needs_a_comment(world: Tracker, comment: str | None) -> None:
    add(world, "conv")
    refused(
        world,
        UsageError,
        lambda: world.retarget("conv", summit="a17", as_user="sec", comment=comment),  # type: ignore[arg-type]
        "retarget needs --comment",
    )


def test_retarget_refuses_the_same_summit(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world,
        UsageError,
        lambda: world.retarget("conv", summit="t16", as_user="sec", comment="c"),
        "'conv' already targets summit 't16'",
    )


def test_retarget_refuses_unknown_summit(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world,
        NotFoundError,
        lambda: world.retarget("conv", summit="x99", as_user="sec", comment="c"),
        "no summit 'x99'",
    )


def test_retarget_refuses_a_final_instrument(world: Tracker) -> None:
    create(world, "conv", "withdrawn")
    refused(
        world,
        RefusedError,
        lambda: world.retarget("conv", summit="a17", as_user="sec", comment="c"),
        "cannot retarget 'conv': it is in the final state 'withdrawn'",
    )
