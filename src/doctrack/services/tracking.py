"""Tracking use cases: parties, users, summits, instruments and their history.

Each public method is one use case and one database transaction: its state change, its
history event and its deadline and reminder changes commit together or not at all. A refusal raises
before anything is written, or rolls the whole transaction back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from doctrack.clock import Clock
from doctrack.domain import LEAD_DELEGATE, EventKind, Role, Stance
from doctrack.engine.deadlines import deadline_status, due_times
from doctrack.engine.definition import WorkflowDef
from doctrack.engine.machine import TriggerCheck, roles_permit
from doctrack.engine.registry import Workflows
from doctrack.errors import (
    AlreadyExistsError,
    ConflictError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    UsageError,
)
from doctrack.services import summit_moves
from doctrack.services.facts import DbFacts
from doctrack.services.planning import DEADLINE_MET, FINAL_STATE, Planner, ReminderSettings
from doctrack.services.views import (
    DeadlineView,
    EventView,
    InstrumentSummary,
    InstrumentView,
    PositionView,
    SummitView,
    TransitionResult,
)
from doctrack.storage import chain, repo
from doctrack.storage import reminders as reminder_store
from doctrack.storage.chain import EventContent
from doctrack.storage.db import Database
from doctrack.storage.records import InstrumentRecord, SummitRecord, UserRecord
from doctrack.timerules import zone

MAX_REVISION_BYTES = 50 * 1024 * 1024
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_PARTY = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
_USER = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
MAX_EMAIL = 254
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

REVISE_ROLES = (Role.DRAFTER, Role.COORDINATOR, Role.SECRETARY)
RETARGET_ROLES = (Role.COORDINATOR, Role.SECRETARY)
POSITION_ON_BEHALF_ROLES = (Role.COORDINATOR,)


def _check(pattern: re.Pattern[str], value: str, what: str, hint: str) -> str:
    if not pattern.fullmatch(value):
        raise UsageError(f"bad {what} {value!r}: {hint}")
    return value


def _text(value: str, what: str, *, limit: int = 500) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise UsageError(f"{what} must not be empty")
    if _CONTROL.search(cleaned) or "\n" in cleaned or "\r" in cleaned:
        raise UsageError(f"{what} must be one line without control characters")
    if len(cleaned) > limit:
        raise UsageError(f"{what} is longer than {limit} characters")
    return cleaned


def _comment(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if _CONTROL.search(value):
        raise UsageError("comment must not contain control characters")
    if len(value) > 10_000:
        raise UsageError("comment is longer than 10000 characters")
    return value.strip()


def _payload(**values: Any) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


class Tracker:
    """The tracking use cases over one database. Build with :func:`doctrack.connect`."""

    def __init__(
        self,
        db: Database,
        workflows: Workflows,
        clock: Clock,
        reminders: ReminderSettings | None = None,
    ) -> None:
        self.db = db
        self.workflows = workflows
        self.clock = clock
        self.reminder_settings = reminders or ReminderSettings()

    def _planner(self, conn: Connection) -> Planner:
        return Planner(conn, self.reminder_settings, self.clock.now())

    # -- parties and users ----------------------------------------------------------------

    def add_party(self, code: str, *, name: str, actor: str) -> None:
        """Add a member state."""
        code = _check(_PARTY, code, "party code", "use 2-16 capital letters or digits, e.g. KZ")
        name = _text(name, "party name", limit=200)
        with self.db.write() as conn:
            if repo.get_party(conn, code) is not None:
                raise AlreadyExistsError("party", code)
            repo.insert_party(conn, code, name)

    def list_parties(self) -> list[tuple[str, str]]:
        with self.db.read() as conn:
            return [(p.code, p.name) for p in repo.list_parties(conn)]

    def add_user(
        self,
        name: str,
        *,
        email: str,
        roles: Sequence[str],
        party: str | None = None,
        full_name: str | None = None,
        language: str = "en",
        actor: str,
    ) -> UserRecord:
        """Add a user with one or more roles; a delegate needs a party."""
        name = _check(_USER, name, "user name", "use lower-case letters, digits, '.', '_', '-'")
        email = _check(_EMAIL, email.strip(), "email", "expected an address such as a@example.org")
        if len(email) > MAX_EMAIL:
            raise UsageError(f"email is longer than {MAX_EMAIL} characters")
        language = _check(_LANGUAGE, language, "language", "use a code such as en, ru or en-GB")
        if not roles:
            raise UsageError("a user needs at least one --role")
        parsed: list[str] = []
        for role in roles:
            try:
                parsed.append(Role(role).value)
            except ValueError:
                known = ", ".join(r.value for r in Role)
                raise UsageError(f"unknown role {role!r} (known: {known})") from None
        if Role.DELEGATE in parsed and party is None:
            raise UsageError("a delegate needs --party: the member state they represent")
        if full_name is not None:
            full_name = _text(full_name, "full name", limit=200)
        with self.db.write() as conn:
            if repo.get_user(conn, name) is not None:
                raise AlreadyExistsError("user", name)
            if party is not None and repo.get_party(conn, party) is None:
                raise NotFoundError("party", party)
            repo.insert_user(
                conn,
                name=name,
                full_name=full_name,
                email=email,
                party_code=party,
                language=language,
                roles=parsed,
                at=self.clock.now(),
            )
            user = repo.get_user(conn, name)
            assert user is not None
            self._plan_for_roles(conn, parsed, party)
            return user

    def grant_role(self, name: str, role: str) -> UserRecord:
        """Give a user one more role; their reminders are planned again."""
        return self._change_role(name, role, grant=True)

    def revoke_role(self, name: str, role: str) -> UserRecord:
        """Take a role from a user; the reminders they got for it are cancelled."""
        return self._change_role(name, role, grant=False)

    def _change_role(self, name: str, role: str, *, grant: bool) -> UserRecord:
        try:
            parsed = Role(role).value
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise UsageError(f"unknown role {role!r} (known: {known})") from None
        with self.db.write() as conn:
            user = self._user(conn, name)
            if grant:
                if parsed in user.roles:
                    raise RefusedError(f"user {name!r} already has role {parsed!r}")
                if parsed == Role.DELEGATE and user.party_code is None:
                    raise UsageError("a delegate needs a party: add the user with --party")
                repo.add_role(conn, user.id, parsed)
            else:
                if parsed not in user.roles:
                    raise RefusedError(f"user {name!r} does not have role {parsed!r}")
                if len(user.roles) == 1:
                    raise RefusedError(f"user {name!r} would be left without a role")
                repo.remove_role(conn, user.id, parsed)
            self._plan_for_roles(conn, [parsed], user.party_code)
            changed = repo.get_user(conn, name)
            assert changed is not None
            return changed

    def update_user(
        self,
        name: str,
        *,
        email: str | None = None,
        language: str | None = None,
        full_name: str | None = None,
    ) -> UserRecord:
        """Change a user's email, language or full name (those given).

        Nothing is re-planned: reminders and reports read their recipient's address,
        language and name when they are sent, so the change holds from the next email on.
        """
        values: dict[str, str] = {}
        if email is not None:
            email = _check(
                _EMAIL, email.strip(), "email", "expected an address such as a@example.org"
            )
            if len(email) > MAX_EMAIL:
                raise UsageError(f"email is longer than {MAX_EMAIL} characters")
            values["email"] = email
        if language is not None:
            values["language"] = _check(
                _LANGUAGE, language, "language", "use a code such as en, ru or en-GB"
            )
        if full_name is not None:
            values["full_name"] = _text(full_name, "full name", limit=200)
        if not values:
            raise UsageError("nothing to change: give an email, a language or a full name")
        with self.db.write() as conn:
            user = self._user(conn, name)
            repo.update_user(conn, user.id, **values)
            changed = repo.get_user(conn, name)
            assert changed is not None
            return changed

    def list_users(self) -> list[UserRecord]:
        with self.db.read() as conn:
            return repo.list_users(conn)

    def get_user(self, name: str) -> UserRecord:
        """User ``name`` with their roles as they are now."""
        with self.db.read() as conn:
            return self._user(conn, name)

    def _user(self, conn: Connection, name: str) -> UserRecord:
        user = repo.get_user(conn, name)
        if user is None:
            raise NotFoundError("user", name)
        return user

    # -- summits --------------------------------------------------------------------------

    def add_summit(
        self,
        slug: str,
        *,
        title: str,
        city: str,
        starts: date,
        ends: date | None = None,
        tz: str,
        actor: str,
    ) -> SummitView:
        """Add a summit; without ``ends`` it lasts one day."""
        slug = _check(_SLUG, slug, "summit slug", "use lower-case letters, digits, '.', '_', '-'")
        title = _text(title, "title", limit=300)
        city = _text(city, "city", limit=100)
        zone(tz)
        ends = ends or starts
        if ends < starts:
            raise UsageError(f"the summit ends ({ends}) before it starts ({starts})")
        with self.db.write() as conn:
            if repo.get_summit_by_slug(conn, slug) is not None:
                raise AlreadyExistsError("summit", slug)
            summit_id = repo.insert_summit(
                conn,
                slug=slug,
                title=title,
                city=city,
                starts=starts,
                ends=ends,
                tz=tz,
                at=self.clock.now(),
            )
            content = EventContent(
                at=self.clock.now(),
                actor=actor,
                kind=EventKind.SUMMIT_CREATED,
                payload=_payload(starts=starts.isoformat(), ends=ends.isoformat(), tz=tz),
            )
            link = chain.next_link(None, chain.SUMMIT, summit_id, 1, content)
            repo.insert_event(conn, summit_id=summit_id, content=content, link=link)
            repo.set_summit_head(conn, summit_id, link.hash)
            created = repo.get_summit(conn, summit_id)
            self._planner(conn).plan_summit(created)
            return _summit_view(created)

    def list_summits(self) -> list[SummitView]:
        with self.db.read() as conn:
            return [_summit_view(s) for s in repo.list_summits(conn)]

    def get_summit(self, slug: str) -> SummitView:
        with self.db.read() as conn:
            return _summit_view(self._summit(conn, slug))

    def _summit(self, conn: Connection, slug: str, *, for_update: bool = False) -> SummitRecord:
        summit = repo.get_summit_by_slug(conn, slug, for_update=for_update)
        if summit is None:
            raise NotFoundError("summit", slug)
        return summit

    def move_summit(
        self,
        slug: str,
        *,
        starts: date,
        ends: date | None = None,
        as_user: str,
        comment: str | None = None,
        expect_version: int | None = None,
    ) -> SummitView:
        """New dates for a summit; without ``ends`` it keeps its length. Deadlines follow.

        ``expect_version``: the summit's version the caller saw (``SummitView.version``);
        if it moved since, the move is refused as a conflict
        (:class:`~doctrack.services.summit_moves.SummitMovedError`). What the move would
        change can be seen first with :func:`doctrack.services.summit_moves.preview_move`.
        """
        comment = _comment(comment)
        with self.db.write() as conn:
            user = self._user(conn, as_user)
            if not roles_permit(RETARGET_ROLES, user.roles):
                raise NotAllowedError(as_user, f"move summit {slug!r}", RETARGET_ROLES, user.roles)
            summit = self._summit(conn, slug, for_update=True)
            summit_moves.check_version(summit, expect_version)
            starts, new_ends = summit_moves.new_dates(summit, starts, ends)
            content = EventContent(
                at=self.clock.now(),
                actor=as_user,
                kind=EventKind.SUMMIT_MOVED,
                comment=comment,
                payload=_payload(
                    before={"starts": summit.starts.isoformat(), "ends": summit.ends.isoformat()},
                    after={"starts": starts.isoformat(), "ends": new_ends.isoformat()},
                ),
            )
            link = chain.next_link(
                summit.chain_head, chain.SUMMIT, summit.id, summit.version + 1, content
            )
            if not repo.move_summit(
                conn, summit.id, summit.version, starts, new_ends, chain_head=link.hash
            ):
                raise RefusedError(f"conflict: summit {slug!r} changed meanwhile; try again")
            repo.insert_event(conn, summit_id=summit.id, content=content, link=link)
            moved = repo.get_summit(conn, summit.id)
            planner = self._planner(conn)
            for instrument_id in repo.instrument_ids_for_summit(conn, summit.id):
                instrument = repo.get_instrument_by_id(conn, instrument_id)
                self._recompute_deadlines(conn, instrument, moved)
                planner.plan_instrument(self.workflows.get(instrument.workflow), instrument, moved)
            planner.plan_summit(moved)
            return _summit_view(moved)

    # -- instruments ----------------------------------------------------------------------

    def add_instrument(
        self,
        slug: str,
        *,
        title: str,
        workflow: str,
        summit: str,
        lead: str | None = None,
        depends_on: Sequence[str] = (),
        kind: str | None = None,
        actor: str,
    ) -> InstrumentView:
        """Add an instrument in its workflow's initial state, with its deadlines."""
        slug = _check(
            _SLUG, slug, "instrument slug", "use lower-case letters, digits, '.', '_', '-'"
        )
        title = _text(title, "title")
        wf = self.workflows.get(workflow)
        kind = _text(kind, "kind", limit=64) if kind else wf.name
        if slug in depends_on:
            raise UsageError(f"{slug!r} cannot depend on itself")
        now = self.clock.now()
        with self.db.write() as conn:
            if repo.get_instrument(conn, slug) is not None:
                raise AlreadyExistsError("instrument", slug)
            # Lock the summit row: a concurrent move_summit must not leave stale due times.
            target = self._summit(conn, summit, for_update=True)
            if lead is not None and repo.get_party(conn, lead) is None:
                raise NotFoundError("party", lead)
            dependency_ids: list[int] = []
            for dep in dict.fromkeys(depends_on):
                found = repo.get_instrument(conn, dep)
                if found is None:
                    raise NotFoundError("instrument", dep)
                dependency_ids.append(found.id)
            instrument_id = repo.insert_instrument(
                conn,
                slug=slug,
                title=title,
                kind=kind,
                workflow=wf.name,
                state=wf.initial,
                summit_id=target.id,
                lead_party=lead,
                at=now,
            )
            repo.insert_dependencies(conn, instrument_id, dependency_ids)
            repo.insert_deadlines(
                conn,
                instrument_id,
                due_times(wf, starts=target.starts, ends=target.ends, tz=target.tz),
            )
            content = EventContent(
                at=now,
                actor=actor,
                kind=EventKind.CREATED,
                payload=_payload(
                    summit=target.slug,
                    workflow=wf.name,
                    lead=lead,
                    depends_on=list(dict.fromkeys(depends_on)),
                ),
            )
            link = chain.next_link(None, chain.INSTRUMENT, instrument_id, 1, content)
            repo.insert_event(conn, instrument_id=instrument_id, content=content, link=link)
            repo.set_instrument_head(conn, instrument_id, link.hash)
            created = repo.get_instrument_by_id(conn, instrument_id)
            self._planner(conn).plan_instrument(wf, created, target)
            return self._view(conn, created)

    def list_instruments(
        self,
        *,
        summit: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: str | None = None,
    ) -> Iterator[InstrumentSummary]:
        """Instruments in slug order; streamed, so large lists use little memory.

        ``after``: only the instruments whose slug sorts after it. Paging with the last slug
        of the previous page costs the same on page 1,000 as on page 1; ``offset`` walks
        every instrument it skips."""
        if (limit is not None and limit < 0) or offset < 0:
            raise UsageError("--limit and --offset must not be negative")
        with self.db.read() as conn:
            summits = {s.id: s.slug for s in repo.list_summits(conn)}
            summit_id = self._summit(conn, summit).id if summit else None
            for r in repo.iter_instruments(
                conn, summit_id=summit_id, state=state, limit=limit, offset=offset, after=after
            ):
                yield InstrumentSummary(
                    slug=r.slug,
                    title=r.title,
                    kind=r.kind,
                    workflow=r.workflow,
                    state=r.state,
                    summit=summits[r.summit_id],
                    lead=r.lead_party,
                    version=r.version,
                    revision=r.revision_number,
                )

    def show(self, slug: str) -> InstrumentView:
        with self.db.read() as conn:
            return self._view(conn, self._instrument(conn, slug))

    def _instrument(
        self, conn: Connection, slug: str, *, for_update: bool = False
    ) -> InstrumentRecord:
        found = repo.get_instrument(conn, slug, for_update=for_update)
        if found is None:
            raise NotFoundError("instrument", slug)
        return found

    def _view(self, conn: Connection, r: InstrumentRecord) -> InstrumentView:
        wf = self.workflows.get(r.workflow)
        summit = repo.get_summit(conn, r.summit_id)
        now = self.clock.now()
        positions = repo.positions_on(conn, r.revision_id) if r.revision_id is not None else []
        return InstrumentView(
            slug=r.slug,
            title=r.title,
            kind=r.kind,
            workflow=r.workflow,
            state=r.state,
            state_label=wf.label(r.state),
            state_since=r.state_since,
            final=wf.is_final(r.state),
            adopted=wf.is_adopted(r.state),
            summit=summit.slug,
            summit_tz=summit.tz,
            lead=r.lead_party,
            version=r.version,
            revision=r.revision_number,
            depends_on=tuple(slug for slug, _, _ in repo.dependencies_of(conn, r.id)),
            positions=tuple(
                PositionView(
                    party=p.party_code,
                    stance=p.stance,
                    comment=p.comment,
                    recorded_by=p.recorded_by,
                    on_behalf=p.on_behalf,
                    at=p.at,
                )
                for p in positions
            ),
            deadlines=tuple(
                DeadlineView(
                    instrument=r.slug,
                    milestone=d.milestone,
                    label=wf.label(d.milestone),
                    due=d.due_at,
                    tz=summit.tz,
                    status=deadline_status(d.due_at, d.met_at, now),
                    met_at=d.met_at,
                    summit=summit.slug,
                    state=r.state,
                )
                for d in repo.deadlines_of(conn, r.id)
            ),
            allowed_triggers=tuple(wf.triggers_from(r.state)),
        )

    def triggers(self, slug: str, *, as_user: str) -> list[TriggerCheck]:
        """The triggers from the current state that ``as_user``'s roles allow, with guards now."""
        with self.db.read() as conn:
            user = self._user(conn, as_user)
            r = self._instrument(conn, slug)
            roles = _effective_roles(user, r)
            machine = self.workflows.machine(r.workflow)
            facts = DbFacts(conn, r, self.workflows, self.clock.now())
            return [c for c in machine.check(state=r.state, facts=facts, roles=roles) if c.role_ok]

    def advance(
        self,
        slug: str,
        trigger: str,
        *,
        as_user: str,
        comment: str | None = None,
        expect_version: int | None = None,
    ) -> TransitionResult:
        """Fire ``trigger`` on the instrument as ``as_user``; refused with the reason why."""
        comment = _comment(comment)
        now = self.clock.now()
        with self.db.write() as conn:
            r = self._instrument(conn, slug, for_update=True)
            if expect_version is not None and r.version != expect_version:
                raise ConflictError(slug, r.state, r.version, expect_version)
            user = self._user(conn, as_user)
            wf = self.workflows.get(r.workflow)
            taken = self.workflows.machine(r.workflow).fire(
                slug=slug,
                state=r.state,
                version=r.version,
                trigger=trigger,
                facts=DbFacts(conn, r, self.workflows, now),
                roles=_effective_roles(user, r),
                actor=as_user,
            )
            self._change(
                conn,
                r,
                EventContent(
                    at=now,
                    actor=as_user,
                    kind=EventKind.TRANSITION,
                    trigger=trigger,
                    from_state=r.state,
                    to_state=taken.dest,
                    comment=comment,
                ),
                state=taken.dest,
                state_since=now,
            )
            if wf.states[taken.dest].due is not None:
                repo.mark_deadline_met(conn, r.id, taken.dest, now)
                reminder_store.cancel_for_milestone(conn, r.id, taken.dest, note=DEADLINE_MET)
            if wf.is_final(taken.dest):
                reminder_store.cancel_pending(conn, instrument_id=r.id, note=FINAL_STATE)
            return TransitionResult(
                slug=slug,
                trigger=trigger,
                from_state=r.state,
                to_state=taken.dest,
                to_label=wf.label(taken.dest),
                version=r.version + 1,
            )

    def revise(
        self,
        slug: str,
        *,
        content: bytes,
        filename: str,
        as_user: str,
        note: str | None = None,
    ) -> int:
        """Upload a new draft revision; positions start afresh. Returns its number."""
        note = _comment(note)
        filename = _text(filename.replace("\\", "/").rsplit("/", 1)[-1], "file name", limit=255)
        if not content:
            raise UsageError(f"{filename!r} is empty: a revision needs a text")
        if len(content) > MAX_REVISION_BYTES:
            raise UsageError(f"{filename!r} is larger than {MAX_REVISION_BYTES // 2**20} MiB")
        now = self.clock.now()
        digest = hashlib.sha256(content).hexdigest()
        with self.db.write() as conn:
            r = self._instrument(conn, slug, for_update=True)
            user = self._user(conn, as_user)
            if not roles_permit(REVISE_ROLES, user.roles):
                raise NotAllowedError(as_user, f"revise {slug!r}", REVISE_ROLES, user.roles)
            self._refuse_if_final(r, "revise")
            number = (r.revision_number or 0) + 1
            revision_id = repo.insert_revision(
                conn,
                instrument_id=r.id,
                number=number,
                filename=filename,
                content=content,
                sha256=digest,
                uploaded_by=as_user,
                at=now,
                note=note,
            )
            self._change(
                conn,
                r,
                EventContent(
                    at=now,
                    actor=as_user,
                    kind=EventKind.REVISION,
                    comment=note,
                    payload=_payload(
                        number=number, filename=filename, sha256=digest, size=len(content)
                    ),
                ),
                revision_id=revision_id,
                revision_number=number,
            )
            return number

    def revision_content(self, slug: str, number: int) -> tuple[str, bytes]:
        """(file name, bytes) of revision ``number``."""
        with self.db.read() as conn:
            r = self._instrument(conn, slug)
            for rev in repo.list_revisions(conn, r.id):
                if rev.number == number:
                    content = repo.revision_content(conn, r.id, number)
                    assert content is not None
                    return rev.filename, content
            raise NotFoundError("revision", f"{slug}#{number}")

    def record_position(
        self,
        slug: str,
        party: str,
        stance: str,
        *,
        as_user: str,
        comment: str | None = None,
    ) -> None:
        """Record ``party``'s stance on the current revision: by its own delegate, or by a
        coordinator on its behalf (recorded as such)."""
        try:
            parsed = Stance(stance)
        except ValueError:
            raise UsageError(f"unknown stance {stance!r}: use approve, reserve or object") from None
        comment = _comment(comment)
        now = self.clock.now()
        with self.db.write() as conn:
            r = self._instrument(conn, slug, for_update=True)
            user = self._user(conn, as_user)
            if repo.get_party(conn, party) is None:
                raise NotFoundError("party", party)
            own = Role.DELEGATE in user.roles and user.party_code == party
            if not own and not roles_permit(POSITION_ON_BEHALF_ROLES, user.roles):
                raise NotAllowedError(
                    as_user,
                    f"record {party}'s position",
                    [f"delegate of {party}", "coordinator"],
                    user.roles,
                )
            self._refuse_if_final(r, "record a position on")
            if r.revision_id is None:
                raise RefusedError(f"{slug!r} has no draft revision to take a position on")
            repo.upsert_position(
                conn,
                instrument_id=r.id,
                revision_id=r.revision_id,
                party_code=party,
                stance=parsed.value,
                comment=comment,
                recorded_by=as_user,
                on_behalf=not own,
                at=now,
            )
            self._change(
                conn,
                r,
                EventContent(
                    at=now,
                    actor=as_user,
                    kind=EventKind.POSITION,
                    comment=comment,
                    payload=_payload(
                        party=party,
                        stance=parsed.value,
                        revision=r.revision_number,
                        on_behalf=not own,
                    ),
                ),
            )

    def retarget(self, slug: str, *, summit: str, as_user: str, comment: str) -> InstrumentView:
        """Carry the instrument over to another summit; its deadlines follow."""
        reason = _comment(comment)
        if reason is None:
            raise UsageError("retarget needs --comment: say why the instrument moves")
        with self.db.write() as conn:
            r = self._instrument(conn, slug, for_update=True)
            user = self._user(conn, as_user)
            if not roles_permit(RETARGET_ROLES, user.roles):
                raise NotAllowedError(as_user, f"retarget {slug!r}", RETARGET_ROLES, user.roles)
            self._refuse_if_final(r, "retarget")
            target = self._summit(conn, summit)
            if target.id == r.summit_id:
                raise UsageError(f"{slug!r} already targets summit {summit!r}")
            # Lock both summits (in id order, as move_summit does one): a concurrent move of
            # either must not leave this instrument with the other summit's due times.
            repo.lock_summits(conn, {r.summit_id, target.id})
            target = repo.get_summit(conn, target.id)
            before = repo.get_summit(conn, r.summit_id)
            self._change(
                conn,
                r,
                EventContent(
                    at=self.clock.now(),
                    actor=as_user,
                    kind=EventKind.RETARGET,
                    comment=reason,
                    payload=_payload(from_summit=before.slug, to_summit=target.slug),
                ),
                summit_id=target.id,
            )
            self._recompute_deadlines(conn, r, target)
            self._planner(conn).plan_instrument(
                self.workflows.get(r.workflow), repo.get_instrument_by_id(conn, r.id), target
            )
            return self._view(conn, repo.get_instrument_by_id(conn, r.id))

    def history(self, slug: str) -> list[EventView]:
        with self.db.read() as conn:
            r = self._instrument(conn, slug)
            tz = repo.get_summit(conn, r.summit_id).tz
            return [
                EventView(
                    at=e.at,
                    tz=tz,
                    actor=e.actor,
                    kind=e.kind,
                    trigger=e.trigger,
                    from_state=e.from_state,
                    to_state=e.to_state,
                    comment=e.comment,
                    payload=json.loads(e.payload) if e.payload else None,
                )
                for e in repo.iter_events(conn, instrument_id=r.id)
            ]

    def deadlines(
        self, *, summit: str | None = None, overdue: bool = False
    ) -> Iterator[DeadlineView]:
        """Deadlines in due order; ``overdue``: due, not met, instrument not in a final state."""
        now = self.clock.now()
        with self.db.read() as conn:
            zones = {s.slug: s.tz for s in repo.list_summits(conn)}
            summit_id = self._summit(conn, summit).id if summit else None
            rows = repo.iter_deadlines(
                conn, summit_id=summit_id, overdue_at=now if overdue else None
            )
            for d, slug, workflow, state, summit_slug in rows:
                wf = self.workflows.get(workflow)
                if overdue and wf.is_final(state):
                    continue
                yield DeadlineView(
                    instrument=slug,
                    milestone=d.milestone,
                    label=wf.label(d.milestone),
                    due=d.due_at,
                    tz=zones[summit_slug],
                    status=deadline_status(d.due_at, d.met_at, now),
                    met_at=d.met_at,
                    summit=summit_slug,
                    state=state,
                )

    # -- reminders ------------------------------------------------------------------------

    def plan_reminders(self) -> str:
        """Re-plan every reminder, e.g. after the settings or a workflow's reminders changed.

        Idempotent; reminders already sent are never planned again.
        """
        with self.db.write() as conn:
            self._plan_everything(conn)
            counts = reminder_store.count_by_status(conn)
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"

    # -- helpers --------------------------------------------------------------------------

    def _plan_everything(self, conn: Connection) -> None:
        """Re-plan every reminder: after users or roles change, or on request."""
        planner = self._planner(conn)
        summits = {s.id: s for s in repo.list_summits(conn)}
        for summit in summits.values():
            planner.plan_summit(summit)
        for r in list(repo.iter_instruments(conn)):
            if r.workflow in self.workflows:
                planner.plan_instrument(self.workflows.get(r.workflow), r, summits[r.summit_id])

    def _plan_for_roles(self, conn: Connection, roles: Sequence[str], party: str | None) -> None:
        """Re-plan the reminders whose recipients a user with ``roles`` (of ``party``) joins
        or leaves: the summits' when the settings send them to one of the roles, and the
        instruments whose workflow sends reminders to one of them (``lead_delegate``: a
        delegate of the lead party). A drafter added to 100,000 instruments plans nothing."""
        held = set(roles)
        planner = self._planner(conn)
        summits = {s.id: s for s in repo.list_summits(conn)}
        if held & set(self.reminder_settings.summit_to):
            for summit in summits.values():
                planner.plan_summit(summit)
        delegate_of = party if Role.DELEGATE in held else None
        every: set[str] = set()
        led: set[str] = set()
        for name in self.workflows.names():
            to = set(self.workflows.get(name).reminders.to)
            if held & to:
                every.add(name)
            elif delegate_of is not None and LEAD_DELEGATE in to:
                led.add(name)
        if not every and not led:
            return
        for r in list(repo.iter_instruments(conn)):
            if r.workflow in every or (r.workflow in led and r.lead_party == delegate_of):
                planner.plan_instrument(self.workflows.get(r.workflow), r, summits[r.summit_id])

    def _change(
        self, conn: Connection, r: InstrumentRecord, content: EventContent, **values: Any
    ) -> None:
        """Apply ``values`` to the instrument, raise its version by one and append the event
        to its chain: the new head is set by the same UPDATE, the event's ``seq`` is the new
        version. A concurrent change (another version) is a conflict."""
        link = chain.next_link(r.chain_head, chain.INSTRUMENT, r.id, r.version + 1, content)
        if not repo.change_instrument(conn, r.id, r.version, chain_head=link.hash, **values):
            current = repo.get_instrument_by_id(conn, r.id)
            raise ConflictError(r.slug, current.state, current.version, r.version)
        repo.insert_event(conn, instrument_id=r.id, content=content, link=link)

    def _refuse_if_final(self, r: InstrumentRecord, action: str) -> None:
        wf = self.workflows.get(r.workflow)
        if wf.is_final(r.state):
            raise RefusedError(f"cannot {action} {r.slug!r}: it is in the final state {r.state!r}")

    def _recompute_deadlines(
        self, conn: Connection, r: InstrumentRecord, summit: SummitRecord
    ) -> None:
        wf: WorkflowDef = self.workflows.get(r.workflow)
        for milestone, due in due_times(wf, starts=summit.starts, ends=summit.ends, tz=summit.tz):
            repo.set_deadline_due(conn, r.id, milestone, due)


def _effective_roles(user: UserRecord, r: InstrumentRecord) -> frozenset[str]:
    roles = set(user.roles)
    if Role.DELEGATE in roles and r.lead_party is not None and user.party_code == r.lead_party:
        roles.add(LEAD_DELEGATE)
    return frozenset(roles)


def _summit_view(s: SummitRecord) -> SummitView:
    return SummitView(
        slug=s.slug,
        title=s.title,
        city=s.city,
        starts=s.starts,
        ends=s.ends,
        tz=s.tz,
        version=s.version,
    )
