"""The pages on each backend: what each user sees and may do, refusals shown with their
reason, data that looks like HTML staying text."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from web_support import Browser, Site, add, draft, make_site

from doctrack.services.tracking import Tracker
from helpers import PARTIES, ROOT

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def texts(html: str, css_class: str) -> list[str]:
    """The text of each element with class ``css_class`` (tags dropped, entities read)."""
    found = re.findall(rf'class="[^"]*\b{css_class}\b[^"]*"[^>]*>(.*?)</', html, re.DOTALL)
    return [unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in found]


def test_an_xss_payload_stays_text_on_every_page(site: Site) -> None:
    t = site.tracker
    add(t, "xss", title=f"Title {XSS}")
    t.revise("xss", content=b"x", filename=f"{XSS}.txt", as_user="drafter", note=XSS)
    t.record_position("xss", "KZ", "object", as_user="kz", comment=XSS)
    t.advance("xss", "submit", as_user="coord", comment=XSS)
    browser = site.browser("coord")
    for path in ("/", "/summits/t16", "/instruments/xss", "/reminders"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert page.text.count("<script") == 1, path  # htmx, and nothing else
    page = browser.get("/instruments/xss").text
    assert "Title &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    report = browser.get("/reports/status").text
    assert "<script>alert" not in report


def test_pages_load_htmx_and_the_stylesheet_from_this_site_only(site: Site) -> None:
    page = site.browser("kz").get("/").text
    assert '<script src="/static/htmx-2.0.8.min.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/web.css">' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert " style=" not in page
    assert not re.search(r"<script>(?!</script>)", page)  # no inline script
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers


def test_the_dashboard_shows_each_summits_headline_and_instruments(site: Site) -> None:
    add(site.tracker, "later", summit="a17")
    page = site.browser("sec").get("/").text
    assert "Council of Heads of State, Tashkent" in page
    assert "Council of Heads of State, Astana" in page
    assert '<a href="/instruments/conv">Convention on countering extremism</a>' in page
    one = site.browser("sec").get("/summits/a17").text
    assert "Tashkent" not in texts(one, "meta")[0]
    assert '<a href="/instruments/later">' in one
    assert '<a href="/instruments/conv">' not in one
    assert site.browser("sec").get("/summits/nowhere").status_code == 404


def test_actions_are_the_users_own_with_what_blocks_them(site: Site) -> None:
    draft(site.tracker, "conv")
    site.tracker.advance("conv", "submit", as_user="coord")
    coord = site.browser("coord").get("/instruments/conv").text
    assert "agree → Agreed ad referendum" in coord
    assert "not ready: all_parties_approve: no approve on revision 1 from CN, KG, KZ" in coord
    sec = site.browser("sec").get("/instruments/conv").text
    assert "withdraw → Withdrawn" in sec
    assert "agree →" not in sec
    kz = site.browser("kz").get("/instruments/conv").text
    assert "Your roles allow no action from this state." in kz


def test_a_refused_action_shows_why_beside_the_form(site: Site) -> None:
    draft(site.tracker, "conv")
    site.tracker.advance("conv", "submit", as_user="coord")
    browser = site.browser("coord")
    browser.get("/instruments/conv")
    response = browser.post("/instruments/conv/advance", {"trigger": "agree", "version": "3"})
    assert response.status_code == 409
    [refusal] = texts(response.text, "refusal")
    assert refusal == (
        "Refused: cannot agree 'conv': guard all_parties_approve failed: "
        "no approve on revision 1 from CN, KG, KZ, RU, TJ, UZ"
    )
    assert site.tracker.show("conv").state == "expert_review"


def test_a_decision_on_a_stale_page_is_refused_as_a_conflict(site: Site) -> None:
    draft(site.tracker, "conv")
    browser = site.browser("coord")
    browser.get("/instruments/conv")  # version 2 on screen
    site.tracker.record_position("conv", "KZ", "object", as_user="kz")  # now version 3
    response = browser.post("/instruments/conv/advance", {"trigger": "submit", "version": "2"})
    assert response.status_code == 409
    assert texts(response.text, "refusal") == [
        "Refused: conflict: 'conv' is now in state 'drafting' at version 3 (expected version 2)"
    ]
    assert site.tracker.show("conv").state == "drafting"


def test_a_done_action_says_so_once(site: Site) -> None:
    draft(site.tracker, "conv")
    browser = site.browser("drafter")
    response = browser.post(
        "/instruments/conv/advance", {"trigger": "submit", "version": "2", "comment": "ready"}
    )
    assert (response.status_code, response.headers["location"]) == (303, "/instruments/conv")
    page = browser.get("/instruments/conv").text
    assert texts(page, "flash") == ["submit: now Expert review (version 3)"]
    assert texts(page, "current-state") == ["Expert review"]
    assert texts(browser.get("/instruments/conv").text, "flash") == []
    assert site.tracker.history("conv")[-1].comment == "ready"


def test_a_delegate_sets_only_their_own_partys_stance(site: Site) -> None:
    draft(site.tracker, "conv")
    kz = site.browser("kz")
    page = kz.get("/instruments/conv").text
    assert page.count('class="position"') == 1
    assert 'aria-label="Stance of KZ"' in page
    response = kz.post(
        "/instruments/conv/position", {"party": "KZ", "stance": "reserve", "comment": "art. 5"}
    )
    assert response.status_code == 303
    assert site.tracker.show("conv").to_json()["positions"] == {"KZ": "reserve"}
    refused = kz.post("/instruments/conv/position", {"party": "CN", "stance": "approve"})
    assert refused.status_code == 403
    assert "'kz' may not record CN's position" in texts(refused.text, "refusal")[0]
    coord = site.browser("coord").get("/instruments/conv").text
    assert coord.count('class="position"') == len(PARTIES)


def test_no_stance_can_be_set_before_a_draft(site: Site) -> None:
    page = site.browser("coord").get("/instruments/conv").text
    assert 'class="position"' not in page


def test_a_new_draft_starts_positions_afresh_and_downloads(site: Site) -> None:
    draft(site.tracker, "conv", "first text")
    site.tracker.record_position("conv", "KZ", "approve", as_user="kz")
    browser = site.browser("drafter")
    browser.get("/instruments/conv")
    response = browser.post(
        "/instruments/conv/revise",
        {"note": "after the experts"},
        files={"file": ("draft-2.txt", b"second text", "text/plain")},
    )
    assert response.status_code == 303, response.text
    page = browser.get("/instruments/conv").text
    assert "Positions on revision 2" in page
    assert site.tracker.show("conv").positions == ()
    assert '<a href="/instruments/conv/revisions/2" download>draft-2.txt</a>' in page
    got = browser.get("/instruments/conv/revisions/2")
    assert got.content == b"second text"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert browser.get("/instruments/conv/revisions/1").content == b"first text"
    assert browser.get("/instruments/conv/revisions/3").status_code == 404


def test_an_empty_upload_is_refused_inline(site: Site) -> None:
    browser = site.browser("drafter")
    browser.get("/instruments/conv")
    response = browser.post("/instruments/conv/revise", files={"file": ("e.txt", b"")})
    assert response.status_code == 422
    assert texts(response.text, "refusal") == ["Refused: 'e.txt' is empty: a revision needs a text"]


def test_retarget_moves_the_instrument(site: Site) -> None:
    browser = site.browser("sec")
    page = browser.get("/instruments/conv").text
    assert '<option value="a17">' in page
    response = browser.post("/instruments/conv/retarget", {"summit": "a17", "comment": "later"})
    assert response.status_code == 303
    assert site.tracker.show("conv").summit == "a17"
    refused = browser.post("/instruments/conv/retarget", {"summit": "nowhere", "comment": "x"})
    assert refused.status_code == 404
    assert texts(refused.text, "refusal") == ["Refused: no summit 'nowhere'"]


def test_an_unknown_instrument_is_a_404_page(site: Site) -> None:
    browser = site.browser("kz")
    response = browser.get("/instruments/nope")
    assert response.status_code == 404
    assert texts(response.text, "refusal") == ["no instrument 'nope'"]
    posted = browser.post("/instruments/nope/advance", {"trigger": "submit"})
    assert posted.status_code == 404


def test_the_reminders_page_lets_staff_cancel_and_retry(site: Site) -> None:
    coord = site.browser("coord")
    page = coord.get("/reminders?status=pending").text
    first = re.search(r'action="/reminders/(\d+)/cancel"', page)
    assert first is not None
    number = first.group(1)
    response = coord.post(f"/reminders/{number}/cancel")
    assert response.status_code == 303
    cancelled = coord.get("/reminders?status=cancelled").text
    assert f'action="/reminders/{number}/retry"' in cancelled
    again = coord.post(f"/reminders/{number}/cancel")
    assert again.status_code == 409
    assert "only a pending one can be cancelled" in texts(again.text, "refusal")[0]
    delegate = site.browser("kz").get("/reminders").text
    assert "/cancel" not in delegate


def test_a_page_of_a_signed_out_htmx_request_redirects_the_browser(site: Site) -> None:
    response = Browser(site.client()).get("/", headers={"HX-Request": "true"})
    assert (response.status_code, response.headers["hx-redirect"]) == (401, "/login")


def test_the_report_opens_in_each_format(site: Site) -> None:
    browser = site.browser("kz")
    html = browser.get("/reports/status?summit=t16")
    assert html.headers["content-type"].startswith("text/html")
    assert "style-src 'unsafe-inline'" in html.headers["content-security-policy"]
    assert "script-src" not in html.headers["content-security-policy"]
    md = browser.get("/reports/status?summit=t16&format=md")
    assert md.headers["content-disposition"] == 'inline; filename="status-report-t16.md"'
    assert browser.get("/reports/status?format=json").json()["schema"] == (
        "doctrack.status-report/1"
    )
    assert browser.get("/reports/status?format=exe").status_code == 422


def test_a_templates_folder_with_some_templates_only(world: Tracker, tmp_path: Path) -> None:
    """Pages and reports fall back to the packaged templates for what the folder lacks; a
    page the folder holds is its own."""
    own = tmp_path / "own-templates"
    (own / "email").mkdir(parents=True)
    (own / "email" / "summit.subject.txt").write_text("Summit: {{ summit_slug }}\n")
    (own / "web").mkdir()
    packaged = (ROOT / "templates" / "web" / "login.html").read_text(encoding="utf-8")
    (own / "web" / "login.html").write_text(packaged.replace("Sign in", "Enter", 1))
    site = make_site(world, templates=str(own))
    anonymous = site.browser(None)
    assert "Enter" in anonymous.get("/login").text
    browser = site.browser("sec")
    for path in ("/", "/summits/t16", "/reminders", "/reports/status"):
        assert browser.get(path).status_code == 200, path
