"""The dossier of one instrument: its whole history, drafts with sizes and checksums,
positions per draft, deadlines met and missed. Read in one snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from doctrack.clock import Clock
from doctrack.domain import DeadlineStatus
from doctrack.engine.deadlines import deadline_status
from doctrack.engine.registry import Workflows
from doctrack.errors import NotFoundError
from doctrack.services.status import local_days
from doctrack.services.views import iso
from doctrack.storage import repo
from doctrack.storage.db import Database
from doctrack.storage.records import (
    EventRecord,
    InstrumentRecord,
    PositionRecord,
    RevisionRecord,
    SummitRecord,
)

SCHEMA = "doctrack.dossier/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class DossierDeadline:
    milestone: str
    label: str
    due: datetime
    met_at: datetime | None
    status: DeadlineStatus
    days_late: int | None  # met late or still missing: calendar days past due (summit zone)


@dataclass(frozen=True, slots=True, kw_only=True)
class DossierRevision:
    revision: RevisionRecord
    positions: tuple[PositionRecord, ...]  # the latest per party, in party order
    current: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DossierEvent:
    event: EventRecord
    from_label: str | None
    to_label: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dossier:
    generated_at: datetime
    instrument: InstrumentRecord
    summit: SummitRecord
    state_label: str
    final: bool
    adopted: bool
    depends_on: tuple[tuple[str, str], ...]  # (slug, state label)
    dependents: tuple[str, ...]
    deadlines: tuple[DossierDeadline, ...]
    revisions: tuple[DossierRevision, ...]
    history: tuple[DossierEvent, ...]

    @property
    def tz(self) -> str:
        return self.summit.tz


def build_dossier(db: Database, workflows: Workflows, clock: Clock, slug: str) -> Dossier:
    now = clock.now()
    with db.snapshot() as conn:
        r = repo.get_instrument(conn, slug)
        if r is None:
            raise NotFoundError("instrument", slug)
        wf = workflows.get(r.workflow) if r.workflow in workflows else None
        label = wf.label if wf else str
        summit = repo.get_summit(conn, r.summit_id)
        deadlines = []
        for d in repo.deadlines_of(conn, r.id):
            status = deadline_status(d.due_at, d.met_at, now)
            late = None
            if status is DeadlineStatus.MISSED:
                late = local_days(d.met_at or now, d.due_at, summit.tz)
            deadlines.append(
                DossierDeadline(
                    milestone=d.milestone,
                    label=label(d.milestone),
                    due=d.due_at,
                    met_at=d.met_at,
                    status=status,
                    days_late=late,
                )
            )
        by_number = repo.positions_by_revision(conn, r.id)
        revisions = tuple(
            DossierRevision(
                revision=rev,
                positions=tuple(by_number.get(rev.number, ())),
                current=rev.id == r.revision_id,
            )
            for rev in repo.list_revisions(conn, r.id)
        )
        history = tuple(
            DossierEvent(
                event=e,
                from_label=label(e.from_state) if e.from_state else None,
                to_label=label(e.to_state) if e.to_state else None,
                details=json.loads(e.payload) if e.payload else {},
            )
            for e in repo.iter_events(conn, instrument_id=r.id)
        )
        depends_on = tuple(
            (dep_slug, workflows.get(w).label(state) if w in workflows else state)
            for dep_slug, w, state in repo.dependencies_of(conn, r.id)
        )
        dependents = tuple(repo.dependents_of(conn, r.id))
    return Dossier(
        generated_at=now,
        instrument=r,
        summit=summit,
        state_label=label(r.state),
        final=bool(wf and wf.is_final(r.state)),
        adopted=bool(wf and wf.is_adopted(r.state)),
        depends_on=depends_on,
        dependents=dependents,
        deadlines=tuple(deadlines),
        revisions=revisions,
        history=history,
    )


def dossier_json(d: Dossier, lang: str = "en", _: Any = str) -> dict[str, Any]:
    """The dossier as JSON (schema ``doctrack.dossier/1``, described in the README)."""
    r, tz = d.instrument, d.tz
    return {
        "schema": SCHEMA,
        "generated_at": iso(d.generated_at, "UTC"),
        "lang": lang,
        "instrument": {
            "slug": r.slug,
            "title": r.title,
            "kind": r.kind,
            "workflow": r.workflow,
            "state": r.state,
            "state_label": _(d.state_label),
            "state_since": iso(r.state_since, tz),
            "final": d.final,
            "adopted": d.adopted,
            "summit": d.summit.slug,
            "lead": r.lead_party,
            "version": r.version,
            "revision": r.revision_number,
            "created_at": iso(r.created_at, tz),
            "depends_on": [{"slug": s, "state_label": _(lbl)} for s, lbl in d.depends_on],
            "dependents": list(d.dependents),
        },
        "deadlines": [
            {
                "milestone": x.milestone,
                "label": _(x.label),
                "due": iso(x.due, tz),
                "met_at": iso(x.met_at, tz) if x.met_at else None,
                "status": x.status.value,
                "days_late": x.days_late,
            }
            for x in d.deadlines
        ],
        "revisions": [
            {
                "number": x.revision.number,
                "filename": x.revision.filename,
                "size": x.revision.size,
                "sha256": x.revision.sha256,
                "uploaded_by": x.revision.uploaded_by,
                "uploaded_at": iso(x.revision.uploaded_at, tz),
                "note": x.revision.note,
                "current": x.current,
                "positions": [
                    {
                        "party": p.party_code,
                        "stance": p.stance,
                        "comment": p.comment,
                        "recorded_by": p.recorded_by,
                        "on_behalf": p.on_behalf,
                        "at": iso(p.at, tz),
                    }
                    for p in x.positions
                ],
            }
            for x in d.revisions
        ],
        "history": [
            {
                "at": iso(x.event.at, tz),
                "actor": x.event.actor,
                "kind": x.event.kind,
                "trigger": x.event.trigger,
                "from": x.event.from_state,
                "to": x.event.to_state,
                "comment": x.event.comment,
                "details": x.details,
            }
            for x in d.history
        ],
    }
