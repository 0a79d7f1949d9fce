"""The demo: the Tashkent 2016 scenario of the seed article, replayed."""

from __future__ import annotations

import click

from doctrack.cli._context import app


@click.command("demo")
@click.option("--reset", is_flag=True, help="Empty the database first (all its data is lost).")
def demo(reset: bool) -> None:
    """Load and replay the seed scenario (Tashkent 2016)."""
    raise click.ClickException("the demo is not ready yet")
    _ = (reset, app)
