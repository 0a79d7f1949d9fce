"""`doctrack demo` through the CLI runner: replay, refusal on a used database, --now."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from doctrack.cli import root


def _run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(root, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


def test_demo_replays_and_prints_the_summary(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out, err = _run(db, "demo")
    assert code == 0, err
    assert "[article]" in out and "[illustrative]" in out
    assert "Legend:" in out
    code, out, _ = _run(db, "doc", "show", "antidrug-action-plan", "--json")
    assert code == 0
    assert json.loads(out)["state"] == "adopted"


def test_demo_refuses_a_database_that_holds_data_and_changes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _run(db, "demo", "--quiet")[0] == 0
    before = _run(db, "doc", "history", "convention-extremism", "--json")[1]
    code, out, err = _run(db, "demo")
    assert code == 1
    assert out == ""
    assert err.startswith("doctrack: ") and "--reset" in err and err.count("\n") == 1
    assert _run(db, "doc", "history", "convention-extremism", "--json")[1] == before


def test_demo_reset_starts_afresh(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _run(db, "demo", "--quiet")[0] == 0
    code, _, err = _run(db, "demo", "--reset", "--quiet")
    assert code == 0, err
    history = json.loads(_run(db, "doc", "history", "crime-plan-2016-2020", "--json")[1])
    assert sum(1 for e in history if e["kind"] == "created") == 1


def test_demo_with_now_replays_only_up_to_then(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out, err = _run(db, "--now", "2016-04-01", "demo", "--quiet")
    assert code == 0, err
    shown = json.loads(_run(db, "doc", "show", "crime-plan-2016-2020", "--json")[1])
    assert shown["state"] != "adopted"
    assert "2016-06-24" not in out.split("Deadlines")[0]
