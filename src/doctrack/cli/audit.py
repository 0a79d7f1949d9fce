"""``doctrack audit verify``: is the history as it was written?"""

from __future__ import annotations

import click

from doctrack.cli._context import app, echo_json


@click.group()
def audit() -> None:
    """Check that the history (events, revisions) has not been changed."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--expect",
    metavar="DIGEST",
    help="The heads digest printed by an earlier run: fail if the history changed since.",
)
def verify_command(as_json: bool, expect: str | None) -> None:
    """Walk every instrument's and summit's event chain and every revision.

    Prints what was checked and the digest over all chains' heads (exit 0), or, per broken
    chain, the first event that does not match (exit 1).
    """
    from doctrack.errors import RefusedError
    from doctrack.services.audit import verify

    def progress(events: int) -> None:
        click.echo(f"audit: {events:,} events checked...", err=True)

    report = verify(app().tracker.db, expect=expect, progress=None if as_json else progress)
    if as_json:
        echo_json(report.as_json())
    else:
        for problem in report.problems:
            click.echo(problem.line())
        if report.ok:
            click.echo(
                f"verified {report.chains:,} chains ({report.instruments:,} instruments, "
                f"{report.summits:,} summits), {report.events:,} events, "
                f"{report.revisions:,} revisions: the history is as it was written"
            )
        click.echo(f"digest: {report.digest}")
    if not report.ok:
        n = len(report.problems)
        raise RefusedError(
            f"the history does not verify: {n} problem{'s' if n != 1 else ''} "
            f"in {report.events:,} events of {report.chains:,} chains"
        )
