"""A new language is a catalogue away: the report in Chinese (the SCO's other working
language) from a catalogue made as ``scripts/i18n --init zh reports`` makes it, with two
strings translated: those come out in Chinese, the rest stays English, dates and plurals
follow the Chinese locale."""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po
from report_support import AS_OF, CJK_TITLE, DAYS, TEMPLATES

from doctrack import i18n
from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.services.tracking import Tracker

_METHOD = [("**.html", "jinja2"), ("**.md", "jinja2"), ("**.txt", "jinja2")]
_OPTIONS = {
    pattern: {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for pattern, _ in _METHOD
}
TRANSLATED = {
    "Status of instruments": "文件状况",
    ("%(num)d day to the summit.", "%(num)d days to the summit."): ("距峰会还有%(num)d天。",),
}


def chinese_templates(tmp_path: Path) -> Path:
    """A copy of the templates with a zh catalogue of the reports' messages."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    catalog = Catalog(locale="zh", domain="reports")
    for _file, _line, message, _comments, _context in extract_from_dir(
        TEMPLATES / "reports", _METHOD, options_map=_OPTIONS
    ):
        catalog.add(message, TRANSLATED.get(message, ""))
    path = i18n.catalogue_path(templates, "zh", "reports")
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:
        write_po(fh, catalog)
    return templates


def test_a_chinese_catalogue_makes_a_chinese_report(season: Tracker, tmp_path: Path) -> None:
    templates = chinese_templates(tmp_path)
    assert "zh" in i18n.languages(templates, "reports")
    writer = ReportWriter(templates, "zh")
    reports = StatusReports(season.db, season.workflows, season.clock)
    with reports.open(summit="t16", as_of=AS_OF, days=DAYS) as report:
        html = writer.html(report)
    assert "文件状况" in html  # translated
    assert "距峰会还有34天。" in html  # 20 May -> 23 June, Chinese has one plural form
    assert "Positions on the current draft" in html  # not translated yet: English
    assert "2016年6月23日" in html  # the summit's first day, in the Chinese locale
    assert CJK_TITLE in html
