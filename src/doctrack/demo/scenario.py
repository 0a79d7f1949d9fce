"""The demo scenario file: parsed, checked, and turned into frozen specs.

Every error names the file, the line and the key (:class:`ScenarioError`, a usage error).
References between entries (users' parties, instruments' summits and dependencies, the
timeline's users, parties, instruments and summits) are checked here; the workflow names,
triggers and guards are checked by doctrack itself when the scenario is replayed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias, cast

import yaml

from doctrack.clock import as_utc
from doctrack.domain import Role, Stance
from doctrack.errors import UsageError
from doctrack.timerules import zone

#: The scenario shipped with doctrack: the road to the SCO summit in Tashkent, June 2016.
DEFAULT_SCENARIO = Path(__file__).resolve().parent / "tashkent2016.yaml"

Source: TypeAlias = Literal["article", "illustrative"]
SOURCES: tuple[Source, ...] = ("article", "illustrative")
ACTIONS = ("revise", "position", "advance", "retarget", "note")

_Path: TypeAlias = tuple[str | int, ...]
_PROVENANCE_KEYS = {"source", "quote", "note"}
_TOP_KEYS = {
    "scenario",
    "title",
    "tz",
    "actor",
    "setup_at",
    "article",
    "notice",
    "parties",
    "users",
    "summits",
    "instruments",
    "timeline",
}
_ARTICLE_KEYS = {"title", "publisher", "published", "url"}
_PARTY_KEYS = {"code", "name"} | _PROVENANCE_KEYS
_USER_KEYS = {"name", "full_name", "email", "roles", "party", "language"} | _PROVENANCE_KEYS
_SUMMIT_KEYS = {"slug", "title", "city", "starts", "ends", "tz"} | _PROVENANCE_KEYS
_INSTRUMENT_KEYS = {
    "slug",
    "title",
    "kind",
    "workflow",
    "summit",
    "lead",
    "depends_on",
} | _PROVENANCE_KEYS
_ENTRY_KEYS = {"at", "action", "source", "quote", "expect", "refused_by"}
_ACTION_KEYS: dict[str, set[str]] = {
    "revise": {"instrument", "as", "file", "text", "note"},
    "position": {"instrument", "as", "party", "stance", "comment"},
    "advance": {"instrument", "as", "trigger", "comment"},
    "retarget": {"instrument", "as", "summit", "comment"},
    "note": {"text", "summit", "instrument"},
}
_SPACES = re.compile(r"\s+")


class ScenarioError(UsageError):
    """The scenario file is wrong, or the replay found it inconsistent with the rules."""

    def __init__(self, file: str, line: int | None, key: str | None, message: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = file if line is None else f"{file}:{line}"
        what = f" {key}:" if key else ""
        super().__init__(f"{where}:{what} {message}")


# -- specs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Sourced:
    """Where an entry comes from: the seed article (with a quote) or the demo's invention."""

    source: Source
    quote: str | None = None
    note: str | None = None
    line: int | None = None

    @property
    def tag(self) -> str:
        """``[article]`` or ``[illustrative]``."""
        return f"[{self.source}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleRef:
    title: str
    publisher: str
    published: date
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PartySpec(Sourced):
    code: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSpec(Sourced):
    name: str
    full_name: str
    email: str
    roles: tuple[str, ...]
    party: str | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitSpec(Sourced):
    slug: str
    title: str
    city: str
    starts: date
    ends: date
    tz: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentSpec(Sourced):
    slug: str
    title: str
    kind: str
    workflow: str
    summit: str
    lead: str | None = None
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry(Sourced):
    """One dated timeline entry. ``at`` keeps the offset written in the file."""

    at: datetime
    expect_refused: bool = False
    refused_by: str | None = None

    @property
    def at_utc(self) -> datetime:
        return as_utc(self.at)


@dataclass(frozen=True, slots=True, kw_only=True)
class Revise(Entry):
    """Upload a new draft revision (positions start afresh); ``note`` is the revision's note."""

    instrument: str
    as_user: str
    filename: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Position(Entry):
    """Record a party's stance on the current revision."""

    instrument: str
    as_user: str
    party: str
    stance: str
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Advance(Entry):
    """Fire a workflow trigger."""

    instrument: str
    as_user: str
    trigger: str
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retarget(Entry):
    """Carry an instrument over to another summit."""

    instrument: str
    as_user: str
    summit: str
    comment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Note(Entry):
    """A dated fact that changes nothing in the database; printed during the replay."""

    text: str
    summit: str | None = None
    instrument: str | None = None


TimelineEntry: TypeAlias = Revise | Position | Advance | Retarget | Note


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole scenario: who and what exists at ``setup_at``, then a dated timeline."""

    name: str
    title: str
    tz: str
    actor: str
    setup_at: datetime
    article: ArticleRef
    notice: str | None
    parties: tuple[PartySpec, ...]
    users: tuple[UserSpec, ...]
    summits: tuple[SummitSpec, ...]
    instruments: tuple[InstrumentSpec, ...]
    timeline: tuple[TimelineEntry, ...]
    file: str

    def user(self, name: str) -> UserSpec:
        for u in self.users:
            if u.name == name:
                return u
        raise KeyError(name)

    def entries_for(self, instrument: str) -> tuple[TimelineEntry, ...]:
        """The timeline entries that act on ``instrument`` (notes about it included)."""
        return tuple(e for e in self.timeline if getattr(e, "instrument", None) == instrument)


# -- loading ----------------------------------------------------------------------------------


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read and check a scenario file; the packaged Tashkent 2016 scenario by default."""
    file = Path(path) if path is not None else DEFAULT_SCENARIO
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(file), None, None, "scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(file), None, None, f"cannot read the file: {exc}") from None
    return parse_scenario(text, file=str(file))


def parse_scenario(text: str, *, file: str = "<scenario>") -> Scenario:
    """Parse and check scenario YAML given as text."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(file, None, None, "the file is empty")
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(file, line, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    lines: dict[_Path, int] = {}
    _index_lines(node, (), lines)
    return _Parser(file, lines).scenario(data)


def _index_lines(node: yaml.Node, path: _Path, lines: dict[_Path, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            sub = (*path, key)
            lines.setdefault(sub, key_node.start_mark.line + 1)
            _index_lines(value_node, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, i)
            lines.setdefault(sub, item.start_mark.line + 1)
            _index_lines(item, sub, lines)


def one_line(text: str) -> str:
    """``text`` with runs of white space (new lines included) folded to one space."""
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Known:
    """The names a timeline entry may refer to."""

    parties: set[str]
    users: set[str]
    summits: set[str]
    instruments: set[str]


class _Parser:
    """Walks the parsed YAML with its line index; raises on the first problem."""

    def __init__(self, file: str, lines: dict[_Path, int]) -> None:
        self.file = file
        self.lines = lines

    # -- primitives --

    def line(self, path: _Path) -> int | None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return self.lines.get(probe) if probe else None

    def fail(self, path: _Path, message: str) -> ScenarioError:
        key = ".".join(str(p) for p in path) if path else None
        return ScenarioError(self.file, self.line(path), key, message)

    def mapping(
        self, value: Any, path: _Path, allowed: Collection[str], required: Collection[str] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail((*path, str(key)), f"unknown key {key!r} (allowed: {known})")
        for key in required:
            if key not in value:
                raise self.fail(path, f"missing key {key!r}")
        return cast(dict[str, Any], value)

    def items(self, value: Any, path: _Path, *, empty_ok: bool = False) -> list[Any]:
        if value is None and empty_ok:
            return []
        if not isinstance(value, list) or (not value and not empty_ok):
            raise self.fail(path, "expected a non-empty list")
        return value

    def string(self, spec: Mapping[str, Any], key: str, path: _Path) -> str:
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail((*path, key), "expected a non-empty string")
        text = str(value).strip()
        if not text:
            raise self.fail((*path, key), "expected a non-empty string")
        return text

    def optional(self, spec: Mapping[str, Any], key: str, path: _Path) -> str | None:
        if spec.get(key) is None:
            return None
        return self.string(spec, key, path)

    def strings(self, spec: Mapping[str, Any], key: str, path: _Path) -> tuple[str, ...]:
        raw = spec.get(key)
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list):
            raise self.fail((*path, key), "expected a string or a list of strings")
        return tuple(self.string({key: v}, key, (*path, key, i)) for i, v in enumerate(items))

    def day(self, spec: Mapping[str, Any], key: str, path: _Path) -> date:
        value = spec.get(key)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail((*path, key), "expected a date such as 2016-06-23")

    def instant(self, spec: Mapping[str, Any], key: str, path: _Path) -> datetime:
        value = spec.get(key)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                value = None
        if not isinstance(value, datetime):
            raise self.fail(
                (*path, key),
                "expected an ISO-8601 time with an offset, e.g. 2016-02-10T10:00:00+05:00",
            )
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.fail((*path, key), "the time needs an offset, e.g. +05:00")
        return value

    def time_zone(self, spec: Mapping[str, Any], key: str, path: _Path) -> str:
        name = self.string(spec, key, path)
        try:
            zone(name)
        except UsageError as exc:
            raise self.fail((*path, key), str(exc)) from None
        return name

    def provenance(self, spec: Mapping[str, Any], path: _Path) -> dict[str, Any]:
        source = spec.get("source")
        if source not in SOURCES:
            raise self.fail((*path, "source"), "expected source: article or source: illustrative")
        quote = self.optional(spec, "quote", path)
        if source == "article" and quote is None:
            raise self.fail(path, "an article fact needs a 'quote:' from the article")
        return {
            "source": source,
            "quote": one_line(quote) if quote else None,
            "note": self.optional(spec, "note", path),
            "line": self.line(path),
        }

    # -- sections --

    def scenario(self, data: Any) -> Scenario:
        top = self.mapping(
            data,
            (),
            _TOP_KEYS,
            required=(
                "scenario",
                "title",
                "tz",
                "actor",
                "setup_at",
                "article",
                "parties",
                "users",
                "summits",
                "instruments",
                "timeline",
            ),
        )
        art = self.mapping(top["article"], ("article",), _ARTICLE_KEYS, required=_ARTICLE_KEYS)
        article = ArticleRef(
            title=self.string(art, "title", ("article",)),
            publisher=self.string(art, "publisher", ("article",)),
            published=self.day(art, "published", ("article",)),
            url=self.string(art, "url", ("article",)),
        )
        notice = self.optional(top, "notice", ())
        parties = self.parties(top["parties"])
        codes = {p.code for p in parties}
        users = self.users(top["users"], codes)
        summits = self.summits(top["summits"])
        instruments = self.instruments(top["instruments"], codes, {s.slug for s in summits})
        setup_at = self.instant(top, "setup_at", ())
        known = _Known(
            parties=codes,
            users={u.name for u in users},
            summits={s.slug for s in summits},
            instruments={i.slug for i in instruments},
        )
        timeline = self.timeline(top["timeline"], setup_at=setup_at, known=known)
        return Scenario(
            name=self.string(top, "scenario", ()),
            title=self.string(top, "title", ()),
            tz=self.time_zone(top, "tz", ()),
            actor=self.string(top, "actor", ()),
            setup_at=setup_at,
            article=article,
            notice=one_line(notice) if notice else None,
            parties=parties,
            users=users,
            summits=summits,
            instruments=instruments,
            timeline=timeline,
            file=self.file,
        )

    def _unique(self, seen: set[str], value: str, path: _Path, what: str) -> None:
        if value in seen:
            raise self.fail(path, f"{what} {value!r} appears twice")
        seen.add(value)

    def parties(self, raw: Any) -> tuple[PartySpec, ...]:
        result: list[PartySpec] = []
        seen: set[str] = set()
        for i, body in enumerate(self.items(raw, ("parties",))):
            path: _Path = ("parties", i)
            spec = self.mapping(body, path, _PARTY_KEYS, required=("code", "name", "source"))
            code = self.string(spec, "code", path)
            self._unique(seen, code, (*path, "code"), "party")
            result.append(
                PartySpec(
                    code=code, name=self.string(spec, "name", path), **self.provenance(spec, path)
                )
            )
        return tuple(result)

    def users(self, raw: Any, parties: set[str]) -> tuple[UserSpec, ...]:
        result: list[UserSpec] = []
        seen: set[str] = set()
        known_roles = {r.value for r in Role}
        for i, body in enumerate(self.items(raw, ("users",))):
            path: _Path = ("users", i)
            spec = self.mapping(
                body,
                path,
                _USER_KEYS,
                required=("name", "full_name", "email", "roles", "source"),
            )
            name = self.string(spec, "name", path)
            self._unique(seen, name, (*path, "name"), "user")
            roles = self.strings(spec, "roles", path)
            if not roles:
                raise self.fail((*path, "roles"), "a user needs at least one role")
            for j, role in enumerate(roles):
                if role not in known_roles:
                    known = ", ".join(sorted(known_roles))
                    raise self.fail((*path, "roles", j), f"unknown role {role!r} (known: {known})")
            party = self.optional(spec, "party", path)
            if party is not None and party not in parties:
                raise self.fail((*path, "party"), f"unknown party {party!r}")
            if Role.DELEGATE.value in roles and party is None:
                raise self.fail(path, "a delegate needs a party")
            result.append(
                UserSpec(
                    name=name,
                    full_name=self.string(spec, "full_name", path),
                    email=self.string(spec, "email", path),
                    roles=roles,
                    party=party,
                    language=self.optional(spec, "language", path) or "en",
                    **self.provenance(spec, path),
                )
            )
        return tuple(result)

    def summits(self, raw: Any) -> tuple[SummitSpec, ...]:
        result: list[SummitSpec] = []
        seen: set[str] = set()
        for i, body in enumerate(self.items(raw, ("summits",))):
            path: _Path = ("summits", i)
            spec = self.mapping(
                body,
                path,
                _SUMMIT_KEYS,
                required=("slug", "title", "city", "starts", "tz", "source"),
            )
            slug = self.string(spec, "slug", path)
            self._unique(seen, slug, (*path, "slug"), "summit")
            starts = self.day(spec, "starts", path)
            ends = self.day(spec, "ends", path) if "ends" in spec else starts
            if ends < starts:
                raise self.fail((*path, "ends"), f"the summit ends ({ends}) before it starts")
            result.append(
                SummitSpec(
                    slug=slug,
                    title=self.string(spec, "title", path),
                    city=self.string(spec, "city", path),
                    starts=starts,
                    ends=ends,
                    tz=self.time_zone(spec, "tz", path),
                    **self.provenance(spec, path),
                )
            )
        return tuple(result)

    def instruments(
        self, raw: Any, parties: set[str], summits: set[str]
    ) -> tuple[InstrumentSpec, ...]:
        result: list[InstrumentSpec] = []
        seen: set[str] = set()
        for i, body in enumerate(self.items(raw, ("instruments",))):
            path: _Path = ("instruments", i)
            spec = self.mapping(
                body,
                path,
                _INSTRUMENT_KEYS,
                required=("slug", "title", "kind", "workflow", "summit", "source"),
            )
            slug = self.string(spec, "slug", path)
            summit = self.string(spec, "summit", path)
            if summit not in summits:
                raise self.fail((*path, "summit"), f"unknown summit {summit!r}")
            lead = self.optional(spec, "lead", path)
            if lead is not None and lead not in parties:
                raise self.fail((*path, "lead"), f"unknown party {lead!r}")
            depends_on = self.strings(spec, "depends_on", path)
            for j, dep in enumerate(depends_on):
                if dep not in seen:
                    raise self.fail(
                        (*path, "depends_on", j),
                        f"unknown instrument {dep!r}: list it before what depends on it",
                    )
            self._unique(seen, slug, (*path, "slug"), "instrument")
            result.append(
                InstrumentSpec(
                    slug=slug,
                    title=self.string(spec, "title", path),
                    kind=self.string(spec, "kind", path),
                    workflow=self.string(spec, "workflow", path),
                    summit=summit,
                    lead=lead,
                    depends_on=depends_on,
                    **self.provenance(spec, path),
                )
            )
        return tuple(result)

    def timeline(self, raw: Any, *, setup_at: datetime, known: _Known) -> tuple[TimelineEntry, ...]:
        result: list[TimelineEntry] = []
        previous = as_utc(setup_at)
        for i, body in enumerate(self.items(raw, ("timeline",), empty_ok=True)):
            path: _Path = ("timeline", i)
            if not isinstance(body, dict):
                raise self.fail(path, f"expected a mapping, got {type(body).__name__}")
            action = body.get("action")
            if action not in _ACTION_KEYS:
                raise self.fail((*path, "action"), f"expected action: one of {', '.join(ACTIONS)}")
            spec = self.mapping(
                body, path, _ENTRY_KEYS | _ACTION_KEYS[action], required=("at", "source")
            )
            at = self.instant(spec, "at", path)
            if as_utc(at) < previous:
                raise self.fail(
                    (*path, "at"), "the timeline must be in time order, starting after setup_at"
                )
            previous = as_utc(at)
            result.append(self.entry(spec, path, action, at, known))
        return tuple(result)

    def ref(
        self, spec: Mapping[str, Any], key: str, path: _Path, known: set[str], what: str
    ) -> str:
        value = self.string(spec, key, path)
        if value not in known:
            raise self.fail((*path, key), f"unknown {what} {value!r}")
        return value

    def entry(
        self, spec: Mapping[str, Any], path: _Path, action: str, at: datetime, known: _Known
    ) -> TimelineEntry:
        common = self.common(spec, path, action)
        if action == "note":
            return Note(
                at=at,
                text=one_line(self.string(spec, "text", path)),
                instrument=self.ref(spec, "instrument", path, known.instruments, "instrument")
                if spec.get("instrument") is not None
                else None,
                summit=self.ref(spec, "summit", path, known.summits, "summit")
                if spec.get("summit") is not None
                else None,
                **common,
            )
        target = self.ref(spec, "instrument", path, known.instruments, "instrument")
        as_user = self.ref(spec, "as", path, known.users, "user")
        if action == "revise":
            return Revise(
                at=at,
                instrument=target,
                as_user=as_user,
                filename=self.string(spec, "file", path),
                text=self.string(spec, "text", path) + "\n",
                **common,
            )
        if action == "position":
            stance = self.string(spec, "stance", path)
            if stance not in {s.value for s in Stance}:
                raise self.fail((*path, "stance"), "expected approve, reserve or object")
            return Position(
                at=at,
                instrument=target,
                as_user=as_user,
                party=self.ref(spec, "party", path, known.parties, "party"),
                stance=stance,
                comment=self.comment(spec, path),
                **common,
            )
        if action == "advance":
            return Advance(
                at=at,
                instrument=target,
                as_user=as_user,
                trigger=self.string(spec, "trigger", path),
                comment=self.comment(spec, path),
                **common,
            )
        comment = self.comment(spec, path)
        if comment is None:
            raise self.fail(path, "a retarget needs a 'comment:' saying why")
        return Retarget(
            at=at,
            instrument=target,
            as_user=as_user,
            summit=self.ref(spec, "summit", path, known.summits, "summit"),
            comment=comment,
            **common,
        )

    def comment(self, spec: Mapping[str, Any], path: _Path) -> str | None:
        text = self.optional(spec, "comment", path)
        return one_line(text) if text else None

    def common(self, spec: Mapping[str, Any], path: _Path, action: str) -> dict[str, Any]:
        values = self.provenance({k: v for k, v in spec.items() if k != "note"}, path)
        if action == "revise":
            note = self.optional(spec, "note", path)
            values["note"] = one_line(note) if note else None
        expect = spec.get("expect")
        if expect is not None and expect != "refused":
            raise self.fail((*path, "expect"), "the only expectation is 'expect: refused'")
        if expect is not None and action == "note":
            raise self.fail((*path, "expect"), "a note changes nothing, so it cannot be refused")
        refused_by = self.optional(spec, "refused_by", path)
        if refused_by is not None and expect is None:
            raise self.fail((*path, "refused_by"), "refused_by needs 'expect: refused'")
        values["expect_refused"] = expect is not None
        values["refused_by"] = refused_by
        return values
