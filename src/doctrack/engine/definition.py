"""Validated workflow definitions: what a ``workflows/*.yaml`` file says, as frozen objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from doctrack.domain import Days


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """When a state must be reached: N days before the summit, or by its end."""

    before_summit: Days | None = None
    end_of_summit: bool = False

    def __str__(self) -> str:
        return "end_of_summit" if self.end_of_summit else f"{self.before_summit} before summit"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateDef:
    """One state of a workflow."""

    name: str
    label: str
    due: Due | None = None
    adopted: bool = False
    final: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionDef:
    """One transition: ``trigger`` moves from any of ``sources`` to ``dest``."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    when: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderPolicy:
    """Reminders about this workflow's deadlines."""

    before: tuple[Days, ...] = ()
    to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowDef:
    """A whole workflow, as loaded from one file."""

    name: str
    title: str
    initial: str
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    source: str = "<memory>"
    name_line: int = 1

    def state(self, name: str) -> StateDef:
        return self.states[name]

    def label(self, name: str) -> str:
        state = self.states.get(name)
        return state.label if state else name

    def is_final(self, name: str) -> bool:
        state = self.states.get(name)
        return bool(state and state.final)

    def is_adopted(self, name: str) -> bool:
        state = self.states.get(name)
        return bool(state and state.adopted)

    def transitions_from(self, state: str) -> tuple[TransitionDef, ...]:
        """Transitions whose source includes ``state``, in file order."""
        return tuple(t for t in self.transitions if state in t.sources)

    def triggers_from(self, state: str) -> list[str]:
        """Distinct triggers possible from ``state``, in file order."""
        seen: dict[str, None] = {}
        for t in self.transitions_from(state):
            seen.setdefault(t.trigger, None)
        return list(seen)

    def milestones(self) -> list[StateDef]:
        """States with a ``due:``, in file order: the instrument's deadlines."""
        return [s for s in self.states.values() if s.due is not None]
