"""The workflow loader under hostile YAML: mutations of the shipped workflows/*.yaml (lines
dropped, repeated, swapped; keys renamed; values of the wrong type; unknown states;
cycles; huge strings; YAML tags such as ``!!python/object``; alias bombs) either load or
raise the loader's own error naming the file (and the line and key where there is one),
on one short line: never another exception.

Each test prints the number of cases it tried; SECURITY.md lists them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doctrack.engine.definition import WorkflowDef
from doctrack.engine.loader import MAX_WORKFLOW_CHARS, load_workflow, parse_workflow
from doctrack.errors import WorkflowDefinitionError
from helpers import WORKFLOWS

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
FUZZ = settings(
    max_examples=400,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
SOURCES = {p.name: p.read_text("utf-8") for p in sorted(WORKFLOWS.glob("*.yaml"))}
NAMES = sorted({m for text in SOURCES.values() for m in re.findall(r"[a-z_]{3,}", text)})


def _bomb(levels: int) -> str:
    """A list whose repr would hold 9 ** levels strings, built from aliases."""
    text = "&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"
    for i in range(1, levels):
        text = f"&l{i} [{text}, " + ", ".join([f"*l{i - 1}"] * 8) + "]"
    return text


HOSTILE_VALUES = [
    "!!python/object/apply:os.system ['touch /tmp/doctrack-pwned']",
    "!!python/object:doctrack.engine.definition.WorkflowDef {}",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!timestamp 2016-06-23",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!float .nan",
    "!!int 99999999999999999999999999",
    "!!str",
    "!<tag:yaml.org,2002:python/tuple> [1, 2]",
    "&x [*x]",
    _bomb(9),
    "*undefined_alias",
    "{<<: {label: merged}}",
    "[" * 200 + "]" * 200,
    "x" * 100_000,
    "'" + "é" * 20_000 + "'",
    '"\\u0000\\r\\nline"',
    "\t",
    "? [complex, key]\n  : value",
    "|\n  a block\n  of text",
    "null",
    "~",
    "-1d",
    "99999999999999999999d",
    "0d",
    "yes",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "{{7*7}}",
]
HOSTILE_LINES = [
    *(f"hostile: {v}" for v in HOSTILE_VALUES[:12]),
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:evil.example,2000:",
    "name: other_name",
    "states: {}",
    "transitions: []",
    "  - {trigger: loop, source: drafting, dest: drafting, roles: [drafter]}",
    "  - {trigger: back, source: expert_review, dest: drafting, roles: [drafter]}",
    "  - {trigger: ghost, source: nowhere, dest: drafting, roles: [drafter]}",
    "  extra_state: {label: Extra}",
    "\t- tab",
    "  \x00",
    "\ufeffname: bom",
]
FIGURES: dict[str, int] = {}


def parses_or_refuses(text: str, figure: str) -> None:
    FIGURES[figure] = FIGURES.get(figure, 0) + 1
    try:
        result = parse_workflow(text, "fuzz.yaml")
    except WorkflowDefinitionError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml"), message
        assert exc.file == "fuzz.yaml"
        assert "\n" not in message and "\r" not in message, message
        assert len(message) < 1_000, message[:200]
        if exc.key is not None:
            assert exc.line is not None, message
    else:
        assert isinstance(result, WorkflowDef)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A shipped workflow file with one to three line-level edits."""
    lines = SOURCES[draw(st.sampled_from(sorted(SOURCES)))].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "repeat", "swap", "insert", "value", "rename"]))
        if edit == "drop":
            del lines[i]
        elif edit == "repeat":
            lines.insert(i, lines[i])
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "insert":
            lines.insert(i, draw(st.sampled_from(HOSTILE_LINES)))
        elif edit == "value" and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = f"{head}: {draw(st.sampled_from(HOSTILE_VALUES) | st.text(max_size=20))}"
        elif edit == "rename":
            names = re.findall(r"[a-z_]{3,}", lines[i])
            if names:
                old = draw(st.sampled_from(names))
                new = draw(st.sampled_from([*NAMES, "unknown_state", "Upper", "x" * 300]))
                lines[i] = lines[i].replace(old, new, 1)
        if not lines:
            break
    return "\n".join(lines) + "\n"


def test_mutated_shipped_workflows_load_or_fail_cleanly() -> None:
    @FUZZ
    @given(mutated_text())
    def run(text: str) -> None:
        parses_or_refuses(text, "mutated")

    run()
    print(f"\nloader fuzz, mutated shipped files: {FIGURES['mutated']} cases")


def test_hostile_value_at_any_key_loads_or_fails_cleanly() -> None:
    """One value of a shipped file (a label, a due rule, a role, a source...) replaced."""
    spots = {
        name: list(re.finditer(r"(?<=: )[^,{}\[\]\n]+|(?<=\[)[^\]\n]+(?=\])", text))
        for name, text in SOURCES.items()
    }

    @FUZZ
    @given(st.sampled_from(sorted(SOURCES)), st.sampled_from(HOSTILE_VALUES), st.data())
    def run(source: str, value: str, data: st.DataObject) -> None:
        text = SOURCES[source]
        spot = data.draw(st.sampled_from(spots[source]))
        flat = value.replace("\n", " ")
        parses_or_refuses(text[: spot.start()] + flat + text[spot.end() :], "value")

    run()
    print(f"\nloader fuzz, hostile values: {FIGURES['value']} cases")


@pytest.mark.parametrize(
    "place",
    [
        "title: {v}",
        "name: {v}",
        "initial: {v}",
        "states: {{drafting: {{label: {v}}}}}",
        "states: {{drafting: {{due: {{before_summit: {v}}}}}}}",
        "states: {{drafting: {{due: {v}}}}}",
        "states: {{drafting: {{final: {v}}}}}",
        "transitions: [{{trigger: t, source: {v}, dest: drafting, roles: [drafter]}}]",
        "transitions: [{{trigger: t, source: drafting, dest: drafting, roles: {v}}}]",
        "transitions: [{{trigger: t, source: drafting, dest: drafting, when: {v}, roles: [a]}}]",
        "reminders: {{before: [{v}], to: [coordinator]}}",
        "reminders: {{before: [14d], to: {v}}}",
    ],
)
def test_an_alias_bomb_anywhere_is_refused_in_a_short_message(place: str) -> None:
    """9 ** 9 strings if written out: the message names the type, not the value."""
    text = "name: bomb\ninitial: drafting\n" + place.format(v=_bomb(9)) + "\n"
    parses_or_refuses(text, "bomb")
    with pytest.raises(WorkflowDefinitionError):
        parse_workflow(text, "fuzz.yaml")


def test_python_tags_are_refused_and_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for tag in ("!!python/object/apply:os.system", "!!python/object/apply:subprocess.call"):
        text = SOURCES["convention.yaml"].replace(
            "title:", f"evil: {tag} [['touch', '{marker}']]\ntitle:", 1
        )
        with pytest.raises(WorkflowDefinitionError, match=r"fuzz\.yaml"):
            parse_workflow(text, "fuzz.yaml")
    assert not marker.exists()


def test_a_file_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("title: " + "x" * MAX_WORKFLOW_CHARS + "\n")
    with pytest.raises(WorkflowDefinitionError, match="larger than"):
        load_workflow(big)


def test_keys_with_line_breaks_are_quoted_in_the_message() -> None:
    text = SOURCES["convention.yaml"] + '"evil\\nkey: 1\\r\\nmore": 2\n'
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow(text, "fuzz.yaml")
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
