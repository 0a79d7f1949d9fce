"""Enums and value objects of the domain. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    """What a user may be; a user may hold several."""

    DRAFTER = "drafter"
    COORDINATOR = "coordinator"
    SECRETARY = "secretary"
    ADMIN = "admin"
    DELEGATE = "delegate"


#: Roles a workflow may name in ``roles:`` and ``reminders.to``: the user roles, plus
#: ``lead_delegate`` (the delegate of the instrument's lead party).
LEAD_DELEGATE = "lead_delegate"
WORKFLOW_ROLES = frozenset({*(r.value for r in Role), LEAD_DELEGATE})


class Stance(StrEnum):
    """A party's position on one revision."""

    APPROVE = "approve"
    RESERVE = "reserve"
    OBJECT = "object"


class DeadlineStatus(StrEnum):
    """Where a deadline stands at a given time."""

    PENDING = "pending"
    MET = "met"
    MISSED = "missed"


class ReminderKind(StrEnum):
    """What a reminder is about."""

    DEADLINE = "deadline"
    SUMMIT = "summit"
    REPORT = "report"  # a scheduled status report of a summit


class ReminderStatus(StrEnum):
    """Where a reminder stands. ``sending``: a dispatcher holds it under a lease."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """What an event in the history records."""

    CREATED = "created"
    TRANSITION = "transition"
    POSITION = "position"
    REVISION = "revision"
    RETARGET = "retarget"
    SUMMIT_CREATED = "summit_created"
    SUMMIT_MOVED = "summit_moved"


_DURATION = re.compile(r"^(\d{1,4})d$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Days:
    """A whole number of days, written ``14d`` in workflow files."""

    days: int

    @classmethod
    def parse(cls, text: object) -> Days:
        """Parse ``Nd``; anything else is a ``ValueError`` that says what is expected."""
        match = _DURATION.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"bad duration {text!r}: expected whole days such as '14d'")
        return cls(days=int(match.group(1)))

    def __str__(self) -> str:
        return f"{self.days}d"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitDays:
    """A summit's first and last day in its own time zone."""

    starts: date
    ends: date
    tz: str
