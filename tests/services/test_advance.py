"""``advance``: guards, roles and unknown triggers. A refused advance changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tracking_support import USERS, add, create, prepare, refused, set_clock, unchanged

import doctrack
from doctrack.clock import FixedClock
from doctrack.engine.registry import Workflows
from doctrack.errors import GuardFailedError, InvalidTriggerError, NotAllowedError
from doctrack.services.tracking import Tracker
from helpers import PARTIES, WORKFLOWS, approve_all

# -- guards -------------------------------------------------------------------------------


def test_has_revision_refuses_submit_without_a_draft(world: Tracker) -> None:
    add(world, "conv")
    err = refused(
        world,
        GuardFailedError,
        lambda: world.advance("conv", "submit", as_user="drafter"),
        "guard has_revision failed: no draft revision",
    )
    assert err.guard == "has_revision"
    world.revise("conv", content=b"text", filename="d1.txt", as_user="drafter")
    assert world.advance("conv", "submit", as_user="drafter").to_state == "expert_review"


def test_all_parties_approve_names_parties_without_approve(world: Tracker) -> None:
    create(world, "conv", "expert_review")
    world.record_position("conv", "KZ", "approve", as_user="kz")
    world.record_position("conv", "RU", "approve", as_user="ru")
    world.record_position("conv", "CN", "reserve", as_user="cn")
    world.record_position("conv", "KG", "object", as_user="kg")
    err = refused(world, GuardFailedError, lambda: world.advance("conv", "agree", as_user="coord"))
    assert err.guard == "all_parties_approve"
    assert err.detail == "no approve on revision 1 from CN, KG, TJ, UZ"
    assert "guard all_parties_approve failed" in str(err)


def test_all_parties_approve_allows_agree_once_everyone_approves(world: Tracker) -> None:
    create(world, "conv", "expert_review")
    approve_all(world, "conv")
    assert world.advance("conv", "agree", as_user="coord").to_state == "agreed"


def test_no_objection_refuses_programme_approve_naming_objectors(world: Tracker) -> None:
    create(world, "prog", "agreed", "programme")
    world.record_position("prog", "UZ", "object", as_user="uz")
    world.record_position("prog", "CN", "object", as_user="cn")
    err = refused(world, GuardFailedError, lambda: world.advance("prog", "approve", as_user="sec"))
    assert err.guard == "no_objection"
    assert err.detail == "revision 1 has objections from CN, UZ"


def test_no_objection_allows_a_reserve(world: Tracker) -> None:
    create(world, "prog", "agreed", "programme")
    world.record_position("prog", "UZ", "reserve", as_user="uz")
    assert world.advance("prog", "approve", as_user="sec").to_state == "approved"


def test_dependencies_adopted_refuses_until_strategy_is_adopted(world: Tracker) -> None:
    create(world, "strategy", "approved", "programme")
    create(world, "action-plan", "approved", "programme", depends_on=("strategy",))
    set_clock(world, "2016-06-23T12:00+05:00")
    err = refused(
        world, GuardFailedError, lambda: world.advance("action-plan", "adopt", as_user="sec")
    )
    assert err.guard == "dependencies_adopted"
    assert err.detail == "dependencies not adopted: strategy (approved)"
    world.advance("strategy", "adopt", as_user="sec")
    assert world.advance("action-plan", "adopt", as_user="sec").to_state == "adopted"


@pytest.mark.parametrize(
    "at",
    [
        "2016-06-22T12:00+05:00",
        "2016-06-22T23:59:59+05:00",
        "2016-06-25T00:00+05:00",
        "2016-06-25T09:00+05:00",
    ],
)
def test_summit_in_session_refuses_outside_the_summit_days(world: Tracker, at: str) -> None:
    create(world, "conv", "approved")
    set_clock(world, at)
    err = refused(
        world,
        GuardFailedError,
        lambda: world.advance("conv", "sign", as_user="sec"),
        r"not in session: it runs 2016-06-23 to 2016-06-24 \(Asia/Tashkent\)",
    )
    assert err.guard == "summit_in_session"
    assert f"now is {at[:10]} {at[11:16]} there" in err.detail


@pytest.mark.parametrize(
    "at",
    [
        "2016-06-23T00:00+05:00",
        "2016-06-23T12:00+05:00",
        "2016-06-24T00:00+05:00",
        "2016-06-24T23:59:59+05:00",
    ],
)
def test_summit_in_session_allows_each_summit_day_in_local_time(world: Tracker, at: str) -> None:
    create(world, "conv", "approved")
    set_clock(world, at)
    assert world.advance("conv", "sign", as_user="sec").to_state == "signed"


# -- roles --------------------------------------------------------------------------------

#: (workflow, trigger, source state, users allowed to fire it)
ROLE_TABLE = [
    ("convention", "submit", "drafting", {"drafter", "coord", "admin"}),
    ("convention", "agree", "expert_review", {"coord", "admin"}),
    ("convention", "approve", "agreed", {"sec", "admin"}),
    ("convention", "sign", "approved", {"sec", "admin"}),
    ("convention", "enter_into_force", "signed", {"coord", "admin"}),
    ("convention", "withdraw", "approved", {"sec", "admin"}),
    ("programme", "submit", "drafting", {"drafter", "coord", "admin"}),
    ("programme", "rework", "expert_review", {"coord", "admin"}),
    ("programme", "agree", "expert_review", {"coord", "admin"}),
    ("programme", "approve", "agreed", {"sec", "admin"}),
    ("programme", "adopt", "approved", {"sec", "admin"}),
    ("programme", "withdraw", "drafting", {"sec", "admin"}),
]
_ROLE_OF = {"drafter": "drafter", "coord": "coordinator", "sec": "secretary"}


@pytest.mark.parametrize(
    ("workflow", "trigger", "source", "allowed"),
    ROLE_TABLE,
    ids=[f"{w}-{t}" for w, t, _, _ in ROLE_TABLE],
)
def test_transition_roles(
    world: Tracker, workflow: str, trigger: str, source: str, allowed: set[str]
) -> None:
    create(world, "ref", source, workflow)
    needed = tuple(sorted(_ROLE_OF[u] for u in allowed if u != "admin"))
    with unchanged(world):
        for user in sorted(set(USERS) - allowed):
            with pytest.raises(NotAllowedError, match=f"{user!r} may not {trigger} 'ref'") as err:
                world.advance("ref", trigger, as_user=user)
            assert err.value.needed == needed
    for user in sorted(allowed):
        create(world, f"ok-{user}", source, workflow)
        prepare(world, f"ok-{user}", trigger)
        result = world.advance(f"ok-{user}", trigger, as_user=user)
        assert result.from_state == source
        assert world.show(f"ok-{user}").state == result.to_state


def test_admin_may_revise_position_retarget_and_move_summit(world: Tracker) -> None:
    add(world, "conv")
    world.revise("conv", content=b"text", filename="d1.txt", as_user="admin")
    world.record_position("conv", "KZ", "approve", as_user="admin")
    world.retarget("conv", summit="a17", as_user="admin", comment="postponed")
    world.move_summit("a17", starts=date(2017, 6, 15), as_user="admin")
    view = world.show("conv")
    assert (view.revision, view.positions[0].on_behalf, view.summit) == (1, True, "a17")


LEAD_WORKFLOW = """\
name: endorsement
title: Endorsed by the lead party
initial: drafting
states:
  drafting: {label: Drafting}
  endorsed: {label: Endorsed, final: true}
transitions:
  - {trigger: endorse, source: drafting, dest: endorsed, roles: [lead_delegate]}
reminders: {before: [7d], to: [lead_delegate]}
"""


@pytest.fixture
def lead_world(world: Tracker, tmp_path: Path) -> Iterator[Tracker]:
    """The world, seen through a tracker that also knows a workflow for the lead delegate."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    for source in WORKFLOWS.glob("*.yaml"):
        (folder / source.name).write_text(source.read_text())
    (folder / "endorsement.yaml").write_text(LEAD_WORKFLOW)
    assert isinstance(world.clock, FixedClock)
    t = doctrack.connect(world.db.url, clock=world.clock, workflows=Workflows.from_folder(folder))
    yield t
    t.db.dispose()


def test_lead_delegate_is_the_delegate_of_the_lead_party(lead_world: Tracker) -> None:
    add(lead_world, "memo", "endorsement", lead="KZ")
    with unchanged(lead_world):
        for user in sorted(set(USERS) - {"kz", "admin"}):
            with pytest.raises(NotAllowedError, match="needs role lead_delegate") as err:
                lead_world.advance("memo", "endorse", as_user=user)
            assert err.value.needed == ("lead_delegate",)
    assert [c.trigger for c in lead_world.triggers("memo", as_user="kz")] == ["endorse"]
    assert lead_world.triggers("memo", as_user="ru") == []
    assert lead_world.advance("memo", "endorse", as_user="kz").to_state == "endorsed"


def test_no_lead_delegate_without_a_lead_party(lead_world: Tracker) -> None:
    add(lead_world, "memo", "endorsement", lead=None)
    with unchanged(lead_world):
        for code in PARTIES:
            with pytest.raises(NotAllowedError):
                lead_world.advance("memo", "endorse", as_user=code.lower())


def test_a_coordinator_of_the_lead_party_is_not_its_lead_delegate(lead_world: Tracker) -> None:
    lead_world.add_user(
        "kzc", email="kzc@example.org", roles=["coordinator"], party="KZ", actor="setup"
    )
    add(lead_world, "memo", "endorsement", lead="KZ")
    refused(
        lead_world, NotAllowedError, lambda: lead_world.advance("memo", "endorse", as_user="kzc")
    )


def test_triggers_lists_what_the_user_may_fire_with_guards_now(world: Tracker) -> None:
    add(world, "conv")
    assert world.triggers("conv", as_user="kz") == []
    checks = {c.trigger: c for c in world.triggers("conv", as_user="sec")}
    assert list(checks) == ["withdraw"]
    (submit,) = world.triggers("conv", as_user="drafter")
    assert submit.trigger == "submit"
    assert not submit.ready
    assert [(g.name, g.ok) for g in submit.guards] == [("has_revision", False)]


# -- unknown triggers ---------------------------------------------------------------------


def test_unknown_trigger_lists_the_possible_ones(world: Tracker) -> None:
    add(world, "conv")
    err = refused(
        world,
        InvalidTriggerError,
        lambda: world.advance("conv", "ratify", as_user="admin"),
        r"no trigger 'ratify' for 'conv' in state 'drafting' \(version 1\); "
        r"possible: submit, withdraw",
    )
    assert err.possible == ("submit", "withdraw")


def test_trigger_of_another_state_is_refused_with_the_possible_ones(world: Tracker) -> None:
    create(world, "prog", "expert_review", "programme")
    err = refused(
        world, InvalidTriggerError, lambda: world.advance("prog", "submit", as_user="admin")
    )
    assert err.possible == ("rework", "agree", "withdraw")
    assert (err.state, err.version) == ("expert_review", 3)


def test_no_trigger_from_a_final_state(world: Tracker) -> None:
    create(world, "conv", "withdrawn")
    refused(
        world,
        InvalidTriggerError,
        lambda: world.advance("conv", "submit", as_user="admin"),
        r"possible: none \(final state\)",
    )
    assert world.show("conv").allowed_triggers == ()
