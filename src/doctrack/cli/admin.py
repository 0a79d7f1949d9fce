"""Administration: schema, parties, users, summits."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from doctrack.cli._context import app, echo_json, echo_table, os_user
from doctrack.cli._params import DATE, ID

if TYPE_CHECKING:
    from doctrack.services.accounts import Accounts


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
    """Add a party: a member state, with a CODE such as KZ."""
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
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Also set a password: the first line of stdin (asked twice on a terminal).",
)
def user_add(
    name: str,
    email: str,
    roles: tuple[str, ...],
    party_code: str | None,
    full_name: str | None,
    language: str,
    password_stdin: bool,
) -> None:
    """Add a user."""
    password: str | None = None
    if password_stdin:
        from doctrack.services.accounts import check_password

        # Read and check the password first: a refused one must not leave the user added.
        password = _read_password()
        check_password(password)
    added = app().tracker.add_user(
        name,
        email=email,
        roles=list(roles),
        party=party_code,
        full_name=full_name,
        language=language,
        actor=os_user(),
    )
    if password is not None:
        _accounts().set_password(added.name, password)
    party_note = f", party {added.party_code}" if added.party_code else ""
    password_note = ", password set" if password is not None else ""
    click.echo(f"added user {added.name} ({', '.join(added.roles)}{party_note}){password_note}")


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


@user.command("set")
@click.argument("name")
@click.option("--email", help="New email address.")
@click.option("--language", help="New language of their emails, e.g. en, ru, en-GB.")
@click.option("--full-name", help="New name as shown in reports and emails.")
def user_set(name: str, email: str | None, language: str | None, full_name: str | None) -> None:
    """Change USER's email, language or full name (from their next email on)."""
    changed = app().tracker.update_user(name, email=email, language=language, full_name=full_name)
    shown = f", full name {changed.full_name}" if changed.full_name else ""
    click.echo(f"user {changed.name}: email {changed.email}, language {changed.language}{shown}")


@user.command("passwd")
@click.argument("name")
def user_passwd(name: str) -> None:
    """Set USER's password: the first line of stdin, or asked twice on a terminal.

    Every web session USER holds ends (API tokens are kept: see 'user token revoke')."""
    password = _read_password()
    _accounts().set_password(name, password)
    click.echo(f"password set for user {name}; their web sessions have ended")


@user.command("signout")
@click.argument("name")
def user_signout(name: str) -> None:
    """End every web session of USER, in every browser, copied cookies included.

    For a lost laptop or a stolen cookie. API tokens are kept: see 'user token revoke'."""
    _accounts().end_sessions(name)
    click.echo(f"every web session of user {name} has ended")


@user.group("token")
def user_token() -> None:
    """API tokens (for 'Authorization: Bearer TOKEN')."""


@user_token.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for, e.g. the script's name.")
def user_token_create(name: str, label: str) -> None:
    """Make a token for USER and print it: the last word of the line. It is shown only once."""
    token_id, token = _accounts().create_token(name, label=label)
    label_note = f" ({label.strip()})" if label.strip() else ""
    click.echo(f"token {token_id} for {name}{label_note}: {token}")


@user_token.command("list")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def user_token_list(name: str, as_json: bool) -> None:
    """List USER's tokens (never the tokens themselves); times in UTC."""
    tokens = _accounts().tokens(name)
    if as_json:
        echo_json([t.to_json() for t in tokens])
        return

    def when(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""

    echo_table(
        ["id", "label", "created", "last used", "revoked"],
        [
            (t.id, t.label, when(t.created_at), when(t.last_used_at), when(t.revoked_at))
            for t in tokens
        ],
    )


@user_token.command("revoke")
@click.argument("token_id", metavar="ID", type=ID)
def user_token_revoke(token_id: int) -> None:
    """Revoke token ID for good."""
    _accounts().revoke_token(token_id)
    click.echo(f"revoked token {token_id}")


def _accounts() -> Accounts:
    from doctrack.services.accounts import Accounts

    tracker = app().tracker
    return Accounts(tracker.db, tracker.clock)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """The first line of stdin without its line end; on a terminal, asked twice, hidden."""
    if _stdin_is_terminal():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    from doctrack.errors import UsageError

    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on stdin: give it as the first line")
    return line.removesuffix("\n").removesuffix("\r")


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
@click.option("--as", "as_user", metavar="USER", help="Who moves it (not needed with --preview).")
@click.option("--comment", help="Why.")
@click.option(
    "--expect-version",
    type=ID,
    metavar="N",
    help="Refuse if the summit is no longer at version N (as --preview showed it).",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Only show what the move would change (deadlines, reminders); change nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="With --preview: print JSON.")
def summit_move(
    slug: str,
    starts: date,
    ends: date | None,
    as_user: str | None,
    comment: str | None,
    expect_version: int | None,
    preview: bool,
    as_json: bool,
) -> None:
    """Move a summit to new dates; its instruments' deadlines follow.

    With --preview, show what would change and change nothing; then move with
    --expect-version set to the version the preview printed, so that a move made
    meanwhile is refused instead of applied on top of it.
    """
    if as_json and not preview:
        raise click.UsageError("--json goes with --preview")
    if preview:
        _preview_move(slug, starts, ends, as_json=as_json)
        return
    if as_user is None:
        raise click.UsageError("Missing option '--as' (who moves the summit).")
    s = app().tracker.move_summit(
        slug,
        starts=starts,
        ends=ends,
        as_user=as_user,
        comment=comment,
        expect_version=expect_version,
    )
    click.echo(f"moved summit {s.slug} to {s.starts} to {s.ends} ({s.tz}); deadlines recomputed")


def _preview_move(slug: str, starts: date, ends: date | None, *, as_json: bool) -> None:
    from doctrack.services.summit_moves import preview_move
    from doctrack.timerules import to_local

    p = preview_move(app().tracker, slug, starts=starts, ends=ends)
    if as_json:
        echo_json(p.to_json())
        return
    s = p.summit
    click.echo(
        f"summit {s.slug} (version {s.version}): {s.starts} to {s.ends} -> {p.starts} to "
        f"{p.ends} ({s.tz}); nothing changed yet"
    )

    def local(value: datetime) -> str:
        return f"{to_local(value, s.tz):%Y-%m-%d %H:%M}"

    echo_table(
        ("instrument", "milestone", "due now", "due after", "status after"),
        [
            (d.instrument, d.milestone, local(d.before), local(d.after), d.status_after.value)
            for d in p.deadlines
        ],
    )
    for r in p.summit_reminders:
        click.echo(
            f"summit reminder {r.days_before} days before: {local(r.before)} -> "
            f"{local(r.after)} ({r.outcome})"
        )
    click.echo(
        f"pending deadline reminders: {p.reminders_moved} move, "
        f"{p.reminders_cancelled} not sent (their new time has passed)"
    )
    click.echo(f"to move: add --as USER --expect-version {s.version}")


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
