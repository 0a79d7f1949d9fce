"""What the use cases return: frozen views with their JSON shape (pinned in DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from doctrack.domain import DeadlineStatus
from doctrack.timerules import to_local


def iso(value: datetime, tz: str) -> str:
    """ISO-8601 with the offset of zone ``tz``."""
    return to_local(value, tz).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineView:
    instrument: str
    milestone: str
    label: str
    due: datetime
    tz: str
    status: DeadlineStatus
    met_at: datetime | None
    summit: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "summit": self.summit,
            "milestone": self.milestone,
            "label": self.label,
            "due": iso(self.due, self.tz),
            "status": self.status.value,
            "met_at": iso(self.met_at, self.tz) if self.met_at else None,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    party: str
    stance: str
    comment: str | None
    recorded_by: str
    on_behalf: bool
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentView:
    slug: str
    title: str
    kind: str
    workflow: str
    state: str
    state_label: str
    state_since: datetime
    final: bool
    adopted: bool
    summit: str
    summit_tz: str
    lead: str | None
    version: int
    revision: int | None
    depends_on: tuple[str, ...]
    positions: tuple[PositionView, ...]
    deadlines: tuple[DeadlineView, ...]
    allowed_triggers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "kind": self.kind,
            "workflow": self.workflow,
            "state": self.state,
            "state_label": self.state_label,
            "state_since": iso(self.state_since, self.summit_tz),
            "final": self.final,
            "adopted": self.adopted,
            "summit": self.summit,
            "lead": self.lead,
            "version": self.version,
            "revision": self.revision,
            "depends_on": list(self.depends_on),
            "positions": {p.party: p.stance for p in self.positions},
            "position_details": [
                {
                    "party": p.party,
                    "stance": p.stance,
                    "comment": p.comment,
                    "recorded_by": p.recorded_by,
                    "on_behalf": p.on_behalf,
                    "at": iso(p.at, self.summit_tz),
                }
                for p in self.positions
            ],
            "deadlines": [
                {k: v for k, v in d.to_json().items() if k not in {"instrument", "summit", "state"}}
                for d in self.deadlines
            ],
            "allowed_triggers": list(self.allowed_triggers),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentSummary:
    slug: str
    title: str
    kind: str
    workflow: str
    state: str
    summit: str
    lead: str | None
    version: int
    revision: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "kind": self.kind,
            "workflow": self.workflow,
            "state": self.state,
            "summit": self.summit,
            "lead": self.lead,
            "version": self.version,
            "revision": self.revision,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitView:
    slug: str
    title: str
    city: str
    starts: date
    ends: date
    tz: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "city": self.city,
            "starts": self.starts.isoformat(),
            "ends": self.ends.isoformat(),
            "tz": self.tz,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    at: datetime
    tz: str
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    comment: str | None
    payload: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso(self.at, self.tz),
            "actor": self.actor,
            "kind": self.kind,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "comment": self.comment,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionResult:
    slug: str
    trigger: str
    from_state: str
    to_state: str
    to_label: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "to_label": self.to_label,
            "version": self.version,
        }
