"""The summit page on each backend: moving a summit after a preview (pages and API), its
calendar feed, and the status report's downloads (PDF among them).

The world's summit ``t16`` runs 23-24 June 2016 in Asia/Tashkent (+05:00); the clock stands
at 1 March 2016, 06:00 UTC. ``conv`` is a convention for t16 (deadlines 45 and 14 days
before the first day, and the end of the summit), ``plan`` a programme for t16 (30 and 10
days before, the end), ``later`` a convention for the next summit (a17), which a move of
t16 leaves alone.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import test_web_browser as browser_walk
from icalendar import Calendar
from web_support import Browser, Site, add

from browser_support import VIEWPORT, artifacts_dir
from doctrack.services import pdf
from doctrack.services.reminders import ReminderDesk
from doctrack.services.summit_moves import preview_move
from doctrack.services.tracking import Tracker
from doctrack.storage import repo

if TYPE_CHECKING:
    from playwright.sync_api import Browser as PlaywrightBrowser

CONV = "Convention on countering extremism"
#: (instrument, milestone label, due now, due after moving t16 to 7-8 July 2016)
TO_JULY = [
    ("conv", "Agreed ad referendum", "2016-05-09 00:00 +05:00", "2016-05-23 00:00 +05:00"),
    ("plan", "Agreed by experts", "2016-05-24 00:00 +05:00", "2016-06-07 00:00 +05:00"),
    ("conv", "Approved by ministers", "2016-06-09 00:00 +05:00", "2016-06-23 00:00 +05:00"),
    (
        "plan",
        "Approved by the Council of Foreign Ministers",
        "2016-06-13 00:00 +05:00",
        "2016-06-27 00:00 +05:00",
    ),
    ("conv", "Signed at the summit", "2016-06-25 00:00 +05:00", "2016-07-09 00:00 +05:00"),
    (
        "plan",
        "Adopted by decision at the summit",
        "2016-06-25 00:00 +05:00",
        "2016-07-09 00:00 +05:00",
    ),
]
#: The summit's own reminders (30 and 7 days before, 09:00), now and after the move to July.
SUMMIT_REMINDERS_TO_JULY = [
    "The summit reminder 30 days before: 2016-05-24 09:00 +05:00 → 2016-06-07 09:00 +05:00 (moves)",
    "The summit reminder 7 days before: 2016-06-16 09:00 +05:00 → 2016-06-30 09:00 +05:00 (moves)",
]


@pytest.fixture
def summit_site(site: Site) -> Site:
    """The site with ``plan`` (a programme for t16) and ``later`` (a convention for a17)."""
    site.tracker.add_instrument(
        "plan",
        title="Plan of measures 2016-2020",
        workflow="programme",
        summit="t16",
        lead="KZ",
        actor="setup",
    )
    add(site.tracker, "later", summit="a17")
    return site


def text_of(fragment: str) -> str:
    """Tags dropped (as spaces), entities read, white space collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def preview_rows(html: str) -> list[tuple[str, ...]]:
    """(instrument slug, milestone label, due now, due after, status) of each preview row."""
    table = re.search(r'<table class="move-deadlines">(.*?)</table>', html, re.DOTALL)
    assert table is not None, html
    rows = []
    for row in re.findall(r"<tr class=\"(?:un)?changed\">(.*?)</tr>", table.group(1), re.DOTALL):
        cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        slug = re.search(r'<span class="slug">([^<]*)</span>', row)
        assert slug is not None
        rows.append((slug.group(1), *cells[1:]))
    return rows


def reminder_lines(html: str) -> list[str]:
    block = re.search(r'<ul class="move-reminders">(.*?)</ul>', html, re.DOTALL)
    assert block is not None, html
    return [text_of(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.DOTALL)]


def refusals(html: str) -> list[str]:
    return [text_of(r) for r in re.findall(r'class="refusal"[^>]*>(.*?)</p>', html, re.DOTALL)]


def confirm_form(html: str) -> dict[str, str]:
    """The hidden fields of the preview's Confirm form (without the CSRF token)."""
    form = re.search(r'<form [^>]*class="move-confirm">(.*?)</form>', html, re.DOTALL)
    assert form is not None, html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1]))
    fields.pop("csrf_token")
    return {k: unescape(v) for k, v in fields.items()}


def state_of(t: Tracker) -> dict[str, Any]:
    """Everything a move could change: summits, deadlines, reminders, events."""
    with t.db.read() as conn:
        events = [(e.id, e.kind, e.summit_id, e.instrument_id) for e in repo.iter_events(conn)]
    return {
        "summits": t.list_summits(),
        "deadlines": [d.to_json() for d in t.deadlines()],
        "reminders": [r.to_json() for r in ReminderDesk(t.db, t.clock).list()],
        "events": events,
    }


def coordinator(site: Site) -> Browser:
    browser = site.browser("coord")
    browser.get("/summits/t16")
    return browser


# -- the preview ---------------------------------------------------------------------------


def test_the_preview_shows_each_deadline_before_and_after(summit_site: Site) -> None:
    browser = coordinator(summit_site)
    response = browser.post("/summits/t16/preview", {"starts": "2016-07-07", "comment": "Ufa"})
    assert response.status_code == 200, response.text
    page = response.text
    assert "<html" in page  # without JavaScript: the whole page, with the preview
    assert "If it runs 2016-07-07 to 2016-07-08 (now 2016-06-23 to 2016-06-24)" in text_of(page)
    assert preview_rows(page) == [(*row, "pending") for row in TO_JULY]
    assert reminder_lines(page) == [
        *SUMMIT_REMINDERS_TO_JULY,
        (
            "Pending deadline reminders: 36 move with their deadlines, 0 are cancelled (their new "
            "time has already passed). Reminders already sent are not sent again."
        ),
    ]
    assert confirm_form(page) == {
        "starts": "2016-07-07",
        "ends": "2016-07-08",
        "comment": "Ufa",
        "version": "1",
    }
    assert 'value="2016-07-07"' in page  # the dates form keeps what was typed


def test_with_htmx_the_preview_is_only_its_part_of_the_page(summit_site: Site) -> None:
    browser = coordinator(summit_site)
    response = browser.post(
        "/summits/t16/preview",
        {"starts": "2016-07-07", "ends": "2016-07-10"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    fragment = response.text.strip()
    assert fragment.startswith('<div id="move-preview" class="move-preview">')
    assert fragment.endswith("</div>")
    assert "<html" not in fragment
    assert "Move the summit" not in fragment
    assert f'name="csrf_token" value="{browser.csrf}"' in fragment
    rows = preview_rows(fragment)
    assert rows[-1] == (
        "plan",
        "Adopted by decision at the summit",
        "2016-06-25 00:00 +05:00",
        "2016-07-11 00:00 +05:00",
        "pending",
    )
    assert confirm_form(fragment)["ends"] == "2016-07-10"
    refused = browser.post(
        "/summits/t16/preview",
        {"starts": "2016-07-07", "ends": "2016-07-01"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert refused.text.strip().startswith('<div id="move-preview"')
    assert refusals(refused.text) == [
        "Refused: the summit ends (2016-07-01) before it starts (2016-07-07)"
    ]


def test_the_preview_changes_nothing(summit_site: Site) -> None:
    t = summit_site.tracker
    before = state_of(t)
    browser = coordinator(summit_site)
    assert browser.post("/summits/t16/preview", {"starts": "2016-04-01"}).status_code == 200
    api = summit_site.api("sec").get("/api/v1/summits/t16/move-preview?starts=2016-07-07")
    assert api.status_code == 200
    preview_move(t, "t16", starts=date(2016, 8, 1), ends=date(2016, 8, 3))
    assert state_of(t) == before


def test_the_preview_names_the_reminders_the_move_cancels(summit_site: Site) -> None:
    """Moved to 1 April, the agreed deadlines (45 and 30 days before: 16 February and 2
    March) leave no reminder in the future: theirs are cancelled, the others move; the
    preview says so, and the move does exactly that."""
    t = summit_site.tracker
    preview = preview_move(t, "t16", starts=date(2016, 4, 1), ends=None)
    assert (preview.reminders_moved, preview.reminders_cancelled) == (24, 12)
    agreed = {d.instrument: d for d in preview.deadlines if d.milestone == "agreed"}
    assert agreed["conv"].after.isoformat() == "2016-02-15T19:00:00+00:00"
    assert (agreed["conv"].status_before.value, agreed["conv"].status_after.value) == (
        "pending",
        "missed",
    )
    assert agreed["plan"].after.isoformat() == "2016-03-01T19:00:00+00:00"
    t.move_summit("t16", starts=date(2016, 4, 1), as_user="sec", expect_version=1)
    desk = ReminderDesk(t.db, t.clock)
    cancelled = [r for r in desk.list(status="cancelled") if r.kind == "deadline"]
    assert len(cancelled) == 12
    assert {r.note for r in cancelled} == {"its new time had already passed when it was moved"}
    moved = [r for r in desk.list(status="pending") if r.summit == "t16" and r.kind == "deadline"]
    assert len(moved) == 24


# -- confirming ----------------------------------------------------------------------------


def test_confirming_moves_the_summit_and_the_deadlines_follow(summit_site: Site) -> None:
    t = summit_site.tracker
    browser = coordinator(summit_site)
    page = browser.post("/summits/t16/preview", {"starts": "2016-07-07", "comment": "Ufa"}).text
    previewed = preview_move(t, "t16", starts=date(2016, 7, 7), ends=None)
    later = [d.to_json() for d in t.deadlines(summit="a17")]
    response = browser.post("/summits/t16/move", confirm_form(page))
    assert (response.status_code, response.headers["location"]) == (303, "/summits/t16")
    shown = browser.get("/summits/t16").text
    assert refusals(shown) == []
    assert re.findall(r'<p class="flash" role="status">([^<]*)</p>', shown) == [
        (
            "summit t16 moved: it runs 2016-07-07 to 2016-07-08 (version 2); deadlines and "
            "reminders follow"
        )
    ]
    summit = t.get_summit("t16")
    assert (summit.starts, summit.ends, summit.version) == (date(2016, 7, 7), date(2016, 7, 8), 2)
    # Each deadline is now due when the preview said, to the second.
    after = {(d.instrument, d.milestone): d.due for d in t.deadlines(summit="t16")}
    assert after == {(d.instrument, d.milestone): d.after for d in previewed.deadlines}
    assert [d.to_json() for d in t.deadlines(summit="a17")] == later
    # The summit's own reminders are pending at the times the preview showed.
    summit_reminders = sorted(
        r.send_at
        for r in ReminderDesk(t.db, t.clock).list(status="pending")
        if r.kind == "summit" and r.summit == "t16"
    )
    assert summit_reminders == sorted(r.after for r in previewed.summit_reminders)
    with t.db.read() as conn:
        [event] = [e for e in repo.iter_events(conn) if e.kind == "summit_moved"]
    assert (event.actor, event.comment) == ("coord", "Ufa")


def test_a_confirmation_on_a_stale_preview_is_a_conflict(summit_site: Site) -> None:
    t = summit_site.tracker
    browser = coordinator(summit_site)
    page = browser.post("/summits/t16/preview", {"starts": "2016-07-07"}).text
    t.move_summit("t16", starts=date(2016, 7, 14), as_user="sec", comment="meanwhile")
    before = state_of(t)
    response = browser.post("/summits/t16/move", confirm_form(page))
    assert response.status_code == 409
    assert refusals(response.text) == [
        (
            "Refused: conflict: summit 't16' now runs 2016-07-14 to 2016-07-15 at version 2 "
            "(expected version 1)"
        )
    ]
    assert state_of(t) == before
    # With htmx too, the answer is the whole page: the Confirm form swaps in its #main.
    swapped = browser.post("/summits/t16/move", confirm_form(page), headers={"HX-Request": "true"})
    assert swapped.status_code == 409
    assert '<main id="main">' in swapped.text
    assert len(refusals(swapped.text)) == 1
    assert state_of(t) == before
    # What the move would change now is shown, to be confirmed again knowingly.
    assert confirm_form(response.text)["version"] == "2"
    assert preview_rows(response.text)[0][2:4] == (
        "2016-05-30 00:00 +05:00",
        "2016-05-23 00:00 +05:00",
    )


# -- who may, and refusals -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["coord", "sec", "admin"])
def test_coordinators_and_secretaries_see_the_form(summit_site: Site, who: str) -> None:
    page = summit_site.browser(who).get("/summits/t16").text
    assert 'action="/summits/t16/preview"' in page
    assert 'hx-post="/summits/t16/preview"' in page


@pytest.mark.parametrize("who", ["drafter", "kz", "cn"])
def test_other_roles_see_no_form_and_are_refused(summit_site: Site, who: str) -> None:
    t = summit_site.tracker
    browser = summit_site.browser(who)
    page = browser.get("/summits/t16").text
    assert "Move the summit" not in page
    assert "/preview" not in page
    assert "/move" not in page
    # The preview is a read: shown, without a Confirm button.
    previewed = browser.post("/summits/t16/preview", {"starts": "2016-07-07"})
    assert previewed.status_code == 200
    assert 'class="move-confirm"' not in previewed.text
    assert "Your roles do not allow moving the summit" in previewed.text
    before = state_of(t)
    form = {"starts": "2016-07-07", "ends": "2016-07-08", "version": "1"}
    response = browser.post("/summits/t16/move", form)
    assert response.status_code == 403
    [refusal] = refusals(response.text)
    assert refusal.startswith(f"Refused: '{who}' may not move summit 't16': needs role ")
    assert state_of(t) == before


@pytest.mark.parametrize(
    ("starts", "ends", "reason"),
    [
        ("2016-07-07", "2016-07-06", "the summit ends (2016-07-06) before it starts (2016-07-07)"),
        ("2016-06-23", "", "summit 't16' already runs 2016-06-23 to 2016-06-24"),
        ("2016-06-23", "2016-06-24", "summit 't16' already runs 2016-06-23 to 2016-06-24"),
        ("", "", "give the summit's new first day (YYYY-MM-DD)"),
        (
            "23.06.2016",
            "",
            "bad first day '23.06.2016': use a date such as 2016-06-23 (YYYY-MM-DD)",
        ),
        (
            "2016-07-07",
            "2016-02-30",
            "bad last day '2016-02-30': use a date such as 2016-06-23 (YYYY-MM-DD)",
        ),
        (
            "0001-01-01",
            "",
            (
                "the summit starts on 0001-01-01: a summit's dates must fall between 1900-01-01 "
                "and 2999-12-31"
            ),
        ),
        (
            "2999-12-31",
            "",
            (
                "the summit would end on 3000-01-01: a summit's dates must fall between "
                "1900-01-01 and 2999-12-31"
            ),
        ),
    ],
)
def test_bad_dates_are_refused_in_one_line(
    summit_site: Site, starts: str, ends: str, reason: str
) -> None:
    t = summit_site.tracker
    before = state_of(t)
    browser = coordinator(summit_site)
    for path in ("/summits/t16/preview", "/summits/t16/move"):
        response = browser.post(path, {"starts": starts, "ends": ends, "version": "1"})
        assert response.status_code == 422, path
        assert refusals(response.text) == [f"Refused: {reason}"], path
    assert "\n" not in reason
    assert state_of(t) == before


def test_an_unknown_summit_is_404(summit_site: Site) -> None:
    browser = coordinator(summit_site)
    assert browser.get("/summits/nowhere").status_code == 404
    assert browser.get("/summits/nowhere/calendar.ics").status_code == 404
    for path in ("/summits/nowhere/preview", "/summits/nowhere/move"):
        response = browser.post(path, {"starts": "2016-07-07"})
        assert response.status_code == 404, path
        assert refusals(response.text) == ["no summit 'nowhere'"]
    api = summit_site.api("sec")
    for response in (
        api.get("/api/v1/summits/nowhere/move-preview?starts=2016-07-07"),
        api.post("/api/v1/summits/nowhere/move", json={"starts": "2016-07-07"}),
        api.get("/api/v1/summits/nowhere/calendar.ics"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_form_without_the_csrf_token_is_refused(summit_site: Site, token: str | None) -> None:
    t = summit_site.tracker
    before = state_of(t)
    browser = coordinator(summit_site)
    form = {"starts": "2016-07-07", "ends": "2016-07-08", "version": "1"}
    for path in ("/summits/t16/preview", "/summits/t16/move"):
        if token is None:
            response = browser.client.post(path, data=form)
        else:
            response = browser.post(path, {**form, "csrf_token": token})
        assert response.status_code == 403, path
        assert refusals(response.text) == [
            "the form is out of date or came from another site (CSRF token): reload the page"
        ]
    assert state_of(t) == before


# -- the REST API --------------------------------------------------------------------------


def test_the_api_preview_is_json_with_the_summits_version_as_etag(summit_site: Site) -> None:
    response = summit_site.api("kz").get(
        "/api/v1/summits/t16/move-preview?starts=2016-07-07&ends=2016-07-08"
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert (body["summit"], body["version"], body["tz"]) == ("t16", 1, "Asia/Tashkent")
    assert body["before"] == {"starts": "2016-06-23", "ends": "2016-06-24"}
    assert body["after"] == {"starts": "2016-07-07", "ends": "2016-07-08"}
    assert [
        (d["instrument"], d["label"], d["before"], d["after"], d["status_after"])
        for d in body["deadlines"]
    ] == [(slug, label, _iso(now), _iso(then), "pending") for slug, label, now, then in TO_JULY]
    assert [(r["days_before"], r["after"], r["outcome"]) for r in body["summit_reminders"]] == [
        (30, "2016-06-07T09:00:00+05:00", "moves"),
        (7, "2016-06-30T09:00:00+05:00", "moves"),
    ]
    assert body["deadline_reminders"] == {"moved": 36, "cancelled": 0}


def _iso(shown: str) -> str:
    """``2016-05-09 00:00 +05:00`` as the API writes it: ``2016-05-09T00:00:00+05:00``."""
    day, clock, offset = shown.split()
    return f"{day}T{clock}:00{offset}"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "starts=tomorrow",
        "starts=2016-07-07&ends=2016-07-01",
        "starts=2016-06-23",
        "starts=0001-01-01",
    ],
)
def test_a_bad_api_preview_is_422(summit_site: Site, query: str) -> None:
    response = summit_site.api("kz").get(f"/api/v1/summits/t16/move-preview?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid"


def test_the_api_move_honours_if_match(summit_site: Site) -> None:
    t = summit_site.tracker
    api = summit_site.api("sec")
    before = state_of(t)
    stale = api.post(
        "/api/v1/summits/t16/move",
        json={"starts": "2016-07-07", "comment": "Ufa"},
        headers={"If-Match": '"7"'},
    )
    assert stale.status_code == 409
    assert stale.json() == {
        "error": {
            "code": "conflict",
            "message": "conflict: summit 't16' now runs 2016-06-23 to 2016-06-24 at version 1 "
            "(expected version 7)",
            "starts": "2016-06-23",
            "ends": "2016-06-24",
            "version": 1,
        }
    }
    malformed = api.post(
        "/api/v1/summits/t16/move", json={"starts": "2016-07-07"}, headers={"If-Match": "W/1"}
    )
    assert malformed.status_code == 422
    assert "If-Match must be one ETag of the summit" in malformed.json()["error"]["message"]
    assert state_of(t) == before
    etag = api.get("/api/v1/summits/t16/move-preview?starts=2016-07-07").headers["etag"]
    moved = api.post(
        "/api/v1/summits/t16/move",
        json={"starts": "2016-07-07", "comment": "Ufa"},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    assert moved.json() == t.get_summit("t16").to_json()
    assert moved.json()["ends"] == "2016-07-08"
    dues = {(d.instrument, d.label): d.to_json()["due"] for d in t.deadlines(summit="t16")}
    assert dues == {(slug, label): _iso(then) for slug, label, _, then in TO_JULY}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"starts": "soon"},
        {"starts": "2016-07-07", "where": "Ufa"},
        {"starts": "2016-07-07", "ends": "2016-07-06"},
        {"starts": "2016-06-23"},
        {"starts": "2016-07-07", "comment": "bell \x07"},
    ],
)
def test_a_bad_api_move_is_422_and_changes_nothing(summit_site: Site, body: dict[str, Any]) -> None:
    before = state_of(summit_site.tracker)
    response = summit_site.api("coord").post("/api/v1/summits/t16/move", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid"
    assert state_of(summit_site.tracker) == before


def test_the_api_move_is_refused_to_other_roles(summit_site: Site) -> None:
    response = summit_site.api("kz").post("/api/v1/summits/t16/move", json={"starts": "2016-07-07"})
    assert response.status_code == 403
    assert "may not move summit 't16'" in response.json()["error"]["message"]


# -- the calendar feed ---------------------------------------------------------------------


def _calendar(response: httpx.Response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="doctrack-t16.ics"'
    return Calendar.from_ical(response.content)


def test_the_calendar_feed_holds_the_summit_and_its_deadlines(summit_site: Site) -> None:
    page = _calendar(coordinator(summit_site).get("/summits/t16/calendar.ics"))
    events = {str(e["UID"]): e for e in page.walk("VEVENT")}
    summit = events["summit-t16@doctrack"]
    assert str(summit["SUMMARY"]) == "Council of Heads of State, Tashkent"
    assert summit.decoded("DTSTART") == date(2016, 6, 23)
    assert summit.decoded("DTEND") == date(2016, 6, 25)
    assert "deadline-conv-agreed@doctrack" in events
    assert "deadline-plan-adopted@doctrack" in events
    assert not any("later" in uid for uid in events)
    agreed = events["deadline-conv-agreed@doctrack"].decoded("DTSTART")
    assert agreed.isoformat() == "2016-05-09T00:00:00+05:00"
    api = summit_site.api("kz").get("/api/v1/summits/t16/calendar.ics")
    assert _calendar(api).to_ical() == page.to_ical()


def test_the_summit_page_and_the_dashboard_link_the_downloads(summit_site: Site) -> None:
    browser = summit_site.browser("kz")
    for path in ("/", "/summits/t16"):
        page = browser.get(path).text
        assert 'href="/summits/t16/calendar.ics"' in page, path
        for lang in ("en", "ru"):
            base = "/reports/status?summit=t16"
            assert f'href="{base}&amp;lang={lang}"' in page, path
            for fmt in ("pdf", "md", "json"):
                assert f'href="{base}&amp;format={fmt}&amp;lang={lang}"' in page, (path, fmt)


# -- the report as PDF ---------------------------------------------------------------------


def _pdf_or_skip() -> None:
    try:
        pdf.require()
    except Exception as exc:  # noqa: BLE001 - any reason is the skip's reason
        pytest.skip(f"WeasyPrint cannot be used here: {exc}")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_report_downloads_as_pdf(summit_site: Site, lang: str) -> None:
    _pdf_or_skip()
    response = summit_site.browser("kz").get(f"/reports/status?summit=t16&format=pdf&lang={lang}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="status-report-t16.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    api = summit_site.api("kz").get("/api/v1/reports/status?summit=t16&format=pdf")
    assert api.status_code == 200
    assert api.content.startswith(b"%PDF")


def test_without_weasyprint_a_pdf_is_a_clear_501(
    summit_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint fails
    page = summit_site.browser("kz").get("/reports/status?summit=t16&format=pdf")
    assert page.status_code == 501
    assert refusals(page.text) == [pdf.INSTALL_HINT]
    api = summit_site.api("kz").get("/api/v1/reports/status?format=pdf")
    assert api.status_code == 501
    assert api.json() == {"error": {"code": "not_implemented", "message": pdf.INSTALL_HINT}}


# -- in a real browser (htmx and the Content-Security-Policy) ------------------------------

served = browser_walk.served  # uvicorn serving the world in a thread (test_web_browser.py)


def test_in_a_browser_the_preview_and_the_move_happen_in_place(
    served: tuple[Site, str], browser: PlaywrightBrowser, tmp_path: Path
) -> None:
    site, base = served
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = browser_walk.Watch(page, base)
    try:
        browser_walk.sign_in(page, base, "coord")
        page.goto(f"{base}/summits/t16")
        form = page.locator("form.move-dates")
        form.locator("input[name=starts]").fill("2016-07-07")
        form.locator("input[name=comment]").fill("Ufa")
        form.locator("button").click()
        page.locator("table.move-deadlines").wait_for()
        assert page.url == f"{base}/summits/t16"  # htmx swapped the preview in
        cells = page.locator("table.move-deadlines td.after").all_inner_texts()
        assert cells == [
            "2016-05-23 00:00 +05:00",
            "2016-06-23 00:00 +05:00",
            "2016-07-09 00:00 +05:00",
        ]
        page.screenshot(path=artifacts_dir(tmp_path) / "web-summit-preview.png", full_page=True)
        assert site.tracker.get_summit("t16").starts == date(2016, 6, 23)  # nothing moved yet

        page.locator("form.move-confirm button").click()
        page.locator(".flash").wait_for()
        assert (
            page.locator(".flash").inner_text().startswith("summit t16 moved: it runs 2016-07-07")
        )
        assert page.url == f"{base}/summits/t16"
        assert site.tracker.get_summit("t16").starts == date(2016, 7, 7)

        # A confirmation on a stale preview is refused in place, with the reason.
        form = page.locator("form.move-dates")
        form.locator("input[name=starts]").fill("2016-07-14")
        form.locator("button").click()
        page.locator("form.move-confirm").wait_for()
        site.tracker.move_summit("t16", starts=date(2016, 7, 21), as_user="sec")
        page.locator("form.move-confirm button").click()
        page.locator(".refusal").wait_for()
        assert page.locator(".refusal").inner_text() == (
            "Refused: conflict: summit 't16' now runs 2016-07-21 to 2016-07-22 at version 3 "
            "(expected version 2)"
        )
        assert site.tracker.get_summit("t16").starts == date(2016, 7, 21)
    finally:
        context.close()
    assert (watch.problems, watch.refusals) == ([], 1)
