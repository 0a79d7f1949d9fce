"""The HTML status report in a real browser: headless Chromium through Playwright.

What only a browser can tell: the page loads without console or script errors and asks for
nothing outside itself, the inline SVG chart is drawn and fits the page, data that looks like
HTML stays text (no script runs), and the Russian report reads in Russian. Each test leaves a
full-page screenshot (and the HTML) in $DOCTRACK_TEST_ARTIFACTS, else in its tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from report_support import CJK_TITLE, HTML_COMMENT, RU_TITLE, XSS_TITLE, render_html

from browser_support import VIEWPORT, Visit, chromium_or_skip, png_size, visit
from doctrack.services.tracking import Tracker

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

#: Elements and attributes the report never has: any of them came from data.
ACTIVE_CONTENT = """() => ({
    scripts: document.scripts.length,
    images: document.images.length,
    links: document.links.length,
    iframes: document.querySelectorAll("iframe, object, embed").length,
    handlers: [...document.querySelectorAll("*")].filter(
        (e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith("on"))
    ).length,
})"""
NO_ACTIVE_CONTENT = {"scripts": 0, "images": 0, "links": 0, "iframes": 0, "handlers": 0}


@pytest.fixture
def opened(browser: Browser) -> Iterator[list[Visit]]:
    """Pages opened by the test (with ``visit``); their contexts are closed afterwards."""
    visits: list[Visit] = []
    yield visits
    for v in visits:
        v.page.context.close()


def open_report(
    season: Tracker, browser: Browser, opened: list[Visit], lang: str, folder: Path
) -> Visit:
    """Render the season's report in ``lang`` into ``folder`` and open it."""
    html = render_html(season, lang, folder / f"status-report-{lang}.html")
    v = visit(browser, html)
    opened.append(v)
    return v


def screenshot(page: Page, path: Path) -> None:
    """A full-page PNG at ``path``: a real image as wide as the viewport, no shorter."""
    page.screenshot(path=path, full_page=True)
    data = path.read_bytes()
    assert len(data) > 10_000, f"{path}: {len(data)} bytes, too small for a report"
    width, height = png_size(data)
    assert width == VIEWPORT["width"]
    assert height >= VIEWPORT["height"]


def check_chart(page: Page, texts: list[str]) -> None:
    """One chart, drawn, inside the page's width, with ``texts`` among its SVG text."""
    svg = page.locator("figure.chart > svg")
    assert svg.count() == 1
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] > 400, box
    assert box["height"] > 100, box
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= VIEWPORT["width"], box
    # Matplotlib draws with paths and keeps text as <text> (svg.fonttype none).
    assert page.locator("figure.chart svg path").count() > 10
    drawn = [t.strip() for t in svg.locator("text").all_text_contents()]
    for text in texts:
        assert text in drawn, f"{text!r} not in the chart's text: {drawn}"


def check_clean(v: Visit) -> None:
    assert v.problems() == []
    assert v.page.evaluate("typeof window.__xss") == "undefined"
    assert v.page.evaluate(ACTIVE_CONTENT) == NO_ACTIVE_CONTENT
    # Nothing is wider than the window: no sideways scrolling at 1280 px.
    width = v.page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is {width} px wide"


def first_line(page: Page | Locator, selector: str) -> str:
    cell = page.locator(selector).first
    assert cell.is_visible(), selector
    return cell.inner_text().splitlines()[0]


def test_english_report(
    season: Tracker, browser: Browser, opened: list[Visit], artifacts: Path
) -> None:
    v = open_report(season, browser, opened, "en", artifacts)
    page = v.page
    check_clean(v)
    assert page.get_attribute("html", "lang") == "en"
    assert page.title() == "Status of instruments: Council of Heads of State"
    assert page.locator("h1").inner_text() == "Status of instruments"
    counts = page.locator(".headline .count").all_inner_texts()
    assert [" ".join(c.split()) for c in counts] == [
        "1 on track",
        "1 at risk",
        "3 late",
        "1 closed",
    ]
    check_chart(
        page,
        ["xss-convention", "strategy", "action-plan", "met", "pending", "missed", "report date"],
    )

    # The payload is on the page as the text it is, in both tables.
    assert first_line(page, "tr#i-xss-convention > td") == XSS_TITLE
    positions = page.locator("table.positions tr", has_text="xss-convention")
    assert first_line(positions, "td") == XSS_TITLE
    comments = positions.locator(".comment")
    assert sorted(comments.all_inner_texts()) == sorted(["Article 9", HTML_COMMENT])
    assert all(c.is_visible() for c in comments.all())
    assert page.locator("table.changes td", has_text=HTML_COMMENT).count() == 1
    assert first_line(page, "tr#i-ru-convention > td") == RU_TITLE
    assert first_line(page, "tr#i-cjk-convention > td") == CJK_TITLE

    screenshot(page, artifacts / "status-report-en.png")


def test_russian_report(
    season: Tracker, browser: Browser, opened: list[Visit], artifacts: Path
) -> None:
    v = open_report(season, browser, opened, "ru", artifacts)
    page = v.page
    check_clean(v)
    assert page.get_attribute("html", "lang") == "ru"
    assert page.locator("h1").inner_text() == "Состояние документов"
    assert page.title().startswith("Состояние документов")
    counts = page.locator(".headline .count").all_inner_texts()
    assert [" ".join(c.split()) for c in counts] == [
        "1 в срок",
        "1 под угрозой",
        "3 просрочено",
        "1 закрыто",
    ]
    badges = page.locator("table.instruments .badge").all_inner_texts()
    assert sorted(set(badges)) == ["в срок", "закрыто", "под угрозой", "просрочено"]
    check_chart(page, ["xss-convention", "выполнен", "ожидается", "пропущен", "дата отчёта"])
    assert first_line(page, "tr#i-xss-convention > td") == XSS_TITLE
    assert first_line(page, "tr#i-ru-convention > td") == RU_TITLE
    assert first_line(page, "tr#i-cjk-convention > td") == CJK_TITLE
    body = page.locator("body").inner_text()
    for english in ("Status of instruments", "on track", "at risk", "Timeline", "none yet"):
        assert english not in body, f"{english!r} left untranslated"
    assert "мая 2016" in body  # dates in Russian too (20 мая 2016 г.)

    screenshot(page, artifacts / "status-report-ru.png")


def test_instrument_kind_is_text(
    world: Tracker, browser: Browser, opened: list[Visit], tmp_path: Path
) -> None:
    kind = "<img src=x onerror=window.__xss=5>"
    world.add_instrument(
        "odd-kind", title="Odd kind", workflow="programme", summit="t16", kind=kind, actor="a"
    )
    v = open_report(world, browser, opened, "en", tmp_path)
    assert v.page.evaluate("typeof window.__xss") == "undefined"
    assert v.page.locator("tr#i-odd-kind .slug").inner_text() == f"odd-kind · {kind}"
    check_clean(v)


# -- what a missing browser means -----------------------------------------------------------


def test_missing_browser_skips_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"browser tests skipped: .*not found"):
        chromium_or_skip(tmp_path / "chromium")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_browser_fails_in_ci(
    ci: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        chromium_or_skip(tmp_path / "chromium")
