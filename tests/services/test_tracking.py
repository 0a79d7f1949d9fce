"""Tracker use cases: success paths and every refusal of the administration commands.

Every refusal is checked to leave the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from tracking_support import add, refused

from doctrack.errors import AlreadyExistsError, NotFoundError, UsageError
from doctrack.services.tracking import Tracker
from helpers import PARTIES

# -- parties ------------------------------------------------------------------------------


def test_add_party_is_listed(tracker: Tracker) -> None:
    tracker.add_party("KZ", name="Republic of Kazakhstan", actor="setup")
    tracker.add_party("IN", name="Republic of India", actor="setup")
    assert tracker.list_parties() == [("IN", "Republic of India"), ("KZ", "Republic of Kazakhstan")]


@pytest.mark.parametrize("code", ["kz", "K", "1K", "K-Z", "K Z", "", "KZ\n", "A" * 17])
def test_add_party_refuses_bad_code(tracker: Tracker, code: str) -> None:
    refused(
        tracker,
        UsageError,
        lambda: tracker.add_party(code, name="X", actor="setup"),
        "bad party code",
    )


@pytest.mark.parametrize("name", ["", "   ", "two\nlines"])
def test_add_party_refuses_bad_name(tracker: Tracker, name: str) -> None:
    refused(
        tracker, UsageError, lambda: tracker.add_party("KZ", name=name, actor="setup"), "party name"
    )


def test_add_party_refuses_duplicate_code(world: Tracker) -> None:
    refused(
        world,
        AlreadyExistsError,
        lambda: world.add_party("KZ", name="Again", actor="x"),
        "party 'KZ' already exists",
    )


# -- users --------------------------------------------------------------------------------


def test_add_user_with_several_roles_and_party(world: Tracker) -> None:
    user = world.add_user(
        "aliya",
        email=" aliya@example.kz ",
        roles=["delegate", "coordinator"],
        party="KZ",
        full_name="Aliya B.",
        actor="setup",
    )
    assert (user.name, user.email, user.party_code, user.full_name) == (
        "aliya",
        "aliya@example.kz",
        "KZ",
        "Aliya B.",
    )
    assert user.roles == ("coordinator", "delegate")
    assert user in world.list_users()


def test_world_has_one_user_per_role_and_a_delegate_per_party(world: Tracker) -> None:
    users = {u.name: (u.roles, u.party_code) for u in world.list_users()}
    assert users["coord"] == (("coordinator",), None)
    assert users["kz"] == (("delegate",), "KZ")
    assert len(users) == 4 + len(PARTIES)


@pytest.mark.parametrize("name", ["Bob", "-bob", "bob smith", "", "bob\n", "b" * 65])
def test_add_user_refuses_bad_name(world: Tracker, name: str) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user(name, email="b@example.org", roles=["drafter"], actor="x"),
        "bad user name",
    )


@pytest.mark.parametrize(
    "email", ["bob", "bob@example", "b ob@example.org", "@example.org", "bob@@example.org", ""]
)
def test_add_user_refuses_bad_email(world: Tracker, email: str) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user("bob", email=email, roles=["drafter"], actor="x"),
        "bad email",
    )


def test_add_user_refuses_unknown_role_and_lists_known(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user("bob", email="b@example.org", roles=["drafter", "king"], actor="x"),
        r"unknown role 'king' \(known: drafter, coordinator, secretary, admin, delegate\)",
    )


def test_add_user_refuses_no_role(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user("bob", email="b@example.org", roles=[], actor="x"),
        "at least one",
    )


def test_add_user_refuses_delegate_without_party(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user("bob", email="b@example.org", roles=["delegate"], actor="x"),
        "delegate needs --party",
    )


def test_add_user_refuses_unknown_party(world: Tracker) -> None:
    refused(
        world,
        NotFoundError,
        lambda: world.add_user(
            "bob", email="b@example.org", roles=["delegate"], party="XX", actor="x"
        ),
        "no party 'XX'",
    )


def test_add_user_refuses_duplicate_name(world: Tracker) -> None:
    refused(
        world,
        AlreadyExistsError,
        lambda: world.add_user("coord", email="c2@example.org", roles=["drafter"], actor="x"),
        "user 'coord' already exists",
    )


# -- summits ------------------------------------------------------------------------------


def test_add_summit_returns_and_lists_it(world: Tracker) -> None:
    view = world.add_summit(
        "d18",
        title="Council",
        city="Qingdao",
        starts=date(2018, 6, 9),
        ends=date(2018, 6, 10),
        tz="Asia/Shanghai",
        actor="setup",
    )
    assert view.to_json() == {
        "slug": "d18",
        "title": "Council",
        "city": "Qingdao",
        "starts": "2018-06-09",
        "ends": "2018-06-10",
        "tz": "Asia/Shanghai",
        "version": 1,
    }
    assert [s.slug for s in world.list_summits()] == ["t16", "a17", "d18"]
    assert world.get_summit("d18") == view


def test_add_summit_without_ends_lasts_one_day(world: Tracker) -> None:
    view = world.add_summit(
        "b19",
        title="Council",
        city="Bishkek",
        starts=date(2019, 6, 13),
        tz="Asia/Bishkek",
        actor="setup",
    )
    assert (view.starts, view.ends) == (date(2019, 6, 13), date(2019, 6, 13))


def _summit(
    t: Tracker,
    slug: str = "d18",
    *,
    starts: date = date(2018, 6, 9),
    ends: date | None = None,
    tz: str = "Asia/Shanghai",
    title: str = "Council",
    city: str = "Qingdao",
) -> Callable[[], object]:
    return lambda: t.add_summit(
        slug, title=title, city=city, starts=starts, ends=ends, tz=tz, actor="setup"
    )


@pytest.mark.parametrize("slug", ["D18", "-d18", "d 18", "d/18", "", "d18\n", "d" * 101])
def test_add_summit_refuses_bad_slug(world: Tracker, slug: str) -> None:
    refused(world, UsageError, _summit(world, slug), "bad summit slug")


def test_add_summit_refuses_ends_before_starts(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        _summit(world, ends=date(2018, 6, 8)),
        r"ends \(2018-06-08\) before it starts \(2018-06-09\)",
    )


@pytest.mark.parametrize("tz", ["Asia/Nowhere", "UTC+5", "", "../etc/passwd"])
def test_add_summit_refuses_unknown_tz(world: Tracker, tz: str) -> None:
    refused(world, UsageError, _summit(world, tz=tz), "unknown time zone")


def test_add_summit_refuses_empty_title(world: Tracker) -> None:
    refused(world, UsageError, _summit(world, title=" "), "title must not be empty")


def test_add_summit_refuses_duplicate_slug(world: Tracker) -> None:
    refused(world, AlreadyExistsError, _summit(world, "t16"), "summit 't16' already exists")


def test_get_summit_refuses_unknown(world: Tracker) -> None:
    with pytest.raises(NotFoundError, match="no summit 'x99'"):
        world.get_summit("x99")


# -- instruments --------------------------------------------------------------------------


def test_add_instrument_starts_in_initial_state(world: Tracker) -> None:
    view = world.add_instrument(
        "conv",
        title="Convention on countering extremism",
        workflow="convention",
        summit="t16",
        lead="KZ",
        actor="setup",
    )
    data = view.to_json()
    assert {
        k: data[k]
        for k in (
            "slug",
            "workflow",
            "kind",
            "state",
            "summit",
            "lead",
            "version",
            "revision",
            "depends_on",
            "positions",
        )
    } == {
        "slug": "conv",
        "workflow": "convention",
        "kind": "convention",
        "state": "drafting",
        "summit": "t16",
        "lead": "KZ",
        "version": 1,
        "revision": None,
        "depends_on": [],
        "positions": {},
    }
    assert data["allowed_triggers"] == ["submit", "withdraw"]
    assert [d["milestone"] for d in data["deadlines"]] == ["agreed", "approved", "signed"]
    assert world.show("conv") == view


def test_add_instrument_with_kind_and_dependencies(world: Tracker) -> None:
    add(world, "strategy", "programme")
    add(world, "plan", "programme")
    view = world.add_instrument(
        "action-plan",
        title="Action plan",
        workflow="programme",
        summit="t16",
        kind="action plan",
        depends_on=["strategy", "plan", "strategy"],
        actor="setup",
    )
    assert view.kind == "action plan"
    assert view.lead is None
    assert view.depends_on == ("plan", "strategy")


def test_list_instruments_filters_by_summit_and_state(world: Tracker) -> None:
    add(world, "b-conv")
    add(world, "a-prog", "programme", summit="a17")
    world.revise("b-conv", content=b"x", filename="x.txt", as_user="drafter")
    world.advance("b-conv", "submit", as_user="drafter")
    assert [i.slug for i in world.list_instruments()] == ["a-prog", "b-conv"]
    assert [i.slug for i in world.list_instruments(summit="a17")] == ["a-prog"]
    assert [i.slug for i in world.list_instruments(state="expert_review")] == ["b-conv"]
    assert [i.slug for i in world.list_instruments(limit=1, offset=1)] == ["b-conv"]


def _instrument(
    t: Tracker,
    slug: str = "conv",
    *,
    workflow: str = "convention",
    summit: str = "t16",
    lead: str | None = "KZ",
    depends_on: tuple[str, ...] = (),
    title: str = "Convention",
) -> Callable[[], object]:
    return lambda: t.add_instrument(
        slug,
        title=title,
        workflow=workflow,
        summit=summit,
        lead=lead,
        depends_on=depends_on,
        actor="setup",
    )


@pytest.mark.parametrize("slug", ["Conv", "_conv", "co nv", "conv!", "", "conv\n", "c" * 101])
def test_add_instrument_refuses_bad_slug(world: Tracker, slug: str) -> None:
    refused(world, UsageError, _instrument(world, slug), "bad instrument slug")


def test_add_instrument_refuses_duplicate_slug(world: Tracker) -> None:
    add(world, "conv")
    refused(
        world, AlreadyExistsError, _instrument(world, "conv"), "instrument 'conv' already exists"
    )


def test_add_instrument_refuses_unknown_summit(world: Tracker) -> None:
    refused(world, NotFoundError, _instrument(world, summit="x99"), "no summit 'x99'")


def test_add_instrument_refuses_unknown_lead_party(world: Tracker) -> None:
    refused(world, NotFoundError, _instrument(world, lead="XX"), "no party 'XX'")


def test_add_instrument_refuses_unknown_workflow(world: Tracker) -> None:
    refused(world, NotFoundError, _instrument(world, workflow="treaty"), "no workflow 'treaty'")


def test_add_instrument_refuses_unknown_dependency(world: Tracker) -> None:
    add(world, "strategy", "programme")
    refused(
        world,
        NotFoundError,
        _instrument(world, depends_on=("strategy", "ghost")),
        "no instrument 'ghost'",
    )


def test_add_instrument_refuses_self_dependency(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        _instrument(world, depends_on=("conv",)),
        "'conv' cannot depend on itself",
    )


def test_add_instrument_refuses_empty_title(world: Tracker) -> None:
    refused(world, UsageError, _instrument(world, title=""), "title must not be empty")


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.show("ghost"),
        lambda t: t.history("ghost"),
        lambda t: t.advance("ghost", "submit", as_user="admin"),
        lambda t: t.revise("ghost", content=b"x", filename="x.txt", as_user="admin"),
        lambda t: t.record_position("ghost", "KZ", "approve", as_user="kz"),
        lambda t: t.retarget("ghost", summit="a17", as_user="admin", comment="c"),
        lambda t: t.triggers("ghost", as_user="admin"),
    ],
    ids=["show", "history", "advance", "revise", "position", "retarget", "triggers"],
)
def test_use_cases_refuse_unknown_instrument(
    world: Tracker, call: Callable[[Tracker], object]
) -> None:
    refused(world, NotFoundError, lambda: call(world), "no instrument 'ghost'")


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.advance("conv", "submit", as_user="nobody"),
        lambda t: t.revise("conv", content=b"x", filename="x.txt", as_user="nobody"),
        lambda t: t.record_position("conv", "KZ", "approve", as_user="nobody"),
        lambda t: t.retarget("conv", summit="a17", as_user="nobody", comment="c"),
        lambda t: t.move_summit("t16", starts=date(2016, 7, 1), as_user="nobody"),
    ],
    ids=["advance", "revise", "position", "retarget", "move_summit"],
)
def test_use_cases_refuse_unknown_user(world: Tracker, call: Callable[[Tracker], object]) -> None:
    add(world, "conv")
    refused(world, NotFoundError, lambda: call(world), "no user 'nobody'")


# -- values longer than their column -------------------------------------------------------
# Each must be refused as bad input, as titles and names are, on both backends; neither
# stored beyond the column's declared length (SQLite) nor left to fail in the database
# (PostgreSQL: a raw DataError, which is no DoctrackError).


def test_add_summit_refuses_a_title_longer_than_its_column(world: Tracker) -> None:
    refused(world, UsageError, _summit(world, title="T" * 301), "title is longer than")


def test_add_user_refuses_an_email_longer_than_its_column(world: Tracker) -> None:
    email = "b" * 250 + "@example.org"
    refused(
        world,
        UsageError,
        lambda: world.add_user("bob", email=email, roles=["drafter"], actor="x"),
        "email",
    )


def test_add_user_refuses_a_language_longer_than_its_column(world: Tracker) -> None:
    refused(
        world,
        UsageError,
        lambda: world.add_user(
            "bob", email="b@example.org", roles=["drafter"], language="en-GB-oxendict", actor="x"
        ),
        "language",
    )
