"""Guard facts read from the database on demand, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from doctrack.domain import Stance, SummitDays
from doctrack.engine.registry import Workflows
from doctrack.storage import repo
from doctrack.storage.records import InstrumentRecord


class DbFacts:
    """Implements :class:`doctrack.engine.guards.Facts`; each fact is read at most once."""

    def __init__(
        self, conn: Connection, instrument: InstrumentRecord, workflows: Workflows, now: datetime
    ) -> None:
        self._conn = conn
        self._instrument = instrument
        self._workflows = workflows
        self._now = now
        self._parties: list[str] | None = None
        self._positions: dict[str, Stance] | None = None
        self._dependencies: list[tuple[str, str, bool]] | None = None
        self._summit: SummitDays | None = None

    @property
    def now(self) -> datetime:
        return self._now

    def revision(self) -> int | None:
        return self._instrument.revision_number

    def parties(self) -> Sequence[str]:
        if self._parties is None:
            self._read_parties()
        assert self._parties is not None
        return self._parties

    def positions(self) -> Mapping[str, Stance]:
        if self._positions is None:
            self._read_parties()
        assert self._positions is not None
        return self._positions

    def _read_parties(self) -> None:
        """The parties and their stances on the current revision: one statement for both,
        as the guards that ask for one (all parties approve, none objects) ask for both."""
        rows = repo.party_stances(self._conn, self._instrument.revision_id)
        self._parties = [code for code, _ in rows]
        self._positions = {code: Stance(stance) for code, stance in rows if stance is not None}

    def dependencies(self) -> Sequence[tuple[str, str, bool]]:
        if self._dependencies is None:
            self._dependencies = [
                (
                    slug,
                    state,
                    workflow in self._workflows and self._workflows.get(workflow).is_adopted(state),
                )
                for slug, workflow, state in repo.dependencies_of(self._conn, self._instrument.id)
            ]
        return self._dependencies

    def summit(self) -> SummitDays:
        if self._summit is None:
            s = repo.get_summit(self._conn, self._instrument.summit_id)
            self._summit = SummitDays(starts=s.starts, ends=s.ends, tz=s.tz)
        return self._summit
