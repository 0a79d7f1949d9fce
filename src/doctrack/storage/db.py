"""Engine and transactions. SQLite: WAL, a busy timeout, ``BEGIN IMMEDIATE`` for writers.

Driver errors that say the database itself failed (connection lost, locked too long,
read-only, full) become :class:`~doctrack.errors.DatabaseFailedError` subclasses here, in
:func:`database_failure`, and nowhere else."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)

from doctrack.errors import (
    ConnectionLostError,
    DatabaseBusyError,
    DatabaseFailedError,
    DatabaseNotReadyError,
    DiskFullError,
    ReadOnlyDatabaseError,
    RefusedError,
    UsageError,
)

#: The Alembic revision this code expects; a test checks it is the migrations' head.
SCHEMA_HEAD = "0007"
_WRITE = "doctrack_write"
#: The first words of what the event table's triggers answer an UPDATE or DELETE with.
APPEND_ONLY = "event history is append-only"


class Database:
    """One engine; ``read()`` and ``write()`` hand out a connection inside a transaction."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError(f"not a database URL: {url!r}") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise UsageError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        kwargs: dict[str, Any] = {}
        #: The SQLite file, to tell a full or read-only disk from other I/O errors.
        self.sqlite_file: Path | None = None
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                self.sqlite_file = Path(database)
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:
            # A server restart leaves dead connections in the pool: test each on checkout.
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_setup(self.engine, busy_timeout)
        self._checked = False
        # SQLite has one writer at a time. Its busy handler makes a waiting writer sleep
        # (1, 2, 5, 10 ... ms) and poll, so threads of one process that queue for the lock
        # there lose most of their time asleep after it was freed; they queue here instead
        # and each starts the moment the previous one commits. Other processes still wait
        # in SQLite's busy handler. Reentrant, so a nested write fails as it always did.
        self._writer: AbstractContextManager[object] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred on SQLite)."""
        self._check_schema()
        with self._failures(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose statements all see the same committed data, for
        reads made of several queries (reports, exports). SQLite in WAL mode gives a
        deferred transaction that already; PostgreSQL needs REPEATABLE READ."""
        self._check_schema()
        with self._failures(), self.engine.connect() as plain:
            conn = plain
            if not self.is_sqlite:
                conn = plain.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all or nothing. On SQLite it takes the write lock at once."""
        self._check_schema()
        committing = [False]
        try:
            with self._failures(committing), self._writer, self.engine.connect() as plain:
                conn = plain.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
                    committing[0] = True
        except IntegrityError as exc:
            reason = _reason(exc)
            if APPEND_ONLY in reason:
                # The event triggers (migration 0005): history is never rewritten.
                raise RefusedError(reason) from None
            # A concurrent writer inserted the same key first (PostgreSQL).
            raise RefusedError(f"conflict with a concurrent change: {reason}") from None
        except DataError as exc:
            # A value the use case did not check (too long, out of range): nothing written.
            raise UsageError(f"value refused by the database: {_reason(exc)}") from None

    @contextmanager
    def _failures(self, committing: list[bool] | None = None) -> Iterator[None]:
        """Driver errors that say the database itself failed become the one-line
        :class:`DatabaseFailedError` of :func:`database_failure`; ``committing[0]`` tells
        whether the block had reached its COMMIT."""
        try:
            yield
        except DBAPIError as exc:
            reached = committing is not None and committing[0]
            failure = database_failure(exc, committing=reached, sqlite_file=self.sqlite_file)
            if failure is None:
                raise
            raise failure from exc

    def make_folder(self) -> None:
        """SQLite: create the folder of the database file, for ``init``, ``import`` and
        ``demo --reset`` (every other command refuses a file that does not exist, and
        creates nothing)."""
        if self.sqlite_file is not None:
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)

    def _check_schema(self) -> None:
        if self._checked:
            return
        if self.sqlite_file is not None and not self.sqlite_file.exists():
            raise DatabaseNotReadyError(
                f"no database at {self.sqlite_file}: run 'doctrack init' to create one"
            )
        try:
            with self.engine.connect() as conn:
                found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            failure = database_failure(exc, sqlite_file=self.sqlite_file)
            if failure is not None and not isinstance(failure, ConnectionLostError):
                raise failure from exc
            if _is_connection_error(exc):
                raise DatabaseNotReadyError(
                    f"cannot connect to the database: {_reason(exc)}"
                ) from None
            raise DatabaseNotReadyError(
                "the database has no doctrack schema: run 'doctrack init'"
            ) from None
        if found != SCHEMA_HEAD:
            raise DatabaseNotReadyError(_schema_mismatch(found))
        self._checked = True

    def dispose(self) -> None:
        self.engine.dispose()


def _schema_mismatch(found: object) -> str:
    """Why a database at schema ``found`` will not do. Revisions are numbered ``0001``,
    ``0002``... (a test holds the migrations to it), so a larger one is newer."""
    if isinstance(found, str) and len(found) == len(SCHEMA_HEAD) and found > SCHEMA_HEAD:
        return (
            f"the database schema is at {found!r}, newer than this doctrack's "
            f"{SCHEMA_HEAD!r}: a newer doctrack set it up; use that version"
        )
    return (
        f"the database schema is at {found!r}, this doctrack needs {SCHEMA_HEAD!r}: "
        "run 'doctrack init'"
    )


#: SQLSTATE classes and codes (PostgreSQL) that mean the connection is gone.
_PG_LOST = ("08", "57P01", "57P02", "57P03")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
#: Free bytes below which an I/O error on a SQLite file is taken for a full disk.
_NEARLY_FULL = 256 * 1024


def database_failure(
    exc: DBAPIError, *, committing: bool = False, sqlite_file: Path | None = None
) -> DatabaseFailedError | None:
    """The doctrack error for a driver error that says the database failed, else None.

    ``committing``: the error came from the COMMIT itself, so the server may have kept the
    change (only a lost connection can leave that in doubt). ``sqlite_file``: where SQLite
    keeps the database, looked at when SQLite only says "disk I/O error" or "unable to
    open" (a full disk, a read-only folder)."""
    orig = exc.orig
    sqlstate = str(getattr(orig, "sqlstate", None) or "")
    sqlite_name = str(getattr(orig, "sqlite_errorname", None) or "")
    if exc.connection_invalidated or sqlstate.startswith(_PG_LOST):
        if committing:
            return ConnectionLostError(
                "database connection lost while committing; the change may or may not "
                "have been saved: check before trying again"
            )
        return ConnectionLostError("database connection lost; nothing was changed, try again")
    if sqlite_name.startswith(_SQLITE_BUSY) or sqlstate == "55P03":
        return DatabaseBusyError(
            "the database is locked by another process; nothing was changed, try again"
        )
    if sqlite_name.startswith("SQLITE_READONLY") or sqlstate == "25006":
        return ReadOnlyDatabaseError(
            f"the database is read-only ({_reason(exc)}); nothing was changed"
        )
    if sqlite_name == "SQLITE_FULL" or sqlstate == "53100":
        return DiskFullError(
            f"the database is full ({_reason(exc)}); nothing was changed: free some space"
        )
    if sqlite_file is not None and sqlite_name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
        return _sqlite_disk_failure(sqlite_file)
    return None


def _sqlite_disk_failure(file: Path) -> DatabaseFailedError | None:
    """A full or read-only disk under ``file``, which SQLite reports as a plain I/O error
    or "unable to open" (WAL mode writes ``-wal`` and ``-shm`` files beside the database)."""
    folder = file.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    if free < _NEARLY_FULL:
        return DiskFullError(
            f"the disk holding {file} is full; nothing was changed: free some space"
        )
    if file.exists() and not os.access(folder, os.W_OK):
        return ReadOnlyDatabaseError(
            f"the database is read-only: its folder {folder} does not accept writes "
            "(SQLite needs to write its -wal and -shm files there); nothing was changed"
        )
    return None


def _is_connection_error(exc: Exception) -> bool:
    message = str(exc).lower()
    return any(s in message for s in ("connection", "could not connect", "unable to open"))


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
