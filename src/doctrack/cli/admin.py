"""Administration: schema, parties, users, summits."""

from __future__ import annotations

from datetime import date

import click

from doctrack.cli._context import app, echo_json, echo_table, os_user
from doctrack.cli._params import DATE


@click.command("init")
def init_command() -> None:
    """Create or upgrade the database schema (idempotent)."""
    from doctrack.wiring import display_url, init_database

    url = app().settings.database_url
    before, after = init_database(url)
    url = display_url(url)
    if before is None:
        click.echo(f"created the doctrack schema ({after}) in {url}")
    elif before == after:
        click.echo(f"the schema in {url} is up to date ({after})")
    else:
        click.echo(f"upgraded the schema in {url} from {before} to {after}")


@click.group()
def party() -> None:
    """Member states."""


@party.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Full name of the member state.")
def party_add(code: str, name: str) -> None:
    """Add a party (a member state), e.g. KZ."""
    app().tracker.add_party(code, name=name, actor=os_user())
    click.echo(f"added party {code}: {name}")


@party.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def party_list(as_json: bool) -> None:
    """List the parties."""
    parties = app().tracker.list_parties()
    if as_json:
        echo_json([{"code": c, "name": n} for c, n in parties])
    else:
        echo_table(["code", "name"], parties)


@click.group()
def user() -> None:
    """People and their roles."""


@user.command("add")
@click.argument("name")
@click.option("--email", required=True, help="Email address for reminders and reports.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="drafter, coordinator, secretary, admin or delegate; repeat for several.",
)
@click.option("--party", "party_code", metavar="CODE", help="The party a delegate represents.")
@click.option("--full-name", help="Name as shown in reports.")
@click.option("--language", default="en", show_default=True, help="Preferred language.")
def user_add(
    name: str,
    email: str,
    roles: tuple[str, ...],
    party_code: str | None,
    full_name: str | None,
    language: str,
) -> None:
    """Add a user."""
    added = app().tracker.add_user(
        name,
        email=email,
        roles=list(roles),
        party=party_code,
        full_name=full_name,
        language=language,
        actor=os_user(),
    )
    party_note = f", party {added.party_code}" if added.party_code else ""
    click.echo(f"added user {added.name} ({', '.join(added.roles)}{party_note})")


@user.command("grant")
@click.argument("name")
@click.argument("role")
def user_grant(name: str, role: str) -> None:
    """Give USER one more ROLE (their reminders are planned again)."""
    changed = app().tracker.grant_role(name, role)
    click.echo(f"user {changed.name} now has roles {', '.join(changed.roles)}")


@user.command("revoke")
@click.argument("name")
@click.argument("role")
def user_revoke(name: str, role: str) -> None:
    """Take ROLE from USER (reminders sent for it are cancelled)."""
    changed = app().tracker.revoke_role(name, role)
    click.echo(f"user {changed.name} now has roles {', '.join(changed.roles)}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def user_list(as_json: bool) -> None:
    """List the users and their roles."""
    users = app().tracker.list_users()
    if as_json:
        echo_json(
            [
                {
                    "name": u.name,
                    "full_name": u.full_name,
                    "email": u.email,
                    "party": u.party_code,
                    "roles": list(u.roles),
                    "language": u.language,
                }
                for u in users
            ]
        )
    else:
        echo_table(
            ["name", "roles", "party", "email", "full name"],
            [(u.name, ",".join(u.roles), u.party_code, u.email, u.full_name) for u in users],
        )


@click.group()
def summit() -> None:
    """Summits: where instruments are adopted."""


@summit.command("add")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--city", required=True)
@click.option("--starts", required=True, type=DATE, help="First day, YYYY-MM-DD.")
@click.option("--ends", type=DATE, help="Last day (default: the first day).")
@click.option("--tz", required=True, help="IANA time zone, e.g. Asia/Tashkent.")
def summit_add(slug: str, title: str, city: str, starts: date, ends: date | None, tz: str) -> None:
    """Add a summit."""
    s = app().tracker.add_summit(
        slug, title=title, city=city, starts=starts, ends=ends, tz=tz, actor=os_user()
    )
    click.echo(f"added summit {s.slug}: {s.title}, {s.city}, {s.starts} to {s.ends} ({s.tz})")


@summit.command("move")
@click.argument("slug")
@click.option("--starts", required=True, type=DATE, help="New first day, YYYY-MM-DD.")
@click.option("--ends", type=DATE, help="New last day (default: keep the length).")
@click.option("--as", "as_user", required=True, metavar="USER", help="Who moves it.")
@click.option("--comment", help="Why.")
def summit_move(
    slug: str, starts: date, ends: date | None, as_user: str, comment: str | None
) -> None:
    """Move a summit to new dates; its instruments' deadlines follow."""
    s = app().tracker.move_summit(slug, starts=starts, ends=ends, as_user=as_user, comment=comment)
    click.echo(f"moved summit {s.slug} to {s.starts} to {s.ends} ({s.tz}); deadlines recomputed")


@summit.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def summit_list(as_json: bool) -> None:
    """List the summits."""
    summits = app().tracker.list_summits()
    if as_json:
        echo_json([s.to_json() for s in summits])
    else:
        echo_table(
            ["slug", "starts", "ends", "city", "zone", "title"],
            [(s.slug, s.starts, s.ends, s.city, s.tz, s.title) for s in summits],
        )
