"""The status report's numbers, against figures worked out by hand.

The world (tests/conftest.py): summit t16 is 23-24 June 2016 in Asia/Tashkent (UTC+05:00),
a17 is 8-9 June 2017 in Asia/Almaty (UTC+06:00); the clock starts on 1 March 2016 at 06:00
UTC (11:00 in Tashkent). Due times (test_deadline_tracking.DUES): a programme at t16 must
be agreed by 24 May 00:00, approved by 13 June 00:00 and adopted by 25 June 00:00 (Tashkent);
a convention at t16 agreed by 9 May, approved by 9 June; a convention at a17 agreed by
24 April 2017 00:00 (Almaty).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from tracking_support import add, reach, set_clock

from doctrack.errors import NotFoundError, UsageError
from doctrack.services.emails import templates_folder
from doctrack.services.report_render import ReportWriter, md_escape, schema_path
from doctrack.services.status import (
    Health,
    InstrumentLine,
    StatusReports,
    classify,
)
from doctrack.services.tracking import Tracker


def reports(t: Tracker) -> StatusReports:
    return StatusReports(t.db, t.workflows, t.clock)


def lines(t: Tracker, **kwargs: Any) -> list[InstrumentLine]:
    with reports(t).open(**kwargs) as report:
        (part,) = report.summits
        return list(part.lines())


def by_slug(found: list[InstrumentLine]) -> dict[str, InstrumentLine]:
    return {line.slug: line for line in found}


@pytest.fixture
def season(world: Tracker) -> Tracker:
    """Five instruments at t16, as the module docstring's dates make them:

    - ``c-late``: convention in expert review; its 9 May deadline (agreed) is not met;
      on 15 May it got draft 1 and positions: KZ approve, UZ reserve, CN object.
    - ``p-dep``: programme in drafting that depends on ``p-late``.
    - ``p-late``: programme in drafting since creation (1 March).
    - ``p-met``: programme agreed on 10 May at 10:00 Tashkent (before its 24 May due).
    - ``p-closed``: programme withdrawn.
    """
    t = world
    add(t, "p-late", "programme")
    add(t, "p-dep", "programme", depends_on=("p-late",))
    add(t, "p-closed", "programme")
    add(t, "c-late", "convention")
    t.advance("p-closed", "withdraw", as_user="sec", comment="merged into p-late")
    add(t, "p-met", "programme")
    set_clock(t, "2016-05-10T10:00:00+05:00")
    reach(t, "p-met", "agreed")
    set_clock(t, "2016-05-15T10:00:00+05:00")
    reach(t, "c-late", "expert_review")
    t.record_position("c-late", "KZ", "approve", as_user="kz")
    t.record_position("c-late", "UZ", "reserve", as_user="uz", comment="Article 9")
    t.record_position("c-late", "CN", "object", as_user="cn", comment="<b>No</b> & never")
    set_clock(t, "2016-06-01T00:00:00+05:00")
    return t


# -- classification -------------------------------------------------------------------------


def test_classify_rules() -> None:
    as_of = datetime(2016, 5, 20, tzinfo=UTC)
    window = as_of - datetime(2016, 5, 6, tzinfo=UTC)  # 14 days
    assert classify(closed=True, next_due=as_of, as_of=as_of, window=window) is Health.CLOSED
    assert classify(closed=False, next_due=None, as_of=as_of, window=window) is Health.ON_TRACK
    assert classify(closed=False, next_due=as_of, as_of=as_of, window=window) is Health.LATE
    edge = as_of + window
    assert classify(closed=False, next_due=edge, as_of=as_of, window=window) is Health.AT_RISK
    later = datetime(2016, 6, 3, 0, 0, 1, tzinfo=UTC)
    assert classify(closed=False, next_due=later, as_of=as_of, window=window) is Health.ON_TRACK


def test_headline_and_lines(season: Tracker) -> None:
    with reports(season).open(summit="t16", as_of=date(2016, 5, 20)) as report:
        (part,) = report.summits
        h = part.headline
        assert (h.total, h.on_track, h.at_risk, h.late, h.closed) == (5, 1, 2, 1, 1)
        assert part.days_to_summit == 34  # 20 May -> 23 June
        assert not part.in_session
        assert part.as_of == datetime(2016, 5, 19, 19, 0, tzinfo=UTC)  # 00:00 in Tashkent
        found = list(part.lines())
    # Most urgent first: open before closed, by the first deadline not met, then by slug.
    assert [line.slug for line in found] == ["c-late", "p-dep", "p-late", "p-met", "p-closed"]
    got = by_slug(found)

    late = got["c-late"]
    assert late.health is Health.LATE
    assert [d.milestone for d in late.missed] == ["agreed"]
    assert late.missed[0].days_left == -11  # 9 May -> 20 May
    assert late.next_deadline is not None
    assert (late.next_deadline.milestone, late.next_deadline.days_left) == ("approved", 20)
    assert late.days_in_state == 5  # expert review since 15 May
    assert late.state_label == "Expert review"

    p_late = got["p-late"]
    assert p_late.health is Health.AT_RISK  # agreed due 24 May: within the 14-day window
    assert p_late.next_deadline is not None
    assert (p_late.next_deadline.milestone, p_late.next_deadline.days_left) == ("agreed", 4)
    assert p_late.days_in_state == 80  # 1 March -> 20 May
    assert p_late.missed == ()

    dep = got["p-dep"]
    assert dep.health is Health.AT_RISK
    assert [(d.slug, d.adopted, d.blocks) for d in dep.dependencies] == [("p-late", False, True)]
    assert dep.blocked

    met = got["p-met"]
    assert met.health is Health.ON_TRACK
    assert [(d.milestone, d.status.value) for d in met.deadlines] == [
        ("agreed", "met"),
        ("approved", "pending"),
        ("adopted", "pending"),
    ]
    assert met.next_deadline is not None
    assert (met.next_deadline.milestone, met.next_deadline.days_left) == ("approved", 24)
    assert met.days_in_state == 10  # agreed on 10 May

    closed = got["p-closed"]
    assert (closed.health, closed.final, closed.next_deadline, closed.missed) == (
        Health.CLOSED,
        True,
        None,
        (),
    )


def test_a_milestone_reached_after_the_moment_counts_as_not_reached(season: Tracker) -> None:
    got = by_slug(lines(season, summit="t16", as_of=date(2016, 5, 9)))
    met = got["p-met"]
    assert met.deadlines[0].status.value == "pending"
    assert met.deadlines[0].met_at is None
    assert met.health is Health.ON_TRACK  # 24 May is 15 days away: outside the window
    # On 9 May it was still in drafting, since 1 March, with no draft.
    assert (met.state, met.days_in_state, met.revision) == ("drafting", 69, None)


def test_as_of_rebuilds_the_past_from_the_history(world: Tracker) -> None:
    t = world
    add(t, "a", "programme")  # 1 March
    add(t, "b", "programme", depends_on=("a",))
    set_clock(t, "2016-04-01T10:00:00+05:00")
    t.revise("a", content=b"one", filename="a1.txt", as_user="drafter")
    t.record_position("a", "UZ", "reserve", as_user="uz", comment="wait")
    t.advance("a", "submit", as_user="drafter")
    set_clock(t, "2016-04-10T10:00:00+05:00")
    t.record_position("a", "UZ", "approve", as_user="uz", comment="ok")
    set_clock(t, "2016-04-20T10:00:00+05:00")
    add(t, "c", "programme")
    set_clock(t, "2016-06-01T00:00:00+05:00")

    then = by_slug(lines(t, summit="t16", as_of=date(2016, 4, 5)))
    assert sorted(then) == ["a", "b"]  # c did not exist yet
    a = then["a"]
    assert (a.state, a.state_label, a.days_in_state, a.revision) == (
        "expert_review",
        "Expert review",
        4,
        1,
    )
    assert {p.party: (p.stance, p.comment) for p in a.positions if p.stance} == {
        "UZ": ("reserve", "wait")
    }
    assert [(d.slug, d.state_label, d.blocks) for d in then["b"].dependencies] == [
        ("a", "Expert review", True)
    ]

    earlier = by_slug(lines(t, summit="t16", as_of=date(2016, 3, 15)))["a"]
    assert (earlier.state, earlier.days_in_state, earlier.revision) == ("drafting", 14, None)
    assert all(p.stance is None for p in earlier.positions)

    now = by_slug(lines(t, summit="t16"))
    assert sorted(now) == ["a", "b", "c"]
    assert {p.party: (p.stance, p.comment) for p in now["a"].positions if p.stance} == {
        "UZ": ("approve", "ok")
    }
    with reports(t).open(summit="t16", as_of=date(2016, 4, 5)) as report:
        assert report.summits[0].headline.total == 2


@pytest.mark.parametrize(
    ("as_of", "health", "days_left"),
    [
        # 23:59 on 23 May in Tashkent: the 24 May 00:00 deadline is tomorrow.
        (datetime(2016, 5, 23, 18, 59, tzinfo=UTC), Health.AT_RISK, 1),
        # 00:00 on 24 May in Tashkent: the deadline has come and is not met.
        (datetime(2016, 5, 23, 19, 0, tzinfo=UTC), Health.LATE, 0),
    ],
)
def test_the_day_turns_in_the_summits_zone(
    season: Tracker, as_of: datetime, health: Health, days_left: int
) -> None:
    p_late = by_slug(lines(season, summit="t16", as_of=as_of))["p-late"]
    assert p_late.health is health
    assert p_late.deadlines[0].days_left == days_left


@pytest.mark.parametrize(
    ("as_of", "health"),
    [
        (date(2017, 4, 9), Health.ON_TRACK),  # 15 days before the 24 April deadline
        (date(2017, 4, 10), Health.AT_RISK),  # exactly 14 days: inside the window
    ],
)
def test_window_edge_in_almaty(world: Tracker, as_of: date, health: Health) -> None:
    add(world, "conv", "convention", summit="a17")
    with reports(world).open(as_of=as_of) as report:
        # t16 is over by then: only a17 is reported.
        assert [p.summit.slug for p in report.summits] == ["a17"]
        (line,) = list(report.summits[0].lines())
        assert report.summits[0].as_of == datetime(
            as_of.year, as_of.month, as_of.day, tzinfo=ZoneInfo("Asia/Almaty")
        )
    assert line.health is health


def test_summits_not_over_are_reported_in_date_order(world: Tracker) -> None:
    with reports(world).open(as_of=date(2016, 6, 24)) as report:
        assert [p.summit.slug for p in report.summits] == ["t16", "a17"]
        assert report.summits[0].in_session
    with reports(world).open(as_of=date(2018, 1, 1)) as report:
        # All are over: the last one.
        assert [p.summit.slug for p in report.summits] == ["a17"]
        assert report.summits[0].days_to_summit < 0


def test_positions_matrix(season: Tracker) -> None:
    with reports(season).open(summit="t16", as_of=date(2016, 5, 20)) as report:
        (part,) = report.summits
        assert [p.code for p in part.parties] == ["CN", "KG", "KZ", "RU", "TJ", "UZ"]
        matrix = by_slug(list(part.lines(open_only=True)))
    assert "p-closed" not in matrix
    cells = {c.party: (c.stance, c.comment) for c in matrix["c-late"].positions}
    assert cells == {
        "CN": ("object", "<b>No</b> & never"),
        "KG": (None, None),
        "KZ": ("approve", None),
        "RU": (None, None),
        "TJ": (None, None),
        "UZ": ("reserve", "Article 9"),
    }
    assert matrix["c-late"].not_agreed == ("CN", "KG", "RU", "TJ", "UZ")
    assert matrix["p-met"].not_agreed == ()
    assert matrix["p-late"].revision is None


def test_what_changed(season: Tracker) -> None:
    with reports(season).open(summit="t16", as_of=date(2016, 5, 20)) as report:
        changes = list(report.summits[0].changes())
    # Since 13 May 00:00: c-late's draft, its submission and three positions on 15 May.
    assert [(c.instrument, c.kind) for c in changes] == [
        ("c-late", "revision"),
        ("c-late", "transition"),
        ("c-late", "position"),
        ("c-late", "position"),
        ("c-late", "position"),
    ]
    assert changes[1].from_label == "Drafting"
    assert changes[1].to_label == "Expert review"
    assert changes[3].details["party"] == "UZ"
    assert changes[3].details["stance"] == "reserve"
    with reports(season).open(summit="t16", as_of=date(2016, 5, 20), days=20) as report:
        kinds = [(c.instrument, c.kind) for c in report.summits[0].changes()]
    # 30 April on: p-met's draft, submission, six positions and agreement (10 May) too.
    assert kinds[:3] == [("p-met", "revision"), ("p-met", "transition"), ("p-met", "position")]
    assert len(kinds) == 9 + 5
    with reports(season).open(
        summit="t16", as_of=date(2016, 5, 20), since=date(2016, 5, 15)
    ) as report:
        assert len(list(report.summits[0].changes())) == 5


def test_summit_events_appear_in_changes(world: Tracker) -> None:
    world.move_summit("t16", starts=date(2016, 6, 24), as_user="sec", comment="one day later")
    with reports(world).open(summit="t16") as report:
        created, change = list(report.summits[0].changes())
    assert (created.instrument, created.kind) == (None, "summit_created")
    assert (change.instrument, change.kind, change.comment) == (
        None,
        "summit_moved",
        "one day later",
    )
    assert change.details["after"] == {"starts": "2016-06-24", "ends": "2016-06-25"}


# -- refusals -------------------------------------------------------------------------------


def test_refusals(world: Tracker) -> None:
    with (
        pytest.raises(NotFoundError, match="no summit 'nowhere'"),
        reports(world).open(summit="nowhere"),
    ):
        pass
    with (
        pytest.raises(UsageError, match="after --as-of"),
        reports(world).open(summit="t16", as_of=date(2016, 5, 1), since=date(2016, 5, 2)),
    ):
        pass
    with pytest.raises(UsageError, match="--days"), reports(world).open(days=-1):
        pass


def test_no_summit_at_all(tracker: Tracker) -> None:
    with pytest.raises(UsageError, match="no summits yet"), reports(tracker).open():
        pass


# -- formats ----------------------------------------------------------------------------------


def render(t: Tracker, fmt: str, lang: str = "en", **kwargs: Any) -> str:
    out = StringIO()
    writer = ReportWriter(templates_folder(None), lang)
    with reports(t).open(**kwargs) as report:
        writer.write(report, fmt, out)
    return out.getvalue()


def test_json_follows_its_schema(season: Tracker) -> None:
    data = json.loads(render(season, "json", summit="t16", as_of=date(2016, 5, 20)))
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert data["schema"] == "doctrack.status-report/1"
    (summit,) = data["summits"]
    assert summit["headline"] == {"total": 5, "on_track": 1, "at_risk": 2, "late": 1, "closed": 1}
    assert summit["as_of"] == "2016-05-20T00:00:00+05:00"
    first = summit["instruments"][0]
    assert first["slug"] == "c-late"
    assert first["missed"] == ["agreed"]
    assert first["next_deadline"]["due"] == "2016-06-09T00:00:00+05:00"
    assert first["positions"]["UZ"] == {"stance": "reserve", "comment": "Article 9"}
    assert first["positions"]["KG"] is None
    assert len(summit["changes"]) == 5


def test_json_labels_in_russian(season: Tracker) -> None:
    data = json.loads(render(season, "json", "ru", summit="t16", as_of=date(2016, 5, 20)))
    first = data["summits"][0]["instruments"][0]
    assert first["state_label"] == "Экспертное рассмотрение"
    assert first["state"] == "expert_review"  # codes stay as they are
    assert data["lang"] == "ru"


def test_markdown_numbers(season: Tracker) -> None:
    text = render(season, "md", summit="t16", as_of=date(2016, 5, 20))
    assert "**34 days to the summit.**" in text
    assert "| 1 | 2 | 1 | 1 | 5 |" in text
    assert "Approved by ministers: 9 June 2016, 00:00, in 20 days" in text


def test_russian_plurals_and_dates(season: Tracker) -> None:
    text = render(season, "md", "ru", summit="t16", as_of=date(2016, 5, 20))
    assert "**До саммита 34 дня.**" in text
    assert "через 20 дней" in text  # c-late's approved deadline
    assert "через 4 дня" in text  # p-late's agreed deadline
    assert "9 июня 2016\u202fг., 00:00" in text  # CLDR: a narrow no-break space before г.
    text = render(season, "md", "ru", summit="t16", as_of=date(2016, 6, 2))
    assert "**До саммита 21 день.**" in text
    text = render(season, "md", "ru", summit="t16", as_of=date(2016, 6, 12))
    assert "**До саммита 11 дней.**" in text


def test_unknown_language_is_refused(world: Tracker) -> None:
    with pytest.raises(
        UsageError, match=r"no reports translation for language 'xx' \(available: en, ru\)"
    ):
        ReportWriter(templates_folder(None), "xx")


HOSTILE = '<script>alert("x")</script> **bold** [link](http://evil) | pipe & <img onerror=x>'


@pytest.fixture
def hostile(world: Tracker) -> Tracker:
    world.add_instrument(
        "evil", title=HOSTILE, workflow="programme", summit="t16", lead="KZ", actor="setup"
    )
    world.revise("evil", content=b"text", filename="d.txt", as_user="drafter", note=HOSTILE)
    world.record_position("evil", "UZ", "reserve", as_user="uz", comment=HOSTILE)
    return world


ODD_KIND = "<img src=x onerror=alert(1)> 100% %(x)s"


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_a_kind_is_text_not_markup_nor_a_format(world: Tracker, fmt: str) -> None:
    """Kinds and labels come from the data: translated when known, never markup, never
    %-formatted (a '%' once broke rendering, and an HTML kind was written as HTML)."""
    world.add_instrument(
        "odd", title="Odd", workflow="programme", summit="t16", kind=ODD_KIND, actor="setup"
    )
    text = render(world, fmt, summit="t16")
    assert "<img" not in text
    escaped = "&lt;img src=x onerror=alert(1)&gt; 100% %(x)s"
    assert (escaped if fmt == "html" else md_escape(ODD_KIND)) in text
    from doctrack.services.dossier import build_dossier

    writer = ReportWriter(templates_folder(None), "ru")
    dossier = build_dossier(world.db, world.workflows, world.clock, "odd")
    assert escaped in writer.dossier_html(dossier)
    out = StringIO()
    writer.write_dossier(dossier, "md", out)
    assert md_escape(ODD_KIND) in out.getvalue()


def test_html_escapes_everything(hostile: Tracker) -> None:
    html = render(hostile, "html", summit="t16", days=30)
    assert "<script>" not in html
    assert "<img onerror" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    # The title, the comment of the position and the note of the draft.
    assert html.count("&lt;img onerror=x&gt;") >= 3
    assert "<svg" in html  # the chart is inline


def test_markdown_escapes_everything(hostile: Tracker) -> None:
    text = render(hostile, "md", summit="t16", days=30)
    assert "<script>" not in text
    assert "**bold**" not in text
    assert "[link](http://evil)" not in text
    assert md_escape(HOSTILE) in text
    assert "\\*\\*bold\\*\\*" in text
    assert " \\| pipe &amp; " in text


def test_json_keeps_text_as_data(hostile: Tracker) -> None:
    data = json.loads(render(hostile, "json", summit="t16", days=30))
    line = data["summits"][0]["instruments"][0]
    assert line["title"] == HOSTILE
    assert line["positions"]["UZ"]["comment"] == HOSTILE


def test_md_escape() -> None:
    assert md_escape("a_b*c\nd|e") == "a\\_b\\*c d\\|e"
    assert md_escape("<x> & y") == "&lt;x&gt; &amp; y"


# -- streaming --------------------------------------------------------------------------------


def test_lines_are_read_in_chunks(world: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    """More instruments than a chunk: every one is reported, once, in order."""
    from doctrack.storage import reporting

    monkeypatch.setattr(reporting, "CHUNK", 3)
    for n in range(8):
        add(world, f"doc-{n}", "programme")
    found = lines(world, summit="t16")
    assert [line.slug for line in found] == [f"doc-{n}" for n in range(8)]


def test_report_is_a_snapshot(world: Tracker) -> None:
    """What the headline counted is what the table lists, even if a writer commits between."""
    add(world, "first", "programme")
    with reports(world).open(summit="t16") as report:
        part = report.summits[0]
        assert part.headline.total == 1
        add(world, "second", "programme")  # another connection, committed
        assert [line.slug for line in part.lines()] == ["first"]
