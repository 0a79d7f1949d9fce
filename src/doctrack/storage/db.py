"""Engine and transactions. SQLite: WAL, a busy timeout, ``BEGIN IMMEDIATE`` for writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)

from doctrack.errors import DatabaseNotReadyError, RefusedError, UsageError

#: The Alembic revision this code expects; a test checks it is the migrations' head.
SCHEMA_HEAD = "0004"
_WRITE = "doctrack_write"


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
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_setup(self.engine, busy_timeout)
        self._checked = False

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred on SQLite)."""
        self._check_schema()
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose statements all see the same committed data, for
        reads made of several queries (reports, exports). SQLite in WAL mode gives a
        deferred transaction that already; PostgreSQL needs REPEATABLE READ."""
        self._check_schema()
        with self.engine.connect() as plain:
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
        with self.engine.connect() as plain:
            conn = plain.execution_options(**{_WRITE: True})
            try:
                with conn.begin():
                    yield conn
            except IntegrityError as exc:
                # A concurrent writer inserted the same key first (PostgreSQL).
                raise RefusedError(f"conflict with a concurrent change: {_reason(exc)}") from None
            except DataError as exc:
                # A value the use case did not check (too long, out of range): nothing written.
                raise UsageError(f"value refused by the database: {_reason(exc)}") from None

    def _check_schema(self) -> None:
        if self._checked:
            return
        try:
            with self.engine.connect() as conn:
                found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            if _is_connection_error(exc):
                raise DatabaseNotReadyError(
                    f"cannot connect to the database: {_reason(exc)}"
                ) from None
            raise DatabaseNotReadyError(
                "the database has no doctrack schema: run 'doctrack init'"
            ) from None
        if found != SCHEMA_HEAD:
            raise DatabaseNotReadyError(
                f"the database schema is at {found!r}, this doctrack needs {SCHEMA_HEAD!r}: "
                "run 'doctrack init'"
            )
        self._checked = True

    def dispose(self) -> None:
        self.engine.dispose()


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
