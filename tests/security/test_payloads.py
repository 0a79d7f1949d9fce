"""Hostile text (tests/security/payloads.json: XSS, template injection, header injection,
path traversal) pushed through titles, names, comments, file names and uploads, on both
backends: every page and report shows it escaped, every download is an attachment with a
safe name, a value that may not be stored is refused and changes nothing.

Each test prints its figures (``-s`` shows them); SECURITY.md lists them.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from markdown_it import MarkdownIt
from security_support import (
    ALL_PAYLOADS,
    assert_escaped,
    live_markup,
    one_line_ok,
    shown_text,
)
from sqlalchemy import create_engine, select

from doctrack.errors import UsageError
from doctrack.services.tracking import Tracker
from doctrack.storage.tables import METADATA
from helpers import snapshot
from web.web_support import Site, make_site

SAFE_NAME = re.compile(r'^attachment; filename="[A-Za-z0-9_-][A-Za-z0-9._-]*"; filename\*=')


class Planted:
    """What the fixture stored: payload index -> the values each place accepted."""

    def __init__(self) -> None:
        self.titles: dict[int, str] = {}
        self.parties: dict[int, str] = {}
        self.summits: dict[int, str] = {}
        self.files: dict[int, tuple[str, bytes]] = {}  # the web upload's name and bytes
        self.comments: dict[int, str] = {}
        self.refused = 0  # refusals checked to change nothing


def _refused_unchanged(url: str, planted: Planted, call: Any) -> None:
    before = snapshot(url)
    with pytest.raises(UsageError):
        call()
    assert snapshot(url) == before
    planted.refused += 1


def plant(site: Site, url: str) -> Planted:
    """Each payload as an instrument's title, a party's name, a summit's title and city,
    a draft's file name, note and text (uploaded on the web form) and a comment."""
    t = site.tracker
    planted = Planted()
    drafter = site.browser("drafter")
    delegate = site.browser("kz")
    for i, p in enumerate(ALL_PAYLOADS):
        slug = f"h{i}"

        def add(title: str, slug: str = slug) -> None:
            t.add_instrument(
                slug, title=title, workflow="convention", summit="t16", lead="KZ", actor="setup"
            )

        def party(name: str, code: str = f"H{i:02d}") -> None:
            t.add_party(code, name=name, actor="setup")

        def summit(text: str, slug: str = f"hs{i}") -> None:
            t.add_summit(
                slug,
                title=text,
                city=text,
                starts=date(2016, 9, 1),
                tz="Asia/Tashkent",
                actor="setup",
            )

        if one_line_ok(p):
            add(p)
            party(p)
            summit(p)
            planted.titles[i] = planted.parties[i] = planted.summits[i] = p.strip()
        else:
            for call in (
                lambda p=p: add(p),
                lambda p=p: party(p),
                lambda p=p: summit(p),
            ):
                _refused_unchanged(url, planted, call)
            add(f"Safe title {i}")
        # The web form: the file name as the browser sends it, the payload as the text.
        content = (p + "\n").encode()
        answer = drafter.client.post(
            f"/instruments/{slug}/revise",
            data={"csrf_token": drafter.csrf, "note": p},
            files={"file": (p, content, "text/html")},
        )
        assert answer.status_code in (303, 422), answer.text[:300]
        if answer.status_code == 422:
            assert "Traceback" not in answer.text
            t.revise(slug, content=content, filename="fallback.txt", as_user="drafter")
            planted.files[i] = ("fallback.txt", content)
        else:
            stored = t.history(slug)[-1].payload or {}
            planted.files[i] = (str(stored["filename"]), content)
        t.revise(slug, content=b"second\n" + content, filename="second.txt", as_user="drafter")
        answer = delegate.post(
            f"/instruments/{slug}/position", {"party": "KZ", "stance": "reserve", "comment": p}
        )
        if "\x00" in p:
            assert answer.status_code == 422
        else:
            assert answer.status_code == 303, answer.text[:300]
            planted.comments[i] = p
        # The service, given the raw name (no browser encoding): its last part is kept,
        # refused unless one line.
        if not one_line_ok(p.replace("\\", "/").rsplit("/", 1)[-1]):
            _refused_unchanged(
                url,
                planted,
                lambda slug=slug, p=p: t.revise(slug, content=b"x", filename=p, as_user="drafter"),
            )
    return planted


@pytest.fixture
def hostile(world: Tracker, db_url: str) -> tuple[Site, Planted]:
    site = make_site(world)
    return site, plant(site, db_url)


def test_payloads_are_escaped_in_every_page_and_download(hostile: tuple[Site, Planted]) -> None:
    site, planted = hostile
    browser = site.browser("coord")
    api = site.api("coord")
    checks = pages = downloads = 0
    home = browser.get("/")
    assert home.status_code == 200
    checks += assert_escaped(home.text, list(planted.titles.values()), "dashboard")
    pages += 1
    for path in ("/reminders", "/workflows/convention/diagram.svg"):
        answer = browser.get(path)
        assert answer.status_code == 200 and not live_markup(answer.text), path
        pages += 1
    parties = list(planted.parties.values())
    for i in range(len(ALL_PAYLOADS)):
        slug = f"h{i}"
        page = browser.get(f"/instruments/{slug}")
        assert page.status_code == 200, page.text[:300]
        expected = [planted.files[i][0], *parties]
        expected += [planted.titles[i]] if i in planted.titles else []
        expected += [planted.comments[i]] if i in planted.comments else []
        checks += assert_escaped(page.text, expected, f"instrument {slug}")
        diff = browser.get(f"/instruments/{slug}/diff", params={"a": 1, "b": 2})
        # A draft holding NUL, or named as not text (evil.exe), is refused beside the form.
        assert diff.status_code in (200, 422), slug
        assert not live_markup(diff.text), f"diff {slug}"
        if "<" in ALL_PAYLOADS[i] and "\x00" not in ALL_PAYLOADS[i]:
            assert ALL_PAYLOADS[i] not in diff.text
        pages += 2
        if i in planted.summits:
            summit = browser.get(f"/summits/hs{i}")
            assert summit.status_code == 200
            checks += assert_escaped(summit.text, [planted.summits[i]], f"summit hs{i}")
            pages += 1
        name, content = planted.files[i]
        for client, url in (
            (browser.client, f"/instruments/{slug}/revisions/1"),
            (api, f"/api/v1/instruments/{slug}/revisions/1"),
        ):
            check_download(client.get(url), name, content)
            downloads += 1
    print(
        f"\npayloads: {len(ALL_PAYLOADS)}; pages checked: {pages}; values seen escaped: "
        f"{checks}; downloads checked: {downloads}; refusals unchanged: {planted.refused}"
    )


def check_download(answer: httpx.Response, name: str, content: bytes) -> None:
    assert answer.status_code == 200
    assert answer.content == content
    headers = answer.headers
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-content-type-options"] == "nosniff"
    assert SAFE_NAME.match(headers["content-disposition"]), headers["content-disposition"]
    for key, value in headers.items():
        assert "\r" not in value and "\n" not in value, key
    star = headers["content-disposition"].split("filename*=UTF-8''", 1)[1]
    assert unquote(star) == name


def test_uploads_are_stored_by_content_hash_in_the_database(
    hostile: tuple[Site, Planted], db_url: str, tmp_path: Any
) -> None:
    """The draft is a row (bytes and sha256); the user's file name is metadata only:
    nothing is written to the file system under it."""
    site, planted = hostile
    revision = METADATA.tables["revision"]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(revision.c.sha256, revision.c.content, revision.c.filename, revision.c.size)
        ).all()
    engine.dispose()
    assert len(rows) == 2 * len(ALL_PAYLOADS)
    checked = 0
    for sha, content, _name, size in rows:
        assert sha == hashlib.sha256(content).hexdigest() and size == len(content)
        checked += 1
    for i, (name, content) in planted.files.items():
        events = [e for e in site.tracker.history(f"h{i}") if e.kind == "revision"]
        first = events[0].payload or {}
        assert first["sha256"] == hashlib.sha256(content).hexdigest()
        assert first["filename"] == name
        assert site.tracker.revision_content(f"h{i}", 1) == (name, content)
        checked += 1
    for p in ALL_PAYLOADS:  # no upload's name became a path
        for part in re.split(r"[\\/]", p):
            if part and part not in {".", ".."} and "\x00" not in part:
                assert not (tmp_path / part).exists()
    print(f"\nrevisions checked by sha256: {checked}")


def test_reports_show_payloads_escaped_in_html_markdown_and_json(
    hostile: tuple[Site, Planted],
) -> None:
    site, planted = hostile
    browser = site.browser("sec")
    titles = list(planted.titles.values())
    html = browser.get("/reports/status", params={"format": "html"})
    assert html.status_code == 200
    checks = assert_escaped(html.text, titles, "report html")
    md = browser.get("/reports/status", params={"format": "md"})
    assert md.status_code == 200
    rendered = MarkdownIt("commonmark").render(md.text)  # raw HTML passes through
    assert not live_markup(rendered), "report md"
    shown = shown_text(rendered)
    for title in titles:
        assert " ".join(title.split()) in shown, title
        if "<" in title:
            assert title not in md.text
        checks += 1
    data = browser.get("/reports/status", params={"format": "json"})
    assert data.status_code == 200
    found = json.dumps(data.json(), ensure_ascii=False)
    for title in titles:
        assert json.dumps(title, ensure_ascii=False)[1:-1] in found
        checks += 1
    print(f"\nreport values seen escaped (html, md, json): {checks}")
