"""Named guards (``when:`` in workflow files): small predicates over an instrument's facts.

A guard returns ``None`` when it holds, else a short text saying what is missing.
The facts are supplied by the services layer, which loads only what a guard asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from doctrack.domain import Stance, SummitDays
from doctrack.timerules import in_session, to_local


class Facts(Protocol):
    """What guards may know about one instrument at one time."""

    @property
    def now(self) -> datetime: ...

    def revision(self) -> int | None:
        """Number of the current revision, if any."""

    def parties(self) -> Sequence[str]:
        """Codes of every party, sorted."""

    def positions(self) -> Mapping[str, Stance]:
        """Each party's stance on the current revision."""

    def dependencies(self) -> Sequence[tuple[str, str, bool]]:
        """(slug, state, adopted) of each instrument this one depends on."""

    def summit(self) -> SummitDays:
        """The target summit's days and zone."""


Guard = Callable[[Facts], str | None]
GUARDS: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    """Register a guard under ``name``."""

    def register(func: Guard) -> Guard:
        GUARDS[name] = func
        return func

    return register


@guard("has_revision")
def has_revision(facts: Facts) -> str | None:
    """The instrument has a draft revision."""
    return None if facts.revision() is not None else "no draft revision uploaded yet"


@guard("all_parties_approve")
def all_parties_approve(facts: Facts) -> str | None:
    """Every party has recorded ``approve`` on the current revision."""
    revision = facts.revision()
    if revision is None:
        return "no draft revision uploaded yet"
    positions = facts.positions()
    missing = [p for p in facts.parties() if positions.get(p) is not Stance.APPROVE]
    if not missing:
        return None
    return f"no approve on revision {revision} from {', '.join(missing)}"


@guard("no_objection")
def no_objection(facts: Facts) -> str | None:
    """No party has recorded ``object`` on the current revision."""
    objecting = sorted(p for p, s in facts.positions().items() if s is Stance.OBJECT)
    if not objecting:
        return None
    return f"revision {facts.revision()} has objections from {', '.join(objecting)}"


@guard("dependencies_adopted")
def dependencies_adopted(facts: Facts) -> str | None:
    """Every instrument this one depends on is in an ``adopted: true`` state."""
    pending = [f"{slug} ({state})" for slug, state, adopted in facts.dependencies() if not adopted]
    return None if not pending else f"dependencies not adopted: {', '.join(pending)}"


@guard("summit_in_session")
def summit_in_session(facts: Facts) -> str | None:
    """Now falls within the target summit's days, in the summit's time zone."""
    days = facts.summit()
    if in_session(facts.now, days.starts, days.ends, days.tz):
        return None
    local = to_local(facts.now, days.tz).strftime("%Y-%m-%d %H:%M")
    return (
        f"the summit is not in session: it runs {days.starts} to {days.ends} ({days.tz}), "
        f"now is {local} there"
    )


def describe() -> dict[str, str]:
    """Each guard's name and one-line description."""
    return {name: (func.__doc__ or "").strip() for name, func in GUARDS.items()}
