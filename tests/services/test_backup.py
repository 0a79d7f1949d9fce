"""Backup and restore (issue 7): export to JSON Lines, import into an empty database.

The source is the Tashkent 2016 demo replayed with its reminder emails sent, plus what the
demo lacks: a revision whose content is every byte value, a position comment with line
breaks and non-Latin text, a user with a password, an API token, a login failure and
reminders in every status.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    MetaData,
    Numeric,
    Table,
    Text,
    create_engine,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

import doctrack
from doctrack.clock import FixedClock
from doctrack.config import Settings
from doctrack.demo import load_scenario, replay
from doctrack.errors import AuthError, RefusedError, UsageError
from doctrack.services import audit, backup
from doctrack.services.accounts import Accounts
from doctrack.services.notify import OutboxSender
from doctrack.services.tracking import Tracker
from doctrack.storage import backup as store
from doctrack.storage import migrate
from doctrack.storage.db import SCHEMA_HEAD, Database
from doctrack.storage.tables import (
    API_TOKEN,
    EVENT,
    LOGIN_FAILURE,
    METADATA,
    PARTY,
    REMINDER,
    USER,
)
from doctrack.wiring import make_dispatcher
from helpers import WORKFLOWS, Rows, every_row

PASSWORD = "a long enough password"
BLOB = bytes(range(256)) * 3
COMMENT = 'first line\nsecond line\u2028«Ташкент» 塔什干 "quoted" \\ tab\t'


def dump(db: Database) -> Rows:
    """Every row of every table, in primary-key order."""
    with db.read() as conn:
        return every_row(conn)


def without(rows: Rows, *names: str) -> Rows:
    return {name: found for name, found in rows.items() if name not in names}


@dataclass
class Source:
    """The rich source database and its two export files."""

    url: str
    rows: Rows
    plain: Path
    secret: Path
    token: str


def _enrich(tracker: Tracker, clock: FixedClock) -> str:
    """What the demo lacks; returns an API token of user ``bk-kz``."""
    tracker.add_user("bk-drafter", email="bk@example.org", roles=["drafter"], actor="test")
    tracker.add_user(
        "bk-kz", email="bkkz@example.org", roles=["delegate"], party="KZ", language="ru", actor="t"
    )
    slug = "convention-extremism"
    tracker.revise(slug, content=BLOB, filename="draft.bin", as_user="bk-drafter", note=COMMENT)
    tracker.record_position(slug, "KZ", "reserve", as_user="bk-kz", comment=COMMENT)
    accounts = Accounts(
        tracker.db, clock, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    accounts.set_password("bk-kz", PASSWORD)
    _, token = accounts.create_token("bk-kz", label="script")
    with pytest.raises(AuthError):
        accounts.login("bk-kz", "a wrong password!!")
    with tracker.db.write() as conn:
        pending = conn.execute(
            select(REMINDER.c.id).where(REMINDER.c.status == "pending").order_by(REMINDER.c.id)
        ).scalars()
        first, second = list(pending)[:2]
        at = datetime(2016, 6, 1, 4, 0, 0, 123456, tzinfo=UTC)
        conn.execute(
            update(REMINDER)
            .where(REMINDER.c.id == first)
            .values(status="failed", attempts=3, first_failure_at=at, last_error="550 no such user")
        )
        conn.execute(
            update(REMINDER)
            .where(REMINDER.c.id == second)
            .values(status="sending", lease_until=at, claimed_by="host:1:abcd", late=True)
        )
    return token


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    folder = tmp_path_factory.mktemp("backup-source")
    url = f"sqlite:///{folder / 'source.db'}"
    doctrack.init_database(url)
    scenario = load_scenario()
    clock = FixedClock(scenario.setup_at)
    tracker = doctrack.connect(url, clock=clock)
    settings = Settings(workflows=str(WORKFLOWS))
    pump = make_dispatcher(tracker, settings, sender=OutboxSender(folder / "outbox"))
    replay(tracker, clock, scenario, reminders=pump)
    token = _enrich(tracker, clock)
    plain, secret = folder / "plain.jsonl", folder / "secret.jsonl"
    for path, secrets in ((plain, False), (secret, True)):
        with path.open("wb") as out:
            backup.export_database(tracker.db, out, clock=clock, with_secrets=secrets)
    rows = dump(tracker.db)
    tracker.db.dispose()
    yield Source(url=url, rows=rows, plain=plain, secret=secret, token=token)


@pytest.fixture
def target(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


def body(path: Path) -> list[bytes]:
    """The row lines of an export file: the header holds the export's time, and the end
    line a checksum over the header."""
    return path.read_bytes().splitlines()[1:-1]


def test_the_source_is_rich(source: Source) -> None:
    rows = source.rows
    statuses = {r[9] for r in rows["reminder"]}
    assert statuses == {"pending", "sending", "sent", "failed", "cancelled"}
    assert any(r[4] == BLOB for r in rows["revision"])
    assert any(r[7] for r in rows["app_user"]), "a password hash"
    assert rows["api_token"] and rows["login_failure"]
    counts = {name: len(found) for name, found in rows.items()}
    print(f"source rows per table: {counts}")


@pytest.mark.postgres
def test_round_trip_sqlite_postgres_sqlite(
    source: Source, postgres_url: str, tmp_path: Path
) -> None:
    """SQLite -> file -> PostgreSQL -> file -> SQLite: every row of every table the same."""
    _empty_postgres(postgres_url)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    pg = Database(postgres_url)
    try:
        loaded = backup.import_database(pg, source.secret)
        second = tmp_path / "from-postgres.jsonl"
        with second.open("wb") as out:
            backup.export_database(pg, out, clock=clock, with_secrets=True)
        pg_rows = dump(pg)
    finally:
        pg.dispose()
    back = Database(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        backup.import_database(back, second)
        third = tmp_path / "from-sqlite-again.jsonl"
        with third.open("wb") as out:
            again = backup.export_database(back, out, clock=clock, with_secrets=True)
        back_rows = dump(back)
    finally:
        back.dispose()
    expected = without(source.rows, LOGIN_FAILURE.name)
    assert without(pg_rows, LOGIN_FAILURE.name) == expected
    assert without(back_rows, LOGIN_FAILURE.name) == expected
    assert pg_rows[LOGIN_FAILURE.name] == back_rows[LOGIN_FAILURE.name] == []
    assert body(source.secret) == body(second) == body(third)
    assert loaded.rows == again.rows
    urls = {"source": source.url, "postgres": postgres_url, "back": back.url}
    digests = {name: _audit(url) for name, url in urls.items()}
    assert len(set(digests.values())) == 1, digests
    print(
        f"round trip: {loaded.total} rows of {len(loaded.rows)} tables, "
        f"{len(expected)} tables compared row by row on 3 databases, 3 files identical, "
        f"audit verify passed on all 3 with one heads digest"
    )


def _audit(url: str) -> str:
    """``audit verify`` passes on the database at ``url``; returns its heads digest."""
    db = Database(url)
    try:
        report = audit.verify(db)
    finally:
        db.dispose()
    assert report.ok, [p.line() for p in report.problems]
    assert report.events > 0 and report.revisions > 0
    return report.digest


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in METADATA.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def test_default_leaves_secrets_and_throttling_out(source: Source, target: Database) -> None:
    header = json.loads(source.plain.read_bytes().splitlines()[0])
    assert header["secrets"] is False
    assert {(s["table"], s.get("column")) for s in header["left_out"]} == {
        ("login_failure", None),
        ("app_user", "password_hash"),
        ("api_token", None),
    }
    assert b"argon2" not in source.plain.read_bytes()
    summary = backup.import_database(target, source.plain)
    assert summary.secrets is False
    rows = dump(target)
    assert rows["api_token"] == rows["login_failure"] == []
    assert [r[7] for r in rows["app_user"]] == [None] * len(rows["app_user"])
    hashless = [(*r[:7], None, *r[8:]) for r in source.rows["app_user"]]
    assert rows["app_user"] == hashless
    skip = ("app_user", "api_token", "login_failure")
    assert without(rows, *skip) == without(source.rows, *skip)
    with pytest.raises(AuthError):
        Accounts(target, FixedClock(datetime.now(UTC))).login("bk-kz", PASSWORD)
    assert _audit(target.url) == _audit(source.url)


def test_with_secrets_logins_and_tokens_still_work(source: Source, target: Database) -> None:
    header = json.loads(source.secret.read_bytes().splitlines()[0])
    assert header["secrets"] is True
    assert [s["table"] for s in header["left_out"]] == ["login_failure"]
    backup.import_database(target, source.secret)
    assert without(dump(target), "login_failure") == without(source.rows, "login_failure")
    accounts = Accounts(target, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert accounts.login("bk-kz", PASSWORD).name == "bk-kz"
    found = accounts.user_for_token(source.token)
    assert found is not None and found.name == "bk-kz"


def test_the_imported_database_works_and_new_ids_are_fresh(
    source: Source, db_url: str, workflows: Any
) -> None:
    db = Database(db_url)
    try:
        backup.import_database(db, source.secret)
    finally:
        db.dispose()
    clock = FixedClock(datetime(2016, 8, 1, tzinfo=UTC))
    tracker = doctrack.connect(db_url, clock=clock, workflows=workflows)
    try:
        before = tracker.history("convention-extremism")
        tracker.revise(
            "convention-extremism", content=b"new", filename="n.txt", as_user="bk-drafter"
        )
        tracker.advance("convention-extremism", "withdraw", as_user="yermekbayev")
        tracker.add_party("IN", name="India", actor="test")
        tracker.add_user("newcomer", email="n@example.org", roles=["drafter"], actor="test")
        after = tracker.history("convention-extremism")
        assert len(after) == len(before) + 2
        rows = dump(tracker.db)
    finally:
        tracker.db.dispose()
    _audit(db_url)  # the chains go on from the imported heads
    for table in ("event", "revision", "app_user"):
        old = [r[0] for r in source.rows[table]]
        new = [r[0] for r in rows[table]]
        assert len(new) > len(old) and min(new[len(old) :]) > max(old), table
        assert len(set(new)) == len(new)
    print(f"after import: events {len(source.rows['event'])} -> {len(rows['event'])}")


def test_batches_and_progress(
    source: Source, target: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup, "WRITE_BATCH", 7)
    monkeypatch.setattr(backup, "PROGRESS_EVERY", 50)
    lines: list[str] = []
    summary = backup.import_database(target, source.secret, progress=lines.append)
    assert without(dump(target), "login_failure") == without(source.rows, "login_failure")
    assert f"reminder: 50 of {summary.rows['reminder']} rows" in lines
    assert "api_token: 1 row" in lines
    assert f"reminder: {summary.rows['reminder']} rows" in lines
    assert len([x for x in lines if " of " not in x]) == len(
        [n for n in summary.rows.values() if n]
    )
    print(f"progress lines: {len(lines)}; batches of 7 for {summary.total} rows")


def test_export_streams_every_table_in_foreign_key_order(source: Source) -> None:
    raw = source.secret.read_bytes()
    lines = raw.splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == "doctrack-export" and header["version"] == 1
    assert header["schema"] == SCHEMA_HEAD
    assert header["created_at"].endswith("Z")
    names = [t["name"] for t in header["tables"]]
    assert names == [t.name for t in METADATA.sorted_tables if t.name != "login_failure"]
    order = [json.loads(x)["t"] for x in lines[1:-1]]
    assert order == sorted(order, key=names.index)
    assert end["sha256"] == hashlib.sha256(raw[: raw.rindex(b"\n", 0, -1) + 1]).hexdigest()
    assert end["rows"] == {n: len(source.rows[n]) for n in names}
    contents = [
        base64.b64decode(json.loads(x)["r"]["content"])
        for x in lines[1:-1]
        if json.loads(x)["t"] == "revision"
    ]
    assert BLOB in contents


# -- refusals: one line, nothing written ---------------------------------------------------


def reseal(lines: list[bytes]) -> bytes:
    """Rows ``lines`` (header first, no end line) with a correct end line, as a forger would."""
    data = b"".join(x + b"\n" for x in lines)
    counts: dict[str, int] = {}
    for x in lines[1:]:
        table = json.loads(x)["t"]
        counts[table] = counts.get(table, 0) + 1
    header = json.loads(lines[0])
    rows = {t["name"]: counts.get(t["name"], 0) for t in header["tables"]}
    end = {"end": True, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
    return data + json.dumps(end).encode() + b"\n"


def edit_row(lines: list[bytes], table: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the last row of ``table``."""
    index = max(i for i, x in enumerate(lines) if x.startswith(f'{{"t":"{table}"'.encode()))
    row = json.loads(lines[index])
    change(row["r"])
    lines[index] = json.dumps(row, ensure_ascii=False).encode()


def edit_header(lines: list[bytes], change: Callable[[dict[str, Any]], None]) -> None:
    header = json.loads(lines[0])
    change(header)
    lines[0] = json.dumps(header).encode()


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__(key, value)


def _unknown_column(header: dict[str, Any]) -> None:
    header["tables"][0]["columns"].append({"name": "colour", "type": "str"})


def _bad_file(case: str, good: bytes) -> bytes:
    lines = good.splitlines()
    rows = lines[:-1]
    if case == "checksum":  # a row edited, the end line left as it was
        edit_row(lines, "party", _set("name", "Edited"))
        return b"\n".join(lines) + b"\n"
    if case == "cut-mid-line":
        return good[: len(good) // 2]
    if case == "cut-at-line":
        return b"".join(x + b"\n" for x in rows[: len(rows) // 2])
    if case == "after-end":
        return good + rows[1] + b"\n"
    if case == "version":
        edit_header(rows, _set("version", 2))
    elif case == "schema":
        edit_header(rows, _set("schema", "0099"))
    elif case == "older-schema-columns":  # today's columns under an older revision's name
        edit_header(rows, _set("schema", "0004"))
    elif case == "not-export":
        edit_header(rows, _set("format", "something-else"))
    elif case == "unknown-table":
        edit_header(rows, lambda h: h["tables"].append({"name": "secret", "columns": []}))
    elif case == "unknown-column":
        edit_header(rows, _unknown_column)
    elif case == "bad-value":
        edit_row(rows, "summit", _set("starts", "2016-13-45"))
    elif case == "broken-foreign-key":  # the last table: every other row is in by then
        edit_row(rows, "reminder", _set("user_id", 999_999))
    elif case == "duplicate-key":
        rows.append(rows[-1])
    return reseal(rows)


CASES = {
    "checksum": (UsageError, "fails its checksum"),
    "cut-mid-line": (UsageError, "is not JSON"),
    "cut-at-line": (UsageError, "is cut short: no end line"),
    "after-end": (UsageError, "follows the end line"),
    "version": (UsageError, "export format version 2; this doctrack reads version 1"),
    "schema": (
        UsageError,
        f"schema revision '0099', which this doctrack (schema '{SCHEMA_HEAD}') does not know",
    ),
    "older-schema-columns": (UsageError, "unknown column 'chain_head' of table 'summit'"),
    "not-export": (UsageError, "is not a doctrack export"),
    "unknown-table": (UsageError, "unknown table 'secret'"),
    "unknown-column": (UsageError, "unknown column 'colour'"),
    "bad-value": (UsageError, "bad value for summit.starts"),
    "broken-foreign-key": (UsageError, "rows of reminder break the schema"),
    "duplicate-key": (UsageError, "rows of reminder break the schema"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_file_is_refused_and_nothing_is_written(
    case: str, source: Source, target: Database, tmp_path: Path
) -> None:
    error, message = CASES[case]
    path = tmp_path / f"{case}.jsonl"
    path.write_bytes(_bad_file(case, source.secret.read_bytes()))
    before = dump(target)
    with pytest.raises(error) as caught:
        backup.import_database(target, path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert dump(target) == before
    assert all(not found for found in before.values())


def test_a_missing_file_is_refused(target: Database, tmp_path: Path) -> None:
    before = dump(target)
    with pytest.raises(UsageError, match=r"cannot read .*nothing\.jsonl: no such file"):
        backup.import_database(target, tmp_path / "nothing.jsonl")
    assert dump(target) == before


def test_a_database_with_data_is_refused(source: Source, world: Tracker) -> None:
    before = dump(world.db)
    with pytest.raises(RefusedError, match=r"the database is not empty .*party, summit, app_user"):
        backup.import_database(world.db, source.plain)
    assert dump(world.db) == before


def test_a_database_without_a_schema_gets_one(source: Source, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        backup.import_database(db, source.plain)
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(EVENT)).scalar() == len(
                source.rows["event"]
            )
    finally:
        db.dispose()


def test_export_of_an_empty_database(target: Database) -> None:
    out = io.BytesIO()
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    summary = backup.export_database(target, out, clock=clock)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and summary.total == 0
    assert json.loads(lines[0])["created_at"] == "2026-01-01T00:00:00Z"
    assert API_TOKEN.name not in summary.rows and USER.name in summary.rows


def test_the_plan_is_the_schema_less_what_is_left_out() -> None:
    """Generic over the schema: a column added by a later migration is exported as is."""
    for secrets in (False, True):
        plans = {p.table.name: p for p in backup.export_plan(with_secrets=secrets)}
        skipped = backup.left_out(with_secrets=secrets)
        whole = {s.table for s in skipped if s.column is None}
        assert set(plans) == {t.name for t in METADATA.sorted_tables} - whole
        for name, plan in plans.items():
            dropped = {s.column for s in skipped if s.table == name}
            assert plan.columns == tuple(
                c.name for c in METADATA.tables[name].columns if c.name not in dropped
            )


@pytest.mark.parametrize(
    ("sql_type", "kind"),
    [(Text(), "str"), (Boolean(), "bool"), (Date(), "date"), (JSON(), "json"), (Float(), "float")],
)
def test_column_kinds(sql_type: Any, kind: str) -> None:
    assert store.column_kind(Column("c", sql_type)) == kind


@pytest.mark.parametrize("sql_type", [Numeric(10, 2), DateTime(timezone=False)])
def test_a_column_without_an_encoding_is_named(sql_type: Any) -> None:
    table = Table("gadget", MetaData(), Column("c", sql_type))
    with pytest.raises(store.UnsupportedColumnError, match=r"column gadget\.c"):
        store.column_kind(table.c.c)


def test_a_forged_file_imports_but_audit_verify_names_the_event(
    source: Source, target: Database, tmp_path: Path
) -> None:
    """The checksum catches damage; a forger who recomputes it is caught by the chains."""
    lines = source.secret.read_bytes().splitlines()[:-1]
    edit_row(lines, "event", _set("comment", "never said"))
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(reseal(lines))
    backup.import_database(target, forged)
    report = audit.verify(target)
    assert not report.ok
    assert [p.what for p in report.problems] == ["hash"]


def test_the_documented_example_is_a_sound_file() -> None:
    """docs/export-format.md shows a whole file: its checksum and counts hold."""
    page = (WORKFLOWS.parent / "docs" / "export-format.md").read_text(encoding="utf-8")
    example = page.split("## Example", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    data = example.encode()
    lines = data.splitlines()
    end = json.loads(lines[-1])
    assert end["sha256"] == hashlib.sha256(data[: -len(lines[-1]) - 1]).hexdigest()
    counted = [json.loads(x)["t"] for x in lines[1:-1]]
    names = [t["name"] for t in json.loads(lines[0])["tables"]]
    assert end["rows"] == {name: counted.count(name) for name in names}


def test_a_file_replaced_between_the_passes_is_refused(
    source: Source, target: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "moving.jsonl"
    path.write_bytes(source.secret.read_bytes())
    checked = backup.check_file

    def check_then_replace(p: Path) -> backup.FileCheck:
        found = checked(p)
        path.write_bytes(source.plain.read_bytes())  # sound too, but another file
        return found

    monkeypatch.setattr(backup, "check_file", check_then_replace)
    with pytest.raises(UsageError, match="changed while it was being imported"):
        backup.import_database(target, path)
    assert all(not found for found in dump(target).values())


# -- a file of an older schema revision ------------------------------------------------------

#: Exported by the doctrack of commit 932112a^ (schema 0005, before migration 0006) from its
#: own demo (``doctrack demo``, then ``doctrack --now 2016-07-01T00:00 export``).
OLD_EXPORT = WORKFLOWS.parent / "tests" / "data" / "export-0005-demo.jsonl"
#: What that doctrack's ``audit verify`` printed as the heads digest of the database it
#: exported: the history, chained as it was written.
OLD_DIGEST = "774b85df991ece2d774565a5a42d81b60b2575edda07e12957333e4370015772"
#: What migration 0005 added: the links of the hash chains.
CHAIN_COLUMNS = {"event": {"seq", "prev_hash", "hash"}, "instrument": {"chain_head"},
                 "summit": {"chain_head"}}  # fmt: skip


def as_0004(path: Path) -> bytes:
    """The 0005 file as an 0004 export would hold it: the same rows, no chain columns."""
    lines = path.read_bytes().splitlines()[:-1]
    header = json.loads(lines[0])
    header["schema"] = "0004"
    for table in header["tables"]:
        dropped = CHAIN_COLUMNS.get(table["name"], set())
        table["columns"] = [c for c in table["columns"] if c["name"] not in dropped]
    out = [json.dumps(header).encode()]
    for raw in lines[1:]:
        row = json.loads(raw)
        dropped = CHAIN_COLUMNS.get(row["t"], set())
        row["r"] = {k: v for k, v in row["r"].items() if k not in dropped}
        out.append(json.dumps(row, ensure_ascii=False).encode())
    return reseal(out)


def schema_of(url: str) -> dict[str, Any]:
    """The revision, and every table's columns and indexes, of the database at ``url``."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return {
            "revision": revision,
            "tables": {
                name: (
                    sorted(c["name"] for c in found.get_columns(name)),
                    sorted(str(i["name"]) for i in found.get_indexes(name)),
                )
                for name in found.get_table_names()
            },
        }
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", ["0005", "0004"])
def test_an_older_export_is_upgraded_by_the_migrations(
    revision: str, db_url: str, target: Database, tmp_path: Path
) -> None:
    """The file's rows go in at its revision, then the migrations bring them up to date: the
    0004 file's chains are made by migration 0005, and come out as they were written."""
    path = OLD_EXPORT
    if revision == "0004":
        path = tmp_path / "export-0004.jsonl"
        path.write_bytes(as_0004(OLD_EXPORT))
    head = schema_of(db_url)
    summary = backup.import_database(target, path)
    assert (summary.upgraded_from, summary.schema) == (revision, SCHEMA_HEAD)
    assert summary.total == 284 and summary.rows["event"] == 64
    assert schema_of(db_url) == head
    assert _audit(db_url) == OLD_DIGEST
    with target.read() as conn:
        assert conn.execute(select(func.count()).select_from(EVENT)).scalar() == 64


def test_an_older_export_into_a_database_without_a_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert backup.import_database(db, OLD_EXPORT).upgraded_from == "0005"
    finally:
        db.dispose()
    assert schema_of(db.url)["revision"] == SCHEMA_HEAD
    assert _audit(db.url) == OLD_DIGEST


REFUSED_OLDER = {
    "broken-foreign-key": ("rows of reminder break the schema", ["0005"]),
    "non-empty": ("the database is not empty", []),
    # A migration whose data step fails on the file's rows: here, after the real upgrade,
    # an INSERT that breaks a key, as a migration finding rows it cannot carry over would.
    "upgrade-fails": (
        f"its rows of schema 0005 cannot be upgraded to {SCHEMA_HEAD}: ",
        ["0005", SCHEMA_HEAD],
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_OLDER))
def test_an_older_export_refused_leaves_the_schema_as_it_was(
    case: str,
    db_url: str,
    target: Database,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refusal after the schema was taken back to the file's revision rolls that back too."""
    moves: list[str] = []
    move = migrate.move

    def spy(conn: Connection, to: str) -> None:
        moves.append(to)
        move(conn, to)
        if case == "upgrade-fails" and to == SCHEMA_HEAD:
            conn.execute(insert(PARTY).values(code="KZ", name="a second Kazakhstan"))

    monkeypatch.setattr(migrate, "move", spy)
    path = tmp_path / "old.jsonl"
    if case == "broken-foreign-key":
        lines = OLD_EXPORT.read_bytes().splitlines()[:-1]
        edit_row(lines, "reminder", _set("user_id", 999_999))
        path.write_bytes(reseal(lines))
    else:
        path.write_bytes(OLD_EXPORT.read_bytes())
    if case == "non-empty":
        tracker = doctrack.connect(db_url, clock=clock)
        tracker.add_party("KZ", name="Republic of Kazakhstan", actor="test")
        tracker.db.dispose()
    before, rows = schema_of(db_url), dump(target)
    with pytest.raises((UsageError, RefusedError)) as caught:
        backup.import_database(target, path)
    expected, moved = REFUSED_OLDER[case]
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert moves == moved
    assert schema_of(db_url) == before
    assert dump(target) == rows
