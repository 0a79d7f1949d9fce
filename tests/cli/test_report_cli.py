"""``doctrack report status``: formats chosen by option or file name, stdout, files written
whole or not at all, and every refusal, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Cli

AS_OF = ("--as-of", "2016-05-20")


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_markdown_on_stdout_by_default(scenario: Cli) -> None:
    result = scenario.ok("report", "status", "--summit", "t16", *AS_OF)
    assert result.stdout.startswith("# Status of instruments\n")
    assert "**34 days to the summit.**" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("r.html", "<!DOCTYPE html>"),
        ("r.md", "# Status of instruments"),
        ("r.json", '{"schema": "doctrack.status-report/1"'),
        ("r.txt", "<!DOCTYPE html>"),  # an unknown suffix: HTML
    ],
)
def test_format_from_the_file_name(scenario: Cli, name: str, marker: str) -> None:
    path = scenario.files / name
    result = scenario.ok("report", "status", *AS_OF, "-o", str(path))
    assert path.read_text(encoding="utf-8").startswith(marker)
    assert result.stdout == ""
    assert result.stderr.startswith("wrote the status report (")
    assert files_in(scenario.files) == [name]  # no temporary file left behind


def test_format_option_wins_over_the_suffix(scenario: Cli) -> None:
    path = scenario.files / "r.html"
    scenario.ok("report", "status", *AS_OF, "--format", "json", "-o", str(path))
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == "doctrack.status-report/1"


def test_json_on_stdout_in_russian(scenario: Cli) -> None:
    result = scenario.ok(
        "report", "status", "--summit", "t16", *AS_OF, "--format", "json", "--lang", "ru"
    )
    data = json.loads(result.stdout)
    assert data["lang"] == "ru"
    assert [i["slug"] for i in data["summits"][0]["instruments"]] == [
        "convention",
        "action-plan",
        "strategy",
    ]


def test_default_summits_are_those_not_over(scenario: Cli) -> None:
    data = json.loads(scenario.ok("report", "status", *AS_OF, "--format", "json").stdout)
    assert [s["slug"] for s in data["summits"]] == ["t16", "a17"]


def test_default_as_of_is_the_clock(scenario: Cli) -> None:
    data = json.loads(
        scenario.ok("report", "status", "--format", "json", now="2016-05-20T00:00+05:00").stdout
    )
    assert data["as_of"] == "2016-05-19T19:00:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lang", "xx"), "no reports translation for language 'xx' (available: en, ru)"),
        (("--as-of", "20 May"), "is neither a date"),
        (("--since", "2016-05-01", "--days", "3"), "give --since or --days, not both"),
        (("--as-of", "2016-05-01", "--since", "2016-05-02"), "--since is after --as-of"),
        (("--days", "-1"), "-1 is not in the range"),
        (("--format", "docx"), "'docx' is not one of"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    scenario: Cli, args: tuple[str, ...], message: str
) -> None:
    path = scenario.files / "r.html"
    stderr = scenario.usage("report", "status", *args, "-o", str(path))
    assert message in stderr
    assert files_in(scenario.files) == []


def test_unknown_summit(scenario: Cli) -> None:
    path = scenario.files / "r.html"
    line = scenario.refused("report", "status", "--summit", "nowhere", "-o", str(path))
    assert line == "doctrack: no summit 'nowhere'"
    assert files_in(scenario.files) == []


def test_no_summit_yet(cli: Cli) -> None:
    assert "there are no summits yet" in cli.usage("report", "status")


def test_unwritable_output(scenario: Cli) -> None:
    stderr = scenario.usage("report", "status", "-o", str(scenario.files / "no" / "r.html"))
    assert stderr.startswith("doctrack: cannot write ")
    assert len(stderr.splitlines()) == 1


def test_dossier(scenario: Cli) -> None:
    result = scenario.ok("report", "dossier", "convention")
    assert result.stdout.startswith("# ")
    assert "\n`convention` · convention · Generated " in result.stdout
    assert "## History" in result.stdout
    path = scenario.files / "d.json"
    scenario.ok("report", "dossier", "convention", "-o", str(path), "--lang", "ru")
    assert json.loads(path.read_text(encoding="utf-8"))["instrument"]["slug"] == "convention"


def test_dossier_refusals(scenario: Cli) -> None:
    path = scenario.files / "d.html"
    assert scenario.refused("report", "dossier", "nope", "-o", str(path)) == (
        "doctrack: no instrument 'nope'"
    )
    assert "no reports translation" in scenario.usage(
        "report", "dossier", "convention", "--lang", "xx", "-o", str(path)
    )
    assert files_in(scenario.files) == []


def test_a_templates_folder_with_some_templates_only(scenario: Cli, tmp_path: Path) -> None:
    """A folder of one's own overrides what it holds: the rest (report templates, their
    catalogues) comes from the packaged templates, as for emails."""
    own = tmp_path / "own-templates"
    (own / "email").mkdir(parents=True)
    (own / "email" / "summit.subject.txt").write_text("Summit: {{ summit_slug }}\n")
    (own / "reports").mkdir()
    (own / "reports" / "status.md").write_text("Custom report, {{ lang }}\n")
    env = {"DOCTRACK_TEMPLATES": str(own)}
    custom = scenario.ok("report", "status", "--summit", "t16", *AS_OF, env=env).stdout
    assert custom == "Custom report, en\n"
    for fmt in ("html", "json"):
        for lang in ("en", "ru"):
            args = ("report", "status", "--summit", "t16", *AS_OF, "--format", fmt)
            packaged = scenario.ok(*args, "--lang", lang).stdout
            assert scenario.ok(*args, "--lang", lang, env=env).stdout == packaged
    refused = scenario.usage("report", "status", "--lang", "xx", env=env)
    assert "no reports translation for language 'xx' (available: en, ru)" in refused
