"""Senders against a real SMTP server (aiosmtpd, tests/smtp_support.py) and a real folder."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from doctrack.config import Settings
from doctrack.resources import data_dir
from doctrack.services.emails import DeadlineMail, MailRenderer
from doctrack.services.notify import (
    Delivery,
    OutboxSender,
    SmtpSender,
    eml_name,
    make_sender,
    message_bytes,
)
from smtp_support import SmtpTestServer

RENDERER = MailRenderer(
    data_dir("templates"), base_url="http://127.0.0.1:8000", mail_from="doctrack@example.org"
)
SEND_AT = datetime(2016, 4, 25, 4, 0, tzinfo=UTC)


def rendered(n: int, to: str | None = None) -> EmailMessage:
    return RENDERER.deadline(
        DeadlineMail(
            message_id=f"<doctrack.r{n}.c0ffee@localhost>",
            to_email=to or f"user{n}@example.org",
            to_name=f"User {n}",
            instrument_slug="convention-extremism",
            instrument_title="Convention on countering extremism",
            state_label="Expert review",
            milestone_label="Agreed ad referendum",
            due=datetime(2016, 5, 8, 19, 0, tzinfo=UTC),
            tz="Asia/Tashkent",
            summit_title="Council of Heads of State",
            summit_city="Tashkent",
            summit_starts=date(2016, 6, 23),
            days_before=14,
            now=SEND_AT,
            send_at=SEND_AT,
            late=False,
            missing_parties=("CN",),
            dependencies_not_adopted=(),
        )
    )


def batch(*numbers: int) -> list[Delivery]:
    return [Delivery(n, rendered(n)) for n in numbers]


def sender_for(server: SmtpTestServer, **options: Any) -> SmtpSender:
    return SmtpSender(server.host, server.port, timeout=10.0, **options)


# -- SMTP ------------------------------------------------------------------------------------


def test_a_batch_goes_over_one_connection(smtp_server: SmtpTestServer) -> None:
    outcomes = sender_for(smtp_server).send(batch(1, 2, 3))
    assert [(o.reminder_id, o.sent, o.error) for o in outcomes] == [
        (1, True, None),
        (2, True, None),
        (3, True, None),
    ]
    got = smtp_server.wait_for(3)
    assert smtp_server.connections == 1
    assert {r.connection for r in got} == {1}
    assert [r.message["Message-ID"] for r in got] == [
        "<doctrack.r1.c0ffee@localhost>",
        "<doctrack.r2.c0ffee@localhost>",
        "<doctrack.r3.c0ffee@localhost>",
    ]
    assert [(r.mail_from, r.rcpt_tos) for r in got] == [
        ("doctrack@example.org", (f"user{n}@example.org",)) for n in (1, 2, 3)
    ]
    assert got[0].message["Subject"] == rendered(1)["Subject"]


def test_the_fast_path_sends_the_same_bytes_as_send_message(
    smtp_server: SmtpTestServer,
) -> None:
    message = rendered(7)
    assert sender_for(smtp_server).send([Delivery(7, message)])[0].sent
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10.0) as conn:
        conn.send_message(message)
    first, second = smtp_server.wait_for(2)
    assert first.raw == second.raw == message_bytes(message)
    assert (first.mail_from, first.rcpt_tos) == (second.mail_from, second.rcpt_tos)


def test_any_email_message_can_be_sent(smtp_server: SmtpTestServer) -> None:
    message = EmailMessage()
    message["From"] = "Doctrack <doctrack@example.org>"
    message["To"] = "Иван <ivan@example.org>"
    message["Subject"] = "Привет"
    message["Message-ID"] = "<plain.1@localhost>"
    message.set_content("Текст\n")
    assert sender_for(smtp_server).send([Delivery(1, message)])[0].sent
    (got,) = smtp_server.wait_for(1)
    assert got.message["Subject"] == "Привет"
    assert got.rcpt_tos == ("ivan@example.org",)


def test_a_refused_recipient_fails_permanently_and_the_others_go(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.reply_for("user2@example.org", "550 5.1.1 no such user")
    outcomes = sender_for(smtp_server).send(batch(1, 2, 3))
    assert [(o.sent, o.permanent) for o in outcomes] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert outcomes[1].error == "550 5.1.1 no such user"
    got = smtp_server.wait_for(2)
    assert [r.rcpt_tos for r in got] == [("user1@example.org",), ("user3@example.org",)]
    assert smtp_server.connections == 1


def test_a_recipient_refused_for_now_is_transient(smtp_server: SmtpTestServer) -> None:
    smtp_server.reply_for("user1@example.org", "450 4.2.1 mailbox busy")
    (outcome,) = sender_for(smtp_server).send(batch(1))
    assert (outcome.sent, outcome.permanent, outcome.error) == (
        False,
        False,
        "450 4.2.1 mailbox busy",
    )


def test_a_4xx_on_data_is_transient_and_a_later_send_succeeds(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.fail_next(1, "451 4.3.0 try later")
    sender = sender_for(smtp_server)
    first, second = sender.send(batch(1, 2))
    assert (first.sent, first.permanent, first.error) == (False, False, "451 4.3.0 try later")
    assert second.sent  # the connection stays usable after a refused message
    (retry,) = sender.send(batch(1))
    assert retry.sent
    got = smtp_server.wait_for(2)
    assert [r.message["Message-ID"] for r in got] == [
        "<doctrack.r2.c0ffee@localhost>",
        "<doctrack.r1.c0ffee@localhost>",
    ]


def test_a_5xx_on_data_is_permanent(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next(1, "554 5.6.0 message rejected")
    (outcome,) = sender_for(smtp_server).send(batch(1))
    assert (outcome.sent, outcome.permanent, outcome.error) == (
        False,
        True,
        "554 5.6.0 message rejected",
    )


def test_a_dropped_connection_is_reopened_once(smtp_server: SmtpTestServer) -> None:
    smtp_server.fail_next(1, "421 4.3.2 closing connection")
    outcomes = sender_for(smtp_server).send(batch(1, 2, 3))
    assert [(o.sent, o.permanent) for o in outcomes] == [
        (False, False),
        (True, False),
        (True, False),
    ]
    assert outcomes[0].error == "421 4.3.2 closing connection"
    got = smtp_server.wait_for(2)
    assert [r.connection for r in got] == [2, 2]
    assert smtp_server.connections == 2


def test_when_the_connection_cannot_be_reopened_the_rest_waits(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.fail_next(1, "421 4.3.2 closing connection")
    smtp_server.refuse_sessions("421 4.3.2 no more sessions", after=1)
    outcomes = sender_for(smtp_server).send(batch(1, 2, 3, 4))
    assert [(o.sent, o.permanent) for o in outcomes] == [(False, False)] * 4
    assert all("421 4.3.2 no more sessions" in str(o.error) for o in outcomes[1:])
    assert smtp_server.connections == 2  # one retry, then no more attempts
    assert smtp_server.messages == []


def test_a_connection_that_breaks_again_gives_up_the_batch(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.fail_next(2, "421 4.3.2 closing connection")
    outcomes = sender_for(smtp_server).send(batch(1, 2, 3, 4))
    assert [(o.sent, o.permanent) for o in outcomes] == [(False, False)] * 4
    assert "lost again" in str(outcomes[2].error)
    assert smtp_server.connections == 2


def test_server_down_then_back(smtp_server: SmtpTestServer) -> None:
    sender = sender_for(smtp_server)
    smtp_server.stop()
    outcomes = sender.send(batch(1, 2, 3))
    assert [(o.reminder_id, o.sent, o.permanent) for o in outcomes] == [
        (1, False, False),
        (2, False, False),
        (3, False, False),
    ]
    assert all(f"{smtp_server.host}:{smtp_server.port}" in str(o.error) for o in outcomes)
    assert all("\n" not in str(o.error) for o in outcomes)
    smtp_server.start()
    assert [o.sent for o in sender.send(batch(1, 2, 3))] == [True, True, True]
    assert len(smtp_server.wait_for(3)) == 3


def test_an_empty_batch_opens_no_connection(smtp_server: SmtpTestServer) -> None:
    assert sender_for(smtp_server).send([]) == []
    assert smtp_server.connections == 0


# -- STARTTLS and login ------------------------------------------------------------------


def _authenticator(
    server: object, session: object, envelope: object, mechanism: str, auth_data: object
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


def test_login_without_tls() -> None:
    with SmtpTestServer(authenticator=_authenticator, auth_require_tls=False) as server:
        good = sender_for(server, user="mailer", password="s3cret").send(batch(1))
        assert good[0].sent
        bad = sender_for(server, user="mailer", password="wrong").send(batch(2, 3))
        assert [(o.sent, o.permanent) for o in bad] == [(False, False), (False, False)]
        assert "535" in str(bad[0].error)
        assert len(server.wait_for(1)) == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("STARTTLS cases need the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_and_login(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    with SmtpTestServer(tls_context=server_context, authenticator=_authenticator) as server:
        trusting = ssl.create_default_context(cafile=str(cert))
        sender = sender_for(
            server, starttls=True, user="mailer", password="s3cret", tls_context=trusting
        )
        assert [o.sent for o in sender.send(batch(1, 2))] == [True, True]
        assert server.connections == 1  # EHLO before and after STARTTLS: one connection
        # The default context does not trust a self-signed certificate: transient.
        untrusting = sender_for(server, starttls=True, user="mailer", password="s3cret")
        (outcome,) = untrusting.send(batch(3))
        assert (outcome.sent, outcome.permanent) == (False, False)
        assert "certificate" in str(outcome.error).lower()
        # Without STARTTLS, this server does not offer AUTH: no session, transient.
        (plain,) = sender_for(server, user="mailer", password="s3cret").send(batch(4))
        assert (plain.sent, plain.permanent) == (False, False)
        assert len(server.wait_for(2)) == 2


# -- the outbox ------------------------------------------------------------------------------


def test_outbox_writes_one_file_per_message_id(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "outbox"
    sender = OutboxSender(folder)
    outcomes = sender.send(batch(1, 2))
    assert [o.sent for o in outcomes] == [True, True]
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["doctrack.r1.c0ffee@localhost.eml", "doctrack.r2.c0ffee@localhost.eml"]
    assert [o.sent for o in sender.send(batch(1))] == [True]  # the same message again
    assert sorted(p.name for p in folder.iterdir()) == names
    message = rendered(1)
    data = (folder / names[0]).read_bytes()
    assert data == message_bytes(message)
    from smtp_support import Received

    back = Received(raw=data, mail_from="", rcpt_tos=(), connection=0).message
    assert back["Message-ID"] == message["Message-ID"]
    assert back["Subject"] == message["Subject"]
    assert back["To"] == message["To"]
    assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/html"]


def test_outbox_names_are_safe_and_distinct() -> None:
    assert eml_name("<doctrack.r1.ab@localhost>") == "doctrack.r1.ab@localhost.eml"
    odd = eml_name("<../a/b c@localhost>")
    assert "/" not in odd
    assert not odd.startswith(".")
    assert odd.endswith(".eml")
    assert eml_name("<a/b@x>") != eml_name("<a_b@x>")


def test_outbox_failure_is_transient_not_an_exception(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    outcomes = OutboxSender(blocked / "outbox").send(batch(1, 2))
    assert [(o.sent, o.permanent) for o in outcomes] == [(False, False), (False, False)]
    assert "outbox" in str(outcomes[0].error)


# -- choosing ------------------------------------------------------------------------------


def test_make_sender_chooses_by_settings(tmp_path: Path) -> None:
    smtp = make_sender(
        Settings(
            smtp_host="smtp.example.org",
            smtp_port=587,
            smtp_starttls=True,
            smtp_user="mailer",
            smtp_password="s3cret",
        )
    )
    assert isinstance(smtp, SmtpSender)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.user, smtp.password) == (
        "smtp.example.org",
        587,
        True,
        "mailer",
        "s3cret",
    )
    outbox = make_sender(Settings(outbox=str(tmp_path / "out")))
    assert isinstance(outbox, OutboxSender)
    assert outbox.folder == tmp_path / "out"
    assert isinstance(make_sender(Settings()), OutboxSender)
