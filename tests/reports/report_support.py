"""A small season of instruments for the rendered-report tests (browser and PDF).

:func:`populate` adds to the ``world`` fixture (tests/conftest.py) six instruments at summit
``t16`` (Tashkent, 23-24 June 2016) and moves the clock to 20 May 2016. As of that day,
in Tashkent (a convention must be agreed by 9 May, a programme by 24 May and approved by
13 June; the at-risk window is 14 days):

- ``xss-convention``: a convention whose title is an HTML/JS payload, in expert review with
  draft 1; KZ approves, UZ reserves, CN objects with an HTML comment: **late**.
- ``ru-convention``: a convention with a Cyrillic title, in drafting: **late**.
- ``cjk-convention``: a convention with a Chinese title, in drafting: **late**.
- ``strategy``: a programme agreed on 10 May: **on track** (next: approved by 13 June).
- ``action-plan``: a programme in drafting, depends on ``strategy``: **at risk** (24 May).
- ``old-plan``: a programme withdrawn: **closed**.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from doctrack.clock import FixedClock
from doctrack.services.emails import templates_folder
from doctrack.services.report_render import ReportWriter
from doctrack.services.status import StatusReports
from doctrack.services.tracking import Tracker
from helpers import ROOT, approve_all

TEMPLATES = ROOT / "templates"
TASHKENT = ZoneInfo("Asia/Tashkent")

#: A title that runs script if the report ever writes it as markup.
XSS_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
#: A position comment with markup, an event handler and a javascript: link.
HTML_COMMENT = (
    '<b onmouseover="window.__xss=3">Not yet</b> & '
    '<a href="javascript:window.__xss=4">Article 9</a>'
)
RU_TITLE = "Конвенция Шанхайской организации сотрудничества против экстремизма"
CJK_TITLE = "上海合作组织反恐公约"
#: The report's moment and where "what changed" starts (it covers the whole season).
AS_OF = date(2016, 5, 20)
DAYS = 90
#: slug, title, workflow, lead party, dependencies.
INSTRUMENTS: tuple[tuple[str, str, str, str | None, tuple[str, ...]], ...] = (
    ("xss-convention", XSS_TITLE, "convention", "KZ", ()),
    ("ru-convention", RU_TITLE, "convention", "RU", ()),
    ("cjk-convention", CJK_TITLE, "convention", "CN", ()),
    ("strategy", "Anti-narcotics strategy 2017-2022", "programme", "RU", ()),
    ("action-plan", "Action plan of the strategy", "programme", "TJ", ("strategy",)),
    ("old-plan", "Plan of measures 2013-2016", "programme", None, ()),
)


def _at(text: str) -> datetime:
    """Tashkent local time ``YYYY-MM-DD HH:MM`` as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=TASHKENT)


def populate(t: Tracker) -> Tracker:
    """Add the season of the module docstring to the ``world`` tracker; returns it."""
    clock = t.clock
    assert isinstance(clock, FixedClock)
    for slug, title, workflow, lead, depends_on in INSTRUMENTS:
        t.add_instrument(
            slug,
            title=title,
            workflow=workflow,
            summit="t16",
            lead=lead,
            depends_on=depends_on,
            actor="setup",
        )
    t.advance("old-plan", "withdraw", as_user="sec", comment="merged into the strategy")

    clock.set(_at("2016-05-10 10:00"))
    t.revise("strategy", content=b"draft strategy", filename="strategy.txt", as_user="drafter")
    t.advance("strategy", "submit", as_user="drafter")
    approve_all(t, "strategy")
    t.advance("strategy", "agree", as_user="coord", comment="agreed by the experts")

    clock.set(_at("2016-05-15 10:00"))
    t.revise("xss-convention", content=b"draft 1", filename="draft-1.txt", as_user="drafter")
    t.advance("xss-convention", "submit", as_user="drafter")
    t.record_position("xss-convention", "KZ", "approve", as_user="kz")
    t.record_position("xss-convention", "UZ", "reserve", as_user="uz", comment="Article 9")
    t.record_position("xss-convention", "CN", "object", as_user="cn", comment=HTML_COMMENT)

    clock.set(_at("2016-05-20 09:00"))
    return t


def render_html(t: Tracker, lang: str, out: Path) -> Path:
    """The status report of ``t16`` as of :data:`AS_OF`, as HTML in ``lang``, into ``out``."""
    reports = StatusReports(t.db, t.workflows, t.clock)
    writer = ReportWriter(templates_folder(str(TEMPLATES)), lang)
    with (
        reports.open(summit="t16", as_of=AS_OF, days=DAYS) as report,
        out.open("w", encoding="utf-8", newline="\n") as fh,
    ):
        writer.write(report, "html", fh)
    return out


def html_string(t: Tracker, lang: str) -> str:
    """The same report as one string (what the CLI hands to WeasyPrint)."""
    reports = StatusReports(t.db, t.workflows, t.clock)
    writer = ReportWriter(templates_folder(str(TEMPLATES)), lang)
    with reports.open(summit="t16", as_of=AS_OF, days=DAYS) as report:
        return writer.html(report)
