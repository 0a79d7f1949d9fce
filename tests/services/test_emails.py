"""Reminder emails: what they say, how they are built, where the templates come from."""

from __future__ import annotations

import copy
import email
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses
from pathlib import Path

import pytest

from doctrack.errors import UsageError
from doctrack.resources import data_dir
from doctrack.services.emails import (
    DeadlineMail,
    MailRenderer,
    RenderedMessage,
    SummitMail,
    SummitMailItem,
    days_left,
    days_until,
    local,
    templates_folder,
)

TZ = "Asia/Tashkent"
#: 9 May 2016, 00:00 in Tashkent: "Agreed ad referendum" 45 days before 23 June.
DUE = datetime(2016, 5, 8, 19, 0, tzinfo=UTC)
#: 25 April 2016, 09:00 in Tashkent: the 14-day reminder's send time.
SEND_AT = datetime(2016, 4, 25, 4, 0, tzinfo=UTC)
DUE_SHOWN = "Mon 9 May 2016, 00:00 (Asia/Tashkent, UTC+05:00)"
BASE_URL = "http://doctrack.example.org:8000"
LATE_LINE = (
    "This reminder was due on Mon 25 April 2016, 09:00 (Asia/Tashkent, UTC+05:00) and is sent late."
)


def deadline_mail(**changes: object) -> DeadlineMail:
    mail = DeadlineMail(
        message_id="<doctrack.r12.ab12cd@localhost>",
        to_email="coord@example.org",
        to_name="Chief Coordinator",
        instrument_slug="convention-extremism",
        instrument_title="Convention on countering extremism",
        state_label="Expert review",
        milestone_label="Agreed ad referendum",
        due=DUE,
        tz=TZ,
        summit_title="Council of Heads of State",
        summit_city="Tashkent",
        summit_starts=date(2016, 6, 23),
        days_before=14,
        now=SEND_AT,
        send_at=SEND_AT,
        late=False,
        missing_parties=("CN", "RU"),
        dependencies_not_adopted=(("anti-narcotics-strategy", "Drafting"),),
    )
    return replace(mail, **changes)  # type: ignore[arg-type]


def summit_mail(**changes: object) -> SummitMail:
    now = datetime(2016, 5, 24, 4, 0, tzinfo=UTC)  # 30 days before 23 June, 09:00 there
    mail = SummitMail(
        message_id="<doctrack.s7.ef34@localhost>",
        to_email="sec@example.org",
        to_name="Secretary",
        summit_slug="t16",
        summit_title="Council of Heads of State",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz=TZ,
        days_before=30,
        now=now,
        send_at=now,
        late=False,
        instruments=(
            SummitMailItem(
                slug="convention-extremism",
                title="Convention on countering extremism",
                state_label="Expert review",
                next_milestone_label="Agreed ad referendum",
                next_due=DUE,
                next_status="missed",
            ),
            SummitMailItem(
                slug="action-plan",
                title="Action Plan 2017-2022",
                state_label="Agreed",
                next_milestone_label="Approved by ministers",
                next_due=datetime(2016, 6, 8, 19, 0, tzinfo=UTC),
                next_status="pending",
            ),
            SummitMailItem(
                slug="crime-plan",
                title="Plan of measures 2016-2020",
                state_label="Drafting",
                next_milestone_label=None,
                next_due=None,
                next_status=None,
            ),
        ),
    )
    return replace(mail, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer(
        data_dir("templates"), base_url=BASE_URL + "/", mail_from="Doctrack <doctrack@example.org>"
    )


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def flat(text: str) -> str:
    """Text with its line breaks as spaces, for phrases a template may wrap."""
    return " ".join(text.split())


def as_sent(msg: EmailMessage) -> bytes:
    """The bytes smtplib.send_message writes for ``msg``."""
    buffer = io.BytesIO()
    BytesGenerator(buffer).flatten(copy.copy(msg), linesep="\r\n")
    return buffer.getvalue()


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


# -- deadline reminders ----------------------------------------------------------------------


def test_deadline_mail_says_what_when_and_what_is_missing(renderer: MailRenderer) -> None:
    msg = renderer.deadline(deadline_mail())
    text, html = bodies(msg)
    for body in (text, flat(html)):
        assert "Convention on countering extremism" in body
        assert "convention-extremism" in body
        assert "Agreed ad referendum" in body
        assert DUE_SHOWN in body
        assert "in 14 days" in body
        assert "Expert review" in body
        assert "CN, RU" in body
        assert "anti-narcotics-strategy" in body
        assert "Drafting" in body
        assert "is sent late" not in body
    assert f"{BASE_URL}/instruments/convention-extremism" in text
    assert f'href="{BASE_URL}/instruments/convention-extremism"' in html
    assert "dependency anti-narcotics-strategy: not adopted yet (state: Drafting)" in text
    assert msg["Subject"] == (
        "[doctrack] Convention on countering extremism (convention-extremism): "
        '"Agreed ad referendum" due in 14 days'
    )


def test_deadline_mail_headers_and_structure(renderer: MailRenderer) -> None:
    msg = renderer.deadline(deadline_mail())
    assert msg["Message-ID"] == "<doctrack.r12.ab12cd@localhost>"
    assert msg["From"] == "Doctrack <doctrack@example.org>"
    assert msg["To"] == "Chief Coordinator <coord@example.org>"
    assert msg["Date"] == "Mon, 25 Apr 2016 04:00:00 +0000"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # ...and the same once sent and parsed back.
    back = parse(as_sent(msg))
    assert back["Message-ID"] == "<doctrack.r12.ab12cd@localhost>"
    assert back["Subject"] == msg["Subject"]
    assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/html"]
    assert bodies(back)[0].replace("\r\n", "\n") == bodies(msg)[0]


def test_the_late_line_appears_only_when_late(renderer: MailRenderer) -> None:
    later = datetime(2016, 4, 26, 5, 30, tzinfo=UTC)
    text, html = bodies(renderer.deadline(deadline_mail(late=True, now=later)))
    assert LATE_LINE in flat(text)
    assert LATE_LINE in flat(html)
    assert "in 13 days" in text  # counted from the time of sending, not the planned one
    on_time_text, on_time_html = bodies(renderer.deadline(deadline_mail()))
    assert "sent late" not in on_time_text
    assert "sent late" not in on_time_html


@pytest.mark.parametrize(
    ("now", "phrase"),
    [
        (datetime(2016, 5, 7, 4, 0, tzinfo=UTC), "in 2 days"),
        (datetime(2016, 5, 8, 4, 0, tzinfo=UTC), "in 1 day"),  # 8 May, 09:00 there
        (datetime(2016, 5, 7, 19, 30, tzinfo=UTC), "in 1 day"),  # 8 May, 00:30 there
        (datetime(2016, 5, 7, 18, 30, tzinfo=UTC), "in 2 days"),  # 7 May, 23:30 there
        (DUE, "overdue"),
        (datetime(2016, 5, 10, 4, 0, tzinfo=UTC), "overdue"),
    ],
)
def test_days_are_counted_in_the_summit_calendar(
    renderer: MailRenderer, now: datetime, phrase: str
) -> None:
    assert days_until(DUE, now, TZ) == phrase
    text, _ = bodies(renderer.deadline(deadline_mail(now=now)))
    assert f"{DUE_SHOWN}, {phrase}" in text


def test_today_and_the_filters() -> None:
    evening = datetime(2016, 5, 9, 13, 0, tzinfo=UTC)  # 18:00 in Tashkent
    assert days_until(evening, datetime(2016, 5, 9, 4, 0, tzinfo=UTC), TZ) == "today"
    assert days_left(date(2016, 6, 23), SEND_AT, TZ) == 59
    assert days_left(DUE, datetime(2016, 5, 10, 4, 0, tzinfo=UTC), TZ) == -1
    assert local(DUE, TZ) == DUE_SHOWN
    assert local(DUE, TZ, False) == "Mon 9 May 2016, 00:00"
    assert local(DUE, "UTC") == "Sun 8 May 2016, 19:00 (UTC, UTC)"
    assert local(DUE, "America/New_York") == ("Sun 8 May 2016, 15:00 (America/New_York, UTC-04:00)")


def test_html_is_escaped_and_text_is_verbatim(renderer: MailRenderer) -> None:
    title = 'Convention <script>alert("x")</script> & co'
    msg = renderer.deadline(deadline_mail(instrument_title=title))
    text, html = bodies(msg)
    assert title in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html
    assert title in str(msg["Subject"])


def test_subject_stays_on_one_line_whatever_the_title(renderer: MailRenderer) -> None:
    title = "Convention\r\nBcc: victim@example.org\r\n\r\nbody\x0b\x00 end"
    msg = renderer.deadline(deadline_mail(instrument_title=title))
    subject = str(msg["Subject"])
    assert "\n" not in subject
    assert "\r" not in subject
    assert "Convention Bcc: victim@example.org body end" in subject
    back = parse(as_sent(msg))
    assert back["Bcc"] is None
    assert back["Subject"] == subject
    assert list(back.keys()) == list(msg.keys())


def test_long_and_non_ascii_headers_are_encoded_and_folded(renderer: MailRenderer) -> None:
    title = "Конвенция Шанхайской организации сотрудничества по противодействию экстремизму"
    msg = renderer.deadline(
        deadline_mail(instrument_title=title, to_name="Иван Петров", to_email="ivan@example.org")
    )
    data = as_sent(msg)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    back = parse(data)
    assert title in str(back["Subject"])
    assert back["To"].addresses[0].display_name == "Иван Петров"
    text, html = bodies(back)
    assert title in text
    assert title in html
    long_ascii = "A very long title " * 12
    back = parse(as_sent(renderer.deadline(deadline_mail(instrument_title=long_ascii))))
    assert " ".join(long_ascii.split()) in str(back["Subject"])


# -- summit reminders --------------------------------------------------------------------


def test_late_subjects_say_overdue_and_over(renderer: MailRenderer) -> None:
    """A deadline reminder sent after its deadline, a summit reminder after the summit."""
    overdue = renderer.deadline(deadline_mail(now=DUE + timedelta(hours=1), late=True))
    assert overdue["Subject"] == (
        "[doctrack] Convention on countering extremism (convention-extremism): "
        '"Agreed ad referendum" is overdue'
    )
    subjects = {}
    for day in (22, 23, 24, 25):  # the day before, both days of the summit, the day after
        now = datetime(2016, 6, day, 6, 0, tzinfo=UTC)
        subjects[day] = renderer.summit(summit_mail(now=now, send_at=now))["Subject"]
    assert subjects == {
        22: "[doctrack] Council of Heads of State, Tashkent, in 1 day: 3 open instruments",
        23: "[doctrack] Council of Heads of State, Tashkent, in session: 3 open instruments",
        24: "[doctrack] Council of Heads of State, Tashkent, in session: 3 open instruments",
        25: "[doctrack] Council of Heads of State, Tashkent, over: 3 open instruments",
    }


def test_summit_mail_lists_the_open_instruments(renderer: MailRenderer) -> None:
    msg = renderer.summit(summit_mail())
    text, html = bodies(msg)
    assert msg["Message-ID"] == "<doctrack.s7.ef34@localhost>"
    assert msg["Subject"] == (
        "[doctrack] Council of Heads of State, Tashkent, in 30 days: 3 open instruments"
    )
    for body in (flat(text), flat(html)):
        assert "Tashkent" in body
        assert "Thu 23 June 2016" in body
        assert "Fri 24 June 2016" in body
        assert "Convention on countering extremism" in body
        assert "Expert review" in body
        assert "Agreed ad referendum" in body
        assert DUE_SHOWN in body
        assert "MISSED" in body
        assert "Approved by ministers" in body
        assert "Thu 9 June 2016, 00:00 (Asia/Tashkent, UTC+05:00)" in body
        assert "in 16 days" in body
        assert "Plan of measures 2016-2020" in body
        assert "no pending deadline" in body
        assert "sent late" not in body
    assert f"{BASE_URL}/summits/t16" in text
    assert f'href="{BASE_URL}/summits/t16"' in html
    late = renderer.summit(summit_mail(late=True, now=datetime(2016, 5, 25, 4, 0, tzinfo=UTC)))
    late_text, late_html = bodies(late)
    assert (
        "This reminder was due on Tue 24 May 2016, 09:00 (Asia/Tashkent, UTC+05:00) "
        "and is sent late."
    ) in flat(late_text)
    assert "sent late" in late_html


# -- what senders rely on ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"late": True, "to_name": "Иван Петров"},
        {"instrument_title": "From the Council\nFrom here\r\nto there " * 5},
        {"instrument_title": "x" * 300},
        {"message_id": "<" + "a" * 90 + "@localhost>"},
        {"missing_parties": (), "dependencies_not_adopted": ()},
    ],
)
def test_the_wire_form_is_what_send_message_sends(
    renderer: MailRenderer, changes: dict[str, object]
) -> None:
    msg = renderer.deadline(deadline_mail(**changes))
    assert isinstance(msg, RenderedMessage)
    wire = msg.wire()
    if wire is None:  # an unusual header: senders fall back to send_message
        assert len(msg["Message-ID"]) > 70
        return
    mail_from, rcpt_to, data = wire
    assert data == as_sent(msg)
    assert mail_from == getaddresses([msg["From"]])[0][1]
    assert list(rcpt_to) == [a for _, a in getaddresses([msg["To"]])]


def test_a_changed_message_loses_its_wire_form(renderer: MailRenderer) -> None:
    msg = renderer.summit(summit_mail())
    assert isinstance(msg, RenderedMessage)
    assert msg.wire() is not None
    msg["X-Extra"] = "1"
    assert msg.wire() is None
    other = renderer.summit(summit_mail())
    assert isinstance(other, RenderedMessage)
    part = next(iter(other.iter_parts()))
    part.set_payload("changed\n")
    assert other.wire() is None


# -- templates -----------------------------------------------------------------------------


def test_templates_folder_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    assert templates_folder(str(custom)) == custom
    with pytest.raises(UsageError, match="nowhere"):
        templates_folder(str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    assert templates_folder(None) == data_dir("templates")
    (tmp_path / "templates").mkdir()
    assert templates_folder(None) == (tmp_path / "templates").resolve()
    assert templates_folder("") == (tmp_path / "templates").resolve()


def test_packaged_templates_are_complete() -> None:
    folder = data_dir("templates") / "email"
    for kind in ("deadline", "summit"):
        for suffix in ("subject.txt", "txt", "html"):
            assert (folder / f"{kind}.{suffix}").is_file()


def test_a_custom_folder_overrides_the_packaged_templates(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "deadline.subject.txt").write_text(
        "Reminder: {{ instrument_slug }} {{ due|days_until(now, tz) }}\n", encoding="utf-8"
    )
    (tmp_path / "email" / "deadline.txt").write_text(
        "Custom text for {{ to_name }}, {{ due|local(tz, false) }}\n", encoding="utf-8"
    )
    custom = MailRenderer(tmp_path, base_url=BASE_URL, mail_from="doctrack@localhost")
    msg = custom.deadline(deadline_mail())
    text, html = bodies(msg)
    assert msg["Subject"] == "Reminder: convention-extremism in 14 days"
    assert text == "Custom text for Chief Coordinator, Mon 9 May 2016, 00:00\n"
    assert DUE_SHOWN in html  # not overridden: the packaged one


def test_a_broken_template_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "summit.txt").write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"summit\.txt"):
        MailRenderer(tmp_path, base_url=BASE_URL, mail_from="doctrack@localhost")
