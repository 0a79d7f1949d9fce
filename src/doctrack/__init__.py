"""doctrack: track draft international agreements from first draft to adoption at a summit.

    >>> import doctrack
    >>> tracker = doctrack.connect("sqlite:///var/doctrack.db")
    >>> tracker.advance("convention-extremism", "submit", as_user="coordinator")

Names are imported on first use, so that ``import doctrack`` (and every CLI start) stays
cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AlreadyExistsError": "doctrack.errors",
    "Clock": "doctrack.clock",
    "ConfigError": "doctrack.errors",
    "ConflictError": "doctrack.errors",
    "ConnectionLostError": "doctrack.errors",
    "DatabaseBusyError": "doctrack.errors",
    "DatabaseFailedError": "doctrack.errors",
    "DatabaseNotReadyError": "doctrack.errors",
    "DeadlineStatus": "doctrack.domain",
    "DiskFullError": "doctrack.errors",
    "DoctrackError": "doctrack.errors",
    "EventKind": "doctrack.domain",
    "FixedClock": "doctrack.clock",
    "GuardFailedError": "doctrack.errors",
    "InvalidTriggerError": "doctrack.errors",
    "NotAllowedError": "doctrack.errors",
    "NotFoundError": "doctrack.errors",
    "ReadOnlyDatabaseError": "doctrack.errors",
    "RefusedError": "doctrack.errors",
    "Role": "doctrack.domain",
    "Settings": "doctrack.config",
    "Stance": "doctrack.domain",
    "SystemClock": "doctrack.clock",
    "Tracker": "doctrack.services.tracking",
    "UsageError": "doctrack.errors",
    "WorkflowDefinitionError": "doctrack.errors",
    "connect": "doctrack.wiring",
    "init_database": "doctrack.wiring",
    "load_settings": "doctrack.config",
}

__all__ = [
    "AlreadyExistsError",
    "Clock",
    "ConfigError",
    "ConflictError",
    "ConnectionLostError",
    "DatabaseBusyError",
    "DatabaseFailedError",
    "DatabaseNotReadyError",
    "DeadlineStatus",
    "DiskFullError",
    "DoctrackError",
    "EventKind",
    "FixedClock",
    "GuardFailedError",
    "InvalidTriggerError",
    "NotAllowedError",
    "NotFoundError",
    "ReadOnlyDatabaseError",
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

if TYPE_CHECKING:
    from doctrack.clock import Clock, FixedClock, SystemClock
    from doctrack.config import Settings, load_settings
    from doctrack.domain import DeadlineStatus, EventKind, Role, Stance
    from doctrack.errors import (
        AlreadyExistsError,
        ConfigError,
        ConflictError,
        ConnectionLostError,
        DatabaseBusyError,
        DatabaseFailedError,
        DatabaseNotReadyError,
        DiskFullError,
        DoctrackError,
        GuardFailedError,
        InvalidTriggerError,
        NotAllowedError,
        NotFoundError,
        ReadOnlyDatabaseError,
        RefusedError,
        UsageError,
        WorkflowDefinitionError,
    )
    from doctrack.services.tracking import Tracker
    from doctrack.wiring import connect, init_database


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'doctrack' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
