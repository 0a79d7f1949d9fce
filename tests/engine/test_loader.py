"""Workflow files -> WorkflowDef: the shipped files load, broken files fail with file:line: key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doctrack.domain import Days
from doctrack.engine.definition import Due, WorkflowDef
from doctrack.engine.guards import GUARDS
from doctrack.engine.loader import load_workflow, load_workflows, parse_workflow
from doctrack.engine.registry import Workflows, workflow_files
from doctrack.errors import WorkflowDefinitionError
from helpers import WORKFLOWS

CORPUS = Path(__file__).parent / "corpus"
DUPLICATES = CORPUS / "duplicate"
FUZZ = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

#: The valid workflow every corpus file is a one-defect edit of (same line numbers).
BASE = """\
# the valid base of the corpus
name: broken
title: Broken workflow
initial: drafting
states:
  drafting:  {label: Drafting}
  review:    {label: Review, due: {before_summit: 14d}}
  adopted:   {label: Adopted, due: end_of_summit, adopted: true, final: true}
  withdrawn: {label: Withdrawn, final: true}
transitions:
  - {trigger: submit,   source: drafting, dest: review,    roles: [drafter], when: [has_revision]}
  - {trigger: adopt,    source: review,   dest: adopted,   roles: [secretary]}
  - {trigger: withdraw, source: [drafting, review], dest: withdrawn, roles: [secretary]}
reminders: {before: [7d], to: [coordinator]}
"""

#: corpus file -> (line, key substring or None for no key, message substring)
EXPECTED: dict[str, tuple[int, str | None, str]] = {
    "yaml_syntax_error.yaml": (7, None, "YAML syntax error"),
    "tab_indentation.yaml": (8, None, "'\\t'"),
    "two_documents.yaml": (15, None, "another document"),
    "empty.yaml": (1, None, "empty workflow file"),
    "comments_only.yaml": (1, None, "empty workflow file"),
    "top_level_list.yaml": (1, None, "expected a mapping, got list"),
    "unknown_top_level_key.yaml": (4, "owner", "unknown key 'owner'"),
    "unknown_state_key.yaml": (7, "states.review.colour", "unknown key 'colour'"),
    "missing_initial.yaml": (1, None, "missing required key 'initial'"),
    "initial_not_a_state.yaml": (4, "initial", "unknown state 'draft'"),
    "unknown_source.yaml": (12, "transitions.1.source", "unknown state 'reviewing'"),
    "unknown_dest.yaml": (12, "transitions.1.dest", "unknown state 'adoption'"),
    "source_list_one_unknown.yaml": (16, "transitions.2.source.1", "unknown state 'reveiw'"),
    "unreachable_state.yaml": (10, "states.archived", "'archived' is unreachable"),
    "unknown_guard.yaml": (11, "transitions.0.when.1", "unknown guard 'all_agree'"),
    "unknown_role.yaml": (12, "transitions.1.roles.1", "unknown role 'chair'"),
    "unknown_reminder_role.yaml": (18, "reminders.to.1", "unknown role 'rapporteur'"),
    "duration_bare_number.yaml": (7, "states.review.due.before_summit", "bad duration 45"),
    "duration_with_words.yaml": (7, "states.review.due.before_summit", "bad duration '45 days'"),
    "duration_negative.yaml": (17, "reminders.before.1", "bad duration '-3d'"),
    "duration_weeks.yaml": (7, "states.review.due.before_summit", "bad duration '1w'"),
    "due_unknown_key.yaml": (7, "states.review.due.after_summit", "unknown key 'after_summit'"),
    "due_not_a_rule.yaml": (7, "states.review.due", "expected {before_summit: Nd}"),
    "reminders_without_to.yaml": (14, "reminders", "reminders need 'to:' roles"),
    "transition_from_final.yaml": (14, "transitions.3.source", "'adopted' is final"),
    "missing_roles.yaml": (12, "transitions.1", "transition needs 'roles'"),
    "transition_not_a_mapping.yaml": (12, "transitions.1", "expected a mapping, got str"),
    "bad_trigger_name.yaml": (11, "transitions.0.trigger", "bad trigger 'Submit-Draft'"),
    "trigger_trailing_newline.yaml": (11, "transitions.0.trigger", "bad trigger"),
    "bad_boolean.yaml": (9, "states.withdrawn.final", "expected true or false"),
    "state_named_yes.yaml": (10, "states.", "expected a non-empty string"),
}


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


# -- the shipped workflows -----------------------------------------------------------------


def test_shipped_folder_loads_every_workflow() -> None:
    workflows = Workflows.from_folder(WORKFLOWS)
    assert workflows.names() == ["convention", "programme"]


@pytest.mark.parametrize("path", workflow_files(WORKFLOWS), ids=lambda p: p.name)
def test_shipped_file_loads_and_records_its_source(path: Path) -> None:
    wf = load_workflow(path)
    assert wf.name == path.stem
    assert wf.source == str(path)
    assert wf.initial == "drafting"


def test_shipped_convention_has_the_designed_states_and_deadlines() -> None:
    wf = load_workflow(WORKFLOWS / "convention.yaml")
    assert list(wf.states) == [
        "drafting",
        "expert_review",
        "agreed",
        "approved",
        "signed",
        "in_force",
        "withdrawn",
    ]
    assert [s.name for s in wf.milestones()] == ["agreed", "approved", "signed"]
    assert wf.state("agreed").due == Due(before_summit=Days(days=45))
    assert wf.state("signed").due == Due(end_of_summit=True)
    assert [n for n in wf.states if wf.is_final(n)] == ["in_force", "withdrawn"]
    assert [n for n in wf.states if wf.is_adopted(n)] == ["signed", "in_force"]
    assert wf.label("agreed") == "Agreed ad referendum"


def test_shipped_convention_transitions_keep_file_order_and_lists() -> None:
    wf = load_workflow(WORKFLOWS / "convention.yaml")
    assert [t.trigger for t in wf.transitions] == [
        "submit",
        "agree",
        "approve",
        "sign",
        "enter_into_force",
        "withdraw",
    ]
    sign = wf.transitions[3]
    assert sign.when == ("summit_in_session", "dependencies_adopted")
    assert sign.roles == ("secretary",)
    assert wf.transitions[-1].sources == ("drafting", "expert_review", "agreed", "approved")
    assert wf.triggers_from("approved") == ["sign", "withdraw"]
    assert wf.triggers_from("in_force") == []


def test_shipped_reminder_policy_is_parsed() -> None:
    wf = load_workflow(WORKFLOWS / "programme.yaml")
    assert [d.days for d in wf.reminders.before] == [14, 7, 1]
    assert wf.reminders.to == ("coordinator", "lead_delegate")


# -- small valid files ---------------------------------------------------------------------


def test_corpus_base_is_valid() -> None:
    wf = parse_workflow(BASE, "base.yaml")
    assert isinstance(wf, WorkflowDef)
    assert wf.source == "base.yaml"


def test_label_defaults_to_state_name_and_title_to_workflow_name() -> None:
    text = BASE.replace("title: Broken workflow\n", "").replace("{label: Drafting}", "{}")
    wf = parse_workflow(text)
    assert wf.title == "broken"
    assert wf.label("drafting") == "drafting"


def test_single_source_string_is_one_source() -> None:
    wf = parse_workflow(BASE)
    assert wf.transitions[0].sources == ("drafting",)


def test_reminder_offsets_are_sorted_longest_first_without_repeats() -> None:
    text = BASE.replace("before: [7d]", "before: [1d, 14d, 7d, 7d, 0d]")
    wf = parse_workflow(text)
    assert [d.days for d in wf.reminders.before] == [14, 7, 1, 0]


def test_a_single_reminder_offset_need_not_be_a_list() -> None:
    wf = parse_workflow(BASE.replace("before: [7d]", "before: 7d"))
    assert wf.reminders.before == (Days(days=7),)


def test_guards_can_be_restricted_by_the_caller() -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"unknown guard 'has_revision' \(known: x\)"):
        parse_workflow(BASE, "base.yaml", guards={"x"})


# -- the corpus of broken files ------------------------------------------------------------


def test_corpus_is_large_and_every_file_has_an_expectation() -> None:
    names = {p.name for p in corpus_files()}
    assert len(names) >= 20
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_error_names_file_line_and_key(name: str) -> None:
    path = CORPUS / name
    line, key, message = EXPECTED[name]
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(path)
    exc = info.value
    assert exc.file == str(path)
    assert exc.line == line, str(exc)
    assert str(exc).startswith(f"{path}:{line}:"), str(exc)
    if key is None:
        assert exc.key is None, str(exc)
    else:
        assert exc.key is not None
        assert key in exc.key, str(exc)
        assert f" {exc.key}: " in str(exc)
    assert message in exc.message, str(exc)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_parse_workflow_raises_only_definition_errors_on_corpus(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        parse_workflow(text, path.name)
    except WorkflowDefinitionError as exc:
        assert str(exc).startswith(f"{path.name}:")
    except Exception as exc:  # noqa: BLE001 - any other exception is the failure under test
        pytest.fail(f"{path.name}: {type(exc).__name__} instead of WorkflowDefinitionError")
    else:
        pytest.fail(f"{path.name} was accepted")


def test_duplicate_workflow_name_across_files_names_the_second_file_and_line() -> None:
    files = sorted(DUPLICATES.glob("*.yaml"))
    for f in files:
        assert load_workflow(f).name == "convention"  # each file alone is valid
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflows(files)
    exc = info.value
    assert exc.file == str(DUPLICATES / "b_convention.yaml")
    assert exc.key == "name"
    assert "also defined in" in exc.message
    assert str(DUPLICATES / "a_convention.yaml") in exc.message
    # `name: convention` is on line 3 of b_convention.yaml, after two comment lines.
    assert exc.line == 3, str(exc)


def test_load_workflows_keys_definitions_by_name() -> None:
    result = load_workflows(workflow_files(WORKFLOWS))
    assert sorted(result) == ["convention", "programme"]
    assert all(wf.name == name for name, wf in result.items())


def test_missing_file_is_a_definition_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(WorkflowDefinitionError, match="cannot read") as info:
        load_workflow(path)
    assert info.value.file == str(path)
    assert str(info.value).startswith(str(path))


def test_non_utf8_file_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("Review", "R\xe9vision").encode("latin-1"))
    with pytest.raises(WorkflowDefinitionError, match="not UTF-8"):
        load_workflow(path)


def test_recursive_alias_is_a_definition_error() -> None:
    text = BASE.replace("transitions:\n", "transitions: &t\n  - *t\n", 1)
    with pytest.raises(WorkflowDefinitionError):
        parse_workflow(text, "alias.yaml")


def test_deeply_nested_yaml_is_a_definition_error() -> None:
    text = "name: " + "[" * 1000 + "]" * 1000 + "\n"
    with pytest.raises(WorkflowDefinitionError):
        parse_workflow(text, "deep.yaml")


# -- fuzzing: WorkflowDef or WorkflowDefinitionError, nothing else ------------------------

VOCAB = [
    "name",
    "title",
    "initial",
    "states",
    "transitions",
    "reminders",
    "label",
    "due",
    "adopted",
    "final",
    "trigger",
    "source",
    "dest",
    "roles",
    "when",
    "before",
    "to",
    "before_summit",
    "end_of_summit",
    "drafting",
    "review",
    "adopted",
    "withdrawn",
    "14d",
    "0d",
    "-3d",
    "1w",
    *GUARDS,
    "drafter",
    "secretary",
    "coordinator",
    "chair",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-10, 10_000)
    | st.floats(allow_nan=True)
    | st.sampled_from(VOCAB)
    | st.text(max_size=12)
)
KEYS = st.sampled_from(VOCAB) | st.text(max_size=8) | st.integers(-3, 3) | st.booleans()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
VALID: dict[str, Any] = yaml.safe_load(BASE)


def parses_or_refuses(text: str) -> None:
    try:
        result = parse_workflow(text, "fuzz.yaml")
    except WorkflowDefinitionError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert isinstance(result, WorkflowDef)


@st.composite
def mutated_workflows(draw: st.DrawFn) -> Any:
    """The valid base with one subtree replaced, deleted or given an extra entry."""
    doc = copy.deepcopy(VALID)
    node: Any = doc
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[key] = draw(VALUES)
        elif action == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[draw(KEYS)] = draw(VALUES)
        else:
            node.append(draw(VALUES))
        return doc


@FUZZ
@given(st.text(max_size=300))
def test_random_text_parses_or_raises_definition_error(text: str) -> None:
    parses_or_refuses(text)


@FUZZ
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_random_yaml_mapping_parses_or_raises_definition_error(data: dict[Any, Any]) -> None:
    parses_or_refuses(yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(mutated_workflows())
def test_mutated_valid_workflow_parses_or_raises_definition_error(data: Any) -> None:
    parses_or_refuses(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
