"""A ``CliRunner`` wrapper for the command-line tests.

Every invocation goes through :class:`Cli`, which checks what holds for any command: no
uncaught exception, no traceback on either stream. Time is set with the global ``--now``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from doctrack.cli import root
from doctrack.config import SETTINGS
from helpers import PARTIES, WORKFLOWS

#: The default ``--now``: 1 March 2016, 06:00 UTC (the ``clock`` fixture's time).
START = "2016-03-01T06:00"
#: Every DOCTRACK_* variable unset, except the workflows folder of this checkout.
BASE_ENV: dict[str, str | None] = {s.env: None for s in SETTINGS} | {
    "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
    "DOCTRACK_DEBUG": None,
}
_DEFAULT = object()


class Cli:
    """Runs ``doctrack --db URL [--now ISO] ...`` in-process and checks the result."""

    def __init__(self, db: str | None, files: Path) -> None:
        self.db = db
        self.files = files
        self.runner = CliRunner()

    def run(
        self,
        *args: str,
        now: Any = _DEFAULT,
        env: dict[str, str | None] | None = None,
        db: Any = _DEFAULT,
        input: str | None = None,
    ) -> Result:
        """``input`` is what the command reads on stdin (not a terminal)."""
        url = self.db if db is _DEFAULT else db
        when = START if now is _DEFAULT else now
        argv = [*(["--db", url] if url else []), *(["--now", when] if when else []), *args]
        result = self.runner.invoke(root, argv, input=input, env={**BASE_ENV, **(env or {})})
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"doctrack {' '.join(argv)} raised {result.exception!r}"
        )
        for stream in (result.stdout, result.stderr):
            assert "Traceback" not in stream, stream
        return result

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self.run(*args, **kwargs)
        assert result.exit_code == 0, f"doctrack {' '.join(args)}: {result.stderr}"
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kwargs).stdout)

    def refused(self, *args: str, **kwargs: Any) -> str:
        """Exit 1, nothing on stdout, one ``doctrack: `` line on stderr; returns that line."""
        result = self.run(*args, **kwargs)
        assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
        assert result.stdout == "", f"stdout should be empty, got {result.stdout!r}"
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("doctrack: ")
        return lines[0]

    def usage(self, *args: str, **kwargs: Any) -> str:
        """Exit 2, nothing on stdout; returns stderr."""
        result = self.run(*args, **kwargs)
        assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
        assert result.stdout == "", f"stdout should be empty, got {result.stdout!r}"
        assert result.stderr.strip()
        return result.stderr

    # -- scenario steps -------------------------------------------------------------------

    def revise(
        self,
        slug: str,
        text: str = "draft text",
        *,
        as_user: str = "drafter",
        note: str | None = None,
        **kwargs: Any,
    ) -> Result:
        path = self.files / f"{slug}-{len(list(self.files.iterdir()))}.txt"
        path.write_text(text, encoding="utf-8")
        args = ["doc", "revise", slug, "--file", str(path), "--as", as_user]
        return self.ok(*args, *(["--note", note] if note else []), **kwargs)

    def approve_all(self, slug: str, **kwargs: Any) -> None:
        for code in PARTIES:
            self.ok("doc", "position", slug, code, "approve", "--as", code.lower(), **kwargs)

    def to_agreed(self, slug: str, **kwargs: Any) -> None:
        """drafting -> expert_review -> agreed, with a revision every party approves."""
        self.revise(slug, **kwargs)
        self.ok("doc", "advance", slug, "submit", "--as", "drafter", **kwargs)
        self.approve_all(slug, **kwargs)
        self.ok("doc", "advance", slug, "agree", "--as", "coord", **kwargs)

    def to_approved(self, slug: str, **kwargs: Any) -> None:
        self.to_agreed(slug, **kwargs)
        self.ok("doc", "advance", slug, "approve", "--as", "sec", **kwargs)

    def show(self, slug: str, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.json("doc", "show", slug, **kwargs)
        return data

    def history(self, slug: str, **kwargs: Any) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.json("doc", "history", slug, **kwargs)
        return data

    def snapshot(self, *slugs: str) -> dict[str, Any]:
        """Everything a refusal must leave unchanged."""
        return {
            "summits": self.json("summit", "list"),
            **{f"show {s}": self.show(s) for s in slugs},
            **{f"history {s}": self.history(s) for s in slugs},
        }
