"""Deadlines of a workflow against a summit: due times and status. Pure."""

from __future__ import annotations

from datetime import date, datetime

from doctrack.domain import DeadlineStatus
from doctrack.engine.definition import WorkflowDef
from doctrack.timerules import due_before_summit, due_end_of_summit


def due_times(wf: WorkflowDef, *, starts: date, ends: date, tz: str) -> list[tuple[str, datetime]]:
    """(milestone, due in UTC) for every state of ``wf`` with a ``due:``."""
    result: list[tuple[str, datetime]] = []
    for state in wf.milestones():
        assert state.due is not None
        if state.due.end_of_summit:
            result.append((state.name, due_end_of_summit(ends, tz)))
        else:
            assert state.due.before_summit is not None
            result.append((state.name, due_before_summit(starts, state.due.before_summit.days, tz)))
    return result


def deadline_status(due: datetime, met_at: datetime | None, now: datetime) -> DeadlineStatus:
    """Met if the state was entered before the due time; missed once the due time passed first."""
    if met_at is not None:
        return DeadlineStatus.MET if met_at < due else DeadlineStatus.MISSED
    return DeadlineStatus.MISSED if now >= due else DeadlineStatus.PENDING
