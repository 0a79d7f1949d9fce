"""The command line as a real process: ``python -m doctrack``, its exit codes and start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ROOT, WORKFLOWS

pytestmark = pytest.mark.slow

#: Modules that ``doc show --json`` must not import: they are slow to load and belong to
#: other commands. Changing this set is a deliberate decision about start-up time.
NOT_IMPORTED_BY_DOC_SHOW = frozenset(
    {
        "apscheduler",
        "jinja2",
        "alembic",
        "fastapi",
        "starlette",
        "uvicorn",
        "weasyprint",
        "doctrack.storage.migrate",
        "doctrack.cli.workflow",
        "doctrack.cli.admin",
    }
)


class Doctrack:
    """Runs ``python -m doctrack`` in a folder, with the database named by the environment."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder / 'doctrack.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
        paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env = env | {
            "PYTHONPATH": os.pathsep.join(paths),
            "DOCTRACK_DATABASE_URL": self.url,
            "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
            "DOCTRACK_NOW": "2016-03-01T06:00",
        }

    def __call__(
        self, *args: str, python: tuple[str, ...] = ("-m", "doctrack")
    ) -> subprocess.CompletedProcess[str]:
        """``python [PYTHON...] ARGS``: by default ``python -m doctrack ARGS``."""
        result = subprocess.run(
            [sys.executable, *python, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return result


@pytest.fixture(scope="module")
def doctrack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doctrack]:
    """An initialised SQLite database with one summit and one convention."""
    run = Doctrack(tmp_path_factory.mktemp("process"))
    run.ok("init")
    run.ok("party", "add", "KZ", "--name", "Republic of Kazakhstan")
    run.ok(
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
    run.ok(
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
    yield run


def _imported(importtime_stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            names.add(line.rsplit("|", 1)[-1].strip())
    return names


def test_help_lists_the_commands(doctrack: Doctrack) -> None:
    result = doctrack.ok("--help")
    assert "Usage:" in result.stdout
    for command in ("init", "doc", "summit", "deadlines", "workflow"):
        assert command in result.stdout


def test_doc_show_json_output_parses(doctrack: Doctrack) -> None:
    shown = json.loads(doctrack.ok("doc", "show", "convention", "--json").stdout)
    assert (shown["slug"], shown["state"], shown["summit"]) == ("convention", "drafting", "t16")


def test_exit_codes_are_the_processs_own(doctrack: Doctrack) -> None:
    assert doctrack("doc", "show", "convention").returncode == 0
    refused = doctrack("doc", "show", "nope")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.startswith("doctrack: ")
    assert doctrack("doc", "show").returncode == 2
    assert doctrack("--now", "yesterday", "doc", "show", "convention").returncode == 2


def test_uninitialised_database_exits_2(tmp_path: Path) -> None:
    result = Doctrack(tmp_path)("doc", "show", "convention")
    assert result.returncode == 2
    assert "doctrack init" in result.stderr


def _pinned(modules: set[str]) -> set[str]:
    return {
        m
        for m in modules
        for banned in NOT_IMPORTED_BY_DOC_SHOW
        if m == banned or m.startswith(banned + ".")
    }


def test_doc_show_importtime_lists_none_of_the_pinned_modules(doctrack: Doctrack) -> None:
    result = doctrack(
        "--db",
        doctrack.url,
        "doc",
        "show",
        "convention",
        "--json",
        python=("-X", "importtime", "-m", "doctrack"),
    )
    assert result.returncode == 0, result.stderr
    imported = _imported(result.stderr)
    assert "doctrack.services.views" in imported  # the parse found doc show's own imports
    assert _pinned(imported) == set()


#: ``-X importtime`` does not list modules loaded by ``importlib.import_module`` (the lazy
#: command map uses it), so this run also reports ``sys.modules`` as the process exits.
_EXIT_REPORT = """
import atexit, runpy, sys
atexit.register(lambda: print("MODULES", *sorted(sys.modules), file=sys.stderr))
sys.argv = ["doctrack", *sys.argv[1:]]
runpy.run_module("doctrack", run_name="__main__", alter_sys=True)
"""


def test_doc_show_leaves_none_of_the_pinned_modules_loaded(doctrack: Doctrack) -> None:
    result = doctrack(
        "--db", doctrack.url, "doc", "show", "convention", "--json", python=("-c", _EXIT_REPORT)
    )
    assert result.returncode == 0, result.stderr
    [report] = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    loaded = set(report.split()[1:])
    assert "doctrack.cli.docs" in loaded
    assert _pinned(loaded) == set()
