"""doctrack: track draft international agreements from first draft to adoption at a summit.

    >>> import doctrack
    >>> tracker = doctrack.connect("sqlite:///var/doctrack.db")
    >>> tracker.advance("convention-extremism", "submit", as_user="coordinator")
"""

from __future__ import annotations

from doctrack.clock import Clock, FixedClock, SystemClock
from doctrack.config import Settings, load_settings
from doctrack.domain import DeadlineStatus, EventKind, Role, Stance
from doctrack.errors import (
    AlreadyExistsError,
    ConfigError,
    ConflictError,
    DatabaseNotReadyError,
    DoctrackError,
    GuardFailedError,
    InvalidTriggerError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    UsageError,
    WorkflowDefinitionError,
)
from doctrack.services.tracking import Tracker
from doctrack.wiring import connect, init_database

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "Clock",
    "ConfigError",
    "ConflictError",
    "DatabaseNotReadyError",
    "DeadlineStatus",
    "DoctrackError",
    "EventKind",
    "FixedClock",
    "GuardFailedError",
    "InvalidTriggerError",
    "NotAllowedError",
    "NotFoundError",
    "RefusedError",
    "Role",
    "Settings",
    "Stance",
    "SystemClock",
    "Tracker",
    "UsageError",
    "WorkflowDefinitionError",
    "__version__",
    "connect",
    "init_database",
    "load_settings",
]
