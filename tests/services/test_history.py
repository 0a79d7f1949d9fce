"""Row versions and the history: one event and one version per change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tracking_support import add, local, refused, set_clock

from doctrack.errors import ConflictError
from doctrack.services.tracking import Tracker
from helpers import PARTIES, START

#: Changes to ``conv`` (a convention at t16), as (actor, kind, change).
CHANGES: list[tuple[str, str, Callable[[Tracker], object]]] = [
    (
        "drafter",
        "revision",
        lambda t: t.revise("conv", content=b"d1", filename="d1.txt", as_user="drafter"),
    ),
    ("drafter", "transition", lambda t: t.advance("conv", "submit", as_user="drafter")),
    *[
        (
            code.lower(),
            "position",
            lambda t, code=code: t.record_position("conv", code, "approve", as_user=code.lower()),
        )
        for code in PARTIES
    ],
    ("coord", "transition", lambda t: t.advance("conv", "agree", as_user="coord")),
    (
        "sec",
        "retarget",
        lambda t: t.retarget("conv", summit="a17", as_user="sec", comment="postponed"),
    ),
    (
        "coord",
        "revision",
        lambda t: t.revise("conv", content=b"d2", filename="d2.txt", as_user="coord"),
    ),
    ("coord", "position", lambda t: t.record_position("conv", "KZ", "object", as_user="coord")),
    (
        "sec",
        "transition",
        lambda t: t.advance("conv", "withdraw", as_user="sec", comment="no consensus"),
    ),
]


def test_created_instrument_has_version_one_and_one_event(world: Tracker) -> None:
    add(world, "conv")
    (event,) = world.history("conv")
    assert world.show("conv").version == 1
    assert (event.kind, event.actor, event.at) == ("created", "setup", START)
    assert (event.trigger, event.from_state, event.to_state) == (None, None, None)
    assert event.payload == {
        "summit": "t16",
        "workflow": "convention",
        "lead": "KZ",
        "depends_on": [],
    }


def test_every_change_raises_the_version_by_one_and_adds_one_event(world: Tracker) -> None:
    add(world, "conv")
    for actor, kind, change in CHANGES:
        before = world.show("conv").version
        change(world)
        history = world.history("conv")
        assert world.show("conv").version == before + 1 == len(history)
        assert (history[-1].actor, history[-1].kind) == (actor, kind)


def test_events_take_their_time_from_the_clock(world: Tracker) -> None:
    add(world, "conv")
    for day, (_, _, change) in enumerate(CHANGES, start=2):
        set_clock(world, f"2016-03-{day:02d}T10:30+05:00")
        change(world)
    history = world.history("conv")
    assert [e.at for e in history[1:]] == [
        local(f"2016-03-{day:02d}T10:30+05:00") for day in range(2, len(CHANGES) + 2)
    ]
    # shown in the zone of the summit targeted now (a17 since the retarget)
    assert history[1].to_json()["at"] == "2016-03-02T11:30:00+06:00"


def test_only_transitions_have_trigger_from_and_to(world: Tracker) -> None:
    add(world, "conv")
    for _, _, change in CHANGES:
        change(world)
    rows = [
        (e["kind"], e["trigger"], e["from"], e["to"])
        for e in (e.to_json() for e in world.history("conv"))
    ]
    assert [r for r in rows if r[0] == "transition"] == [
        ("transition", "submit", "drafting", "expert_review"),
        ("transition", "agree", "expert_review", "agreed"),
        ("transition", "withdraw", "agreed", "withdrawn"),
    ]
    assert {r[1:] for r in rows if r[0] != "transition"} == {(None, None, None)}
    assert {r[0] for r in rows} == {"created", "revision", "position", "transition", "retarget"}


def test_history_json_has_the_pinned_keys(world: Tracker) -> None:
    add(world, "conv")
    CHANGES[0][2](world)
    CHANGES[1][2](world)
    event = world.history("conv")[-1].to_json()
    assert {"at", "actor", "kind", "trigger", "from", "to", "comment"} <= set(event)
    assert event["at"] == "2016-03-01T11:00:00+05:00"


def test_transition_comment_is_kept(world: Tracker) -> None:
    add(world, "conv")
    world.advance("conv", "withdraw", as_user="sec", comment="  superseded  ")
    assert world.history("conv")[-1].comment == "superseded"


def test_advance_with_the_current_version_succeeds(world: Tracker) -> None:
    add(world, "conv")
    world.revise("conv", content=b"d1", filename="d1.txt", as_user="drafter")
    result = world.advance("conv", "submit", as_user="drafter", expect_version=2)
    assert (result.to_state, result.version) == ("expert_review", 3)


@pytest.mark.parametrize("expected", [1, 3])
def test_advance_with_another_version_is_a_conflict(world: Tracker, expected: int) -> None:
    add(world, "conv")
    world.revise("conv", content=b"d1", filename="d1.txt", as_user="drafter")
    err = refused(
        world,
        ConflictError,
        lambda: world.advance("conv", "submit", as_user="drafter", expect_version=expected),
        f"conflict: 'conv' is now in state 'drafting' at version 2 "
        rf"\(expected version {expected}\)",
    )
    assert (err.state, err.version, err.expected) == ("drafting", 2, expected)
