"""The public names of ``doctrack`` and the cost of importing it."""

from __future__ import annotations

import os
import subprocess
import sys

import doctrack
from helpers import ROOT

#: ``doctrack.__all__``, written out: adding or removing a public name is deliberate.
PUBLIC_NAMES = {
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
}


def _fresh_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_all_is_exactly_the_public_names() -> None:
    assert set(doctrack.__all__) == PUBLIC_NAMES
    assert len(doctrack.__all__) == len(PUBLIC_NAMES)


def test_every_public_name_resolves() -> None:
    for name in doctrack.__all__:
        assert getattr(doctrack, name) is not None, name


def test_errors_derive_from_doctrack_error() -> None:
    for name in PUBLIC_NAMES:
        if name.endswith("Error"):
            assert issubclass(getattr(doctrack, name), doctrack.DoctrackError), name


def test_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(doctrack, "no_such_name")


def test_import_doctrack_alone_does_not_import_sqlalchemy() -> None:
    loaded = _fresh_python(
        "import sys, doctrack; print(sorted(m for m in sys.modules if m.startswith('sqlalchemy')))"
    )
    assert loaded == "[]"
