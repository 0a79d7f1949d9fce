"""Backup and restore: the whole database as one JSON Lines file with a checksum.

The format is in docs/export-format.md: a header line, one line per row, an end line with
the row counts and the sha256 of every byte before it. Export streams every table of the
schema (``METADATA.sorted_tables``, so new columns and tables need no code here) from one
consistent snapshot. Import reads the file twice: the first pass checks the header, the
shape of every line, the counts and the checksum without touching the database; the second
inserts every row in one transaction, so a failure leaves the database as empty as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from doctrack import __version__
from doctrack.clock import Clock
from doctrack.errors import DatabaseNotReadyError, RefusedError, UsageError
from doctrack.storage import backup as store
from doctrack.storage.db import SCHEMA_HEAD, Database
from doctrack.storage.tables import API_TOKEN, LOGIN_FAILURE, METADATA, USER

FORMAT = "doctrack-export"
VERSION = 1
#: Rows per ``executemany`` while importing.
WRITE_BATCH = 2000
#: A long table reports its progress every this many rows.
PROGRESS_EVERY = 100_000

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class LeftOut:
    """A table, or one column of it, that an export does not hold, and why."""

    table: str
    column: str | None
    reason: str

    def as_json(self) -> dict[str, str]:
        found = {"table": self.table, "reason": self.reason}
        return found if self.column is None else {**found, "column": self.column}


def left_out(*, with_secrets: bool) -> list[LeftOut]:
    """What an export leaves out: login throttling state always, secrets unless asked."""
    out = [LeftOut(table=LOGIN_FAILURE.name, column=None, reason="login throttling state")]
    if not with_secrets:
        out += [
            LeftOut(
                table=USER.name,
                column=USER.c.password_hash.name,
                reason="secret (--with-secrets): users must set a password again",
            ),
            LeftOut(
                table=API_TOKEN.name,
                column=None,
                reason="secret (--with-secrets): API tokens must be made again",
            ),
        ]
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class TablePlan:
    """One table as a file holds it: its columns and their kinds, in order."""

    table: Table
    columns: tuple[str, ...]
    kinds: tuple[str, ...]

    def pairs(self) -> list[tuple[str, str]]:
        """(column, kind) of each column, in order."""
        return list(zip(self.columns, self.kinds, strict=True))

    def as_json(self) -> dict[str, Any]:
        columns = [{"name": c, "type": k} for c, k in self.pairs()]
        return {"name": self.table.name, "columns": columns}


def export_plan(*, with_secrets: bool) -> list[TablePlan]:
    """Every table and column of the schema an export holds, in foreign-key order."""
    skipped = left_out(with_secrets=with_secrets)
    whole = {s.table for s in skipped if s.column is None}
    columns_out = {(s.table, s.column) for s in skipped if s.column is not None}
    plans = []
    for table in METADATA.sorted_tables:
        if table.name in whole:
            continue
        kept = [c for c in table.columns if (table.name, c.name) not in columns_out]
        try:
            kinds = tuple(store.column_kind(c) for c in kept)
        except store.UnsupportedColumnError as exc:
            raise UsageError(f"cannot export: {exc}") from None
        plans.append(TablePlan(table=table, columns=tuple(c.name for c in kept), kinds=kinds))
    return plans


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupSummary:
    """What an export wrote or an import restored."""

    schema: str
    secrets: bool
    rows: dict[str, int]
    sha256: str
    #: import: the older schema revision the file was exported at, which was upgraded
    upgraded_from: str | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def _line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def export_database(
    db: Database,
    out: IO[bytes],
    *,
    clock: Clock,
    with_secrets: bool = False,
    progress: Progress | None = None,
) -> BackupSummary:
    """Write the whole database to ``out``, streamed, from one consistent snapshot."""
    plans = export_plan(with_secrets=with_secrets)
    digest = hashlib.sha256()
    counts: dict[str, int] = {}

    def write(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    with db.snapshot() as conn:
        schema = store.schema_revision(conn) or ""
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": schema,
            "created_at": store.ENCODERS["datetime"](clock.now()),
            "doctrack": __version__,
            "secrets": with_secrets,
            "left_out": [s.as_json() for s in left_out(with_secrets=with_secrets)],
            "tables": [p.as_json() for p in plans],
        }
        write(_line(header))
        for plan in plans:
            name = plan.table.name
            pairs = [(c, store.ENCODERS[k]) for c, k in plan.pairs()]
            n = 0
            for row in store.stream_rows(conn, plan.table, plan.columns):
                record = {
                    c: None if v is None else e(v) for (c, e), v in zip(pairs, row, strict=True)
                }
                write(_line({"t": name, "r": record}))
                n += 1
                if progress and n % PROGRESS_EVERY == 0:
                    progress(f"{name}: {_rows(n)}")
            counts[name] = n
            if progress and n >= PROGRESS_EVERY:
                progress(f"{name}: {_rows(n)}")
    sha256 = digest.hexdigest()
    out.write(_line({"end": True, "rows": counts, "sha256": sha256}))
    return BackupSummary(schema=schema, secrets=with_secrets, rows=counts, sha256=sha256)


# -- import -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FileCheck:
    """An export file that passed every check of the first pass."""

    path: Path
    #: the schema revision the file was exported at
    schema: str
    secrets: bool
    plans: dict[str, TablePlan]
    rows: dict[str, int]
    sha256: str


class _Lines:
    """The lines of an export file, numbered, each with its bytes (for the checksum)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.file = path.open("rb")
        except FileNotFoundError:
            raise UsageError(f"cannot read {path}: no such file") from None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None

    def __iter__(self) -> Iterator[tuple[int, bytes, Any]]:
        with self.file:
            for number, raw in enumerate(self.file, start=1):
                try:
                    value = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise self.bad(
                        number, "is not JSON (the file is damaged or cut short)"
                    ) from None
                yield number, raw, value

    def bad(self, number: int, what: str) -> UsageError:
        return UsageError(f"{self.path}: line {number} {what}")


def _check_header(lines: _Lines, header: Any) -> tuple[str, bool, dict[str, TablePlan]]:
    path = lines.path
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise UsageError(f"{path} is not a doctrack export (no {FORMAT!r} header line)")
    if header.get("version") != VERSION:
        raise UsageError(
            f"{path} is in export format version {header.get('version')!r}; "
            f"this doctrack reads version {VERSION}"
        )
    schema = header.get("schema")
    if schema != SCHEMA_HEAD:
        from doctrack.storage import migrate

        if schema not in migrate.revisions():
            raise UsageError(
                f"{path} holds schema revision {schema!r}, which this doctrack (schema "
                f"{SCHEMA_HEAD!r}) does not know: import it with the doctrack that exported it "
                "or a newer one"
            )
    tables = header.get("tables")
    if not isinstance(tables, list):
        raise lines.bad(1, "has no list of tables")
    plans = {}
    for entry in tables:
        plan = _plan_of(lines, entry, schema)
        plans[plan.table.name] = plan
    return schema, header.get("secrets") is True, plans


def _table_at(name: str, schema: str) -> Table | None:
    """Table ``name`` as revision ``schema`` has it, or None. An older revision's table is
    today's, cut to the columns it had then: without today's column defaults, so that an
    INSERT names only the columns that exist."""
    table = METADATA.tables.get(name)
    if schema == SCHEMA_HEAD or table is None:
        return table
    from doctrack.storage import migrate

    then = migrate.tables_at(schema).get(name)
    if then is None:
        return None
    kept = [c for c in table.columns if c.name in then.columns]
    return Table(
        name, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key) for c in kept)
    )


def _required(table: Table, schema: str) -> set[str]:
    """The columns a row of ``table`` must give at revision ``schema``."""
    if schema != SCHEMA_HEAD:
        from doctrack.storage import migrate

        return set(migrate.tables_at(schema)[table.name].required)
    required = set()
    for column in table.columns:
        optional = column.nullable or column.default is not None or column.server_default
        automatic = column is table.autoincrement_column
        if not optional and not automatic:
            required.add(column.name)
    return required


def _plan_of(lines: _Lines, entry: Any, schema: str) -> TablePlan:
    if not isinstance(entry, dict) or not isinstance(entry.get("columns"), list):
        raise lines.bad(1, f"has a malformed table entry {entry!r}")
    name = entry.get("name")
    table = _table_at(name, schema) if isinstance(name, str) else None
    if table is None:
        raise lines.bad(1, f"names an unknown table {name!r}")
    columns, kinds = [], []
    for column in entry["columns"]:
        cname = column.get("name") if isinstance(column, dict) else None
        if not isinstance(cname, str) or cname not in table.c:
            raise lines.bad(1, f"names an unknown column {cname!r} of table {name!r}")
        kind = store.column_kind(table.c[cname])
        if column.get("type") != kind:
            raise lines.bad(
                1, f"gives {name}.{cname} the type {column.get('type')!r}; the schema's is {kind}"
            )
        columns.append(cname)
        kinds.append(kind)
    required = _required(table, schema)
    for column in table.columns:
        if column.name in required and column.name not in columns:
            raise lines.bad(1, f"lacks the column {name}.{column.name}, which is required")
    return TablePlan(table=table, columns=tuple(columns), kinds=tuple(kinds))


def check_file(path: Path) -> FileCheck:
    """The first pass: header, shape of every line, counts and checksum. No database."""
    lines = _Lines(path)
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    plans: dict[str, TablePlan] = {}
    schema = SCHEMA_HEAD
    secrets = False
    end: Any = None
    last = 0
    for number, raw, value in lines:
        last = number
        if end is not None:
            raise lines.bad(number, "follows the end line")
        if number == 1:
            schema, secrets, plans = _check_header(lines, value)
            counts = dict.fromkeys(plans, 0)
        elif isinstance(value, dict) and "end" in value:
            end = value
            continue
        else:
            table = _row_table(lines, number, value, plans)
            counts[table] += 1
        digest.update(raw)
    if last == 0:
        raise UsageError(f"{path} is empty")
    if end is None:
        raise UsageError(f"{path} is cut short: no end line after line {last}")
    if end.get("sha256") != digest.hexdigest():
        raise UsageError(f"{path} fails its checksum: it was changed or damaged after export")
    if end.get("rows") != counts:
        raise UsageError(f"{path}: the end line's row counts do not match the rows in the file")
    return FileCheck(
        path=path,
        schema=schema,
        secrets=secrets,
        plans=plans,
        rows=counts,
        sha256=digest.hexdigest(),
    )


def _row_table(lines: _Lines, number: int, value: Any, plans: dict[str, TablePlan]) -> str:
    if not isinstance(value, dict) or set(value) != {"t", "r"}:
        raise lines.bad(number, "is not a row line")
    table = value["t"]
    plan = plans.get(table) if isinstance(table, str) else None
    if plan is None or not isinstance(table, str):
        raise lines.bad(number, f"is a row of table {table!r}, which the header does not list")
    record = value["r"]
    if not isinstance(record, dict) or tuple(record) != plan.columns:
        raise lines.bad(number, f"does not hold the header's columns of {table!r}, in order")
    return table


def import_database(db: Database, path: Path, *, progress: Progress | None = None) -> BackupSummary:
    """Restore ``path`` into an empty database (its schema is created when missing).

    ``progress`` hears of each table and of every ``PROGRESS_EVERY`` rows, for a file of
    at least that many rows."""
    check = check_file(path)
    if sum(check.rows.values()) < PROGRESS_EVERY:
        progress = None
    _ensure_schema(db)
    tables = [t for t in METADATA.sorted_tables if t is not LOGIN_FAILURE]
    with db.write() as conn:
        busy = store.non_empty(conn, tables)
        if busy:
            held = ", ".join(busy[:3]) + (", ..." if len(busy) > 3 else "")
            raise RefusedError(
                f"the database is not empty (it holds rows of {held}): "
                "import restores into an empty database only"
            )
        older = check.schema != SCHEMA_HEAD
        if older:
            # The database is empty: take its schema back to the file's revision, load the
            # rows as they were, and let the migrations bring them (and the schema) up to
            # date, all in this one transaction.
            from doctrack.storage import migrate

            migrate.move(conn, check.schema)
        try:
            sha256 = _load(conn, check, progress)
        except (KeyError, TypeError):
            sha256 = ""  # a line the first pass did not see: the file was replaced
        if sha256 != check.sha256:
            raise UsageError(f"{path} changed while it was being imported")
        if older:
            if progress:
                progress(f"upgrading the schema from {check.schema} to {SCHEMA_HEAD}")
            try:
                migrate.move(conn, SCHEMA_HEAD)
            except (IntegrityError, DataError, ValueError) as exc:
                # a key or value the migrations cannot carry over; ValueError: from a
                # migration's own Python code (a lost connection stays exit 3)
                found = getattr(exc, "orig", None) or exc
                reason = (str(found).strip().splitlines() or [type(found).__name__])[0]
                raise UsageError(
                    f"{path}: its rows of schema {check.schema} cannot be upgraded to "
                    f"{SCHEMA_HEAD}: {reason}"
                ) from None
        store.reset_identities(conn, [METADATA.tables[name] for name in check.plans])
    return BackupSummary(
        schema=SCHEMA_HEAD,
        secrets=check.secrets,
        rows=check.rows,
        sha256=sha256,
        upgraded_from=check.schema if older else None,
    )


def _ensure_schema(db: Database) -> None:
    from doctrack.storage import migrate

    db.make_folder()
    try:
        missing = migrate.current(db) is None
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseNotReadyError(f"cannot connect to the database: {reason}") from None
    if missing:
        migrate.upgrade(db)


def _load(conn: Connection, check: FileCheck, progress: Progress | None) -> str:
    """The second pass: insert every row in batches; returns the sha256 read this time."""
    lines = _Lines(check.path)
    digest = hashlib.sha256()
    plan: TablePlan | None = None
    decoders: list[tuple[str, store.Decoder]] = []
    batch: list[dict[str, Any]] = []
    done = 0

    def flush() -> None:
        if plan is None or not batch:
            return
        try:
            store.insert_rows(conn, plan.table, batch)
        except IntegrityError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise UsageError(
                f"{check.path}: rows of {plan.table.name} break the schema: {reason}"
            ) from None
        batch.clear()

    for number, raw, value in lines:
        if number > 1 and "end" in value:
            break
        digest.update(raw)
        if number == 1:
            continue
        if plan is None or value["t"] != plan.table.name:
            flush()
            if plan is not None and progress:
                progress(f"{plan.table.name}: {_rows(done)}")
            plan = check.plans[value["t"]]
            decoders = [
                (c, store.DECODERS[k]) for c, k in zip(plan.columns, plan.kinds, strict=True)
            ]
            done = 0
        batch.append(_decode(lines, number, plan.table.name, decoders, value["r"]))
        done += 1
        if len(batch) >= WRITE_BATCH:
            flush()
        if progress and done % PROGRESS_EVERY == 0:
            progress(f"{plan.table.name}: {done} of {check.rows[plan.table.name]} rows")
    flush()
    if plan is not None and progress:
        progress(f"{plan.table.name}: {_rows(done)}")
    return digest.hexdigest()


def _decode(
    lines: _Lines,
    number: int,
    table: str,
    decoders: list[tuple[str, store.Decoder]],
    record: dict[str, Any],
) -> dict[str, Any]:
    row = {}
    for column, decode in decoders:
        value = record[column]
        try:
            row[column] = None if value is None else decode(value)
        except (TypeError, ValueError) as exc:
            raise lines.bad(number, f"has a bad value for {table}.{column}: {exc}") from None
    return row
