"""Reminder emails rendered from Jinja2 templates; no database access here.

The dispatcher builds a :class:`DeadlineMail` or :class:`SummitMail` from what it read and
asks a :class:`MailRenderer` for the :class:`~email.message.EmailMessage`. Templates live in
``templates/email/`` (its README lists the variables each one gets).

A dispatcher run renders thousands of messages, so the renderer is built for speed: the
Jinja2 environment and the compiled templates are made once; the date filters remember
their recent answers; and the message is assembled from headers and bodies that are already
encoded (``set_raw``), which the standard generator writes out as they are instead of
parsing and folding each header again. The result is an ordinary ``EmailMessage``
(``email.policy.SMTP``, with a header factory that reuses parsed headers), which reads and
serialises like any other.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.policy import SMTP
from email.utils import format_datetime, formataddr, getaddresses
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from doctrack.errors import UsageError
from doctrack.resources import data_dir
from doctrack.timerules import start_of_day, zone

TEMPLATE_NAMES: Mapping[str, tuple[str, str, str]] = {
    "deadline": ("email/deadline.subject.txt", "email/deadline.txt", "email/deadline.html"),
    "summit": ("email/summit.subject.txt", "email/summit.txt", "email/summit.html"),
}

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: RFC 5322: lines SHOULD fit in 78 characters and MUST fit in 998.
_SOFT_LINE = 78
_HARD_LINE = 998
#: Raw bytes per RFC 2047 encoded word: 39 bytes are 52 base64 characters, 64 with the
#: ``=?utf-8?b?...?=`` frame, so that ``Subject: `` and one word fit in 78 columns.
_WORD_BYTES = 39


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineMail:
    """One reminder of a deadline, to one recipient."""

    message_id: str  # e.g. "<doctrack.r12.ab12cd@localhost>", with the angle brackets
    to_email: str
    to_name: str  # the user's full name, else the user name
    instrument_slug: str
    instrument_title: str
    state_label: str  # the current state's label
    milestone_label: str  # the milestone state's label, e.g. "Agreed ad referendum"
    due: datetime  # aware UTC
    tz: str  # the summit's IANA zone
    summit_title: str
    summit_city: str
    summit_starts: date
    days_before: int  # the configured offset of this reminder (14, 7, 1)
    now: datetime  # aware UTC: the clock's time at sending
    send_at: datetime  # aware UTC: the time it was planned for
    late: bool  # sent late: no dispatcher ran at send_at
    missing_parties: tuple[str, ...]  # parties without an approve on the current revision
    dependencies_not_adopted: tuple[tuple[str, str], ...]  # (slug, state label)


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitMailItem:
    """One open instrument in a summit reminder."""

    slug: str
    title: str
    state_label: str
    next_milestone_label: str | None
    next_due: datetime | None
    next_status: str | None  # pending | missed


@dataclass(frozen=True, slots=True, kw_only=True)
class SummitMail:
    """One reminder of a summit, to one recipient."""

    message_id: str
    to_email: str
    to_name: str
    summit_slug: str
    summit_title: str
    city: str
    starts: date
    ends: date
    tz: str
    days_before: int
    now: datetime
    send_at: datetime
    late: bool
    instruments: tuple[SummitMailItem, ...]  # the summit's instruments not in a final state


# -- filters (registered in the Jinja2 environment under these names) -------------------


def one_line(text: object) -> str:
    """``text`` on one line: runs of control characters (CR, LF, tab...) and of spaces
    become one space."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def utc_offset(value: datetime) -> str:
    """The offset of an aware datetime as ``UTC+05:00`` (``UTC`` when zero)."""
    offset = value.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def format_day(value: date) -> str:
    """A calendar date as ``Thu 23 June 2016`` (English names, whatever the locale)."""
    return f"{_WEEKDAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


@lru_cache(maxsize=4096)
def local(value: datetime, tz: str, with_zone: bool = True) -> str:
    """An instant in zone ``tz``: ``Mon 9 May 2016, 00:00 (Asia/Tashkent, UTC+05:00)``;
    without the part in brackets when ``with_zone`` is false."""
    here = value.astimezone(zone(tz))
    text = f"{format_day(here.date())}, {here.hour:02d}:{here.minute:02d}"
    return f"{text} ({tz}, {utc_offset(here)})" if with_zone else text


@lru_cache(maxsize=4096)
def days_left(value: datetime | date, now: datetime, tz: str) -> int:
    """Calendar days from ``now`` to ``value`` in zone ``tz``; negative once past.

    A ``date`` stands for the start of that day in ``tz``.
    """
    when = value if isinstance(value, datetime) else start_of_day(value, tz)
    place = zone(tz)
    return (when.astimezone(place).date() - now.astimezone(place).date()).days


@lru_cache(maxsize=4096)
def days_until(value: datetime | date, now: datetime, tz: str) -> str:
    """``in 14 days``, ``in 1 day``, ``today`` (later the same day in ``tz``), or
    ``overdue`` once ``now`` has reached ``value``."""
    when = value if isinstance(value, datetime) else start_of_day(value, tz)
    if when <= now:
        return "overdue"
    days = days_left(when, now, tz)
    if days <= 0:
        return "today"
    return f"in {days} day{'s' if days != 1 else ''}"


FILTERS: Mapping[str, Callable[..., Any]] = {
    "local": local,
    "day": format_day,
    "utc_offset": utc_offset,
    "days_left": days_left,
    "days_until": days_until,
    "one_line": one_line,
}


# -- message assembly ---------------------------------------------------------------------


class _ReusingHeaderRegistry(HeaderRegistry):
    """The standard header registry, remembering its header classes and parsed headers.

    The standard one builds a new class at every lookup and parses every header each time
    it is read; the generator reads each part's Content-Type several times per message.
    Header objects are immutable strings, so sharing them is safe.
    """

    _LIMIT = 4096

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if not isinstance(value, str):
            return self[name](name, value)
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            if len(self._parsed) >= self._LIMIT:
                self._parsed.clear()
            header = self._parsed[key] = self[name](name, value)
        return header


#: The policy of every message: ``email.policy.SMTP`` (CRLF line ends) reusing headers.
POLICY = SMTP.clone(header_factory=_ReusingHeaderRegistry())


def _stdlib_fold(name: str, value: str) -> str:
    """``value`` encoded and folded by the standard library, without ``Name: `` and the
    final line end (slow: for values that are cached or unusual)."""
    folded = str(POLICY.header_factory(name, value).fold(policy=POLICY))
    return folded[len(name) + 2 :].rstrip("\r\n")


@lru_cache(maxsize=256)
def _date_header(now: datetime) -> str:
    return format_datetime(now)


def _address_of(name: str, value: str) -> str:
    """The address ``smtplib.send_message`` takes from an address header's value."""
    return getaddresses([str(POLICY.header_factory(name, value))])[0][1]


def _fold_ascii(name: str, value: str) -> str | None:
    """An ASCII value folded at spaces so that every line fits in 78 columns (the first
    one after ``Name: ``); ``None`` when a word is too long to fit."""
    words = value.split(" ")
    lines: list[str] = []
    line = words[0]
    width = _SOFT_LINE - len(name) - 2
    for word in words[1:]:
        if len(line) + 1 + len(word) <= width:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = " " + word
            width = _SOFT_LINE
    lines.append(line)
    if len(lines[0]) > _SOFT_LINE - len(name) - 2 or any(len(x) > _SOFT_LINE for x in lines):
        return None
    return "\r\n".join(lines)


def _encoded_words(value: str) -> str:
    """``value`` as RFC 2047 UTF-8 base64 encoded words, one per line, each cut between
    two characters."""
    data = value.encode("utf-8", "surrogatepass")
    words = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character
            end -= 1
        words.append(binascii.b2a_base64(data[start:end], newline=False).decode("ascii"))
        start = end
    return "\r\n ".join(f"=?utf-8?b?{word}?=" for word in words)


def encode_unstructured(name: str, value: str) -> str:
    """A one-line text (a Subject) ready to store raw: folded if ASCII, else encoded."""
    if value.isascii():
        folded = _fold_ascii(name, value)
        return folded if folded is not None else _stdlib_fold(name, value)
    return _encoded_words(value)


def _body(text: str) -> tuple[str, str]:
    """A text body's transfer encoding and encoded payload: 7bit when it is ASCII in lines
    of at most 998 characters, quoted-printable (of its UTF-8) otherwise."""
    if text.isascii() and max(map(len, text.splitlines()), default=0) <= _HARD_LINE:
        return "7bit", text
    return "quoted-printable", binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")


def _header_block(headers: Sequence[tuple[str, str]]) -> str | None:
    """Raw header values as the standard generator writes them (CRLF, then a blank line),
    or ``None`` if it would re-fold any of them (non-ASCII, or a line too long)."""
    out = []
    for name, value in headers:
        if value.isascii() and value.isprintable():  # one line
            if len(name) + 2 + len(value) > _SOFT_LINE:
                return None
            out.append(f"{name}: {value}\r\n")
            continue
        lines = value.splitlines()
        if not value.isascii() or (lines and len(lines[0]) + len(name) + 2 > _SOFT_LINE):
            return None
        if any(len(x) > _SOFT_LINE for x in lines[1:]):
            return None
        out.append(f"{name}: " + "\r\n".join(lines) + "\r\n")
    out.append("\r\n")
    return "".join(out)


_FROM_LINE = re.compile(r"^From ", re.MULTILINE)


def _crlf(payload: str) -> str:
    """An ASCII payload as ``smtplib.send_message`` writes it: every line ended by CRLF,
    and a ``>`` before each line starting with ``From `` (its generator has no policy of
    its own, so it escapes those, as for an mbox)."""
    if payload.startswith("From ") or "\nFrom " in payload or "\rFrom " in payload:
        payload = _FROM_LINE.sub(">From ", payload)
    if "\r" in payload:
        payload = payload.replace("\r\n", "\n").replace("\r", "\n")
    return payload.replace("\n", "\r\n")


class RenderedMessage(EmailMessage):
    """An ``EmailMessage`` that also holds the envelope and the bytes that
    ``smtplib.send_message`` would send for it, for as long as it is not changed.

    Writing a message out with the standard generator is the most expensive step of
    sending it; senders use :meth:`wire` to skip it. Any change to the message after
    rendering (a header, a part, a payload) makes :meth:`wire` return ``None``, and the
    message is then sent the ordinary way.
    """

    _wire_state: tuple[Any, ...] | None = None
    _wire_value: tuple[str, tuple[str, ...], bytes] | None = None

    def _state(self) -> tuple[Any, ...]:
        parts = self.get_payload()
        if not isinstance(parts, list):
            return (tuple(self.raw_items()), parts, self.policy)
        return (
            tuple(self.raw_items()),
            tuple(parts),
            tuple(
                (tuple(p.raw_items()), p.get_payload()) if isinstance(p, Message) else p
                for p in parts
            ),
            self.preamble,
            self.epilogue,
            self.policy,
        )

    def freeze(self, envelope_from: str, envelope_to: tuple[str, ...], data: bytes) -> None:
        """Remember ``data``, the bytes of the message as it is now, and its envelope."""
        if not "".join((envelope_from, *envelope_to)).isascii():
            return  # send_message would send it with SMTPUTF8: leave it to send_message
        self._wire_value = (envelope_from, envelope_to, data)
        self._wire_state = self._state()

    def wire(self) -> tuple[str, tuple[str, ...], bytes] | None:
        """``(envelope from, envelope to, bytes)`` as ``send_message`` would send them, or
        ``None`` when the message changed since :meth:`freeze` (or was never frozen)."""
        if self._wire_value is None or self._state() != self._wire_state:
            return None
        return self._wire_value


# -- the renderer ------------------------------------------------------------------------


def templates_folder(setting: str | None) -> Path:
    """The setting's folder if given (it must exist), else ``./templates`` if it exists in
    the current folder, else the packaged templates."""
    if setting:
        path = Path(setting)
        if not path.is_dir():
            raise UsageError(f"templates folder not found: {setting} (setting templates)")
        return path
    here = Path("templates")
    if here.is_dir():
        return here.resolve()
    return data_dir("templates")


_DEADLINE_FIELDS = tuple(f.name for f in fields(DeadlineMail))
_SUMMIT_FIELDS = tuple(f.name for f in fields(SummitMail))


class MailRenderer:
    """Turns mails into messages with the templates of one folder.

    A template that the folder lacks is taken from the packaged ones, so a folder may
    override some templates only. Missing or malformed templates are a ``UsageError`` at
    construction; errors while rendering (say, an unknown variable) raise Jinja2's own.
    """

    def __init__(self, templates: Path, *, base_url: str, mail_from: str) -> None:
        self.templates = Path(templates)
        self.base_url = base_url.rstrip("/")
        self.mail_from = mail_from
        folders = [self.templates]
        packaged = data_dir("templates")
        if packaged.resolve() != self.templates.resolve():
            folders.append(packaged)
        self.env = Environment(
            loader=FileSystemLoader(folders),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self.env.filters.update(FILTERS)
        self._compiled = {
            kind: tuple(self._load(name) for name in names)
            for kind, names in TEMPLATE_NAMES.items()
        }
        # Rendering passes the context as the template's whole namespace (no copy of the
        # globals per template), so the globals go into it once here.
        self._base_context: dict[str, Any] = {**self.env.globals, "base_url": self.base_url}
        self._from = _stdlib_fold("From", mail_from)
        self._envelope_from = _address_of("From", mail_from)
        self._to: dict[tuple[str, str], tuple[str, str]] = {}
        self._boundary = "=_doctrack_" + secrets.token_hex(12)

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise UsageError(
                f"email template {name} not found in {self.templates} nor in the packaged templates"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or name
            raise UsageError(f"{where}:{exc.lineno}: template error: {exc.message}") from None

    def deadline(self, mail: DeadlineMail) -> EmailMessage:
        """The message of one deadline reminder."""
        context = self._base_context.copy()
        for name in _DEADLINE_FIELDS:
            context[name] = getattr(mail, name)
        context["url"] = f"{self.base_url}/instruments/{quote(mail.instrument_slug, safe='')}"
        return self._message("deadline", context, mail.message_id, mail.to_name, mail.to_email)

    def summit(self, mail: SummitMail) -> EmailMessage:
        """The message of one summit reminder."""
        context = self._base_context.copy()
        for name in _SUMMIT_FIELDS:
            context[name] = getattr(mail, name)
        context["url"] = f"{self.base_url}/summits/{quote(mail.summit_slug, safe='')}"
        return self._message("summit", context, mail.message_id, mail.to_name, mail.to_email)

    def _render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        try:
            return "".join(template.root_render_func(template.new_context(context, shared=True)))
        except Exception:  # noqa: BLE001 - re-raised, with a traceback into the template
            self.env.handle_exception()

    def _message(
        self, kind: str, context: dict[str, Any], message_id: str, to_name: str, to_email: str
    ) -> EmailMessage:
        subject_t, text_t, html_t = self._compiled[kind]
        subject = one_line(self._render(subject_t, context))
        text = self._render(text_t, context)
        html = self._render(html_t, context)
        if "\r" in message_id or "\n" in message_id:
            raise ValueError(f"a Message-ID may not hold line breaks: {message_id!r}")
        boundary = self._boundary
        if boundary in text or boundary in html:
            boundary = "=_doctrack_" + secrets.token_hex(16)
        to_header, to_address = self._recipient(to_name, to_email)
        headers = (
            ("From", self._from),
            ("To", to_header),
            ("Subject", encode_unstructured("Subject", subject)),
            ("Date", _date_header(context["now"])),
            ("Message-ID", message_id),
            ("Auto-Submitted", "auto-generated"),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
        )
        msg = RenderedMessage(policy=POLICY)
        for name, value in headers:
            msg.set_raw(name, value)
        parts: list[Message | str] = []
        wire = [_header_block(headers)]
        for subtype, body in (("plain", text), ("html", html)):
            cte, payload = _body(body)
            part_headers = (
                ("Content-Type", f'text/{subtype}; charset="utf-8"'),
                ("Content-Transfer-Encoding", cte),
            )
            part = EmailMessage(policy=POLICY)
            for name, value in part_headers:
                part.set_raw(name, value)
            part.set_payload(payload)
            parts.append(part)
            delimiter = f"--{boundary}\r\n" if not wire[1:] else f"\r\n--{boundary}\r\n"
            wire += (delimiter, _header_block(part_headers), _crlf(payload))
        msg.set_payload(parts)
        if None not in wire:
            wire.append(f"\r\n--{boundary}--\r\n")
            data = "".join(w for w in wire if w is not None).encode("ascii")
            msg.freeze(self._envelope_from, (to_address,), data)
        return msg

    def _recipient(self, name: str, email: str) -> tuple[str, str]:
        """The To header's raw value and the envelope recipient ``send_message`` takes
        from it."""
        key = (name, email)
        value = self._to.get(key)
        if value is None:
            if len(self._to) >= 4096:
                self._to.clear()
            header = formataddr((one_line(name), email))
            value = self._to[key] = (_stdlib_fold("To", header), _address_of("To", header))
        return value
