"""The demo scenario (Tashkent 2016): the data file, the replay and the summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import doctrack
from doctrack.demo import (
    DEFAULT_SCENARIO,
    DemoSummary,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    render_summary,
    replay,
)
from doctrack.demo.scenario import Advance, Note, Position, Retarget, Revise

TASHKENT = dt.timezone(dt.timedelta(hours=5))
CONVENTION = "convention-extremism"
CRIME_PLAN = "crime-plan-2016-2020"
STRATEGY = "antidrug-strategy-2017-2022"
ACTION_PLAN = "antidrug-action-plan"
PROGRAMMES = (CRIME_PLAN, STRATEGY, ACTION_PLAN)
PARTIES = ("KZ", "CN", "KG", "RU", "TJ", "UZ")


@dataclass
class Run:
    tracker: doctrack.Tracker
    clock: doctrack.FixedClock
    summary: DemoSummary
    lines: list[str] = field(default_factory=list)


class Builder:
    """Fresh SQLite databases under one tmp folder, each with the scenario replayed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.trackers: list[doctrack.Tracker] = []

    def tracker(self) -> tuple[doctrack.Tracker, doctrack.FixedClock]:
        url = f"sqlite:///{self.folder / f'demo-{len(self.trackers)}.db'}"
        doctrack.init_database(url)
        clock = doctrack.FixedClock(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        tracker = doctrack.connect(url, clock=clock)
        self.trackers.append(tracker)
        return tracker, clock

    def run(self, scenario: Scenario, *, until: dt.datetime | None = None) -> Run:
        tracker, clock = self.tracker()
        lines: list[str] = []
        summary = replay(tracker, clock, scenario, until=until, progress=lines.append)
        return Run(tracker=tracker, clock=clock, summary=summary, lines=lines)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.db.dispose()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario()


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[Builder]:
    b = Builder(tmp_path)
    yield b
    b.close()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, scenario: Scenario) -> Iterator[Run]:
    b = Builder(tmp_path_factory.mktemp("demo-full"))
    yield b.run(scenario)
    b.close()


Action = Revise | Position | Advance | Retarget


def _applied(scenario: Scenario, slug: str) -> list[Action]:
    """The entries that change ``slug``: neither notes nor expected refusals."""
    return [e for e in scenario.entries_for(slug) if isinstance(e, Action) and not e.expect_refused]


def _kind(entry: Action) -> str:
    kinds = {Revise: "revision", Position: "position", Advance: "transition", Retarget: "retarget"}
    return kinds[type(entry)]


# -- the data file --------------------------------------------------------------------------


def test_default_scenario_is_the_packaged_file(scenario: Scenario) -> None:
    assert DEFAULT_SCENARIO.name == "tashkent2016.yaml"
    assert load_scenario(DEFAULT_SCENARIO) == scenario
    assert scenario.name == "tashkent-2016"
    assert 40 <= len(scenario.timeline) <= 70


def test_article_facts_are_marked_and_quoted(scenario: Scenario) -> None:
    assert [p.code for p in scenario.parties] == list(PARTIES)
    assert all(p.source == "article" and p.quote for p in scenario.parties)

    article_users = {u.name: u for u in scenario.users if u.source == "article"}
    assert set(article_users) == {
        "yermekbayev",
        "guo",
        "jumakadyrov",
        "patrushev",
        "kakharov",
        "makhmudov",
        "alimov",
        "sysoev",
    }
    for user in article_users.values():
        assert user.quote and user.full_name.split()[-1] in user.quote
        assert user.email == f"{user.name}@example.org"
        assert "secretary" in user.roles
    assert {u.party for u in article_users.values() if u.name not in {"alimov", "sysoev"}} == set(
        PARTIES
    )
    assert set(article_users["alimov"].roles) == {"secretary", "admin"}

    staff = [u for u in scenario.users if u.source == "illustrative"]
    delegates = {u.party for u in staff if u.roles == ("delegate",)}
    assert delegates == set(PARTIES)
    assert {"coordinator", "drafter"} <= {r for u in staff for r in u.roles}

    summits = {s.slug: s for s in scenario.summits}
    assert summits["sc-secretaries-11"].source == "article"
    assert (summits["sc-secretaries-11"].starts, summits["sc-secretaries-11"].ends) == (
        dt.date(2016, 4, 13),
        dt.date(2016, 4, 14),
    )
    assert summits["tashkent-2016"].source == "article"
    assert summits["tashkent-2016"].tz == "Asia/Tashkent"
    assert summits["astana-2017"].source == "illustrative"
    assert summits["astana-2017"].tz == "Asia/Almaty"

    instruments = {i.slug: i for i in scenario.instruments}
    assert all(i.source == "article" and i.quote for i in instruments.values())
    assert instruments[CONVENTION].workflow == "convention"
    assert {instruments[s].workflow for s in PROGRAMMES} == {"programme"}
    assert instruments[ACTION_PLAN].depends_on == (STRATEGY,)

    # The timeline's tracker actions are all invented; its article facts are notes.
    for entry in scenario.timeline:
        if entry.source == "article":
            assert isinstance(entry, Note) and entry.quote
    assert all("ILLUSTRATIVE DRAFT" in e.text for e in scenario.timeline if isinstance(e, Revise))


# -- the full replay ------------------------------------------------------------------------


def test_programmes_are_adopted_at_the_summit(full: Run) -> None:
    for slug in PROGRAMMES:
        view = full.tracker.show(slug)
        assert view.state == "adopted"
        assert view.summit == "tashkent-2016"
        (adopt,) = [h for h in full.tracker.history(slug) if h.trigger == "adopt"]
        local = adopt.at.astimezone(TASHKENT)
        assert dt.date(2016, 6, 23) <= local.date() <= dt.date(2016, 6, 24)


def test_convention_is_carried_over_to_astana(full: Run) -> None:
    view = full.tracker.show(CONVENTION)
    assert view.summit == "astana-2017"
    assert view.state == "expert_review"
    assert not view.adopted
    (event,) = [h for h in full.tracker.history(CONVENTION) if h.kind == "retarget"]
    assert event.payload == {"from_summit": "tashkent-2016", "to_summit": "astana-2017"}
    assert event.comment and "Astana" in event.comment
    # Its deadlines follow it to Astana (Asia/Almaty) and are still pending.
    assert {d.milestone: d.status.value for d in view.deadlines} == {
        "agreed": "pending",
        "approved": "pending",
        "signed": "pending",
    }
    assert all(d.tz == "Asia/Almaty" for d in view.deadlines)


def test_action_plan_is_adopted_only_after_the_strategy(full: Run) -> None:
    def adopted_at(slug: str) -> dt.datetime:
        (event,) = [h for h in full.tracker.history(slug) if h.trigger == "adopt"]
        return event.at

    assert adopted_at(STRATEGY) < adopted_at(ACTION_PLAN)
    (early,) = [r for r in full.summary.refusals if r.instrument == ACTION_PLAN]
    assert early.at < adopted_at(STRATEGY)
    assert "dependencies_adopted" in early.reason and STRATEGY in early.reason


def test_expected_refusals_happen_and_are_reported(full: Run, scenario: Scenario) -> None:
    expected = [e for e in scenario.timeline if e.expect_refused]
    assert len(expected) == full.summary.counts.refusals == len(full.summary.refusals) == 2
    agree = full.summary.refusals[0]
    assert agree.instrument == CONVENTION
    assert agree.action == "agree by coordinator"
    assert "all_parties_approve" in agree.reason
    assert "TJ" in agree.reason and "UZ" in agree.reason
    refused = [line for line in full.lines if "REFUSED, as expected" in line]
    assert len(refused) == 2
    assert all(line.startswith("[illustrative] ") for line in refused)
    # Nothing was written for them: no agree on the convention, one adopt on the action plan.
    assert not [h for h in full.tracker.history(CONVENTION) if h.trigger == "agree"]
    assert len([h for h in full.tracker.history(ACTION_PLAN) if h.trigger == "adopt"]) == 1


def test_history_matches_the_applied_entries(full: Run, scenario: Scenario) -> None:
    total = 0
    for spec in scenario.instruments:
        applied = _applied(scenario, spec.slug)
        history = full.tracker.history(spec.slug)
        assert len(history) == len(applied) + 1, spec.slug
        assert history[0].kind == "created"
        assert [h.kind for h in history[1:]] == [_kind(e) for e in applied]
        assert [h.at for h in history[1:]] == [e.at for e in applied]
        assert [h.actor for h in history[1:]] == [e.as_user for e in applied]
        # Every change raises the version by one, from 1 at creation.
        assert full.tracker.show(spec.slug).version == len(history)
        total += len(applied)
    counts = full.summary.counts
    assert counts.events == total
    assert counts.entries == len(scenario.timeline) == total + counts.refusals + counts.notes
    assert counts.skipped == 0


def test_summary_rows_and_counts(full: Run, scenario: Scenario) -> None:
    s = full.summary
    assert (s.counts.parties, s.counts.users, s.counts.summits, s.counts.instruments) == (
        6,
        16,
        3,
        4,
    )
    rows = {r.slug: r for r in s.instruments}
    assert [r.slug for r in s.instruments] == [i.slug for i in scenario.instruments]
    for slug in PROGRAMMES:
        assert rows[slug].state_label == "Adopted by decision at the summit"
        assert rows[slug].version == full.tracker.show(slug).version
    assert rows[CONVENTION].summit == "astana-2017"
    assert rows[CRIME_PLAN].revision == 2
    statuses = {(r.slug, d.milestone): d.status for r in s.instruments for d in r.deadlines}
    assert statuses[(CRIME_PLAN, "agreed")] == "met"
    assert statuses[(ACTION_PLAN, "approved")] == "missed"  # approved after its milestone
    assert statuses[(ACTION_PLAN, "adopted")] == "met"
    last = scenario.timeline[-1].at
    assert s.finished_at == last == full.clock.now()


def test_progress_lines_say_where_each_entry_comes_from(full: Run, scenario: Scenario) -> None:
    setup = len(scenario.parties) + len(scenario.users)
    setup += len(scenario.summits) + len(scenario.instruments)
    assert len(full.lines) == setup + len(scenario.timeline)
    assert all(line.startswith(("[article] ", "[illustrative] ")) for line in full.lines)
    assert "\n" not in "".join(full.lines)
    article = [line for line in full.lines if line.startswith("[article] ")]
    assert any("yermekbayev" in line for line in article)
    assert any("2016-04-13" in line and "sc-secretaries-11" in line for line in article)
    assert not any("delegate-kz" in line for line in article)


def test_summary_renders_with_the_legend(full: Run) -> None:
    text = render_summary(full.summary)
    lines = text.splitlines()
    for slug in (CONVENTION, *PROGRAMMES):
        assert slug in text
    (legend,) = [line for line in lines if line.startswith("Legend:")]
    assert "[article]" in legend and "[illustrative]" in legend
    assert "UzA" in legend and "8 users" in legend
    assert "Astana 2017 are illustrative" in legend
    assert "Refused, as the scenario expected" in text
    # The instruments table is aligned: each column starts where its header does.
    top = lines.index("Instruments") + 1
    header, rule, *rows = lines[top : top + 2 + len(full.summary.instruments)]
    assert set(rule.strip()) <= {"-", " "}
    column = header.index("Summit")
    for row in rows:
        assert row[column:].startswith(("tashkent-2016", "astana-2017"))


# -- positions, rehearsals ------------------------------------------------------------------


def test_a_new_revision_resets_positions(builder: Builder, scenario: Scenario) -> None:
    revisions = [e for e in scenario.entries_for(CRIME_PLAN) if isinstance(e, Revise)]
    second = revisions[1]

    before = builder.run(scenario, until=second.at - dt.timedelta(minutes=1))
    view = before.tracker.show(CRIME_PLAN)
    assert view.revision == 1
    assert {p.party: p.stance for p in view.positions}["RU"] == "reserve"

    after = builder.run(scenario, until=second.at)
    view = after.tracker.show(CRIME_PLAN)
    assert view.revision == 2
    assert view.positions == ()

    # In the full replay the reservation is resolved on revision 2: every party approves it.
    final = builder.run(scenario).tracker.show(CRIME_PLAN)
    assert {p.party: p.stance for p in final.positions} == dict.fromkeys(PARTIES, "approve")


def test_until_stops_early(builder: Builder, scenario: Scenario) -> None:
    until = dt.datetime(2016, 5, 1, tzinfo=TASHKENT)
    run = builder.run(scenario, until=until)
    states = {i.slug: (i.state, i.summit) for i in run.tracker.list_instruments()}
    assert states == {
        CONVENTION: ("expert_review", "tashkent-2016"),
        CRIME_PLAN: ("agreed", "tashkent-2016"),
        STRATEGY: ("agreed", "tashkent-2016"),
        ACTION_PLAN: ("expert_review", "tashkent-2016"),
    }
    applied = [e for e in scenario.timeline if e.at <= until]
    counts = run.summary.counts
    assert counts.entries == len(applied)
    assert counts.skipped == len(scenario.timeline) - len(applied) > 0
    assert counts.refusals == 1
    assert run.clock.now() == run.summary.finished_at == until
    assert run.summary.until == until
    assert "Stopped early" in render_summary(run.summary)
    for spec in scenario.instruments:
        expected = [e for e in _applied(scenario, spec.slug) if e.at <= until]
        assert len(run.tracker.history(spec.slug)) == len(expected) + 1


def test_until_before_the_scenario_starts_is_refused(builder: Builder, scenario: Scenario) -> None:
    tracker, clock = builder.tracker()
    with pytest.raises(doctrack.UsageError, match="scenario starts"):
        replay(tracker, clock, scenario, until=dt.datetime(2015, 12, 31, tzinfo=dt.UTC))
    assert tracker.list_parties() == []


def test_the_demo_needs_a_fresh_database(builder: Builder, scenario: Scenario) -> None:
    run = builder.run(scenario, until=scenario.setup_at)
    assert run.summary.counts.entries == 0
    with pytest.raises(doctrack.AlreadyExistsError):
        replay(run.tracker, run.clock, scenario)


# -- broken scenarios -----------------------------------------------------------------------

TINY = """\
scenario: tiny
title: Tiny
tz: Asia/Tashkent
actor: test
setup_at: 2016-01-01T09:00:00+05:00
article: {title: T, publisher: P, published: 2016-04-15, url: "http://example.org/a"}
parties:
  - {code: KZ, name: Kazakhstan, source: article, quote: "Kazakhstan"}
  - {code: UZ, name: Uzbekistan, source: illustrative}
users:
  - {name: staff, full_name: Staff, email: s@example.org, roles: [drafter, coordinator],
     source: illustrative}
summits:
  - {slug: s1, title: Summit, city: Tashkent, starts: 2016-06-23, ends: 2016-06-24,
     tz: Asia/Tashkent, source: illustrative}
instruments:
  - {slug: plan, title: Plan, kind: plan, workflow: programme, summit: s1, source: illustrative}
timeline:
  - {at: "2016-02-01T10:00:00+05:00", action: revise, instrument: plan, as: staff,
     file: d.txt, text: draft, source: illustrative}
"""
#: The line of the first entry that ``_tiny`` appends.
TINY_NEXT_LINE = TINY.count("\n") + 1


def _tiny(*entries: str) -> Scenario:
    return parse_scenario(TINY + "".join(f"  - {e}\n" for e in entries), file="tiny.yaml")


def test_an_expected_refusal_that_is_applied_breaks_the_scenario(builder: Builder) -> None:
    scenario = _tiny(
        "{at: 2016-02-02T10:00:00+05:00, action: advance, instrument: plan, trigger: submit,"
        " as: staff, expect: refused, source: illustrative}"
    )
    tracker, clock = builder.tracker()
    with pytest.raises(ScenarioError, match="expected a refusal") as caught:
        replay(tracker, clock, scenario)
    assert caught.value.file == "tiny.yaml" and caught.value.line == TINY_NEXT_LINE


def test_an_unexpected_refusal_breaks_the_scenario(builder: Builder) -> None:
    scenario = _tiny(
        "{at: 2016-02-02T10:00:00+05:00, action: advance, instrument: plan, trigger: agree,"
        " as: staff, source: illustrative}"
    )
    tracker, clock = builder.tracker()
    with pytest.raises(ScenarioError, match="refused: no trigger 'agree'"):
        replay(tracker, clock, scenario)


def test_a_refusal_for_another_reason_breaks_the_scenario(builder: Builder) -> None:
    scenario = _tiny(
        "{at: 2016-02-02T10:00:00+05:00, action: advance, instrument: plan, trigger: agree,"
        " as: staff, expect: refused, refused_by: all_parties_approve, source: illustrative}"
    )
    tracker, clock = builder.tracker()
    with pytest.raises(ScenarioError, match="expected a refusal by guard all_parties_approve"):
        replay(tracker, clock, scenario)


def test_a_tiny_scenario_replays(builder: Builder) -> None:
    scenario = _tiny(
        "{at: 2016-02-02T10:00:00+05:00, action: advance, instrument: plan, trigger: submit,"
        " as: staff, source: illustrative}",
        "{at: 2016-02-03T10:00:00+05:00, action: position, instrument: plan, party: KZ,"
        " stance: approve, as: staff, source: illustrative}",
        "{at: 2016-02-04T10:00:00+05:00, action: advance, instrument: plan, trigger: agree,"
        " as: staff, expect: refused, refused_by: all_parties_approve, source: illustrative}",
    )
    tracker, clock = builder.tracker()
    lines: list[str] = []
    summary = replay(tracker, clock, scenario, progress=lines.append)
    assert summary.counts.events == 3 and summary.counts.refusals == 1
    assert "KZ approves revision 1 (by staff on behalf of KZ)" in lines[-2]
    assert "no approve on revision 1 from UZ" in summary.refusals[0].reason
    assert "1 party" in render_summary(summary)


AT = "at: 2016-02-02T10:00:00+05:00"
SUBMIT = "action: advance, instrument: plan, trigger: submit, as: staff"
POSITION = "action: position, instrument: plan, party: KZ, as: staff"
ILL = "source: illustrative"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f"{{{AT}, {SUBMIT}, sauce: illustrative}}", "unknown key 'sauce'"),
        (f"{{{AT}, action: note, text: said, source: article}}", "needs a 'quote:'"),
        (f"{{at: 2016-01-31T10:00:00+05:00, {SUBMIT}, {ILL}}}", "time order"),
        (f"{{at: 2016-02-02T10:00:00, {SUBMIT}, {ILL}}}", "needs an offset"),
        (f"{{{AT}, {SUBMIT.replace('staff', 'nobody')}, {ILL}}}", "unknown user 'nobody'"),
        (f"{{{AT}, {POSITION}, stance: maybe, {ILL}}}", "approve, reserve or object"),
        (
            f"{{{AT}, action: retarget, instrument: plan, summit: s1, as: staff, {ILL}}}",
            "needs a 'comment:'",
        ),
        (f"{{{AT}, action: note, text: x, expect: refused, {ILL}}}", "cannot be refused"),
        (f"{{{AT}, action: dance, {ILL}}}", "expected action"),
    ],
)
def test_bad_entries_name_the_line(entry: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        _tiny(entry)
    assert caught.value.line == TINY_NEXT_LINE
    assert str(caught.value).startswith(f"tiny.yaml:{TINY_NEXT_LINE}:")


def test_bad_references_and_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown party 'XX'"):
        parse_scenario(
            TINY.replace("roles: [drafter, coordinator]", "roles: [delegate], party: XX")
        )
    with pytest.raises(ScenarioError, match="a delegate needs a party"):
        parse_scenario(TINY.replace("roles: [drafter, coordinator]", "roles: [delegate]"))
    with pytest.raises(ScenarioError, match="unknown summit 'nowhere'"):
        parse_scenario(TINY.replace("summit: s1,", "summit: nowhere,"))
    with pytest.raises(ScenarioError, match="unknown time zone"):
        parse_scenario(TINY.replace("tz: Asia/Tashkent, source", "tz: Mars/Olympus, source"))
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenario: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)
    assert issubclass(ScenarioError, doctrack.UsageError)
