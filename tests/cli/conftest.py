"""Fixtures for the command-line tests: a CLI on each backend and the Tashkent 2016 world."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Cli

from helpers import PARTIES


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A CLI on an empty migrated database, run from an empty folder (no config file)."""
    work = tmp_path / "work"
    files = tmp_path / "files"
    work.mkdir()
    files.mkdir()
    monkeypatch.chdir(work)
    return Cli(db_url, files)


@pytest.fixture
def scenario(cli: Cli) -> Cli:
    """The Tashkent 2016 world, built through the CLI.

    Parties CN KG KZ RU TJ UZ; users ``drafter``, ``coord`` (coordinator), ``sec``
    (secretary), ``admin``, ``multi`` (coordinator and secretary) and a delegate per party
    (``kz`` ... ``uz``); summits ``t16`` (Tashkent, 23-24 June 2016) and ``a17`` (Astana,
    8-9 June 2017); instruments ``convention`` (lead KZ), ``strategy`` (lead RU) and
    ``action-plan`` (lead TJ, depends on ``strategy``), all for ``t16``.
    """
    for code, name in PARTIES.items():
        cli.ok("party", "add", code, "--name", name)
    for name, role in [
        ("drafter", "drafter"),
        ("coord", "coordinator"),
        ("sec", "secretary"),
        ("admin", "admin"),
    ]:
        cli.ok("user", "add", name, "--email", f"{name}@example.org", "--role", role)
    cli.ok(
        "user",
        "add",
        "multi",
        "--email",
        "multi@example.org",
        "--role",
        "coordinator",
        "--role",
        "secretary",
    )
    for code in PARTIES:
        cli.ok(
            "user",
            "add",
            code.lower(),
            "--email",
            f"{code.lower()}@example.org",
            "--role",
            "delegate",
            "--party",
            code,
        )
    cli.ok(
        "summit",
        "add",
        "t16",
        "--title",
        "Council of Heads of State",
        "--city",
        "Tashkent",
        "--starts",
        "2016-06-23",
        "--ends",
        "2016-06-24",
        "--tz",
        "Asia/Tashkent",
    )
    cli.ok(
        "summit",
        "add",
        "a17",
        "--title",
        "Council of Heads of State",
        "--city",
        "Astana",
        "--starts",
        "2017-06-08",
        "--ends",
        "2017-06-09",
        "--tz",
        "Asia/Almaty",
    )
    cli.ok(
        "doc",
        "add",
        "convention",
        "--title",
        "Convention on countering extremism",
        "--workflow",
        "convention",
        "--summit",
        "t16",
        "--lead",
        "KZ",
    )
    cli.ok(
        "doc",
        "add",
        "strategy",
        "--title",
        "Anti-narcotics strategy 2017-2022",
        "--workflow",
        "programme",
        "--summit",
        "t16",
        "--lead",
        "RU",
    )
    cli.ok(
        "doc",
        "add",
        "action-plan",
        "--title",
        "Action plan of the strategy",
        "--workflow",
        "programme",
        "--summit",
        "t16",
        "--lead",
        "TJ",
        "--depends-on",
        "strategy",
    )
    return cli


@pytest.fixture
def bare_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A CLI whose database is a never-initialised SQLite file, for errors raised before use."""
    work = tmp_path / "work"
    files = tmp_path / "files"
    work.mkdir()
    files.mkdir()
    monkeypatch.chdir(work)
    return Cli(f"sqlite:///{tmp_path / 'never-initialised.db'}", files)
