"""Hostile text in reminder emails: every header holds one line and only the headers the
renderer writes, the HTML part has no live markup, template syntax is shown, not run.

First the renderer alone, given every payload in every field (CR and LF too, which the
tracker would refuse); then reminders dispatched for real to an SMTP server, on both
backends, for instruments, a summit and a recipient named with the payloads.
"""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default

from security_support import ALL_PAYLOADS, live_markup, one_line_ok, shown_text

from doctrack.services.emails import (
    DeadlineMail,
    MailRenderer,
    SummitMail,
    SummitMailItem,
    one_line,
    templates_folder,
)
from doctrack.services.notify import SmtpSender, message_bytes
from doctrack.services.reminders import Dispatcher
from doctrack.services.tracking import Tracker
from services.tracking_support import set_clock
from smtp_support import SmtpTestServer

HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "content-language",
    "mime-version",
    "content-type",
}
DUE = datetime(2016, 5, 8, 19, 0, tzinfo=UTC)
NOW = datetime(2016, 4, 25, 4, 0, tzinfo=UTC)


def renderer() -> MailRenderer:
    return MailRenderer(
        templates_folder(None), base_url="http://doctrack.test", mail_from="doctrack@example.org"
    )


def deadline(p: str, lang: str) -> DeadlineMail:
    return DeadlineMail(
        message_id="<doctrack.r1.x@localhost>",
        to_email="coord@example.org",
        to_name=p,
        instrument_slug="conv",
        instrument_title=p,
        state_label=p,
        milestone_label=p,
        due=DUE,
        tz="Asia/Tashkent",
        summit_title=p,
        summit_city=p,
        summit_starts=date(2016, 6, 23),
        days_before=14,
        now=NOW,
        send_at=NOW,
        late=False,
        missing_parties=(p,),
        dependencies_not_adopted=(("dep", p),),
        lang=lang,
    )


def summit(p: str, lang: str) -> SummitMail:
    return SummitMail(
        message_id="<doctrack.s1.x@localhost>",
        to_email="sec@example.org",
        to_name=p,
        summit_slug="t16",
        summit_title=p,
        city=p,
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        days_before=30,
        now=NOW,
        send_at=NOW,
        late=False,
        instruments=(
            SummitMailItem(
                slug="conv",
                title=p,
                state_label=p,
                next_milestone_label=p,
                next_due=DUE,
                next_status="pending",
            ),
        ),
        lang=lang,
    )


def check_message(
    raw: bytes, to_email: str, payloads: list[str], *, in_subject: bool = False
) -> None:
    """One header per line, only the renderer's headers, one recipient, the payloads shown
    as text in both parts (and the subject) and as no markup in the HTML part."""
    lines = raw.replace(b"\r\n", b"\n")
    head = lines.split(b"\n\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in head.split("\n") if line[:1] not in " \t"]
    assert sorted(names) == sorted(HEADERS), names
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    for key, value in msg.items():
        assert "\r" not in str(value) and "\n" not in str(value), key
    to = msg["To"].addresses
    assert [a.addr_spec for a in to] == [to_email], to
    assert not msg["To"].defects, msg["To"].defects
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    problems = live_markup(html)
    assert not problems, problems[:3]
    shown = shown_text(html)
    text = " ".join(one_line(text_part.get_content()).split())
    subject = " ".join(str(msg["Subject"]).split())
    for p in payloads:
        visible = " ".join(one_line(p).split())
        assert visible in shown, p
        assert visible in text, p
        assert not in_subject or visible in subject, (p, subject)
        if "<" in p:
            assert p not in html
    if any("{{7*7}}" in p for p in payloads):
        assert "{{7*7}}" in text and "{{7*7}}" in shown


def test_the_renderer_keeps_every_payload_out_of_headers_and_markup() -> None:
    r = renderer()
    rendered = 0
    for lang in r.languages:
        for p in ALL_PAYLOADS:
            for mail in (deadline(p, lang), summit(p, lang)):
                message = r.deadline(mail) if isinstance(mail, DeadlineMail) else r.summit(mail)
                check_message(message_bytes(message), mail.to_email, [p], in_subject=True)
                rendered += 1
    print(
        f"\nemails rendered and checked: {rendered} ({len(ALL_PAYLOADS)} payloads, "
        f"{len(r.languages)} languages, 2 kinds)"
    )


def test_dispatched_reminders_carry_payloads_escaped(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    accepted = [p.strip() for p in ALL_PAYLOADS if one_line_ok(p)]
    world.add_user(
        "hostile",
        email="hostile@example.org",
        roles=["coordinator", "secretary"],
        full_name=accepted[0],
        actor="setup",
    )
    world.add_summit(
        "hs",
        title=accepted[1],
        city=accepted[2],
        starts=date(2016, 6, 23),
        tz="Asia/Tashkent",
        actor="setup",
    )
    titles = [" | ".join(accepted[k : k + 4]) for k in range(0, len(accepted), 4)]
    for i, title in enumerate(titles):
        world.add_instrument(
            f"h{i}", title=title, workflow="convention", summit="hs", lead="KZ", actor="setup"
        )
    d = Dispatcher(
        world.db,
        world.workflows,
        world.clock,
        renderer(),
        SmtpSender(smtp_server.host, smtp_server.port, timeout=10),
        name="security",
    )
    # 30 days before the summit, 09:00 in Tashkent, and a minute: the summit reminder and
    # every instrument's 45-day deadline reminders are due (some late).
    set_clock(world, datetime(2016, 5, 24, 4, 1, tzinfo=UTC))
    report = d.run()
    assert report.sent > 0
    messages = smtp_server.messages
    assert messages
    checked = 0
    for received in messages:
        msg = received.message
        html = msg.get_body(("html",))
        assert html is not None
        content = html.get_content()
        shown = [p for p in accepted if " ".join(p.split()) in shown_text(content)]
        assert shown, "no payload reached the email"
        check_message(received.raw, received.rcpt_tos[0], shown)
        checked += 1
    print(f"\ndispatched emails checked: {checked}; payloads in titles: {len(accepted)}")
