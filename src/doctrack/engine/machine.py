"""Workflow definitions -> ``transitions`` machines, one per workflow, built once.

Instruments are never registered as models: each firing passes a small throw-away subject
to ``machine.events[trigger].trigger(subject)``. This module is the only one that touches
``transitions``; nothing it adds at run time leaks out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from doctrack.domain import Role
from doctrack.engine.definition import TransitionDef, WorkflowDef
from doctrack.engine.guards import GUARDS, Facts
from doctrack.errors import GuardFailedError, InvalidTriggerError, NotAllowedError


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardCheck:
    """One guard evaluated now: ``detail`` is None when it holds."""

    name: str
    detail: str | None

    @property
    def ok(self) -> bool:
        return self.detail is None


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerCheck:
    """Whether a trigger is possible now for a user, and why not."""

    trigger: str
    dest: str
    roles: tuple[str, ...]
    role_ok: bool
    guards: tuple[GuardCheck, ...]

    @property
    def ready(self) -> bool:
        return self.role_ok and all(g.ok for g in self.guards)


def roles_permit(needed: Collection[str], held: Collection[str]) -> bool:
    """``admin`` may do everything; otherwise one of ``needed`` must be held."""
    return Role.ADMIN in held or any(r in held for r in needed)


class _Subject:
    """What the machine sees while one trigger fires."""

    __slots__ = ("facts", "failure", "fired", "roles", "state")

    def __init__(self, state: str, facts: Facts, roles: Collection[str]) -> None:
        self.state = state
        self.facts = facts
        self.roles = roles
        self.failure: tuple[str, str] | None = None
        self.fired: TransitionDef | None = None


def _role_condition(tdef: TransitionDef) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        subject: _Subject = event.model
        if roles_permit(tdef.roles, subject.roles):
            return True
        if subject.failure is None:
            subject.failure = ("roles", " or ".join(tdef.roles))
        return False

    return check


def _guard_condition(name: str) -> Callable[[Any], bool]:
    func = GUARDS[name]

    def check(event: Any) -> bool:
        subject: _Subject = event.model
        detail = func(subject.facts)
        if detail is None:
            return True
        if subject.failure is None or subject.failure[0] == "roles":
            subject.failure = (name, detail)
        return False

    return check


def _recorder(tdef: TransitionDef) -> Callable[[Any], None]:
    def record(event: Any) -> None:
        event.model.fired = tdef

    return record


class WorkflowMachine:
    """One workflow's definition and its single ``transitions.Machine``."""

    def __init__(self, definition: WorkflowDef) -> None:
        self.definition = definition
        specs = [
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": [_role_condition(t), *(_guard_condition(g) for g in t.when)],
                "before": [_recorder(t)],
            }
            for t in definition.transitions
        ]
        self._machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=specs,
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
        )

    def fire(
        self,
        *,
        slug: str,
        state: str,
        version: int,
        trigger: str,
        facts: Facts,
        roles: Collection[str],
        actor: str,
    ) -> TransitionDef:
        """Fire ``trigger`` from ``state``; return the transition taken or raise why not."""
        possible = self.definition.triggers_from(state)
        if trigger not in possible:
            raise InvalidTriggerError(slug, trigger, state, version, possible)
        subject = _Subject(state, facts, roles)
        if self._machine.events[trigger].trigger(subject) and subject.fired is not None:
            return subject.fired
        failure = subject.failure or ("roles", "")
        if failure[0] == "roles":
            needed = sorted(
                {
                    r
                    for t in self.definition.transitions_from(state)
                    if t.trigger == trigger
                    for r in t.roles
                }
            )
            raise NotAllowedError(actor, f"{trigger} {slug!r}", needed, sorted(roles))
        raise GuardFailedError(slug, trigger, failure[0], failure[1])

    def check(self, *, state: str, facts: Facts, roles: Collection[str]) -> list[TriggerCheck]:
        """Every transition from ``state``: role allowed? each guard now?"""
        return [
            TriggerCheck(
                trigger=t.trigger,
                dest=t.dest,
                roles=t.roles,
                role_ok=roles_permit(t.roles, roles),
                guards=tuple(GuardCheck(name=g, detail=GUARDS[g](facts)) for g in t.when),
            )
            for t in self.definition.transitions_from(state)
        ]


def mermaid(definition: WorkflowDef, current: str | None = None) -> str:
    """A Mermaid state diagram drawn by ``transitions``' diagram support."""
    from transitions.extensions import GraphMachine

    class _Model:
        pass

    model = _Model()
    machine = GraphMachine(
        model=model,
        states=list(definition.states),
        transitions=[
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": list(t.when),
            }
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title=definition.title,
    )
    graph = machine.model_graphs[id(model)]
    graph.reset_styling()
    if current is not None:
        graph.set_node_style(current, "active")
    source: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    for state in definition.states.values():
        source = source.replace(f'state "{state.name}" as', f'state "{state.label}" as')
    # transitions writes "Class"; Mermaid's keyword is lower-case.
    return source.replace("\n  Class ", "\n  class ")
