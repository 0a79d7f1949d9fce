"""What every command shares: settings, the tracker, output helpers."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from doctrack.config import Settings
    from doctrack.engine.registry import Workflows
    from doctrack.services.tracking import Tracker


class _ErrorLine(click.ClickException):
    """A doctrack error on its way out: one line on stderr, the error's exit code."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"doctrack: {self.format_message()}", err=True)


_BY_CODE: dict[int, type[_ErrorLine]] = {}


def DoctrackClickError(message: str, exit_code: int) -> click.ClickException:
    """The click exception that prints ``message`` and exits with ``exit_code``."""
    cls = _BY_CODE.get(exit_code)
    if cls is None:
        cls = _BY_CODE[exit_code] = type(
            f"ExitError{exit_code}", (_ErrorLine,), {"exit_code": exit_code}
        )
    return cls(message)


class AppContext:
    """Built once per process; the tracker and the workflows are made on first use."""

    def __init__(
        self, *, database_url: str | None, config_file: str | None, now: str | None
    ) -> None:
        self._overrides = {"database_url": database_url, "now": now}
        self._config_file = config_file
        self._settings: Settings | None = None
        self._tracker: Tracker | None = None
        self._workflows: Workflows | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from doctrack.config import load_settings

            self._settings = load_settings(self._config_file, overrides=self._overrides)
        return self._settings

    @property
    def workflows(self) -> Workflows:
        if self._workflows is None:
            from doctrack.engine.registry import Workflows, workflows_folder

            self._workflows = Workflows.from_folder(workflows_folder(self.settings.workflows))
        return self._workflows

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            from doctrack.wiring import connect

            self._tracker = connect(settings=self.settings, workflows=self.workflows)
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.db.dispose()


def app(ctx: click.Context | None = None) -> AppContext:
    context = ctx or click.get_current_context()
    obj = context.find_object(AppContext)
    assert obj is not None
    return obj


def os_user() -> str:
    """Who runs an administration command: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def echo_json_stream(items: Iterable[dict[str, Any]]) -> None:
    """A JSON list written item by item, so long lists are not built in memory.

    The first item is fetched before anything is written: a refusal raised by a lazy
    source (an unknown summit, say) leaves stdout empty rather than holding a lone ``[``.
    """
    out = sys.stdout
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        out.write("[]\n")
        return
    out.write("[\n  " + json.dumps(first, ensure_ascii=False))
    for item in iterator:
        out.write(",\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
    out.write("\n]\n")


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """An aligned plain-text table."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    if len(cells) == 1:
        click.echo("(none)")
        return
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
