"""The workflow diagram: the layout (every state and transition drawn, no box over another,
the same bytes every time, legible at 900 px) and the pages that show it (inline on the
instrument page, ``/workflows/{name}/diagram.svg``)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from web_support import Site, draft

from doctrack.engine.definition import StateDef, TransitionDef, WorkflowDef
from doctrack.engine.loader import parse_workflow
from doctrack.engine.registry import Workflows
from doctrack.web.diagram import EdgeKind, Layout, diagram_svg, layout
from helpers import WORKFLOWS

NS = {"svg": "http://www.w3.org/2000/svg"}
CURRENT_FILL = "#1565c0"

#: Branches, a merge of many sources, edges going back (one with three sources), two
#: self-loops on one state, long labels: what the packaged workflows do not all have.
TREATY = """
name: treaty
title: Treaty with many states
initial: drafting
states:
  drafting:       {label: Drafting}
  legal_check:    {label: Legal check by the Secretariat's lawyers}
  translation:    {label: Translation into the official languages}
  expert_review:  {label: Expert review}
  second_reading: {label: Second reading}
  agreed:         {label: Agreed ad referendum}
  approved:       {label: Approved by ministers}
  signed:         {label: Signed at the summit, adopted: true}
  ratification:   {label: Ratification by the parties}
  in_force:       {label: In force, adopted: true}
  suspended:      {label: Suspended}
  rejected:       {label: Rejected, final: true}
  withdrawn:      {label: Withdrawn, final: true}
  superseded:     {label: Superseded by a later instrument, final: true}
transitions:
  - {trigger: submit, source: drafting, dest: legal_check, roles: [drafter]}
  - {trigger: clear, source: legal_check, dest: translation, roles: [coordinator]}
  - {trigger: send_back, source: [legal_check, translation, expert_review], dest: drafting,
     roles: [coordinator]}
  - {trigger: translated, source: translation, dest: expert_review, roles: [coordinator]}
  - {trigger: comment, source: expert_review, dest: expert_review, roles: [coordinator]}
  - {trigger: note, source: expert_review, dest: expert_review, roles: [coordinator]}
  - {trigger: first_done, source: expert_review, dest: second_reading, roles: [coordinator]}
  - {trigger: agree, source: second_reading, dest: agreed, roles: [coordinator]}
  - {trigger: reopen, source: agreed, dest: expert_review, roles: [coordinator]}
  - {trigger: approve, source: agreed, dest: approved, roles: [secretary]}
  - {trigger: reject, source: [expert_review, second_reading], dest: rejected, roles: [secretary]}
  - {trigger: sign, source: approved, dest: signed, roles: [secretary]}
  - {trigger: ratify, source: signed, dest: ratification, roles: [secretary]}
  - {trigger: enter_into_force, source: ratification, dest: in_force, roles: [coordinator]}
  - {trigger: suspend, source: [in_force, ratification], dest: suspended, roles: [secretary]}
  - {trigger: resume, source: suspended, dest: ratification, roles: [secretary]}
  - {trigger: supersede, source: [in_force, suspended], dest: superseded, roles: [secretary]}
  - {trigger: withdraw, source: [drafting, legal_check, translation, expert_review,
     second_reading, agreed, approved], dest: withdrawn, roles: [secretary]}
"""
HOSTILE = """
name: hostile
title: "<script>alert('t')</script> & co"
initial: drafting
states:
  drafting: {label: "<img src=x onerror=alert(1)>"}
  done:     {label: "Done & </text></svg><script>alert(2)</script>", final: true}
transitions:
  - {trigger: finish, source: drafting, dest: done, roles: [secretary]}
"""


def packaged() -> list[WorkflowDef]:
    found = Workflows.from_folder(WORKFLOWS)
    return [found.get(name) for name in found.names()]


def every_workflow() -> list[WorkflowDef]:
    return [*packaged(), parse_workflow(TREATY, "treaty.yaml")]


ALL = pytest.mark.parametrize("wf", every_workflow(), ids=lambda wf: wf.name)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-state"]: g for g in root.iterfind(".//svg:g[@data-state]", NS)}


def node_text(group: ET.Element) -> str:
    return " ".join(t.text or "" for t in group.iterfind("svg:text/svg:tspan", NS))


def highlighted(root: ET.Element) -> list[str]:
    return [name for name, g in node_groups(root).items() if "current" in g.attrib["class"].split()]


# -- the layout ---------------------------------------------------------------------------


def test_the_packaged_workflows_are_the_ones_drawn_here() -> None:
    assert [wf.name for wf in packaged()] == ["convention", "programme"]


@ALL
def test_every_state_and_every_transition_is_drawn(wf: WorkflowDef) -> None:
    root = parse(diagram_svg(wf))
    groups = node_groups(root)
    assert list(groups) == list(wf.states)
    for name, state in wf.states.items():
        assert node_text(groups[name]) == state.label
        classes = groups[name].attrib["class"].split()
        assert ("final" in classes) == state.final
        assert ("initial" in classes) == (name == wf.initial)
    edges = list(root.iterfind(".//svg:g[@data-trigger]", NS))
    labels = [t.text for t in root.iterfind(".//svg:text[@data-trigger]", NS)]
    for t in wf.transitions:
        for source in t.sources:
            assert any(
                e.attrib["data-trigger"] == t.trigger
                and e.attrib["data-dest"] == t.dest
                and source in e.attrib["data-sources"].split()
                for e in edges
            ), (t.trigger, source)
        assert t.trigger in labels
    assert len(labels) == len(edges)


def small(states: list[str], transitions: list[tuple[str, list[str], str]]) -> WorkflowDef:
    """A workflow made in memory, as the loader would not let some of these through."""
    return WorkflowDef(
        name="small",
        title="Small",
        initial=states[0],
        states={s: StateDef(name=s, label=s.title()) for s in states},
        transitions=tuple(
            TransitionDef(trigger=t, sources=tuple(src), dest=d, roles=("admin",))
            for t, src, d in transitions
        ),
    )


ODD = [
    small(["a"], []),
    small(["a"], [("again", ["a"], "a")]),
    small(["a", "b"], [("go", ["a"], "b"), ("back", ["b"], "a")]),
    small(["a", "b", "c"], [("go", ["a", "b"], "c"), ("back", ["c"], "a"), ("stay", ["c"], "c")]),
    small(["a", "b", "lost"], [("go", ["a"], "b"), ("found", ["lost"], "b")]),
]


@pytest.mark.parametrize("wf", ODD, ids=["one", "loop", "cycle", "merge-back-loop", "unreached"])
def test_odd_shapes_are_drawn_too(wf: WorkflowDef) -> None:
    test_every_state_and_every_transition_is_drawn(wf)
    test_no_box_overlaps_another_and_labels_stay_clear_inside_the_picture(wf)


@ALL
def test_no_box_overlaps_another_and_labels_stay_clear_inside_the_picture(
    wf: WorkflowDef,
) -> None:
    plan = layout(wf)
    boxes = [n.box for n in plan.nodes.values()]
    labels = [e.label for e in plan.edges]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    for label, box in itertools.product(labels, boxes):
        assert not label.overlaps(box), (label, box)
    for a, b in itertools.combinations(labels, 2):
        assert not a.overlaps(b), (a, b)
    view = plan.view
    for r in [*boxes, *labels]:
        assert view.x <= r.x and r.right <= view.right, r
        assert view.y <= r.y and r.bottom <= view.bottom, r


@ALL
def test_the_drawing_fits_900_pixels_so_it_is_never_scaled_down(wf: WorkflowDef) -> None:
    assert layout(wf).view.width <= 900
    root = parse(diagram_svg(wf))
    assert float(root.attrib["width"]) <= 900
    # Text is drawn at 13 px (states) and 11 px (triggers): legible at full size.
    sizes = {g.attrib.get("font-size") for g in root.iterfind("svg:g", NS)} - {None}
    assert sizes == {"13", "11"}


@ALL
def test_the_output_is_the_same_bytes_every_time(wf: WorkflowDef) -> None:
    again = next(other for other in every_workflow() if other.name == wf.name)  # loaded anew
    assert again is not wf
    assert layout(wf) == layout(again)
    assert diagram_svg(wf, current=wf.initial) == diagram_svg(again, current=wf.initial)


def test_ranks_run_down_the_main_path_in_a_straight_line() -> None:
    convention = next(wf for wf in packaged() if wf.name == "convention")
    plan = layout(convention)
    ranks = {name: node.rank for name, node in plan.nodes.items()}
    assert ranks == {
        "drafting": 0,
        "expert_review": 1,
        "agreed": 2,
        "approved": 3,
        "signed": 4,
        "in_force": 5,
        "withdrawn": 4,  # beside the state it is most often reached from
    }
    main = ["drafting", "expert_review", "agreed", "approved", "signed", "in_force"]
    middles = {round(plan.nodes[s].box.x + plan.nodes[s].box.width / 2, 1) for s in main}
    assert len(middles) == 1
    assert plan.nodes["withdrawn"].box.x > plan.nodes["signed"].box.right
    # The start marker sits above the initial state.
    start_x, start_y = plan.start
    first = plan.nodes["drafting"].box
    assert start_x == first.x + first.width / 2 and start_y < first.y


def test_a_transition_from_many_states_merges_into_one_arrow_and_one_label() -> None:
    convention = next(wf for wf in packaged() if wf.name == "convention")
    [withdraw] = [e for e in layout(convention).edges if e.trigger == "withdraw"]
    assert withdraw.sources == ("drafting", "expert_review", "agreed", "approved")
    root = parse(diagram_svg(convention))
    [group] = root.iterfind(".//svg:g[@data-trigger='withdraw']", NS)
    with_arrow = [p for p in group.iterfind("svg:path", NS) if "marker-end" in p.attrib]
    assert len(with_arrow) == 1
    assert [t.text for t in root.iterfind(".//svg:text[@data-trigger]", NS)].count("withdraw") == 1


def edge(plan: Layout, trigger: str) -> tuple[EdgeKind, tuple[str, ...]]:
    [found] = [e for e in plan.edges if e.trigger == trigger]
    return found.kind, found.paths


def test_edges_going_back_run_up_a_lane_on_the_left_and_self_loops_bulge_right() -> None:
    treaty = parse_workflow(TREATY, "treaty.yaml")
    plan = layout(treaty)
    kind, paths = edge(plan, "send_back")
    assert kind is EdgeKind.BACK
    assert len(paths) == 4  # one from each of three sources, then one into drafting
    leftmost = min(n.box.x for n in plan.nodes.values())
    lane = min(float(x) for p in paths for x in re.findall(r"[ML]([\d.]+),", p))
    assert lane < leftmost
    for trigger in ("comment", "note"):
        kind, [path] = edge(plan, trigger)
        assert kind is EdgeKind.LOOP
        start = re.match(r"M([\d.]+),", path)
        assert start is not None
        assert float(start.group(1)) == pytest.approx(plan.nodes["expert_review"].box.right, 0.1)
    root = parse(diagram_svg(treaty))
    for group in root.iterfind(".//svg:g[@class='edge back']", NS):
        assert all(p.attrib["stroke-dasharray"] for p in group.iterfind("svg:path", NS))


def test_the_current_state_is_the_one_highlighted() -> None:
    for wf in every_workflow():
        assert highlighted(parse(diagram_svg(wf))) == []
        for state in wf.states:
            root = parse(diagram_svg(wf, current=state))
            assert highlighted(root) == [state]
            fills = {
                name: g.find("svg:rect", NS).attrib["fill"]  # type: ignore[union-attr]
                for name, g in node_groups(root).items()
            }
            assert fills.pop(state) == CURRENT_FILL
            assert set(fills.values()) == {"#ffffff"}
            assert f"current state: {wf.label(state)}" in root.attrib["aria-label"]
    with pytest.raises(KeyError):
        diagram_svg(packaged()[0], current="nowhere")


def test_the_svg_says_what_it_shows_to_screen_readers() -> None:
    convention = packaged()[0]
    root = parse(diagram_svg(convention, current="agreed"))
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-label"] == (
        "Workflow Convention (signature, then ratification): 7 states, 6 transitions; "
        "current state: Agreed ad referendum; starts at Drafting; final: In force, Withdrawn"
    )
    assert root[0].tag == "{http://www.w3.org/2000/svg}title"
    assert root[0].text == "Workflow Convention (signature, then ratification)"
    assert "style" not in {a for e in root.iter() for a in e.attrib}


def test_text_that_looks_like_markup_stays_text() -> None:
    hostile = parse_workflow(HOSTILE, "hostile.yaml")
    svg = diagram_svg(hostile, current="done")
    assert "<script" not in svg
    assert "<img" not in svg
    assert "&lt;script&gt;alert('t')&lt;/script&gt; &amp; co" in svg
    root = parse(svg)
    assert root[0].text == "Workflow <script>alert('t')</script> & co"
    groups = node_groups(root)
    assert node_text(groups["drafting"]) == "<img src=x onerror=alert(1)>"
    wrapped = node_text(groups["done"]).replace(" ", "")  # a long label is wrapped
    assert wrapped == "Done&</text></svg><script>alert(2)</script>"


# -- the pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["convention", "programme"])
def test_each_packaged_workflow_has_its_diagram_as_an_svg_file(site: Site, name: str) -> None:
    browser = site.browser("kz")
    response = browser.get(f"/workflows/{name}/diagram.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    root = parse(response.text.split("\n", 1)[1])
    assert list(node_groups(root)) == list(site.tracker.workflows.get(name).states)
    assert highlighted(root) == []
    marked = parse(
        browser.get(f"/workflows/{name}/diagram.svg?state=agreed").text.split("\n", 1)[1]
    )
    assert highlighted(marked) == ["agreed"]


def test_the_svg_file_refuses_an_unknown_workflow_or_state_and_strangers(site: Site) -> None:
    browser = site.browser("kz")
    assert browser.get("/workflows/nowhere/diagram.svg").status_code == 404
    refused = browser.get("/workflows/convention/diagram.svg?state=nowhere")
    assert refused.status_code == 422
    assert "no state 'nowhere' in workflow 'convention'" in unescape(refused.text)
    anonymous = site.client().get("/workflows/convention/diagram.svg")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fworkflows%2Fconvention%2Fdiagram.svg"


def test_the_instrument_page_draws_its_workflow_with_the_current_state(site: Site) -> None:
    draft(site.tracker, "conv")
    site.tracker.advance("conv", "submit", as_user="coord")
    page = site.browser("coord").get("/instruments/conv").text
    [svg] = re.findall(r"<svg .*?</svg>", page, re.DOTALL)
    root = parse(svg)
    assert highlighted(root) == ["expert_review"]
    assert 'href="/workflows/convention/diagram.svg?state=expert_review"' in page
    # The same as text, for screen readers and for anyone without the picture.
    [listed] = re.findall(r'<ol class="workflow-states">(.*?)</ol>', page, re.DOTALL)
    items = re.findall(r"<li[^>]*>(.*?)</li>", listed)
    assert items == [
        "Drafting (start)",
        "Expert review (current)",
        "Agreed ad referendum",
        "Approved by ministers",
        "Signed at the summit",
        "In force (final)",
        "Withdrawn (final)",
    ]
    assert '<li class="current" aria-current="step">Expert review (current)</li>' in listed
    assert (
        "<li><code>withdraw</code>: Drafting, Expert review, Agreed ad referendum, "
        "Approved by ministers → Withdrawn</li>"
    ) in page
    assert " style=" not in page
    assert page.count("<script") == 1  # htmx only
