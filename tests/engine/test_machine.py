"""WorkflowMachine on the shipped workflows: fire, refusals, check(), one machine, mermaid."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import pytest
from engine_fakes import BEFORE, FakeFacts, everyone

from doctrack.domain import Stance
from doctrack.engine.definition import TransitionDef
from doctrack.engine.machine import WorkflowMachine, mermaid, roles_permit
from doctrack.engine.registry import Workflows
from doctrack.errors import GuardFailedError, InvalidTriggerError, NotAllowedError, NotFoundError

PENDING_DEP = [("strategy", "agreed", False)]


def fire(
    machine: WorkflowMachine,
    state: str,
    trigger: str,
    roles: Collection[str],
    facts: FakeFacts | None = None,
    version: int = 7,
) -> TransitionDef:
    return machine.fire(
        slug="conv",
        state=state,
        version=version,
        trigger=trigger,
        facts=facts or FakeFacts(),
        roles=roles,
        actor="alice",
    )


@pytest.fixture
def convention(workflows: Workflows) -> WorkflowMachine:
    return workflows.machine("convention")


@pytest.fixture
def programme(workflows: Workflows) -> WorkflowMachine:
    return workflows.machine("programme")


# -- success -------------------------------------------------------------------------------


def test_fire_returns_the_transition_taken(convention: WorkflowMachine) -> None:
    taken = fire(convention, "drafting", "submit", ["drafter"])
    assert taken is convention.definition.transitions[0]
    assert (taken.trigger, taken.dest) == ("submit", "expert_review")


def test_fire_from_one_of_several_sources(convention: WorkflowMachine) -> None:
    taken = fire(convention, "agreed", "withdraw", ["secretary"])
    assert taken.dest == "withdrawn"


@pytest.mark.parametrize(
    ("state", "trigger", "role", "dest"),
    [
        ("drafting", "submit", "coordinator", "expert_review"),
        ("expert_review", "rework", "coordinator", "drafting"),
        ("expert_review", "agree", "coordinator", "agreed"),
        ("agreed", "approve", "secretary", "approved"),
        ("approved", "adopt", "secretary", "adopted"),
    ],
)
def test_programme_walks_to_adoption(
    programme: WorkflowMachine, state: str, trigger: str, role: str, dest: str
) -> None:
    assert fire(programme, state, trigger, [role]).dest == dest


def test_fire_does_not_depend_on_a_previous_firing(convention: WorkflowMachine) -> None:
    fire(convention, "drafting", "submit", ["drafter"])
    # The machine holds no state of its own: the same trigger from the same state works again.
    assert fire(convention, "drafting", "submit", ["drafter"]).dest == "expert_review"


# -- unknown trigger -----------------------------------------------------------------------


def test_unknown_trigger_lists_possible_triggers_state_and_version(
    convention: WorkflowMachine,
) -> None:
    with pytest.raises(InvalidTriggerError) as info:
        fire(convention, "drafting", "sign", ["admin"], version=12)
    exc = info.value
    assert exc.possible == ("submit", "withdraw")
    assert (exc.state, exc.version, exc.trigger) == ("drafting", 12, "sign")
    assert str(exc) == (
        "no trigger 'sign' for 'conv' in state 'drafting' (version 12); possible: submit, withdraw"
    )


def test_trigger_unknown_to_the_workflow_is_invalid(convention: WorkflowMachine) -> None:
    with pytest.raises(InvalidTriggerError, match="possible: sign, withdraw"):
        fire(convention, "approved", "frobnicate", ["admin"])


def test_no_trigger_leaves_a_final_state(convention: WorkflowMachine) -> None:
    with pytest.raises(InvalidTriggerError, match=r"possible: none \(final state\)") as info:
        fire(convention, "in_force", "withdraw", ["admin"])
    assert info.value.possible == ()


def test_unknown_trigger_is_reported_before_roles(convention: WorkflowMachine) -> None:
    with pytest.raises(InvalidTriggerError):
        fire(convention, "drafting", "sign", [])


# -- roles ---------------------------------------------------------------------------------


def test_wrong_role_names_the_roles_needed(convention: WorkflowMachine) -> None:
    with pytest.raises(NotAllowedError) as info:
        fire(convention, "drafting", "submit", ["delegate"])
    exc = info.value
    assert exc.needed == ("coordinator", "drafter")
    assert exc.has == ("delegate",)
    assert str(exc) == (
        "'alice' may not submit 'conv': needs role coordinator or drafter (has delegate)"
    )


def test_no_role_at_all_is_not_allowed(convention: WorkflowMachine) -> None:
    with pytest.raises(NotAllowedError, match=r"needs role secretary \(has no role\)"):
        fire(convention, "approved", "sign", [])


def test_role_is_checked_before_guards(convention: WorkflowMachine) -> None:
    with pytest.raises(NotAllowedError):
        fire(convention, "drafting", "submit", ["delegate"], FakeFacts(rev=None))


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        ("drafting", "submit"),
        ("expert_review", "agree"),
        ("agreed", "approve"),
        ("approved", "sign"),
        ("signed", "enter_into_force"),
        ("approved", "withdraw"),
    ],
)
def test_admin_passes_any_role(convention: WorkflowMachine, state: str, trigger: str) -> None:
    assert fire(convention, state, trigger, ["admin"]).trigger == trigger


def test_one_of_several_held_roles_is_enough(convention: WorkflowMachine) -> None:
    assert fire(convention, "agreed", "approve", ["delegate", "secretary"]).dest == "approved"


def test_roles_permit() -> None:
    assert roles_permit(["secretary"], ["admin"])
    assert roles_permit(["drafter", "coordinator"], ["coordinator"])
    assert not roles_permit(["secretary"], ["coordinator", "drafter"])
    assert not roles_permit(["secretary"], [])


# -- guards --------------------------------------------------------------------------------


def test_failing_guard_is_named_with_its_detail(convention: WorkflowMachine) -> None:
    with pytest.raises(GuardFailedError) as info:
        fire(convention, "drafting", "submit", ["drafter"], FakeFacts(rev=None))
    exc = info.value
    assert (exc.guard, exc.detail) == ("has_revision", "no draft revision uploaded yet")
    assert str(exc) == (
        "cannot submit 'conv': guard has_revision failed: no draft revision uploaded yet"
    )


def test_all_parties_approve_failure_names_the_parties(convention: WorkflowMachine) -> None:
    facts = FakeFacts(rev=2, stances=everyone(Stance.APPROVE) | {"RU": Stance.RESERVE})
    with pytest.raises(GuardFailedError, match="no approve on revision 2 from RU") as info:
        fire(convention, "expert_review", "agree", ["coordinator"], facts)
    assert info.value.guard == "all_parties_approve"


def test_first_failing_guard_is_reported_when_two_fail(convention: WorkflowMachine) -> None:
    facts = FakeFacts(now=BEFORE, deps=PENDING_DEP)
    with pytest.raises(GuardFailedError) as info:
        fire(convention, "approved", "sign", ["secretary"], facts)
    assert info.value.guard == "summit_in_session"


def test_second_guard_is_reported_when_only_it_fails(convention: WorkflowMachine) -> None:
    with pytest.raises(GuardFailedError) as info:
        fire(convention, "approved", "sign", ["secretary"], FakeFacts(deps=PENDING_DEP))
    assert info.value.guard == "dependencies_adopted"
    assert info.value.detail == "dependencies not adopted: strategy (agreed)"


def test_first_failing_guard_in_file_order_on_programme(programme: WorkflowMachine) -> None:
    with pytest.raises(GuardFailedError) as info:
        fire(programme, "expert_review", "agree", ["coordinator"], FakeFacts(rev=None))
    assert info.value.guard == "has_revision"


def test_admin_does_not_bypass_guards(convention: WorkflowMachine) -> None:
    with pytest.raises(GuardFailedError):
        fire(convention, "drafting", "submit", ["admin"], FakeFacts(rev=None))


# -- check() -------------------------------------------------------------------------------


def test_check_reports_every_guard_of_every_transition(convention: WorkflowMachine) -> None:
    facts = FakeFacts(now=BEFORE, deps=PENDING_DEP)
    checks = convention.check(state="approved", facts=facts, roles=["secretary"])
    assert [c.trigger for c in checks] == ["sign", "withdraw"]
    sign, withdraw = checks
    assert sign.role_ok
    assert [(g.name, g.ok) for g in sign.guards] == [
        ("summit_in_session", False),
        ("dependencies_adopted", False),
    ]
    assert sign.guards[1].detail == "dependencies not adopted: strategy (agreed)"
    assert not sign.ready
    assert withdraw.guards == ()
    assert withdraw.ready


def test_check_reports_role_refusal_and_guards_together(convention: WorkflowMachine) -> None:
    checks = convention.check(state="drafting", facts=FakeFacts(rev=None), roles=["delegate"])
    submit = checks[0]
    assert (submit.trigger, submit.dest, submit.roles) == (
        "submit",
        "expert_review",
        ("drafter", "coordinator"),
    )
    assert not submit.role_ok
    assert submit.guards[0].detail == "no draft revision uploaded yet"
    assert not submit.ready


def test_check_ready_when_role_and_guards_hold(convention: WorkflowMachine) -> None:
    checks = convention.check(state="approved", facts=FakeFacts(), roles=["admin"])
    assert all(c.ready for c in checks)


def test_check_from_a_final_state_is_empty(convention: WorkflowMachine) -> None:
    assert convention.check(state="withdrawn", facts=FakeFacts(), roles=["admin"]) == []


# -- one machine per workflow, nothing leaks -----------------------------------------------


def test_workflows_machine_is_built_once_per_workflow(workflows: Workflows) -> None:
    first = workflows.machine("convention")
    assert workflows.machine("convention") is first
    assert workflows.machine("programme") is not first
    assert first.definition is workflows.get("convention")


def test_unknown_workflow_machine_is_not_found(workflows: Workflows) -> None:
    with pytest.raises(NotFoundError, match="no workflow 'treaty'"):
        workflows.machine("treaty")


def attributes(obj: Any) -> dict[str, Any]:
    """Attribute names, with the size of each container (a shallow copy would share them)."""
    return {
        k: len(v) if isinstance(v, list | dict | set | deque) else type(v).__name__
        for k, v in vars(obj).items()
    }


def snapshot(wm: WorkflowMachine) -> dict[str, Any]:
    m = wm._machine
    shot: dict[str, Any] = {"wm": attributes(wm), "machine": attributes(m)}
    for name, event in m.events.items():
        shot[f"event:{name}"] = attributes(event)
        for source, transitions in event.transitions.items():
            for i, t in enumerate(transitions):
                shot[f"transition:{name}:{source}:{i}"] = attributes(t)
    for name, state in m.states.items():
        shot[f"state:{name}"] = attributes(state)
    return shot


def test_thousand_fires_register_no_model_and_add_no_attributes(
    workflows: Workflows,
) -> None:
    wm = WorkflowMachine(workflows.get("convention"))
    before = snapshot(wm)
    facts = FakeFacts()
    facts_before = attributes(facts)
    failing = FakeFacts(rev=None)
    for i in range(1000):
        fire(wm, "drafting", "submit", ["drafter"], facts)
        if i % 10 == 0:
            with pytest.raises(GuardFailedError):
                fire(wm, "drafting", "submit", ["drafter"], failing)
            with pytest.raises(NotAllowedError):
                fire(wm, "approved", "sign", ["delegate"], facts)
    assert wm._machine.models == []
    assert snapshot(wm) == before
    assert attributes(facts) == facts_before
    assert wm.check(state="approved", facts=facts, roles=["secretary"])[0].ready


# -- mermaid -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["convention", "programme"])
def test_mermaid_has_every_state_label_and_trigger(workflows: Workflows, name: str) -> None:
    wf = workflows.get(name)
    text = mermaid(wf)
    assert "stateDiagram-v2" in text
    assert wf.title in text
    for state in wf.states.values():
        assert f'state "{state.label}" as {state.name}' in text
    for t in wf.transitions:
        for source in t.sources:
            assert f"{source} --> {t.dest}: {t.trigger}" in text
    assert f"[*] --> {wf.initial}" in text


def test_mermaid_shows_guards_as_conditions(workflows: Workflows) -> None:
    text = mermaid(workflows.get("convention"))
    assert "approved --> signed: sign [summit_in_session & dependencies_adopted]" in text


def test_mermaid_highlights_the_current_state(workflows: Workflows) -> None:
    text = mermaid(workflows.get("programme"), current="agreed")
    assert "class agreed s_active" in text
    assert "class drafting s_default" in text


def test_mermaid_with_current_still_starts_at_the_initial_state(workflows: Workflows) -> None:
    text = mermaid(workflows.get("programme"), current="agreed")
    assert "[*] --> drafting" in text
    assert "[*] --> agreed" not in text


def test_mermaid_leaves_the_machines_alone(workflows: Workflows) -> None:
    wm = workflows.machine("convention")
    before = snapshot(wm)
    mermaid(wm.definition, current="approved")
    assert snapshot(wm) == before
    assert (
        fire(
            wm,
            "approved",
            "sign",
            ["secretary"],
            FakeFacts(now=datetime(2016, 6, 23, 12, 0, tzinfo=UTC)),
        ).dest
        == "signed"
    )
