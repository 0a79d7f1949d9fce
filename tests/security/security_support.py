"""Helpers of the security tests: the payload corpus, a checker for live markup, and
counters whose figures the tests print for SECURITY.md."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).parent
PAYLOADS: dict[str, list[str]] = {
    k: v for k, v in json.loads((HERE / "payloads.json").read_text("utf-8")).items() if k[0] != "_"
}
ALL_PAYLOADS: list[str] = [p for group in PAYLOADS.values() for p in group]
#: What a one-line field refuses: C0 controls (CR, LF, NUL...) and DEL.
_ONE_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f]")
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
_FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "form"}


def one_line_ok(value: str) -> bool:
    """Whether a one-line field (a title, a name, a file name) should accept ``value``."""
    return bool(value.strip()) and not _ONE_LINE_REFUSED.search(value)


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.attr_values: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.problems.append(f"<script> without a /static/ src: {attrs}")
        if tag in _FORBIDDEN_TAGS and not (tag == "form" and _own_form(values)):
            self.problems.append(f"<{tag}> {attrs}")
        if tag == "meta" and "http-equiv" in values:
            self.problems.append(f"<meta http-equiv> {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in _URL_ATTRS and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")
            if value:
                self.attr_values.append(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _own_form(attrs: dict[str, str | None]) -> bool:
    action = attrs.get("action")
    return action is None or action.startswith("/") or action == ""


def live_markup(html: str) -> list[str]:
    """What in ``html`` could run or leave the page: scripts not from /static/, event
    handlers, javascript: URLs, frames, forms to other sites, <base>, <meta>."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.problems


def shown_text(html: str) -> str:
    """The page's text and attribute values, entities decoded, whitespace runs as one space."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.text + parser.attr_values).split())


def assert_escaped(html: str, payloads: list[str], where: str) -> int:
    """``html`` has no live markup, shows each of ``payloads`` as text and holds none of
    them raw where it has a ``<``. Returns the number of payloads checked."""
    problems = live_markup(html)
    assert not problems, f"{where}: live markup {problems[:3]}"
    text = shown_text(html)
    for p in payloads:
        shown = " ".join(p.split())
        assert shown in text, f"{where}: {p!r} is not shown"
        if "<" in p:
            assert p not in html, f"{where}: {p!r} appears unescaped"
    return len(payloads)
