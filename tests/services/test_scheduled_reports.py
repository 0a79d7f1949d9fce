"""Scheduled status reports through the dispatcher and a real SMTP server (aiosmtpd): one
email per period and recipient, in the recipient's language, never twice."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage

import pytest
from tracking_support import add, set_clock

from doctrack.config import Settings
from doctrack.services.reminders import Dispatcher
from doctrack.services.tracking import Tracker
from doctrack.wiring import make_dispatcher
from smtp_support import SmtpTestServer

#: Mondays at 08:00 in the summit's zone; a17 has none (so only t16's report goes out).
SCHEDULE = {"report_schedule": "0 8 * * mon", "report_schedule_by_summit": (("a17", None),)}


def dispatcher(t: Tracker, server: SmtpTestServer, **settings: object) -> Dispatcher:
    values: dict[str, object] = {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "mail_from": "doctrack@example.org",
        **SCHEDULE,
        **settings,
    }
    return make_dispatcher(t, Settings(**values))  # type: ignore[arg-type]


@pytest.fixture
def staffed(world: Tracker) -> Tracker:
    world.add_user(
        "sek", email="sek@example.org", roles=["secretary"], language="ru", actor="setup"
    )
    add(world, "conv", "convention")
    add(world, "plan", "programme")
    set_clock(world, "2016-05-15T12:00:00+05:00")  # Sunday
    return world


REPORT_SUBJECTS = ("Status report:", "Состояние документов:")


def reports(server: SmtpTestServer) -> list[EmailMessage]:
    """The report emails received (deadline reminders fall due along the way too)."""
    return [
        m.message for m in server.messages if str(m.message["Subject"]).startswith(REPORT_SUBJECTS)
    ]


def subjects(server: SmtpTestServer) -> Counter[tuple[str, str]]:
    return Counter((str(m["To"]), str(m["Subject"])) for m in reports(server))


def test_one_report_per_period_and_recipient(staffed: Tracker, smtp_server: SmtpTestServer) -> None:
    d = dispatcher(staffed, smtp_server, report_pdf=False)
    d.run()  # plans Monday's reports (and sends the deadline reminders already due)
    assert reports(smtp_server) == []
    set_clock(staffed, "2016-05-16T07:59:00+05:00")
    d.run()
    assert reports(smtp_server) == []
    set_clock(staffed, "2016-05-16T08:00:30+05:00")
    d.run()
    assert len(reports(smtp_server)) == 2  # sec (English) and sek (Russian)
    set_clock(staffed, "2016-05-16T08:10:00+05:00")
    d.run()
    assert len(reports(smtp_server)) == 2  # the same period again: nothing
    set_clock(staffed, "2016-05-23T08:00:30+05:00")
    d.run()
    assert len(reports(smtp_server)) == 4  # next Monday
    assert subjects(smtp_server) == {
        ("sec <sec@example.org>", "Status report: Council of Heads of State, 16 May 2016"): 1,
        ("sec <sec@example.org>", "Status report: Council of Heads of State, 23 May 2016"): 1,
        (
            "sek <sek@example.org>",
            "Состояние документов: Council of Heads of State, 16 мая 2016\u202fг.",
        ): 1,
        (
            "sek <sek@example.org>",
            "Состояние документов: Council of Heads of State, 23 мая 2016\u202fг.",
        ): 1,
    }


def test_the_email_holds_the_report(staffed: Tracker, smtp_server: SmtpTestServer) -> None:
    d = dispatcher(staffed, smtp_server)
    d.run()
    set_clock(staffed, "2016-05-16T08:00:30+05:00")
    d.run()
    by_to = {str(m["To"]): m for m in reports(smtp_server)}
    english = by_to["sec <sec@example.org>"]
    text = english.get_body(("plain",)).get_content()
    assert text.startswith("# Status of instruments")
    assert "**38 days to the summit.**" in text  # 16 May -> 23 June
    html = english.get_body(("html",)).get_content()
    assert "<svg" in html and "conv" in html
    (pdf,) = [p for p in english.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "status-t16-2016-05-16.pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    russian = by_to["sek <sek@example.org>"].get_body(("plain",)).get_content()
    assert "**До саммита 38 дней.**" in russian


def test_what_changed_starts_at_the_previous_report(
    staffed: Tracker, smtp_server: SmtpTestServer
) -> None:
    d = dispatcher(staffed, smtp_server, report_pdf=False, report_to=("secretary",))
    d.run()
    set_clock(staffed, "2016-05-16T08:00:30+05:00")
    d.run()
    set_clock(staffed, "2016-05-17T10:00:00+05:00")
    staffed.revise("conv", content=b"text", filename="c.txt", as_user="drafter")
    set_clock(staffed, "2016-05-23T08:00:30+05:00")
    d.run()
    latest = [m for m in reports(smtp_server) if "23 May" in str(m["Subject"])]
    text = latest[0].get_body(("plain",)).get_content()
    assert "### What changed since 16 May 2016, 08:00" in text
    assert "draft 1 uploaded \\(c.txt\\)" in text


def test_without_rules_nothing_is_planned(staffed: Tracker, smtp_server: SmtpTestServer) -> None:
    d = dispatcher(staffed, smtp_server, report_schedule=None, report_schedule_by_summit=())
    d.run()
    set_clock(staffed, "2016-05-16T08:00:30+05:00")
    d.run()
    assert reports(smtp_server) == []
