"""A hand-written :class:`doctrack.engine.guards.Facts` for the engine tests (no database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from doctrack.domain import Stance, SummitDays

#: Every party of 2016, sorted as the Facts protocol promises.
PARTY_CODES = ("CN", "KG", "KZ", "RU", "TJ", "UZ")
#: The Tashkent summit of 23-24 June 2016.
T16 = SummitDays(starts=date(2016, 6, 23), ends=date(2016, 6, 24), tz="Asia/Tashkent")
#: 23 June 2016, 10:00 in Tashkent: the summit is in session.
IN_SESSION = datetime(2016, 6, 23, 5, 0, tzinfo=UTC)
#: 1 March 2016: long before the summit.
BEFORE = datetime(2016, 3, 1, 6, 0, tzinfo=UTC)


def everyone(stance: Stance) -> dict[str, Stance]:
    return dict.fromkeys(PARTY_CODES, stance)


@dataclass
class FakeFacts:
    """Facts given outright; by default every guard of the shipped workflows holds."""

    now: datetime = IN_SESSION
    rev: int | None = 1
    party_codes: Sequence[str] = PARTY_CODES
    stances: dict[str, Stance] = field(default_factory=lambda: everyone(Stance.APPROVE))
    deps: list[tuple[str, str, bool]] = field(default_factory=list)
    days: SummitDays = T16

    def revision(self) -> int | None:
        return self.rev

    def parties(self) -> Sequence[str]:
        return self.party_codes

    def positions(self) -> Mapping[str, Stance]:
        return self.stances

    def dependencies(self) -> Sequence[tuple[str, str, bool]]:
        return self.deps

    def summit(self) -> SummitDays:
        return self.days
