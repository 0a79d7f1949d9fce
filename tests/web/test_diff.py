"""Two drafts compared line by line: the page (``/instruments/{slug}/diff``), the API
(``/api/v1/instruments/{slug}/diff``) and the service under them; drafts that are not text,
or too large, refused with the reason and nothing changed."""

from __future__ import annotations

import difflib
import re
from html import unescape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web_support import Site, draft

from doctrack.services.revision_diff import (
    MAX_DIFF_BYTES,
    MAX_DIFF_LINES,
    RevisionDiff,
    Side,
    line_diff,
    split_lines,
)

FIRST = "Article 1\nThe Parties agree.\nArticle 2\nScope.\nArticle 3\nOld text here.\n"
SECOND = (
    "Article 1\nThe Parties agree <b>firmly</b>.\nArticle 2\nScope.\nArticle 3\nNew text.\n"
    "Article 4\n"
)
UNIFIED = [
    "--- draft.txt (revision 1)",
    "+++ draft.txt (revision 2)",
    "@@ -1,6 +1,7 @@",
    " Article 1",
    "-The Parties agree.",
    "+The Parties agree <b>firmly</b>.",
    " Article 2",
    " Scope.",
    " Article 3",
    "-Old text here.",
    "+New text.",
    "+Article 4",
]


def two_drafts(site: Site) -> None:
    draft(site.tracker, "conv", FIRST)
    draft(site.tracker, "conv", SECOND)


def rows(html: str, kind: str) -> list[tuple[str, str, str, str]]:
    """The diff table's rows of ``kind``: (old number, new number, sign, text)."""
    found = re.findall(
        rf'<tr class="{kind}"><td class="num">(.*?)</td><td class="num">(.*?)</td>'
        r'<td class="sign">(.)(?:<span class="diff-word">.*?</span>)?</td>'
        r'<td class="text">(.*?)</td></tr>',
        html,
    )
    return [(o, n, s, unescape(t)) for o, n, s, t in found]


def refusal(html: str) -> str:
    [found] = re.findall(r'<p class="refusal" role="alert">(.*?)</p>', html, re.DOTALL)
    return unescape(found)


# -- the page -----------------------------------------------------------------------------


def test_the_page_shows_exactly_the_lines_added_and_removed(site: Site) -> None:
    two_drafts(site)
    page = site.browser("kz").get("/instruments/conv/diff?a=1&b=2")
    assert page.status_code == 200
    assert rows(page.text, "removed") == [
        ("2", "", "-", "The Parties agree."),
        ("6", "", "-", "Old text here."),
    ]
    assert rows(page.text, "added") == [
        ("", "2", "+", "The Parties agree <b>firmly</b>."),
        ("", "6", "+", "New text."),
        ("", "7", "+", "Article 4"),
    ]
    assert [r[3] for r in rows(page.text, "context")] == [
        "Article 1",
        "Article 2",
        "Scope.",
        "Article 3",
    ]
    assert "<b>firmly</b>" not in page.text  # the draft's text stays text
    assert '<span class="count-added">+3</span>' in page.text
    assert '<span class="count-removed">-2</span>' in page.text
    assert '<th colspan="4" scope="rowgroup">@@ -1,6 +1,7 @@</th>' in page.text
    assert " style=" not in page.text


def test_without_numbers_the_page_compares_the_previous_draft_with_the_latest(
    site: Site,
) -> None:
    two_drafts(site)
    draft(site.tracker, "conv", SECOND + "Article 5\n")
    page = site.browser("kz").get("/instruments/conv/diff").text
    assert rows(page, "added") == [("", "8", "+", "Article 5")]
    assert rows(page, "removed") == []
    assert '<option value="2" selected>2: draft.txt</option>' in page
    assert '<option value="3" selected>3: draft.txt</option>' in page


def test_the_instrument_page_offers_the_previous_and_the_latest_draft(site: Site) -> None:
    draft(site.tracker, "conv", FIRST)
    page = site.browser("kz").get("/instruments/conv").text
    assert 'action="/instruments/conv/diff"' not in page  # one draft: nothing to compare
    draft(site.tracker, "conv", SECOND)
    page = site.browser("kz").get("/instruments/conv").text
    [form] = re.findall(
        r'<form method="get" action="/instruments/conv/diff".*?</form>', page, re.DOTALL
    )
    [a] = re.findall(r'<select name="a">(.*?)</select>', form, re.DOTALL)
    [b] = re.findall(r'<select name="b">(.*?)</select>', form, re.DOTALL)
    assert re.findall(r'value="(\d+)" selected', a) == ["1"]
    assert re.findall(r'value="(\d+)" selected', b) == ["2"]


def test_the_same_revision_twice_is_no_change(site: Site) -> None:
    two_drafts(site)
    page = site.browser("kz").get("/instruments/conv/diff?a=2&b=2")
    assert page.status_code == 200
    assert "no line changed" in page.text
    assert rows(page.text, "added") == rows(page.text, "removed") == []


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        (
            "scan.pdf",
            b"%PDF-1.7 text-looking bytes",
            "('scan.pdf') is application/pdf, not text",
        ),
        (
            "draft.txt",
            b"Article 1\x00\x01",
            "('draft.txt') is binary, not text",
        ),
        (
            "draft.txt",
            "Статья 1".encode("cp1251"),
            "('draft.txt') is not UTF-8 text (byte 0)",
        ),
    ],
    ids=["pdf", "nul", "cp1251"],
)
def test_a_draft_that_is_not_text_is_refused_with_the_reason(
    site: Site, filename: str, content: bytes, reason: str
) -> None:
    reason = f"revision 2 of 'conv' {reason}: only text drafts are compared"
    draft(site.tracker, "conv", FIRST)
    site.tracker.revise("conv", content=content, filename=filename, as_user="drafter")
    version = site.tracker.show("conv").version
    page = site.browser("coord").get("/instruments/conv/diff?a=1&b=2")
    assert page.status_code == 422
    assert refusal(page.text) == f"Refused: {reason}"
    assert rows(page.text, "added") == []
    response = site.api("coord").get("/api/v1/instruments/conv/diff?a=1&b=2")
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "invalid", "message": reason}}
    assert site.tracker.show("conv").version == version  # nothing changed


def test_drafts_too_large_to_compare_are_refused(site: Site) -> None:
    draft(site.tracker, "conv", FIRST)
    big = b"x" * (MAX_DIFF_BYTES + 1)
    site.tracker.revise("conv", content=big, filename="big.txt", as_user="drafter")
    long = "line\n" * (MAX_DIFF_LINES + 1)
    site.tracker.revise("conv", content=long.encode(), filename="long.txt", as_user="drafter")
    browser = site.browser("coord")
    page = browser.get("/instruments/conv/diff?a=1&b=2")
    assert page.status_code == 422
    assert refusal(page.text) == (
        f"Refused: revision 2 of 'conv' ('big.txt') has {MAX_DIFF_BYTES + 1} bytes: "
        "drafts over 2 MiB are not compared; download them instead"
    )
    page = browser.get("/instruments/conv/diff?a=1&b=3")
    assert page.status_code == 422
    assert refusal(page.text) == (
        "Refused: revision 3 of 'conv' ('long.txt') has 5001 lines: "
        "drafts over 5000 lines are not compared; download them instead"
    )


def test_unknown_revisions_and_instruments_are_404(site: Site) -> None:
    two_drafts(site)
    browser = site.browser("kz")
    page = browser.get("/instruments/conv/diff?a=1&b=9")
    assert page.status_code == 404
    assert refusal(page.text) == "Refused: no revision 'conv#9'"
    assert browser.get("/instruments/nope/diff?a=1&b=2").status_code == 404
    assert browser.get("/instruments/conv/diff?a=0&b=2").status_code == 422
    api = site.api("kz")
    missing = api.get("/api/v1/instruments/conv/diff?a=9&b=1")
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "no revision 'conv#9'"}
    assert api.get("/api/v1/instruments/nope/diff").status_code == 404


def test_an_instrument_without_a_draft_has_nothing_to_compare(site: Site) -> None:
    page = site.browser("kz").get("/instruments/conv/diff")
    assert page.status_code == 404
    assert refusal(page.text) == "Refused: no draft of 'conv'"


def test_strangers_are_sent_to_sign_in_or_refused(site: Site) -> None:
    two_drafts(site)
    page = site.client().get("/instruments/conv/diff?a=1&b=2")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Finstruments%2Fconv%2Fdiff%3Fa%3D1%26b%3D2"
    api = site.client().get("/api/v1/instruments/conv/diff?a=1&b=2")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "unauthenticated"


# -- the API ------------------------------------------------------------------------------


def test_the_api_answers_the_unified_diff_and_the_counts(site: Site) -> None:
    two_drafts(site)
    response = site.api("cn").get("/api/v1/instruments/conv/diff?a=1&b=2")
    assert response.status_code == 200
    assert response.json() == {
        "slug": "conv",
        "a": {"number": 1, "filename": "draft.txt", "lines": 6},
        "b": {"number": 2, "filename": "draft.txt", "lines": 7},
        "identical": False,
        "added": 3,
        "removed": 2,
        "unified": UNIFIED,
    }
    same = site.api("cn").get("/api/v1/instruments/conv/diff?a=1&b=1").json()
    assert (same["identical"], same["added"], same["removed"], same["unified"]) == (
        True,
        0,
        0,
        [],
    )
    backwards = site.api("cn").get("/api/v1/instruments/conv/diff?a=2&b=1").json()
    assert (backwards["added"], backwards["removed"]) == (2, 3)


def test_the_api_diff_is_in_the_openapi_schema_behind_a_token(site: Site) -> None:
    schema = site.api("kz").get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/instruments/{slug}/diff"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"slug", "a", "b"}
    assert operation["security"] == [{"HTTPBearer": []}]
    assert operation["summary"] == "What changed between two drafts (line diff)"


# -- the service --------------------------------------------------------------------------


def test_lines_are_split_where_an_editor_splits_them() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("a\n\n") == ["a", ""]
    assert split_lines("a\u2028b\x0cc\n") == ["a\u2028b\x0cc"]
    assert split_lines("") == []


lines = st.lists(st.sampled_from(["a", "b", "c", "", "d e"]), max_size=30)


@given(old=lines, new=lines)
@settings(max_examples=200, deadline=None, database=None)
def test_the_unified_diff_is_difflibs_own(old: list[str], new: list[str]) -> None:
    hunks, added, removed = line_diff(old, new)
    diff = RevisionDiff(
        slug="x",
        a=Side(number=1, filename="a.txt", lines=len(old)),
        b=Side(number=2, filename="b.txt", lines=len(new)),
        hunks=hunks,
        added=added,
        removed=removed,
    )
    expected = list(difflib.unified_diff(old, new, lineterm=""))
    got = diff.unified()
    assert got[2:] == expected[2:]
    assert bool(got) == bool(expected)
    assert added == sum(1 for line in expected[2:] if line.startswith("+"))
    assert removed == sum(1 for line in expected[2:] if line.startswith("-"))
