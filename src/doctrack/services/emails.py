"""Reminder emails rendered from Jinja2 templates; no database access here.

The dispatcher builds a :class:`DeadlineMail` or :class:`SummitMail` from what it read and
asks a :class:`MailRenderer` for the :class:`~email.message.EmailMessage`. Templates live in
``templates/email/`` (its README lists the variables each one gets).

Each email is written in its recipient's language (``lang``, from ``app_user.language``):
the templates mark their words with Jinja2's i18n extension, and the ``email`` catalogues
(``templates/locale/<lang>/LC_MESSAGES/email.po``, loaded by :mod:`doctrack.i18n`) translate
them. A language without a catalogue gets English, the source language. There is one Jinja2
environment per language, built with the renderer; dates are Babel's in the language's
locale (English keeps its own ``Thu 23 June 2016`` style), and the state labels that come
from the workflow files are translated through the same catalogue.

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
import gettext
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
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
from jinja2 import Environment, FileSystemLoader, StrictUndefined, nodes, select_autoescape
from jinja2.compiler import CodeGenerator, Frame
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape

from doctrack import i18n
from doctrack.errors import UsageError
from doctrack.resources import data_dir, template_folders
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
    lang: str = i18n.SOURCE_LANGUAGE  # the recipient's preferred language, e.g. "ru"


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
    lang: str = i18n.SOURCE_LANGUAGE  # the recipient's preferred language, e.g. "ru"


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


def _days_until(
    value: datetime | date,
    now: datetime,
    tz: str,
    say: Callable[[str], str],
    say_n: Callable[[str, str, int], str],
) -> str:
    when = value if isinstance(value, datetime) else start_of_day(value, tz)
    if when <= now:
        return say("overdue")
    days = days_left(when, now, tz)
    if days <= 0:
        return say("today")
    # These msgids are listed in templates/email/_labels.txt, for the catalogues.
    return say_n("in %(num)d day", "in %(num)d days", days) % {"num": days}


_ENGLISH = gettext.NullTranslations()


@lru_cache(maxsize=4096)
def days_until(value: datetime | date, now: datetime, tz: str) -> str:
    """``in 14 days``, ``in 1 day``, ``today`` (later the same day in ``tz``), or
    ``overdue`` once ``now`` has reached ``value`` (in English; each language's
    environment has its own, translated by its catalogue)."""
    return _days_until(value, now, tz, _ENGLISH.gettext, _ENGLISH.ngettext)


def strong(text: object) -> Markup:
    """HTML: ``text`` escaped, in bold (``<strong>``): for the values of a sentence."""
    return Markup(f"<strong>{escape(text)}</strong>")  # noqa: S704 - escaped


FILTERS: Mapping[str, Callable[..., Any]] = {
    "local": local,
    "day": format_day,
    "utc_offset": utc_offset,
    "days_left": days_left,
    "days_until": days_until,
    "one_line": one_line,
    "strong": strong,
}


def language_filters(
    lang: str, translations: gettext.NullTranslations
) -> dict[str, Callable[..., Any]]:
    """The filters of the environment of ``lang``: :data:`FILTERS`, with dates formatted by
    Babel in the language's locale (English, the source language, keeps ``Thu 23 June
    2016``) and ``days_until`` in the language's words."""
    if lang == i18n.SOURCE_LANGUAGE:
        return dict(FILTERS)
    formats = i18n.Formats(lang, "UTC")  # its day() does not depend on the zone
    say, say_n = translations.gettext, translations.ngettext

    @lru_cache(maxsize=4096)
    def local_in(value: datetime, tz: str, with_zone: bool = True) -> str:
        text = i18n.Formats(lang, tz).when(value)
        if not with_zone:
            return text
        return f"{text} ({tz}, {utc_offset(value.astimezone(zone(tz)))})"

    @lru_cache(maxsize=4096)
    def day_in(value: date) -> str:
        return formats.day(value)

    @lru_cache(maxsize=4096)
    def days_until_in(value: datetime | date, now: datetime, tz: str) -> str:
        return _days_until(value, now, tz, say, say_n)

    return {**FILTERS, "local": local_in, "day": day_in, "days_until": days_until_in}


# -- translation ------------------------------------------------------------------------

#: The filters of pretranslated calls (internal): the plural form of an ``ngettext``, and
#: the variables put into a message.
_PLURAL_FILTER = "doctrack_ngettext"
_FILL = "doctrack_fill"
_FILL_MARKUP = "doctrack_fill_markup"


class _Pretranslate(NodeTransformer):
    """Translates, when a template is compiled, the ``_()``, ``gettext()`` and
    ``ngettext()`` calls whose messages are literal strings.

    Each language has its own environment, so its translations are known when its templates
    are compiled. ``{{ _("Due:") }}`` becomes the text ``Срок:``, and ``{{ _("Dear
    %(name)s,", name=x) }}`` becomes ``Здравствуйте, {{ x }}!``, as if the template were
    written in Russian. Elsewhere (say, in a filter's argument), ``_("...", name=x)`` becomes
    ``"...%(name)s..." % {"name": x}``. Either way the result is what Jinja2's newstyle
    gettext gives at every call: the translation is markup where autoescaping is on, its
    variables are escaped, ``%%`` is a percent sign. ``ngettext`` picks its form with a
    filter. Calls whose message is not a literal are left to the installed gettext.
    """

    def __init__(
        self,
        environment: Environment,
        translations: gettext.NullTranslations,
        autoescape: bool | None,  # the template's; None if it changes inside the template
    ) -> None:
        self.environment = environment
        self.say = translations.gettext
        self.autoescape = autoescape

    def visit_Output(self, output: nodes.Output) -> nodes.Node:
        children: list[nodes.Expr] = []
        for child in output.nodes:
            pieces = self._inline(child)
            if pieces is None:
                children.append(self.visit(child))
            else:
                children.extend(self.visit(piece) for piece in pieces)
        output.nodes = children
        return output

    def _inline(self, node: nodes.Expr) -> list[nodes.Expr] | None:
        """``{{ _("Dear %(name)s,", name=x) }}`` written out as the template would have it
        without translation, ``Здравствуйте, {{ x }}!``: the translation's text around its
        variables, each output (and escaped) as usual. ``None`` if ``node`` is not such a
        call, or its translation holds more than ``%(name)s`` variables and ``%%``."""
        if not (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in ("_", "gettext")
            and len(node.args) == 1
            and _literal(node.args[0])
            and not node.dyn_args
            and not node.dyn_kwargs
        ):
            return None
        values = {k.key: k.value for k in node.kwargs}
        text = self.say(node.args[0].as_const())
        pieces: list[nodes.Expr] = []
        literal: list[str] = []
        start = 0
        for m in _PLACEHOLDER.finditer(text):
            literal.append(text[start : m.start()])
            start = m.end()
            name, flags, conversion = m.groups()
            if conversion == "%" and name is None and not flags:
                literal.append("%")
            elif conversion == "s" and name in values and not flags:
                pieces += (nodes.TemplateData("".join(literal)), values[name])
                literal = []
            else:
                return None
        literal.append(text[start:])
        pieces.append(nodes.TemplateData("".join(literal)))
        kept = [p for p in pieces if not (isinstance(p, nodes.TemplateData) and not p.data)]
        for piece in kept:
            piece.set_lineno(node.lineno).set_environment(self.environment)
        return kept

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        node = self.generic_visit(call)
        assert isinstance(node, nodes.Call)
        fn, args = node.node, node.args
        if not isinstance(fn, nodes.Name) or node.dyn_args or node.dyn_kwargs:
            return node
        pairs = [nodes.Pair(nodes.Const(k.key), k.value) for k in node.kwargs]
        message: nodes.Expr
        if fn.name in ("_", "gettext") and len(args) == 1 and _literal(args[0]):
            message = nodes.Const(self.say(args[0].as_const()))
        elif fn.name == "ngettext" and len(args) == 3 and _literal(args[0]) and _literal(args[1]):
            count = args[2]
            message = nodes.Filter(count, _PLURAL_FILTER, args[:2], [], None, None)
            if "num" not in {k.key for k in node.kwargs}:
                pairs.append(nodes.Pair(nodes.Const("num"), count))
        else:
            return node
        new: nodes.Expr
        if not pairs:  # folded when compiling, if constant: "%%" becomes "%"
            new = nodes.Mod(nodes.MarkSafeIfAutoescape(message), nodes.Dict([]))
        elif self.autoescape is False:
            new = nodes.Mod(message, nodes.Dict(pairs))
        elif self.autoescape:
            new = nodes.Filter(message, _FILL_MARKUP, [nodes.Dict(pairs)], [], None, None)
        else:
            new = nodes.Filter(
                nodes.MarkSafeIfAutoescape(message), _FILL, [nodes.Dict(pairs)], [], None, None
            )
        return new.set_lineno(node.lineno).set_environment(self.environment)


#: A ``%`` conversion in a message: ``%(name)s``, ``%%``...: (name, flags, conversion).
_PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?([^a-zA-Z%]*)([a-zA-Z%])")


def _fill_markup(message: str, variables: dict[str, Any]) -> Markup:
    """``Markup(message) % variables``, faster: each variable escaped once, in C."""
    escaped = {k: v if isinstance(v, int | float) else escape(v) for k, v in variables.items()}
    return Markup(message % escaped)  # noqa: S704 - a message of the catalogue, values escaped


def _fill(message: str, variables: dict[str, Any]) -> str:
    """``message % variables``, escaping the variables if ``message`` is markup."""
    if isinstance(message, Markup):
        return _fill_markup(message, variables)
    return message % variables


def _literal(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, str)


def _translating_generator(translations: gettext.NullTranslations) -> type[CodeGenerator]:
    """A Jinja2 code generator that compiles templates with :class:`_Pretranslate`."""

    class TranslatingCodeGenerator(CodeGenerator):
        def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
            autoescape: bool | None = None
            if node.find(nodes.EvalContextModifier) is None:  # no {% autoescape %} inside
                autoescape = nodes.EvalContext(self.environment, self.name).autoescape
            _Pretranslate(self.environment, translations, autoescape).visit(node)
            super().visit_Template(node, frame)

    return TranslatingCodeGenerator


def _plural(translations: gettext.NullTranslations) -> Callable[[int, str, str], str]:
    say_n = translations.ngettext

    def plural(count: int, singular: str, plural: str) -> str:
        return say_n(singular, plural, count)

    return plural


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


def _to_header(display: str, address: str) -> tuple[str, str]:
    """The raw value of a To header and the envelope recipient, for one person.

    A name holding ``=?`` is sent as encoded words of its own: the standard library would
    decode a look-alike such as ``=?utf-8?b?PHNjcmlwdD4=?=`` (``<script>``) and write the
    result raw, outside any quotes, where it reads as more addresses."""
    if "=?" in display:
        return f"{_encoded_words(display)} <{address}>", _address_of("To", f"<{address}>")
    header = formataddr((display, address))
    return _stdlib_fold("To", header), _address_of("To", header)


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
    """A one-line text (a Subject) ready to store raw: folded if ASCII, else encoded.

    Text holding ``=?`` is encoded too: a reader would take ``=?utf-8?b?...?=`` written as
    it is for an encoded word and show what it decodes to, not the text itself."""
    if value.isascii() and "=?" not in value:
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


def _label_translator(translations: gettext.NullTranslations) -> Callable[[str], str]:
    """``gettext`` for labels from the data: an empty one stays empty (gettext would
    answer the catalogue's header)."""
    say = translations.gettext

    def label(text: str) -> str:
        return say(text) if text else text

    return label


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


#: The mail fields that templates get as variables (``lang`` becomes the language used).
_DEADLINE_FIELDS = tuple(f.name for f in fields(DeadlineMail) if f.name != "lang")
_SUMMIT_FIELDS = tuple(f.name for f in fields(SummitMail) if f.name != "lang")
#: The catalogue domain of the emails: ``templates/locale/<lang>/LC_MESSAGES/email.po``.
DOMAIN = "email"
_LANG_PART = re.compile(r"[-_]")


@dataclass(frozen=True, slots=True)
class _Language:
    """What the renderer needs to write in one language, made once."""

    lang: str
    env: Environment
    compiled: Mapping[str, tuple[jinja2.Template, jinja2.Template, jinja2.Template]]
    base_context: dict[str, Any]
    #: Translates a label that comes from the data (a workflow's state label); ``None`` in
    #: the source language, whose labels stay as they are.
    label: Callable[[str], str] | None


class MailRenderer:
    """Turns mails into messages with the templates of one folder, each in its recipient's
    language.

    A template that the folder lacks is taken from the packaged ones, so a folder may
    override some templates only; likewise for the ``email`` catalogues of its ``locale/``
    folder. Missing or malformed templates or catalogues are a ``UsageError`` at
    construction; errors while rendering (say, an unknown variable) raise Jinja2's own.
    """

    def __init__(self, templates: Path, *, base_url: str, mail_from: str) -> None:
        self.templates = Path(templates)
        self.base_url = base_url.rstrip("/")
        self.mail_from = mail_from
        folders = template_folders(self.templates)
        self._loader = FileSystemLoader(folders)
        # Each language found in the folder, else in the packaged catalogues: one Jinja2
        # environment each, with its compiled templates.
        self._languages = {
            lang: self._language_in(lang, i18n.catalogue_folder(folders, DOMAIN, lang))
            for lang in i18n.languages_in(folders, DOMAIN)
        }
        #: The languages emails can be written in (English and each catalogue's).
        self.languages = tuple(self._languages)
        #: The environment of English, the source language.
        self.env = self._languages[i18n.SOURCE_LANGUAGE].env
        self._chosen: dict[str, _Language] = {}
        self._from = _stdlib_fold("From", mail_from)
        self._envelope_from = _address_of("From", mail_from)
        self._to: dict[tuple[str, str], tuple[str, str]] = {}
        self._boundary = "=_doctrack_" + secrets.token_hex(12)

    def _language_in(self, lang: str, folder: Path) -> _Language:
        translations = i18n.translations(folder, DOMAIN, lang)
        if lang != i18n.SOURCE_LANGUAGE:
            try:
                _ = i18n.Formats(lang, "UTC").locale
            except UsageError as exc:  # Babel does not know the language
                where = i18n.catalogue_path(folder, lang, DOMAIN)
                raise UsageError(f"{where}: {exc}") from None
        env = Environment(
            loader=self._loader,
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
            extensions=["jinja2.ext.i18n"],
        )
        # The calls with literal messages are translated when the templates are compiled;
        # the installed functions serve the others (say, ``_(some_variable)``).
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        env.code_generator_class = _translating_generator(translations)
        env.filters.update(language_filters(lang, translations))
        env.filters[_PLURAL_FILTER] = _plural(translations)
        env.filters[_FILL] = _fill
        env.filters[_FILL_MARKUP] = _fill_markup
        compiled = {
            kind: (self._load(env, subject), self._load(env, text), self._load(env, html))
            for kind, (subject, text, html) in TEMPLATE_NAMES.items()
        }
        # Rendering passes the context as the template's whole namespace (no copy of the
        # globals per template), so the globals go into it once here.
        base_context = {**env.globals, "base_url": self.base_url, "lang": lang}
        label = None if lang == i18n.SOURCE_LANGUAGE else _label_translator(translations)
        return _Language(lang, env, compiled, base_context, label)

    def _load(self, env: Environment, name: str) -> jinja2.Template:
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound:
            raise UsageError(
                f"email template {name} not found in {self.templates} nor in the packaged templates"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or name
            raise UsageError(f"{where}:{exc.lineno}: template error: {exc.message}") from None

    def language_for(self, preferred: str) -> str:
        """The language of the emails to someone who prefers ``preferred``: it if there is
        a catalogue for it (``ru``, ``pt-BR`` as ``pt_BR``), else its primary language
        (``ru`` for ``ru-RU``), else English."""
        return self._language(preferred).lang

    def _language(self, preferred: str) -> _Language:
        found = self._chosen.get(preferred)
        if found is None:
            if len(self._chosen) >= 256:
                self._chosen.clear()
            found = self._chosen[preferred] = self._languages[self._resolve(preferred)]
        return found

    def _resolve(self, preferred: str) -> str:
        known = self._languages
        wanted = (preferred or "").strip()
        if not wanted:
            return i18n.SOURCE_LANGUAGE
        primary = _LANG_PART.split(wanted, maxsplit=1)[0].lower()
        for candidate in (wanted, wanted.replace("-", "_"), primary):
            if candidate in known:
                return candidate
        for lang in known:  # a catalogue of a variant of it: "zh" for "zh_Hans"
            if _LANG_PART.split(lang, maxsplit=1)[0].lower() == primary:
                return lang
        return i18n.SOURCE_LANGUAGE

    def deadline(self, mail: DeadlineMail) -> EmailMessage:
        """The message of one deadline reminder, in the recipient's language."""
        language = self._language(mail.lang)
        context = language.base_context.copy()
        for name in _DEADLINE_FIELDS:
            context[name] = getattr(mail, name)
        label = language.label
        if label is not None:
            context["state_label"] = label(mail.state_label)
            context["milestone_label"] = label(mail.milestone_label)
            context["dependencies_not_adopted"] = tuple(
                (slug, label(state)) for slug, state in mail.dependencies_not_adopted
            )
        context["url"] = f"{self.base_url}/instruments/{quote(mail.instrument_slug, safe='')}"
        return self._message(
            language, "deadline", context, mail.message_id, mail.to_name, mail.to_email
        )

    def summit(self, mail: SummitMail) -> EmailMessage:
        """The message of one summit reminder, in the recipient's language."""
        language = self._language(mail.lang)
        context = language.base_context.copy()
        for name in _SUMMIT_FIELDS:
            context[name] = getattr(mail, name)
        label = language.label
        if label is not None:
            context["instruments"] = tuple(
                replace(
                    item,
                    state_label=label(item.state_label),
                    next_milestone_label=(
                        label(item.next_milestone_label)
                        if item.next_milestone_label is not None
                        else None
                    ),
                )
                for item in mail.instruments
            )
        context["url"] = f"{self.base_url}/summits/{quote(mail.summit_slug, safe='')}"
        return self._message(
            language, "summit", context, mail.message_id, mail.to_name, mail.to_email
        )

    @staticmethod
    def _render(env: Environment, template: jinja2.Template, context: dict[str, Any]) -> str:
        try:
            return "".join(template.root_render_func(template.new_context(context, shared=True)))
        except Exception:  # noqa: BLE001 - re-raised, with a traceback into the template
            env.handle_exception()

    def _message(
        self,
        language: _Language,
        kind: str,
        context: dict[str, Any],
        message_id: str,
        to_name: str,
        to_email: str,
    ) -> EmailMessage:
        env = language.env
        subject_t, text_t, html_t = language.compiled[kind]
        subject = one_line(self._render(env, subject_t, context))
        text = self._render(env, text_t, context)
        html = self._render(env, html_t, context)
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
            ("Content-Language", language.lang.replace("_", "-")),
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
            value = self._to[key] = _to_header(one_line(name), email)
        return value
