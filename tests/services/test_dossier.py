"""``report dossier``: one instrument's history, drafts, positions per draft, deadlines."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from tracking_support import add, set_clock

from doctrack.errors import NotFoundError
from doctrack.services.dossier import build_dossier
from doctrack.services.emails import templates_folder
from doctrack.services.report_render import ReportWriter
from doctrack.services.tracking import Tracker

DRAFT_1 = b"Article 1. Draft one."
DRAFT_2 = "Статья 1. Проект два.".encode()


@pytest.fixture
def worked(world: Tracker) -> Tracker:
    """``conv`` at t16 (agreed due 9 May 2016, Tashkent): two drafts, positions on each,
    submitted, then agreed on 12 May at 10:00 (three days late)."""
    t = world
    add(t, "conv", "convention")
    t.revise("conv", content=DRAFT_1, filename="d1.txt", as_user="drafter", note="first")
    t.record_position("conv", "UZ", "reserve", as_user="uz", comment="Article 9")
    t.revise("conv", content=DRAFT_2, filename="d2.txt", as_user="drafter")
    t.advance("conv", "submit", as_user="drafter")
    set_clock(t, "2016-05-12T10:00:00+05:00")
    for code in ("CN", "KG", "KZ", "RU", "TJ", "UZ"):
        t.record_position("conv", code, "approve", as_user=code.lower())
    t.advance("conv", "agree", as_user="coord")
    set_clock(t, "2016-06-20T12:00:00+05:00")
    return t


def test_deadlines_met_late_and_missed(worked: Tracker) -> None:
    d = build_dossier(worked.db, worked.workflows, worked.clock, "conv")
    got = {x.milestone: (x.status.value, x.days_late) for x in d.deadlines}
    # agreed: due 9 May, reached 12 May -> 3 days late; approved: due 9 June, not reached
    # by 20 June -> 11 days late; signed: due 25 June -> pending.
    assert got == {"agreed": ("missed", 3), "approved": ("missed", 11), "signed": ("pending", None)}


def test_drafts_with_sizes_checksums_and_positions(worked: Tracker) -> None:
    d = build_dossier(worked.db, worked.workflows, worked.clock, "conv")
    first, second = d.revisions
    assert (first.revision.number, first.revision.size, first.current) == (1, len(DRAFT_1), False)
    assert first.revision.sha256 == hashlib.sha256(DRAFT_1).hexdigest()
    assert [(p.party_code, p.stance, p.comment) for p in first.positions] == [
        ("UZ", "reserve", "Article 9")
    ]
    assert second.current
    assert second.revision.sha256 == hashlib.sha256(DRAFT_2).hexdigest()
    assert [p.party_code for p in second.positions] == ["CN", "KG", "KZ", "RU", "TJ", "UZ"]


def test_history_is_complete(worked: Tracker) -> None:
    d = build_dossier(worked.db, worked.workflows, worked.clock, "conv")
    kinds = [x.event.kind for x in d.history]
    assert kinds == ["created", "revision", "position", "revision", "transition"] + [
        "position"
    ] * 6 + ["transition"]
    assert d.instrument.version == len(kinds)  # every change raised the version by one
    agree = d.history[-1]
    assert (agree.event.trigger, agree.from_label, agree.to_label) == (
        "agree",
        "Expert review",
        "Agreed ad referendum",
    )


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_formats(worked: Tracker, lang: str) -> None:
    d = build_dossier(worked.db, worked.workflows, worked.clock, "conv")
    writer = ReportWriter(templates_folder(None), lang)
    out = StringIO()
    writer.write_dossier(d, "json", out)
    data = json.loads(out.getvalue())
    assert data["schema"] == "doctrack.dossier/1"
    assert data["revisions"][1]["sha256"] == hashlib.sha256(DRAFT_2).hexdigest()
    assert data["deadlines"][0]["due"] == "2016-05-09T00:00:00+05:00"
    md = StringIO()
    writer.write_dossier(d, "md", md)
    late = {"en": "3 days late", "ru": "с опозданием на 3 дня"}[lang]
    assert late in md.getvalue()
    html = writer.dossier_html(d)
    assert hashlib.sha256(DRAFT_1).hexdigest() in html


def test_unknown_instrument(world: Tracker) -> None:
    with pytest.raises(NotFoundError, match="no instrument 'nope'"):
        build_dossier(world.db, world.workflows, world.clock, "nope")
