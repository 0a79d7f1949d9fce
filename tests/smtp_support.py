"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, in a thread.

Use the ``smtp_server`` fixture (tests/conftest.py), or the class directly::

    server = SmtpTestServer()
    server.start()
    ...send to server.host, server.port...
    got = server.wait_for(3)          # blocks until 3 messages were accepted
    server.stop()

What it records, per accepted message (:class:`Received`): the raw bytes, the message
parsed from them (``policy=email.policy.default``, on first use), the envelope sender and
recipients, and the number of the connection it came on (``server.connections`` counts
the connections that greeted with EHLO/HELO; one that greets twice, around STARTTLS,
counts once).

Scripted replies, each thread-safe and usable while the server runs:

- ``reply_for(rcpt, "550 5.1.1 no such user")``: RCPT TO that address gets that reply
  (until ``clear_replies``);
- ``fail_next(n, "451 4.3.0 try later")``: the next ``n`` DATA commands get that reply and
  their messages are not recorded (a ``421`` makes the client drop the connection);
- ``refuse_sessions(reply, after=n)``: EHLO/HELO get ``reply`` on every connection after
  the first ``n``, so no session opens (``clear_replies()`` undoes every script);
- ``stop()`` / ``start()`` (or ``restart()``): take the server down and bring it back on the
  same port, to simulate an outage; messages and scripts survive a restart.

Optional: ``tls_context`` enables STARTTLS, ``authenticator`` enables AUTH (see aiosmtpd's
``SMTP`` class; ``auth_require_tls`` defaults to aiosmtpd's ``True``).
"""

from __future__ import annotations

import email
import socket
import ssl
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from functools import cached_property
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    connection: int  # 1 for the first connection that greeted, 2 for the next...

    @cached_property
    def message(self) -> EmailMessage:
        """The message, parsed with ``policy=email.policy.default`` (on first use)."""
        message = email.message_from_bytes(self.raw, policy=default)
        assert isinstance(message, EmailMessage)
        return message


class RecordingHandler:
    """aiosmtpd handler: records accepted messages, plays scripted replies."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.received: list[Received] = []
        self.connections = 0
        self.rcpt_replies: dict[str, str] = {}
        self.data_failures: list[str] = []
        self.session_refusal: tuple[str, int] | None = None  # (reply, after connection N)
        # One SMTP protocol object per connection (a new Session starts after STARTTLS).
        self._connections: weakref.WeakKeyDictionary[SMTP, int] = weakref.WeakKeyDictionary()

    def _greeted(self, server: SMTP) -> str | None:
        """Count the connection; the scripted refusal for it, if any."""
        with self.changed:
            number = self._connections.get(server)
            if number is None:
                self.connections += 1
                number = self._connections[server] = self.connections
            self.changed.notify_all()
            if self.session_refusal is not None and number > self.session_refusal[1]:
                return self.session_refusal[0]
        return None

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        refusal = self._greeted(server)
        if refusal is not None:
            return refusal
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        refusal = self._greeted(server)
        if refusal is not None:
            return [refusal]
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.changed:
            reply = self.rcpt_replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.changed:
            if self.data_failures:
                return self.data_failures.pop(0)
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self.changed:
            self.received.append(
                Received(
                    raw=raw,
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    connection=self._connections.get(server, 0),
                )
            )
            self.changed.notify_all()
        return "250 OK"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SmtpTestServer:
    """An aiosmtpd server on ``host``:``port`` (a free port unless given) in a thread."""

    def __init__(
        self,
        *,
        host: str = HOST,
        port: int | None = None,
        tls_context: ssl.SSLContext | None = None,
        authenticator: Callable[..., Any] | None = None,
        auth_require_tls: bool = True,
    ) -> None:
        self.host = host
        self.port = port if port is not None else 0
        self.handler = RecordingHandler()
        self._smtp_kwargs: dict[str, Any] = {"server_hostname": "smtp.test"}
        if tls_context is not None:
            self._smtp_kwargs["tls_context"] = tls_context
        if authenticator is not None:
            self._smtp_kwargs["authenticator"] = authenticator
            self._smtp_kwargs["auth_require_tls"] = auth_require_tls
        self._controller: Controller | None = None

    # -- running --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the port; a first start picks a free port.

        A port taken between picking and binding (another test process) is picked again,
        a few times; a restart keeps its port.
        """
        if self._controller is not None:
            return
        attempts = 5 if self.port == 0 else 1
        for attempt in range(attempts):
            port = self.port or free_port(self.host)
            # A Controller's event loop is closed when it stops: a new one per start.
            controller = Controller(
                self.handler, hostname=self.host, port=port, ready_timeout=10.0, **self._smtp_kwargs
            )
            try:
                controller.start()
            except OSError:
                controller.stop(no_assert=True)
                if attempt == attempts - 1:
                    raise
                continue
            self.port = port
            self._controller = controller
            return

    def stop(self) -> None:
        """Stop listening and drop open connections; a connect is then refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------

    def reply_for(self, rcpt: str, reply: str) -> None:
        """RCPT TO ``rcpt`` gets ``reply`` (say ``550 5.1.1 no such user``) from now on."""
        with self.handler.changed:
            self.handler.rcpt_replies[rcpt.lower()] = reply

    def fail_next(self, n: int, reply: str) -> None:
        """The next ``n`` DATA commands get ``reply`` (say ``451 4.3.0 try later``)."""
        with self.handler.changed:
            self.handler.data_failures.extend([reply] * n)

    def refuse_sessions(
        self, reply: str = "421 4.3.2 service not available", after: int = 0
    ) -> None:
        """EHLO and HELO get ``reply`` on every connection after the first ``after`` ones
        (counted since the server was made), so that the client cannot open a session."""
        with self.handler.changed:
            self.handler.session_refusal = (reply, after)

    def clear_replies(self) -> None:
        """Forget every scripted reply: recipients, DATA failures, session refusals."""
        with self.handler.changed:
            self.handler.rcpt_replies.clear()
            self.handler.data_failures.clear()
            self.handler.session_refusal = None

    # -- what happened ---------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """The messages accepted so far (a copy)."""
        with self.handler.changed:
            return list(self.handler.received)

    @property
    def connections(self) -> int:
        """Connections that greeted (EHLO/HELO) so far, over all starts."""
        with self.handler.changed:
            return self.handler.connections

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``count`` messages were accepted; fail after ``timeout``."""
        with self.handler.changed:
            if not self.handler.changed.wait_for(
                lambda: len(self.handler.received) >= count, timeout
            ):
                raise AssertionError(
                    f"expected {count} messages within {timeout}s, got {len(self.handler.received)}"
                )
            return list(self.handler.received)
