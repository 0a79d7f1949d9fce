"""The SQL of backup and restore, generic over the schema.

Tables are read whole, in primary-key order, streamed (``yield_per``: a server-side cursor
on PostgreSQL), and written back with ``executemany`` batches. A column's SQL type decides
its *kind*, and the kind how its values are written as JSON (see docs/export-format.md).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Rows fetched from the database per round trip while exporting.
READ_BATCH = 2000

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


class UnsupportedColumnError(TypeError):
    """A column whose SQL type has no JSON encoding here."""


def column_kind(column: Column[Any]) -> str:
    """``str``, ``int``, ``bool``, ``float``, ``datetime``, ``date``, ``bytes`` or ``json``."""
    sql_type: TypeEngine[Any] = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, DateTime) and not sql_type.timezone:
        raise UnsupportedColumnError(
            f"column {column.table.name}.{column.name} is a datetime without a time zone"
        )
    # Order matters: Boolean before Integer, Float before anything numeric, Text is a String.
    for cls, kind in (
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (DateTime, "datetime"),
        (Date, "date"),
        (LargeBinary, "bytes"),
        (JSON, "json"),
        (String, "str"),
    ):
        if isinstance(sql_type, cls):
            return kind
    raise UnsupportedColumnError(
        f"column {column.table.name}.{column.name} of type {sql_type!r} has no export encoding"
    )


def _encode_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _same(value: Any) -> Any:
    return value


ENCODERS: dict[str, Encoder] = {
    "str": _same,
    "int": _same,
    "bool": _same,
    "float": _same,
    "json": _same,
    "datetime": _encode_datetime,
    "date": date.isoformat,
    "bytes": lambda value: base64.b64encode(value).decode("ascii"),
}


def _expect(kind: str, *types: type) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, types) or (kind == "int" and isinstance(value, bool)):
            raise TypeError(f"{value!r} is not a {kind}")
        return value

    return decode


def _decode_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a datetime")
    found = datetime.fromisoformat(value)
    if found.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (UTC ends in Z)")
    return found.astimezone(UTC)


def _decode_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise TypeError(f"{value!r} is not a date")
    return date.fromisoformat(value)


def _decode_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not base64")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("not valid base64") from None


DECODERS: dict[str, Decoder] = {
    "str": _expect("str", str),
    "int": _expect("int", int),
    "bool": _expect("bool", bool),
    "float": _expect("float", int, float),
    "json": _same,
    "datetime": _decode_datetime,
    "date": _decode_date,
    "bytes": _decode_bytes,
}


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at."""
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


def stream_rows(conn: Connection, table: Table, columns: Sequence[str]) -> Iterator[Sequence[Any]]:
    """Every row of ``table`` (only ``columns``), in primary-key order, a batch at a time."""
    query = select(*(table.c[name] for name in columns)).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=READ_BATCH).execute(query)
    for partition in result.partitions():
        yield from partition


def non_empty(conn: Connection, tables: Sequence[Table]) -> list[str]:
    """The names of those ``tables`` that hold at least one row."""
    return [t.name for t in tables if conn.execute(select(exists().select_from(t))).scalar()]


def count_rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` insert of ``rows`` (column name to Python value)."""
    if rows:
        conn.execute(insert(table), rows)


def reset_identities(conn: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL: point each table's id sequence past the largest id, so that new rows
    do not collide with imported ones. SQLite needs nothing: a rowid follows the largest."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(f'"{table.name}"', column.name)
        following = func.coalesce(select(func.max(column)).scalar_subquery(), 0) + 1
        conn.execute(select(func.setval(sequence, following, False)))
