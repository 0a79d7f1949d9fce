"""The web UI in a real browser: Debian's headless Chromium through Playwright, against
uvicorn serving the app in a thread (SQLite).

One walk through: sign in, be refused with the reason shown in place (htmx swapped the
refusal in, the address did not change), then advance once the guard holds. The page
shows no console error (a Content-Security-Policy violation would be one), asks nothing of
another origin, and a title that looks like HTML stays text. Screenshots go to
$DOCTRACK_TEST_ARTIFACTS, else to the test's tmp_path.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from web_support import PASSWORD, Site, draft, make_site

import doctrack
from browser_support import VIEWPORT, artifacts_dir
from doctrack.services.tracking import Tracker
from helpers import approve_all

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

XSS_TITLE = 'Convention <script>alert("title")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the subject is what the browser makes of the pages."""
    url = f"sqlite:///{tmp_path / 'doctrack.db'}"
    doctrack.init_database(url)
    return url


@pytest.fixture
def served(world: Tracker) -> Iterator[tuple[Site, str]]:
    """The site over the world, served by uvicorn on a free port; (site, base URL)."""
    world.add_instrument(
        "conv", title=XSS_TITLE, workflow="convention", summit="t16", lead="KZ", actor="setup"
    )
    draft(world, "conv")
    world.advance("conv", "submit", as_user="coord")
    site = make_site(world)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    until = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < until, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield site, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


#: What Chromium logs when an answer has an error status: the refusal (409) is one, on
#: purpose; it is counted apart from the errors that are problems.
REFUSAL_LOGGED = "Failed to load resource: the server responded with a status of 409 (Conflict)"


class Watch:
    """What a page complained about, asked of other origins, or tried to pop up."""

    def __init__(self, page: Page, base: str) -> None:
        self.problems: list[str] = []
        self.refusals = 0

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and message.text == REFUSAL_LOGGED:
                self.refusals += 1
            elif message.type == "error":
                self.problems.append(f"console error: {message.text} {message.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith(base) else self.problems.append(f"request {r.url}"),
        )


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{base}/")


def signed_in_page(context: BrowserContext, base: str, name: str, watches: list[Watch]) -> Page:
    """A new page of ``context``, watched, signed in as ``name``."""
    page = context.new_page()
    watches.append(Watch(page, base))
    sign_in(page, base, name)
    return page


def test_sign_in_be_refused_with_the_reason_then_advance(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    site, base = served
    artifacts = artifacts_dir(tmp_path)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = Watch(page, base)
    try:
        page.goto(f"{base}/instruments/conv")
        assert page.url == f"{base}/login?next=%2Finstruments%2Fconv"
        page.fill("input[name=name]", "coord")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(f"{base}/instruments/conv")
        assert page.locator("h1").inner_text() == XSS_TITLE
        assert page.locator(".current-state").inner_text() == "Expert review"

        agree = page.locator("form.action", has_text="agree")
        agree.locator("textarea").fill("everyone is on board?")
        agree.locator("button").click()
        refusal = page.locator(".refusal")
        refusal.wait_for()
        assert refusal.inner_text() == (
            "Refused: cannot agree 'conv': guard all_parties_approve failed: "
            "no approve on revision 1 from CN, KG, KZ, RU, TJ, UZ"
        )
        assert page.url == f"{base}/instruments/conv"  # htmx swapped it in: no navigation
        page.screenshot(path=artifacts / "web-instrument-refused.png", full_page=True)

        approve_all(site.tracker, "conv")
        page.reload()
        page.locator("form.action", has_text="agree").locator("button").click()
        page.locator(".flash").wait_for()
        assert page.locator(".flash").inner_text() == "agree: now Agreed ad referendum (version 10)"
        assert page.locator(".current-state").inner_text() == "Agreed ad referendum"
        assert page.url == f"{base}/instruments/conv"
        page.screenshot(path=artifacts / "web-instrument.png", full_page=True)
        assert site.tracker.show("conv").state == "agreed"

        page.goto(f"{base}/")
        assert page.locator("table.instruments a", has_text="Convention").inner_text() == XSS_TITLE
        page.screenshot(path=artifacts / "web-dashboard.png", full_page=True)
    finally:
        context.close()
    assert watch.problems == []
    assert watch.refusals == 1


def test_a_delegate_records_a_position_then_a_new_draft_starts_positions_afresh(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    site, base = served
    artifacts = artifacts_dir(tmp_path)
    delegate = browser.new_context(viewport=VIEWPORT)
    drafter = browser.new_context(viewport=VIEWPORT)
    watches: list[Watch] = []
    try:
        page = signed_in_page(delegate, base, "kz", watches)
        page.goto(f"{base}/instruments/conv")
        # A delegate may set their own party's stance only.
        assert page.locator("form.position").count() == 1
        page.select_option("select[aria-label='Stance of KZ']", "reserve")
        page.fill("input[aria-label='Comment of KZ']", "art. 5 <b>needs</b> work")
        page.locator("form.position button").click()
        page.locator(".flash").wait_for()
        row = page.locator("section.positions tr", has_text="Kazakhstan")
        assert row.locator(".stance").inner_text() == "reserve"
        assert "art. 5 <b>needs</b> work" in row.inner_text()  # text, not markup
        page.screenshot(path=artifacts / "web-position.png", full_page=True)
        [stance] = site.tracker.show("conv").positions
        assert (stance.party, stance.stance, stance.recorded_by) == ("KZ", "reserve", "kz")

        page = signed_in_page(drafter, base, "drafter", watches)
        page.goto(f"{base}/instruments/conv")
        draft_file = tmp_path / "convention-v2.txt"
        draft_file.write_text("Article 5, as KZ asked.\n", encoding="utf-8")
        page.set_input_files("form.revise input[type=file]", str(draft_file))
        page.fill("form.revise input[name=note]", "art. 5 reworded")
        page.locator("form.revise button").click()
        page.locator(".flash").wait_for()
        assert "revision 2" in page.locator("p.meta").inner_text()
        row = page.locator("section.positions tr", has_text="Kazakhstan")
        assert row.locator(".stance").count() == 0  # positions start afresh on a new draft
        page.screenshot(path=artifacts / "web-revised.png", full_page=True)
        shown = site.tracker.show("conv")
        assert (shown.revision, shown.positions) == (2, ())

        # The delegate's page, reloaded, shows the reset too.
        page = delegate.pages[0]
        page.reload()
        row = page.locator("section.positions tr", has_text="Kazakhstan")
        assert row.locator(".stance").count() == 0
    finally:
        delegate.close()
        drafter.close()
    assert [p for w in watches for p in w.problems] == []


def test_open_the_status_report_from_the_dashboard(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    _, base = served
    artifacts = artifacts_dir(tmp_path)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = Watch(page, base)
    try:
        sign_in(page, base, "sec")
        page.locator("a[href^='/reports/status']", has_text="HTML").first.click()
        page.wait_for_url(f"{base}/reports/status?**")
        assert XSS_TITLE in page.locator("body").inner_text()  # the title stays text
        assert page.locator("script").count() == 0
        page.screenshot(path=artifacts / "web-report.png", full_page=True)
    finally:
        context.close()
    assert watch.problems == []


def test_sign_out_everywhere_ends_the_session_in_another_browser(
    served: tuple[Site, str], browser: Browser, tmp_path: Path
) -> None:
    """Two browsers signed in as one user: "Sign out everywhere" in one ends the other's
    session too, at its next click; "Sign out" in a browser ends only that one's."""
    _, base = served
    artifacts = artifacts_dir(tmp_path)
    laptop = browser.new_context(viewport=VIEWPORT)
    phone = browser.new_context(viewport=VIEWPORT)
    watches: list[Watch] = []
    try:
        mine, other = (signed_in_page(c, base, "coord", watches) for c in (laptop, phone))
        header = mine.locator("header.top")
        assert header.get_by_role("button", name="Sign out", exact=True).is_visible()
        everywhere = header.get_by_role("button", name="Sign out everywhere")
        assert everywhere.is_visible()
        header.screenshot(path=artifacts / "web-header.png")
        everywhere.click()
        mine.wait_for_url(f"{base}/login")
        assert mine.locator(".flash").inner_text() == "You are signed out in every browser."
        other.goto(f"{base}/instruments/conv")
        assert other.url == f"{base}/login?next=%2Finstruments%2Fconv"
        assert "Your session was ended" in other.locator(".flash").inner_text()
        sign_in(other, base, "coord")  # a fresh sign-in works
        other.locator("header.top").get_by_role("button", name="Sign out", exact=True).click()
        other.wait_for_url(f"{base}/login")
    finally:
        laptop.close()
        phone.close()
    assert [p for w in watches for p in w.problems] == []
