"""Positions on the current revision, and draft revisions."""

from __future__ import annotations

import hashlib

import pytest
from tracking_support import add, create, refused

from doctrack.errors import (
    GuardFailedError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    UsageError,
)
from doctrack.services.tracking import Tracker
from helpers import PARTIES, approve_all


@pytest.fixture
def conv(world: Tracker) -> Tracker:
    """``conv``: a convention in expert review, on revision 1."""
    create(world, "conv", "expert_review")
    return world


# -- positions ----------------------------------------------------------------------------


def test_own_delegate_records_its_party_position(conv: Tracker) -> None:
    conv.record_position("conv", "KZ", "approve", as_user="kz", comment="agreed in Astana")
    (position,) = conv.show("conv").positions
    assert (
        position.party,
        position.stance,
        position.recorded_by,
        position.on_behalf,
        position.comment,
    ) == ("KZ", "approve", "kz", False, "agreed in Astana")
    event = conv.history("conv")[-1]
    assert (event.kind, event.actor, event.comment) == ("position", "kz", "agreed in Astana")
    assert event.payload == {"party": "KZ", "stance": "approve", "revision": 1, "on_behalf": False}


def test_coordinator_records_on_behalf_of_a_party(conv: Tracker) -> None:
    conv.record_position("conv", "RU", "reserve", as_user="coord")
    (position,) = conv.show("conv").positions
    assert (position.party, position.stance, position.recorded_by, position.on_behalf) == (
        "RU",
        "reserve",
        "coord",
        True,
    )
    assert conv.show("conv").to_json()["position_details"][0]["on_behalf"] is True
    assert conv.history("conv")[-1].payload == {
        "party": "RU",
        "stance": "reserve",
        "revision": 1,
        "on_behalf": True,
    }


@pytest.mark.parametrize("user", ["ru", "drafter", "sec"])
def test_others_may_not_record_a_party_position(conv: Tracker, user: str) -> None:
    err = refused(
        conv,
        NotAllowedError,
        lambda: conv.record_position("conv", "KZ", "approve", as_user=user),
        f"{user!r} may not record KZ's position",
    )
    assert err.needed == ("delegate of KZ", "coordinator")


def test_position_refused_without_a_revision(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world,
        RefusedError,
        lambda: world.record_position("conv", "KZ", "approve", as_user="kz"),
        "'conv' has no draft revision to take a position on",
    )


def test_position_refused_in_a_final_state(world: Tracker) -> None:
    create(world, "conv", "withdrawn")
    refused(
        world,
        RefusedError,
        lambda: world.record_position("conv", "KZ", "approve", as_user="kz"),
        "cannot record a position on 'conv': it is in the final state 'withdrawn'",
    )


def test_position_refuses_unknown_stance(conv: Tracker) -> None:
    refused(
        conv,
        UsageError,
        lambda: conv.record_position("conv", "KZ", "yes", as_user="kz"),
        "unknown stance 'yes'",
    )


def test_position_refuses_unknown_party(conv: Tracker) -> None:
    refused(
        conv,
        NotFoundError,
        lambda: conv.record_position("conv", "XX", "approve", as_user="coord"),
        "no party 'XX'",
    )


def test_recording_again_replaces_the_stance(conv: Tracker) -> None:
    conv.record_position("conv", "KZ", "approve", as_user="kz")
    conv.record_position("conv", "KZ", "object", as_user="kz", comment="article 3")
    view = conv.show("conv")
    assert view.to_json()["positions"] == {"KZ": "object"}
    assert len(view.positions) == 1
    events = [e for e in conv.history("conv") if e.kind == "position"]
    assert [(e.payload or {}).get("stance") for e in events] == ["approve", "object"]


def test_a_new_revision_starts_positions_afresh(conv: Tracker) -> None:
    approve_all(conv, "conv")
    conv.revise("conv", content=b"second draft", filename="d2.txt", as_user="drafter")
    assert conv.show("conv").positions == ()
    err = refused(conv, GuardFailedError, lambda: conv.advance("conv", "agree", as_user="coord"))
    assert err.detail == f"no approve on revision 2 from {', '.join(sorted(PARTIES))}"


# -- revisions ----------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["drafter", "coord", "sec", "admin"])
def test_revise_allowed_roles(world: Tracker, user: str) -> None:
    add(world, "conv")
    assert world.revise("conv", content=b"text", filename="d1.txt", as_user=user) == 1
    assert world.history("conv")[-1].actor == user


@pytest.mark.parametrize("user", ["kz", "ru"])
def test_revise_refused_for_a_delegate(world: Tracker, user: str) -> None:
    add(world, "conv")
    err = refused(
        world,
        NotAllowedError,
        lambda: world.revise("conv", content=b"text", filename="d1.txt", as_user=user),
        f"{user!r} may not revise",
    )
    assert err.needed == ("drafter", "coordinator", "secretary")


def test_revise_refuses_an_empty_file(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world,
        UsageError,
        lambda: world.revise("conv", content=b"", filename="d1.txt", as_user="drafter"),
        "'d1.txt' is empty",
    )


def test_revise_refused_in_a_final_state(world: Tracker) -> None:
    create(world, "conv", "withdrawn")
    refused(
        world,
        RefusedError,
        lambda: world.revise("conv", content=b"x", filename="d.txt", as_user="drafter"),
        "cannot revise 'conv': it is in the final state 'withdrawn'",
    )


def test_revisions_are_numbered_from_one(world: Tracker) -> None:
    add(world, "conv")
    numbers = [
        world.revise("conv", content=f"draft {n}".encode(), filename=f"d{n}.txt", as_user="drafter")
        for n in range(3)
    ]
    assert numbers == [1, 2, 3]
    assert world.show("conv").revision == 3


def test_revision_keeps_bytes_sha256_and_size(world: Tracker) -> None:
    add(world, "conv")
    first = bytes(range(256)) * 3
    second = "Конвенция ШОС\n".encode()
    world.revise("conv", content=first, filename="drafts/d1.bin", as_user="drafter", note="first")
    world.revise("conv", content=second, filename="d2.txt", as_user="drafter")
    assert world.revision_content("conv", 1) == ("d1.bin", first)
    assert world.revision_content("conv", 2) == ("d2.txt", second)
    events = [e for e in world.history("conv") if e.kind == "revision"]
    assert [e.payload for e in events] == [
        {
            "number": 1,
            "filename": "d1.bin",
            "sha256": hashlib.sha256(first).hexdigest(),
            "size": 768,
        },
        {
            "number": 2,
            "filename": "d2.txt",
            "sha256": hashlib.sha256(second).hexdigest(),
            "size": len(second),
        },
    ]
    assert events[0].comment == "first"


def test_revision_content_refuses_unknown_number(world: Tracker) -> None:
    add(world, "conv")
    world.revise("conv", content=b"x", filename="d1.txt", as_user="drafter")
    with pytest.raises(NotFoundError, match="no revision 'conv#2'"):
        world.revision_content("conv", 2)
