"""``doctrack export`` and ``doctrack import`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Cli

from doctrack.storage import backup as store
from doctrack.storage.db import SCHEMA_HEAD
from helpers import ROOT

SLUGS = ("convention", "strategy", "action-plan")


def _busy(cli: Cli) -> None:
    """Some history worth restoring: a revision, positions, a transition."""
    cli.to_agreed("convention")
    cli.revise("strategy", "текст стратегии\n")


def _views(cli: Cli, db: str) -> dict[str, object]:
    return {
        "summits": cli.json("summit", "list", db=db),
        "reminders": cli.json("reminders", "list", db=db),
        **{f"show {s}": cli.json("doc", "show", s, db=db) for s in SLUGS},
        **{f"history {s}": cli.json("doc", "history", s, db=db) for s in SLUGS},
    }


def test_export_then_import_into_a_fresh_database(scenario: Cli, tmp_path: Path) -> None:
    cli = scenario
    _busy(cli)
    first = tmp_path / "backup.jsonl"
    done = cli.ok("export", "-o", str(first))
    assert done.stdout.startswith("exported ") and f"to {first}; sha256 " in done.stdout
    assert "without secrets" in done.stdout
    target = f"sqlite:///{tmp_path / 'restored.db'}"  # no schema yet: import makes it
    restored = cli.ok("import", str(first), db=target)
    assert restored.stdout.startswith("imported ") and "without secrets" in restored.stdout
    assert _views(cli, target) == _views(cli, str(cli.db))
    verified = cli.ok("audit", "verify", db=target).stdout
    assert verified == cli.ok("audit", "verify").stdout  # the same chains, the same digest
    second = tmp_path / "again.jsonl"
    cli.ok("export", "-o", str(second), db=target)
    assert first.read_bytes().splitlines()[1:-1] == second.read_bytes().splitlines()[1:-1]
    # The restored database takes new work.
    cli.ok("doc", "advance", "convention", "approve", "--as", "sec", db=target)
    assert cli.show("convention", db=target)["state"] == "approved"


def test_export_to_stdout(scenario: Cli, tmp_path: Path) -> None:
    result = scenario.ok("export", "-o", "-", "--with-secrets")
    lines = result.stdout_bytes.splitlines()
    assert json.loads(lines[0])["secrets"] is True
    assert json.loads(lines[-1])["end"] is True
    assert "exported" in result.stderr and "to stdout" in result.stderr
    path = tmp_path / "piped.jsonl"
    path.write_bytes(result.stdout_bytes)
    scenario.ok("import", str(path), db=f"sqlite:///{tmp_path / 'piped.db'}")


def test_import_of_an_older_schema_says_it_was_upgraded(bare_cli: Cli, tmp_path: Path) -> None:
    """The 0005 file of tests/services/test_backup.py, made by the doctrack of that schema."""
    old = ROOT / "tests" / "data" / "export-0005-demo.jsonl"
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    done = bare_cli.ok("import", str(old), db=target).stdout
    assert done.startswith("imported 284 rows of 11 tables (without secrets)")
    assert done.rstrip().endswith(f"; schema 0005 upgraded to {SCHEMA_HEAD}")
    assert "the history is as it was written" in bare_cli.ok("audit", "verify", db=target).stdout
    newer = tmp_path / "newer.jsonl"
    newer.write_bytes(old.read_bytes().replace(b'"schema":"0005"', b'"schema":"0099"', 1))
    line = _one_line(bare_cli.usage("import", str(newer), db=f"sqlite:///{tmp_path / 'n.db'}"))
    assert "schema revision '0099', which this doctrack" in line


def _one_line(result_stderr: str) -> str:
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith("doctrack: ")
    return lines[0]


def test_refusals_print_one_line_and_change_nothing(scenario: Cli, tmp_path: Path) -> None:
    cli = scenario
    good = tmp_path / "good.jsonl"
    cli.ok("export", "-o", str(good))
    before = cli.snapshot(*SLUGS)
    # Into a database that holds data (this one): exit 1.
    line = cli.refused("import", str(good))
    assert "the database is not empty" in line
    # A bad file: exit 2, one line, checked before the database is touched.
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    cli.ok("init", db=empty)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(good.read_bytes().replace(b"Tashkent", b"Samarkand", 1))
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(good.read_bytes()[:-10])
    for path, message in [
        (damaged, "fails its checksum"),
        (cut, "is not JSON"),
        (tmp_path / "missing.jsonl", "no such file"),
        (Path("-"), "it cannot read stdin"),
    ]:
        for db in (str(cli.db), empty):
            assert message in _one_line(cli.usage("import", str(path), db=db))
    assert cli.snapshot(*SLUGS) == before
    assert cli.json("summit", "list", db=empty) == []


def test_a_failed_export_leaves_no_file(
    scenario: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store.stream_rows
    calls = []

    def failing(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "stream_rows", failing)
    out = tmp_path / "out"
    out.mkdir()
    result = scenario.run("export", "-o", str(out / "backup.jsonl"))
    assert result.exit_code == 2
    assert "No space left on device" in _one_line(result.stderr)
    assert list(out.iterdir()) == []


def test_commands_are_listed(bare_cli: Cli) -> None:
    listed = bare_cli.ok("--help").stdout
    assert "export" in listed and "import" in listed
    assert "--with-secrets" in bare_cli.ok("export", "--help").stdout
