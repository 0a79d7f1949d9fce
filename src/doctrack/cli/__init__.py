"""The ``doctrack`` command line. Subcommand modules are imported only when used."""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import click

from doctrack.cli._context import AppContext, DoctrackClickError

# command name -> "module:attribute"; each module is imported only when its command runs.
_COMMANDS = {
    "init": "doctrack.cli.admin:init_command",
    "party": "doctrack.cli.admin:party",
    "user": "doctrack.cli.admin:user",
    "summit": "doctrack.cli.admin:summit",
    "doc": "doctrack.cli.docs:doc",
    "deadlines": "doctrack.cli.docs:deadlines",
    "audit": "doctrack.cli.audit:audit",
    "calendar": "doctrack.cli.calendar:calendar",
    "workflow": "doctrack.cli.workflow:workflow",
    "demo": "doctrack.cli.demo:demo",
    "reminders": "doctrack.cli.reminders:reminders",
    "scheduler": "doctrack.cli.reminders:scheduler",
    "report": "doctrack.cli.report:report",
    "serve": "doctrack.cli.web:serve",
    "export": "doctrack.cli.backup:export_command",
    "import": "doctrack.cli.backup:import_command",
}


class _LazyRoot(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from doctrack.errors import DoctrackError

        try:
            return super().invoke(ctx)
        except DoctrackError as exc:
            raise DoctrackClickError(str(exc), exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`doctrack ... | head`): stop quietly, as Unix tools do.
            _silence_stdout()
            raise click.exceptions.Exit(141) from None
        except KeyboardInterrupt:
            raise DoctrackClickError("interrupted", 130) from None
        except Exception as exc:
            if os.environ.get("DOCTRACK_DEBUG"):
                raise
            raise DoctrackClickError(_describe(exc), 3) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _describe(exc: Exception) -> str:
    """One line for an unexpected failure; database errors keep only the driver's message."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return f"internal error: {type(exc).__name__}: {first} (DOCTRACK_DEBUG=1 shows a traceback)"


@click.group(cls=_LazyRoot, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "database_url", metavar="URL", help="Database URL (DOCTRACK_DATABASE_URL).")
@click.option(
    "--config", "config_file", metavar="FILE", help="Settings file (config/doctrack.toml)."
)
@click.option("--now", metavar="ISO", help="Fixed current time, ISO-8601; UTC without an offset.")
@click.version_option(package_name="doctrack", prog_name="doctrack")
@click.pass_context
def root(
    ctx: click.Context, database_url: str | None, config_file: str | None, now: str | None
) -> None:
    """Track draft international agreements from first draft to adoption at a summit.

    Exit codes: 0 done, 1 refused (not allowed, guard failed, conflict, not found),
    2 bad usage or input (a database not reached at the start or not set up included),
    3 internal error or the database failed (connection lost, locked, read-only, full).
    """
    ctx.obj = AppContext(database_url=database_url, config_file=config_file, now=now)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Console-script entry point."""
    root.main(prog_name="doctrack", args=sys.argv[1:])
