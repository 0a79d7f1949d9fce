"""``doctrack serve``: the web UI and the REST API."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from doctrack.cli._context import app

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
port_option = click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)


@click.command("serve")
@host_option
@port_option
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run the reminder dispatcher in this process (as 'doctrack scheduler' does).",
)
def serve(host: str, port: int, with_scheduler: bool) -> None:
    """Serve the web UI and the REST API (/api/v1) until stopped (SIGTERM, Ctrl-C)."""
    from doctrack.web.server import serve as run

    ctx = app()
    run(
        ctx.tracker, ctx.settings, host=host, port=port, with_scheduler=with_scheduler, log=log_line
    )


def log_line(line: str) -> None:
    """A line of the server's log on stderr, after the wall-clock time in UTC."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    click.echo(f"{stamp} {line}", err=True)
