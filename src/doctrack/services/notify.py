"""Sending rendered emails: by SMTP, or into an outbox folder as ``.eml`` files.

A sender takes a batch of deliveries and returns one :class:`Outcome` per delivery, in the
same order; it never raises for SMTP or network trouble. The dispatcher decides what an
outcome means for the reminder (sent; retried later when transient; failed when
permanent). No database access here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.errors import MessageError
from email.generator import BytesGenerator
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from doctrack.config import Settings
from doctrack.services.emails import RenderedMessage


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to send, for one reminder."""

    reminder_id: int
    message: EmailMessage


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one delivery."""

    reminder_id: int
    sent: bool
    #: True: do not retry (a 5xx reply). False with ``sent=False``: transient, retry later.
    permanent: bool = False
    #: The server's reply ("550 5.1.1 no such user") or the exception's text, on one line.
    error: str | None = None


class Sender(Protocol):
    """Sends a batch; one outcome per delivery, in the same order."""

    def send(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reply(code: int, message: bytes | str) -> str:
    """An SMTP reply as one line: ``550 5.1.1 no such user``."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return _one_line(f"{code} {text}")


def _describe(exc: BaseException) -> str:
    """An exception as one line, with its class when its text alone says little."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    text = _one_line(str(exc))
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _is_permanent(code: int) -> bool:
    return 500 <= code <= 599


def _refused(reminder_id: int, refused: dict[str, tuple[int, bytes]]) -> Outcome:
    """The outcome when recipients were refused: permanent when every refusal is 5xx."""
    if len(refused) == 1:
        ((code, message),) = refused.values()
        error = _reply(code, message)
    else:
        error = "; ".join(f"{rcpt}: {_reply(c, m)}" for rcpt, (c, m) in refused.items())
    permanent = all(_is_permanent(code) for code, _ in refused.values())
    return Outcome(reminder_id, sent=False, permanent=permanent, error=error)


def _close_quietly(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        conn.close()


class SmtpSender:
    """Sends each batch over one SMTP connection.

    The connection opens at the first delivery (with STARTTLS and login if configured)
    and is closed with QUIT at the end. A reply to one message (4xx: transient, 5xx:
    permanent) does not stop the batch. When the connection breaks, that delivery is
    transient and the next one reconnects once; if that fails, or the new connection breaks
    too, every remaining delivery of the batch is transient with the error, without more
    attempts on a server that is down.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.starttls = starttls
        self.user = user
        self.password = password
        self.timeout = timeout
        #: For STARTTLS; default ``ssl.create_default_context()`` (system CAs, host check).
        self.tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpSender({self.host!r}, {self.port}, starttls={self.starttls})"

    def _connect(self) -> smtplib.SMTP:
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            # EHLO now: a server refusing the session fails the connection, not a message.
            conn.ehlo_or_helo_if_needed()
            if self.starttls:
                context = self.tls_context or ssl.create_default_context()
                conn.starttls(context=context)
                conn.ehlo()
            if self.user is not None:
                conn.login(self.user, self.password or "")
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def send(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        conn: smtplib.SMTP | None = None
        down: str | None = None  # set once the server is given up for this batch
        reconnecting = False  # the current connection replaces one that broke
        try:
            for delivery in deliveries:
                if down is not None:
                    outcomes.append(Outcome(delivery.reminder_id, sent=False, error=down))
                    continue
                if conn is None:
                    try:
                        conn = self._connect()
                    except OSError as exc:  # SMTPException included
                        down = f"no SMTP session with {self.host}:{self.port}: {_describe(exc)}"
                        outcomes.append(Outcome(delivery.reminder_id, sent=False, error=down))
                        continue
                outcome = self._deliver(conn, delivery)
                outcomes.append(outcome)
                if conn.sock is None:  # the connection broke (or the server closed it: 421)
                    _close_quietly(conn)
                    conn = None
                    if reconnecting:
                        down = f"connection to {self.host}:{self.port} lost again: {outcome.error}"
                    reconnecting = True
                else:
                    reconnecting = False
            if conn is not None:
                with contextlib.suppress(OSError):  # SMTPException included
                    conn.quit()
                conn = None
        finally:
            if conn is not None:
                _close_quietly(conn)
        return outcomes

    def _deliver(self, conn: smtplib.SMTP, delivery: Delivery) -> Outcome:
        rid = delivery.reminder_id
        message = delivery.message
        wire = message.wire() if isinstance(message, RenderedMessage) else None
        try:
            if wire is not None:
                # The same envelope and bytes as send_message, without its generator.
                mail_from, rcpt_to, data = wire
                refused = conn.sendmail(mail_from, list(rcpt_to), data)
            else:
                refused = conn.send_message(message)
        # Order matters: every SMTPException is an OSError.
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(rid, exc.recipients)
        except smtplib.SMTPResponseException as exc:  # sender refused, data error, ...
            permanent = _is_permanent(exc.smtp_code)
            return Outcome(rid, sent=False, permanent=permanent, error=_describe(exc))
        except smtplib.SMTPNotSupportedError as exc:  # say, SMTPUTF8 needed but not offered
            return Outcome(rid, sent=False, permanent=True, error=_describe(exc))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:  # also timeouts, resets
            _close_quietly(conn)
            return Outcome(rid, sent=False, error=f"connection lost: {_describe(exc)}")
        except (ValueError, MessageError) as exc:  # a message smtplib cannot send
            return Outcome(rid, sent=False, permanent=True, error=_describe(exc))
        if refused:
            return _refused(rid, refused)
        return Outcome(rid, sent=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def eml_name(message_id: str) -> str:
    """A safe file name for a Message-ID: the ID without its angle brackets when it is
    safe as it is, else a cleaned-up form with a hash of the ID (so that two IDs never
    share a file)."""
    core = message_id.strip().strip("<>")
    safe = _UNSAFE.sub("_", core)[:150].lstrip(".")
    if safe != core or not safe:
        digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        safe = f"{safe}-{digest}" if safe else digest
    return f"{safe}.eml"


def message_bytes(message: EmailMessage) -> bytes:
    """The message as ``smtplib.send_message`` would send it (CRLF line ends)."""
    wire = message.wire() if isinstance(message, RenderedMessage) else None
    if wire is not None:
        return wire[2]
    buffer = io.BytesIO()
    BytesGenerator(buffer).flatten(message, linesep="\r\n")
    return buffer.getvalue()


class OutboxSender:
    """Writes each message as ``<folder>/<Message-ID>.eml``, atomically.

    The same Message-ID always maps to the same file, so sending a message again replaces
    its file instead of adding one. A message without a Message-ID is named after its
    reminder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"OutboxSender({str(self.folder)!r})"

    def path_for(self, delivery: Delivery) -> Path:
        message_id = delivery.message.get("Message-ID")
        name = eml_name(str(message_id)) if message_id else f"reminder-{delivery.reminder_id}.eml"
        return self.folder / name

    def send(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            error = f"cannot create outbox {self.folder}: {_describe(exc)}"
            return [Outcome(d.reminder_id, sent=False, error=error) for d in deliveries]
        for delivery in deliveries:
            try:
                self._write(self.path_for(delivery), message_bytes(delivery.message))
            except OSError as exc:
                error = f"cannot write to outbox {self.folder}: {_describe(exc)}"
                outcomes.append(Outcome(delivery.reminder_id, sent=False, error=error))
            except (ValueError, TypeError, LookupError, MessageError) as exc:  # won't flatten
                outcomes.append(
                    Outcome(delivery.reminder_id, sent=False, permanent=True, error=_describe(exc))
                )
            else:
                outcomes.append(Outcome(delivery.reminder_id, sent=True))
        return outcomes

    def _write(self, path: Path, data: bytes) -> None:
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def make_sender(settings: Settings) -> Sender:
    """SMTP when ``smtp_host`` is set, else the outbox folder ``outbox``."""
    if settings.smtp_host:
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            user=settings.smtp_user,
            password=settings.smtp_password,
        )
    return OutboxSender(Path(settings.outbox))
