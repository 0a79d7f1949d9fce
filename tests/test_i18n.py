"""The catalogues: complete, compiled in memory, refused clearly when broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from doctrack import i18n
from doctrack.errors import UsageError
from helpers import ROOT, WORKFLOWS

TEMPLATES = ROOT / "templates"
_METHOD = [("**.html", "jinja2"), ("**.md", "jinja2"), ("**.txt", "jinja2")]
_OPTIONS = {
    pattern: {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for pattern, _ in _METHOD
}


def extracted(domain: str) -> set[str]:
    """The msgids of the templates of ``domain``, as scripts/i18n extracts them."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        TEMPLATES / domain, _METHOD, options_map=_OPTIONS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


CATALOGUES = sorted(
    (lang, domain)
    for domain in i18n.DOMAINS
    for lang in i18n.languages(TEMPLATES, domain)
    if lang != i18n.SOURCE_LANGUAGE
)


def test_russian_exists_for_reports() -> None:
    assert ("ru", "reports") in CATALOGUES


@pytest.mark.parametrize(("lang", "domain"), CATALOGUES)
def test_catalogue_is_complete(lang: str, domain: str) -> None:
    path = i18n.catalogue_path(TEMPLATES, lang, domain)
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    wanted = extracted(domain)
    assert wanted, f"no strings found in templates/{domain}"
    messages = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog if m.id}
    missing = sorted(wanted - set(messages))
    assert not missing, f"{path}: run scripts/i18n {domain}; missing {missing}"
    for msgid in sorted(wanted):
        m = messages[msgid]
        assert "fuzzy" not in m.flags, f"{path}: fuzzy translation of {msgid!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"{path}: {msgid!r} is not translated"
        assert len(strings) == (catalog.num_plurals if isinstance(m.id, tuple) else 1)
    # Babel's checkers: the same %(placeholders)s in every translation as in the source.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems


def test_workflow_labels_are_translated_in_reports() -> None:
    labels = set()
    for path in WORKFLOWS.glob("*.yaml"):
        labels |= {s["label"] for s in yaml.safe_load(path.read_text())["states"].values()}
    trans = i18n.translations(TEMPLATES, "reports", "ru")
    untranslated = sorted(label for label in labels if trans.gettext(label) == label)
    assert not untranslated


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "1 день"), (2, "2 дня"), (5, "5 дней"), (11, "11 дней"), (21, "21 день"), (22, "22 дня")],
)
def test_russian_plural_forms(n: int, text: str) -> None:
    trans = i18n.translations(TEMPLATES, "reports", "ru")
    said = trans.ngettext("%(num)d day to the summit.", "%(num)d days to the summit.", n)
    assert said % {"num": n} == f"До саммита {text}."


def test_formats_follow_the_locale() -> None:
    from datetime import UTC, date, datetime

    ru = i18n.Formats("ru", "Asia/Tashkent")
    assert ru.day(date(2016, 6, 23)) == "23 июня 2016\u202fг."
    assert ru.when(datetime(2016, 6, 23, 4, 0, tzinfo=UTC)) == "23 июня 2016\u202fг., 09:00"
    en = i18n.Formats("en", "Asia/Tashkent")
    assert en.day(date(2016, 6, 23)) == "23 June 2016"  # en_GB style, not en_US


def test_unknown_language(tmp_path: Path) -> None:
    assert i18n.languages(tmp_path, "reports") == ("en",)
    with pytest.raises(
        UsageError, match=r"^no reports translation for language 'ru' \(available: en\)$"
    ):
        i18n.translations(tmp_path, "reports", "ru")


def test_broken_catalogue_is_one_clear_error(tmp_path: Path) -> None:
    path = i18n.catalogue_path(tmp_path, "ru", "reports")
    path.parent.mkdir(parents=True)
    path.write_text('msgid "a"\nmsgstr "b"\nthis is not po\n', encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        i18n.translations(tmp_path, "reports", "ru")
    # The third line is the bad one (Babel counts from 0 and would say "on 2").
    assert str(caught.value) == (
        f"{path}:3: cannot read the ru catalogue: Unknown or misformatted keyword"
    )


def test_an_edited_catalogue_is_picked_up(tmp_path: Path) -> None:
    path = i18n.catalogue_path(tmp_path, "ru", "reports")
    path.parent.mkdir(parents=True)
    path.write_text('msgid "late"\nmsgstr "поздно"\n', encoding="utf-8")
    assert i18n.translations(tmp_path, "reports", "ru").gettext("late") == "поздно"
    path.write_text('msgid "late"\nmsgstr "опоздание"\n', encoding="utf-8")
    import os

    os.utime(path, ns=(1, 10**18))  # a new mtime, whatever the file system's resolution
    assert i18n.translations(tmp_path, "reports", "ru").gettext("late") == "опоздание"
