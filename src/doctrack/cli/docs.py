"""Instruments: add, list, show, advance, revise, positions, retarget, history; deadlines."""

from __future__ import annotations

from pathlib import Path

import click

from doctrack.cli._context import app, echo_json, echo_json_stream, echo_table, os_user
from doctrack.cli._params import ID, PathParam
from doctrack.services.views import InstrumentView, iso


@click.group()
def doc() -> None:
    """Instruments: conventions, plans, strategies, action plans."""


@doc.command("add")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--workflow", required=True, help="Workflow name (see 'workflow list').")
@click.option("--summit", "summit_slug", required=True, help="Target summit slug.")
@click.option("--lead", metavar="CODE", help="Lead party.")
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="SLUG",
    help="An instrument that must be adopted first; repeat for several.",
)
@click.option("--kind", help="Kind shown in reports (default: the workflow's name).")
def doc_add(
    slug: str,
    title: str,
    workflow: str,
    summit_slug: str,
    lead: str | None,
    depends_on: tuple[str, ...],
    kind: str | None,
) -> None:
    """Add an instrument in its workflow's initial state."""
    v = app().tracker.add_instrument(
        slug,
        title=title,
        workflow=workflow,
        summit=summit_slug,
        lead=lead,
        depends_on=list(depends_on),
        kind=kind,
        actor=os_user(),
    )
    click.echo(f"added {v.slug} ({v.workflow}, {v.state}) for {v.summit}")


@doc.command("list")
@click.option("--summit", "summit_slug", help="Only this summit's instruments.")
@click.option("--state", help="Only instruments in this state.")
@click.option("--limit", type=click.IntRange(min=0, max=2**31 - 1), help="At most this many.")
@click.option(
    "--offset", type=click.IntRange(min=0, max=2**31 - 1), default=0, help="Skip this many first."
)
@click.option(
    "--after",
    metavar="SLUG",
    help="Only instruments after this slug: the last one of the previous page (fast paging).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doc_list(
    summit_slug: str | None,
    state: str | None,
    limit: int | None,
    offset: int,
    after: str | None,
    as_json: bool,
) -> None:
    """List instruments in slug order.

    To page through a long list, pass the last slug of each page as --after of the next:
    every page then costs the same, where --offset reads all the rows it skips.
    """
    items = app().tracker.list_instruments(
        summit=summit_slug, state=state, limit=limit, offset=offset, after=after
    )
    if as_json:
        echo_json_stream(i.to_json() for i in items)
    else:
        echo_table(
            ["slug", "state", "summit", "lead", "rev", "ver", "title"],
            [(i.slug, i.state, i.summit, i.lead, i.revision, i.version, i.title) for i in items],
        )


def _print_view(v: InstrumentView) -> None:
    click.echo(f"{v.slug}: {v.title}")
    rows = [
        ("kind", f"{v.kind} (workflow {v.workflow})"),
        ("state", f"{v.state}: {v.state_label}, since {iso(v.state_since, v.summit_tz)}"),
        ("summit", v.summit),
        ("lead", v.lead or "-"),
        ("version", str(v.version)),
        ("revision", str(v.revision) if v.revision else "none yet"),
        ("depends on", ", ".join(v.depends_on) or "-"),
        ("positions", ", ".join(f"{p.party} {p.stance}" for p in v.positions) or "none yet"),
        ("triggers", ", ".join(v.allowed_triggers) or "none (final state)"),
    ]
    for name, value in rows:
        click.echo(f"  {name:<11}{value}")
    if v.deadlines:
        click.echo("  deadlines")
        for d in v.deadlines:
            click.echo(f"    {d.milestone:<16}{iso(d.due, d.tz):<27}{d.status.value}")


@doc.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doc_show(slug: str, as_json: bool) -> None:
    """Show an instrument: state, positions, deadlines, possible triggers."""
    v = app().tracker.show(slug)
    if as_json:
        echo_json(v.to_json())
    else:
        _print_view(v)


@doc.command("triggers")
@click.argument("slug")
@click.option("--as", "as_user", required=True, metavar="USER")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doc_triggers(slug: str, as_user: str, as_json: bool) -> None:
    """The triggers USER's roles allow now, and whether their guards hold."""
    checks = app().tracker.triggers(slug, as_user=as_user)
    if as_json:
        echo_json(
            [
                {
                    "trigger": c.trigger,
                    "dest": c.dest,
                    "ready": c.ready,
                    "guards": [{"name": g.name, "ok": g.ok, "detail": g.detail} for g in c.guards],
                }
                for c in checks
            ]
        )
        return
    if not checks:
        click.echo(f"{as_user} may fire no trigger on {slug} in its current state")
    for c in checks:
        status = "ready" if c.ready else "blocked"
        click.echo(f"{c.trigger} -> {c.dest}: {status}")
        for g in c.guards:
            click.echo(f"  {g.name}: {'ok' if g.ok else g.detail}")


@doc.command("advance")
@click.argument("slug")
@click.argument("trigger")
@click.option("--as", "as_user", required=True, metavar="USER")
@click.option("--comment")
@click.option(
    "--expect-version",
    type=ID,
    metavar="N",
    help="Refuse if the instrument is no longer at version N.",
)
def doc_advance(
    slug: str, trigger: str, as_user: str, comment: str | None, expect_version: int | None
) -> None:
    """Fire TRIGGER on the instrument."""
    r = app().tracker.advance(
        slug, trigger, as_user=as_user, comment=comment, expect_version=expect_version
    )
    click.echo(f"{r.slug}: {r.from_state} -> {r.to_state} ({r.to_label}), version {r.version}")


@doc.command("revise")
@click.argument("slug")
@click.option(
    "--file",
    "path",
    required=True,
    type=PathParam(dir_okay=False, path_type=Path),
    help="The draft text.",
)
@click.option("--as", "as_user", required=True, metavar="USER")
@click.option("--note")
def doc_revise(slug: str, path: Path, as_user: str, note: str | None) -> None:
    """Upload a new draft revision; every party's position starts afresh."""
    from doctrack.errors import UsageError
    from doctrack.services.tracking import MAX_REVISION_BYTES

    try:
        with path.open("rb") as draft:
            # One byte more than allowed is enough for the use case to refuse a larger file.
            content = draft.read(MAX_REVISION_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    number = app().tracker.revise(
        slug, content=content, filename=path.name, as_user=as_user, note=note
    )
    click.echo(
        f"{slug}: revision {number} ({path.name}, {len(content)} bytes); positions start afresh"
    )


@doc.command("position")
@click.argument("slug")
@click.argument("party")
@click.argument("stance", type=click.Choice(["approve", "reserve", "object"]))
@click.option("--as", "as_user", required=True, metavar="USER")
@click.option("--comment")
def doc_position(slug: str, party: str, stance: str, as_user: str, comment: str | None) -> None:
    """Record PARTY's stance on the current revision."""
    app().tracker.record_position(slug, party, stance, as_user=as_user, comment=comment)
    click.echo(f"{slug}: {party} {stance}")


@doc.command("retarget")
@click.argument("slug")
@click.option("--summit", "summit_slug", required=True, help="The new target summit.")
@click.option("--as", "as_user", required=True, metavar="USER")
@click.option("--comment", required=True, help="Why the instrument moves.")
def doc_retarget(slug: str, summit_slug: str, as_user: str, comment: str) -> None:
    """Carry the instrument over to another summit; deadlines follow."""
    v = app().tracker.retarget(slug, summit=summit_slug, as_user=as_user, comment=comment)
    click.echo(f"{v.slug}: now targets {v.summit}, version {v.version}; deadlines recomputed")


@doc.command("history")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doc_history(slug: str, as_json: bool) -> None:
    """The instrument's append-only history."""
    events = app().tracker.history(slug)
    if as_json:
        echo_json([e.to_json() for e in events])
        return
    rows = []
    for e in events:
        what = f"{e.trigger}: {e.from_state} -> {e.to_state}" if e.trigger else e.kind
        if e.kind != "transition" and e.payload:
            details = ", ".join(f"{k}={v}" for k, v in e.payload.items() if v not in (None, []))
            what = f"{e.kind} {details}"
        rows.append((iso(e.at, e.tz), e.actor, what, e.comment or ""))
    echo_table(["at", "actor", "what", "comment"], rows)


@click.command("deadlines")
@click.option("--summit", "summit_slug", help="Only this summit's instruments.")
@click.option("--overdue", is_flag=True, help="Only deadlines passed and not met.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def deadlines(summit_slug: str | None, overdue: bool, as_json: bool) -> None:
    """Deadlines in due order, with their status now."""
    items = app().tracker.deadlines(summit=summit_slug, overdue=overdue)
    if as_json:
        echo_json_stream(d.to_json() for d in items)
    else:
        echo_table(
            ["due", "status", "instrument", "milestone", "state", "summit"],
            [
                (iso(d.due, d.tz), d.status.value, d.instrument, d.milestone, d.state, d.summit)
                for d in items
            ],
        )
