"""Backup and restore: ``export`` and ``import`` (format: docs/export-format.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from doctrack.cli._context import app
from doctrack.cli._params import PathParam

if TYPE_CHECKING:
    from doctrack.storage.db import Database


def _database() -> Database:
    from doctrack.storage.db import Database

    settings = app().settings
    return Database(settings.database_url, busy_timeout=settings.busy_timeout)


@click.command("export")
@click.option("-o", "--output", metavar="FILE", required=True, help="Write to FILE ('-': stdout).")
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Also export password hashes and API token hashes (keep such a file safe).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def export_command(output: str, with_secrets: bool, quiet: bool) -> None:
    """Write the whole database to one JSON Lines file with a checksum.

    Left out: login throttling state, and unless --with-secrets, password hashes and API
    tokens. The file is written under a temporary name and renamed when complete.
    """
    from doctrack.cli._files import atomic_writer
    from doctrack.services.backup import export_database
    from doctrack.wiring import make_clock

    ctx = app()
    db = _database()
    progress = None if quiet else _echo_err("export")
    try:
        clock = make_clock(ctx.settings)
        if output == "-":
            summary = export_database(
                db, sys.stdout.buffer, clock=clock, with_secrets=with_secrets, progress=progress
            )
            sys.stdout.buffer.flush()
        else:
            with atomic_writer(output) as out:
                summary = export_database(
                    db, out, clock=clock, with_secrets=with_secrets, progress=progress
                )
    finally:
        db.dispose()
    where = "stdout" if output == "-" else output
    secrets = "with" if summary.secrets else "without"
    click.echo(
        f"exported {summary.total} rows of {len(summary.rows)} tables ({secrets} secrets, "
        f"schema {summary.schema}) to {where}; sha256 {summary.sha256}",
        err=output == "-",
    )


@click.command("import")
@click.argument("file", type=PathParam(dir_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def import_command(file: Path, quiet: bool) -> None:
    """Restore FILE (made by 'doctrack export') into an empty database.

    The file's header, row counts and checksum are checked before anything is written; the
    rows go in in one transaction, so a failure leaves the database empty. A database
    without a schema gets one first. A file of an older schema revision goes in at that
    revision, and the migrations then upgrade it, in the same transaction.
    """
    from doctrack.errors import UsageError
    from doctrack.services.backup import import_database

    if str(file) == "-":
        raise UsageError("import reads FILE twice (check, then restore): it cannot read stdin")
    db = _database()
    try:
        summary = import_database(db, file, progress=None if quiet else _echo_err("import"))
    finally:
        db.dispose()
    secrets = "with" if summary.secrets else "without"
    upgraded = ""
    if summary.upgraded_from is not None:
        upgraded = f"; schema {summary.upgraded_from} upgraded to {summary.schema}"
    click.echo(
        f"imported {summary.total} rows of {len(summary.rows)} tables ({secrets} secrets) "
        f"from {file}{upgraded}"
    )


def _echo_err(verb: str) -> Callable[[str], None]:
    """Progress lines on stderr, e.g. ``import: event: 100000 of 812345 rows``."""

    def echo(line: str) -> None:
        click.echo(f"{verb}: {line}", err=True)

    return echo
