"""The exception tree.

Every error doctrack raises on purpose derives from :class:`DoctrackError` and carries the
CLI exit code it maps to::

    DoctrackError
    ├── RefusedError (exit 1)              the rules say no
    │   ├── NotFoundError (LookupError)    no such party, user, summit, instrument, workflow
    │   ├── NotAllowedError (PermissionError)  the user's roles do not allow the action
    │   ├── GuardFailedError               a named guard of the transition does not hold
    │   ├── InvalidTriggerError            the trigger is not possible from the current state
    │   ├── ConflictError                  the instrument changed since it was read
    │   ├── AlreadyExistsError             a slug, code or name is taken
    │   ├── AuthError                      wrong user name or password
    │   └── ThrottledError                 too many failed logins for a user name
    ├── UsageError (ValueError, exit 2)    bad input
    │   ├── WorkflowDefinitionError        a workflow file is wrong (file, line, key)
    │   ├── ConfigError                    a setting is missing or malformed
    │   └── DatabaseNotReadyError          the schema is missing or out of date
    └── DatabaseFailedError (exit 3)       the database could not do it; nothing was changed
        ├── ConnectionLostError            the connection dropped (server restart, network)
        ├── DatabaseBusyError              another process held the lock too long
        ├── ReadOnlyDatabaseError          the database (file) does not accept writes
        └── DiskFullError                  no room left for the change
"""

from __future__ import annotations

from collections.abc import Sequence


class DoctrackError(Exception):
    """Root of doctrack's errors; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class RefusedError(DoctrackError):
    """The request was understood and refused by the rules."""

    exit_code = 1


class NotFoundError(RefusedError, LookupError):
    """A named thing does not exist."""

    def __init__(self, what: str, key: str, *, known: Sequence[str] | None = None) -> None:
        self.what = what
        self.key = key
        hint = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"no {what} {key!r}{hint}")


class AlreadyExistsError(RefusedError):
    """A unique name is taken."""

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} already exists")


class NotAllowedError(RefusedError, PermissionError):
    """The acting user's roles do not allow the action."""

    def __init__(self, actor: str, action: str, needed: Sequence[str], has: Sequence[str]) -> None:
        self.actor = actor
        self.action = action
        self.needed = tuple(needed)
        self.has = tuple(has)
        held = ", ".join(has) or "no role"
        super().__init__(
            f"{actor!r} may not {action}: needs role {' or '.join(needed)} (has {held})"
        )


class GuardFailedError(RefusedError):
    """A named guard of the transition does not hold."""

    def __init__(self, slug: str, trigger: str, guard: str, detail: str) -> None:
        self.slug = slug
        self.trigger = trigger
        self.guard = guard
        self.detail = detail
        super().__init__(f"cannot {trigger} {slug!r}: guard {guard} failed: {detail}")


class InvalidTriggerError(RefusedError):
    """The trigger is unknown or not possible from the current state."""

    def __init__(
        self, slug: str, trigger: str, state: str, version: int, possible: Sequence[str]
    ) -> None:
        self.slug = slug
        self.trigger = trigger
        self.state = state
        self.version = version
        self.possible = tuple(possible)
        options = ", ".join(possible) if possible else "none (final state)"
        super().__init__(
            f"no trigger {trigger!r} for {slug!r} in state {state!r} (version {version}); "
            f"possible: {options}"
        )


class ConflictError(RefusedError):
    """The instrument changed since the caller read it."""

    def __init__(self, slug: str, state: str, version: int, expected: int | None) -> None:
        self.slug = slug
        self.state = state
        self.version = version
        self.expected = expected
        wanted = f" (expected version {expected})" if expected is not None else ""
        super().__init__(
            f"conflict: {slug!r} is now in state {state!r} at version {version}{wanted}"
        )


class AuthError(RefusedError):
    """A login failed. One message whatever the reason (unknown user, no password set,
    wrong password), so that the answer does not tell which user names exist."""

    MESSAGE = "wrong user name or password"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class ThrottledError(RefusedError):
    """Too many failed logins for one user name lately; ``retry_after`` says how long until
    the next attempt is checked (whole seconds, at least 1)."""

    def __init__(self, name: str, retry_after: int) -> None:
        self.name = name
        self.retry_after = max(1, retry_after)
        minutes = -(-self.retry_after // 60)
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"too many failed logins for {name}: try again in {minutes} {unit}")


class UsageError(DoctrackError, ValueError):
    """Bad input: a malformed value, a missing option, an unusable file."""

    exit_code = 2


class WorkflowDefinitionError(UsageError):
    """A workflow file is wrong; names the file, the line and the key."""

    def __init__(self, file: str, line: int | None, key: str | None, message: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = file if line is None else f"{file}:{line}"
        what = f" {key}:" if key else ""
        super().__init__(f"{where}:{what} {message}")


class ConfigError(UsageError):
    """A setting is missing or malformed."""


class DatabaseNotReadyError(UsageError):
    """The database has no schema, or an older one."""


class DatabaseFailedError(DoctrackError):
    """The database could not carry out the operation, for a reason outside the request
    (``storage.db`` translates the driver's error into one of the subclasses)."""

    exit_code = 3


class ConnectionLostError(DatabaseFailedError):
    """The connection to the database dropped; the transaction was rolled back."""


class DatabaseBusyError(DatabaseFailedError):
    """Another process kept the database locked for longer than the busy timeout."""


class ReadOnlyDatabaseError(DatabaseFailedError):
    """The database, or the file it lives in, accepts no writes."""


class DiskFullError(DatabaseFailedError):
    """The database has no room left for the change."""
