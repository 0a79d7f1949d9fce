"""Workflow files -> validated :class:`WorkflowDef`. Every error names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from doctrack.domain import WORKFLOW_ROLES, Days
from doctrack.engine.definition import Due, ReminderPolicy, StateDef, TransitionDef, WorkflowDef
from doctrack.engine.guards import GUARDS
from doctrack.errors import WorkflowDefinitionError

Path_ = tuple[str | int, ...]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"name", "title", "initial", "states", "transitions", "reminders"}
_STATE_KEYS = {"label", "due", "adopted", "final"}
_TRANSITION_KEYS = {"trigger", "source", "dest", "roles", "when"}
_REMINDER_KEYS = {"before", "to"}
#: The largest workflow file read, in characters: real ones are a few kilobytes.
MAX_WORKFLOW_CHARS = 1_000_000
#: The longest quotation of a value from the file in an error message.
_QUOTE_CHARS = 60


def _quote(value: Any) -> str:
    """``value`` for an error message: the repr of a string, number or boolean, cut to
    :data:`_QUOTE_CHARS`; only the type of anything else (a list built from aliases can
    be billions of items long when written out)."""
    if not isinstance(value, str | int | float | bool) and value is not None:
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 4] + "...'"


def _index_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``.

    Keys are indexed as the loader constructs them (``yes:`` is ``True``), so that the
    paths the checker builds from the loaded data find their lines.
    """
    constructor = yaml.SafeLoader("")
    seen: set[int] = set()

    def walk(node: yaml.Node, path: Path_) -> None:
        if id(node) in seen:  # an alias refers back to a node already indexed
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                try:
                    key = str(constructor.construct_object(key_node, deep=True))
                except (yaml.YAMLError, TypeError):
                    key = str(getattr(key_node, "value", ""))
                sub = (*path, key)
                lines.setdefault(sub, key_node.start_mark.line + 1)
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, i)
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    walk(node, path)


def _key_part(part: str | int) -> str:
    """One step of a key path as shown: quoted and cut when not short printable text."""
    text = str(part)
    return text if text.isprintable() and len(text) <= _QUOTE_CHARS else _quote(part)


class _Checker:
    """Walks parsed YAML with its line index and raises on the first problem."""

    def __init__(self, file: str, lines: dict[Path_, int]) -> None:
        self.file = file
        self.lines = lines

    def fail(self, path: Path_, message: str) -> WorkflowDefinitionError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe) if probe else 1
        key = ".".join(_key_part(p) for p in path) if path else None
        return WorkflowDefinitionError(self.file, line, key, message)

    def mapping(self, value: Any, path: Path_, allowed: Collection[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                where = (*path, str(key))
                raise self.fail(where, f"unknown key {_quote(key)} (allowed: {known})")
        return value

    def string(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "expected a non-empty string")
        return value

    def name(self, value: Any, path: Path_, what: str) -> str:
        text = self.string(value, path)
        if not _NAME.fullmatch(text):
            raise self.fail(
                path, f"bad {what} {_quote(text)}: use lower-case letters, digits and _"
            )
        return text

    def string_list(self, value: Any, path: Path_) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(path, "expected a string or a non-empty list of strings")
        return [self.string(v, (*path, i)) for i, v in enumerate(items)]

    def boolean(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "expected true or false")
        return value

    def days(self, value: Any, path: Path_) -> Days:
        try:
            return Days.parse(value)
        except ValueError:
            # Days.parse quotes the whole value: a 100 kB string, or an alias bomb.
            expected = "expected whole days such as '14d'"
            raise self.fail(path, f"bad duration {_quote(value)}: {expected}") from None


def _parse_due(check: _Checker, raw: Any, path: Path_) -> Due:
    if raw == "end_of_summit":
        return Due(end_of_summit=True)
    if isinstance(raw, dict):
        body = check.mapping(raw, path, {"before_summit"})
        if "before_summit" not in body:
            raise check.fail(path, "expected {before_summit: Nd} or end_of_summit")
        return Due(before_summit=check.days(body["before_summit"], (*path, "before_summit")))
    raise check.fail(path, "expected {before_summit: Nd} or end_of_summit")


def _parse_states(check: _Checker, raw: Any) -> dict[str, StateDef]:
    if not isinstance(raw, dict) or not raw:
        raise check.fail(("states",), "expected a mapping of state names to their settings")
    states: dict[str, StateDef] = {}
    for name, body in raw.items():
        path: Path_ = ("states", str(name))
        check.name(name, path, "state name")
        spec = check.mapping(body, path, _STATE_KEYS)
        label = check.string(spec["label"], (*path, "label")) if "label" in spec else name
        due = _parse_due(check, spec["due"], (*path, "due")) if "due" in spec else None
        adopted = check.boolean(spec["adopted"], (*path, "adopted")) if "adopted" in spec else False
        final = check.boolean(spec["final"], (*path, "final")) if "final" in spec else False
        states[name] = StateDef(name=name, label=label, due=due, adopted=adopted, final=final)
    return states


def _parse_transitions(
    check: _Checker, raw: Any, states: dict[str, StateDef], guards: Collection[str]
) -> tuple[TransitionDef, ...]:
    if not isinstance(raw, list) or not raw:
        raise check.fail(("transitions",), "expected a non-empty list of transitions")
    result: list[TransitionDef] = []
    for i, body in enumerate(raw):
        path: Path_ = ("transitions", i)
        spec = check.mapping(body, path, _TRANSITION_KEYS)
        for required in ("trigger", "source", "dest", "roles"):
            if required not in spec:
                raise check.fail(path, f"transition needs {required!r}")
        trigger = check.name(spec["trigger"], (*path, "trigger"), "trigger")
        sources = check.string_list(spec["source"], (*path, "source"))
        for j, src in enumerate(sources):
            if src not in states:
                at = (*path, "source", j) if isinstance(spec["source"], list) else (*path, "source")
                raise check.fail(at, f"unknown state {_quote(src)}")
            if states[src].final:
                raise check.fail(
                    (*path, "source"), f"state {_quote(src)} is final: nothing leaves it"
                )
        dest = check.string(spec["dest"], (*path, "dest"))
        if dest not in states:
            raise check.fail((*path, "dest"), f"unknown state {_quote(dest)}")
        roles = check.string_list(spec["roles"], (*path, "roles"))
        for j, role in enumerate(roles):
            if role not in WORKFLOW_ROLES:
                known = ", ".join(sorted(WORKFLOW_ROLES))
                raise check.fail(
                    (*path, "roles", j), f"unknown role {_quote(role)} (known: {known})"
                )
        when = check.string_list(spec["when"], (*path, "when")) if "when" in spec else []
        for j, guard in enumerate(when):
            if guard not in guards:
                known = ", ".join(sorted(guards))
                raise check.fail(
                    (*path, "when", j), f"unknown guard {_quote(guard)} (known: {known})"
                )
        result.append(
            TransitionDef(
                trigger=trigger,
                sources=tuple(sources),
                dest=dest,
                roles=tuple(roles),
                when=tuple(when),
            )
        )
    return tuple(result)


def _parse_reminders(check: _Checker, raw: Any) -> ReminderPolicy:
    spec = check.mapping(raw, ("reminders",), _REMINDER_KEYS)
    before: list[Days] = []
    if "before" in spec:
        items = spec["before"] if isinstance(spec["before"], list) else [spec["before"]]
        before = [check.days(v, ("reminders", "before", i)) for i, v in enumerate(items)]
    to: list[str] = []
    if "to" in spec:
        to = check.string_list(spec["to"], ("reminders", "to"))
        for j, role in enumerate(to):
            if role not in WORKFLOW_ROLES:
                known = ", ".join(sorted(WORKFLOW_ROLES))
                raise check.fail(
                    ("reminders", "to", j), f"unknown role {_quote(role)} (known: {known})"
                )
    if before and not to:
        raise check.fail(("reminders",), "reminders need 'to:' roles")
    ordered = sorted(set(before), key=lambda d: -d.days)
    return ReminderPolicy(before=tuple(ordered), to=tuple(to))


def _check_reachable(check: _Checker, wf: WorkflowDef) -> None:
    seen = {wf.initial}
    frontier = [wf.initial]
    while frontier:
        state = frontier.pop()
        for t in wf.transitions_from(state):
            if t.dest not in seen:
                seen.add(t.dest)
                frontier.append(t.dest)
    for name in wf.states:
        if name not in seen:
            raise check.fail(("states", name), f"state {name!r} is unreachable from {wf.initial!r}")


#: libyaml's loader when PyYAML was built with it (the wheels are), else the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for line numbers) and the data built from it.

    libyaml is fast but words some errors vaguely ("found character that cannot start any
    token"); a file it refuses is parsed again by PyYAML's own loader, whose message names
    the character.
    """
    try:
        return _compose_with(_LOADER, text)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
        return _compose_with(yaml.SafeLoader, text)


def _compose_with(loader_class: type[yaml.SafeLoader], text: str) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def parse_workflow(
    text: str, file: str = "<string>", guards: Collection[str] | None = None
) -> WorkflowDef:
    """Parse and validate one workflow file's text."""
    guard_names = GUARDS.keys() if guards is None else guards
    if len(text) > MAX_WORKFLOW_CHARS:
        raise WorkflowDefinitionError(
            file, None, None, f"larger than {MAX_WORKFLOW_CHARS:,} characters: not a workflow"
        )
    try:
        node, data = _compose_and_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        raise WorkflowDefinitionError(file, line, None, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        what = f"character {exc.character!r}" if isinstance(exc.character, str) else "byte"
        message = f"YAML error: {what}: {exc.reason}"
        raise WorkflowDefinitionError(file, line, None, message) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())[:200]
        raise WorkflowDefinitionError(file, None, None, f"YAML error: {message}") from None
    except RecursionError:
        raise WorkflowDefinitionError(file, None, None, "YAML nested too deeply") from None
    lines: dict[Path_, int] = {}
    if node is not None:
        try:
            _index_lines(node, (), lines)
        except RecursionError:
            raise WorkflowDefinitionError(file, None, None, "YAML nested too deeply") from None
    check = _Checker(file, lines)
    if data is None:
        raise WorkflowDefinitionError(file, 1, None, "empty workflow file")
    top = check.mapping(data, (), _TOP_KEYS)
    for required in ("name", "initial", "states", "transitions"):
        if required not in top:
            raise check.fail((), f"missing required key {required!r}")
    name = check.name(top["name"], ("name",), "workflow name")
    title = check.string(top["title"], ("title",)) if "title" in top else name
    states = _parse_states(check, top["states"])
    initial = check.string(top["initial"], ("initial",))
    if initial not in states:
        raise check.fail(("initial",), f"unknown state {_quote(initial)}")
    transitions = _parse_transitions(check, top["transitions"], states, guard_names)
    reminders = _parse_reminders(check, top.get("reminders"))
    wf = WorkflowDef(
        name=name,
        title=title,
        initial=initial,
        states=states,
        transitions=transitions,
        reminders=reminders,
        source=file,
        name_line=lines.get(("name",), 1),
    )
    _check_reachable(check, wf)
    return wf


def load_workflow(path: str | Path) -> WorkflowDef:
    """Load one workflow file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowDefinitionError(
            str(file), None, None, f"cannot read: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise WorkflowDefinitionError(str(file), None, None, "not UTF-8 text") from None
    except ValueError:  # the name holds a NUL character: no file can have it
        raise WorkflowDefinitionError(
            repr(str(file)), None, None, "cannot read: a NUL character in the file name"
        ) from None
    return parse_workflow(text, str(file))


def load_workflows(files: Iterable[Path]) -> dict[str, WorkflowDef]:
    """Load several files; two files may not define the same workflow name."""
    result: dict[str, WorkflowDef] = {}
    for file in sorted(files):
        wf = load_workflow(file)
        if wf.name in result:
            raise WorkflowDefinitionError(
                str(file),
                wf.name_line,
                "name",
                f"workflow {wf.name!r} is also defined in {result[wf.name].source}",
            )
        result[wf.name] = wf
    return result
