"""Languages: Babel message catalogues for the templates, and locale-aware formatting.

Catalogues live beside the templates they translate, as gettext ``.po`` files:
``templates/locale/<lang>/LC_MESSAGES/<domain>.po`` with one domain per template folder
(``email``, ``reports``). English is the source language and needs no catalogue. A ``.po``
file is compiled in memory the first time it is used (and again when it changes), so an
edited translation takes effect without a build step. ``templates/email/README.md`` says
how to extract new strings and add a language (Chinese is next: the SCO's working
languages are Russian and Chinese).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.numbers import format_decimal
from babel.support import Translations

from doctrack.errors import UsageError
from doctrack.timerules import zone

SOURCE_LANGUAGE = "en"
DOMAINS = ("email", "reports")


def catalogue_path(templates: Path, lang: str, domain: str) -> Path:
    return templates / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"


def languages(templates: Path, domain: str) -> tuple[str, ...]:
    """The languages ``domain`` can be rendered in: English and every catalogue found."""
    found = {SOURCE_LANGUAGE}
    root = templates / "locale"
    if root.is_dir():
        found.update(p.parent.parent.name for p in root.glob(f"*/LC_MESSAGES/{domain}.po"))
    return tuple(sorted(found))


def languages_in(folders: Sequence[Path], domain: str) -> tuple[str, ...]:
    """The languages ``domain`` can be rendered in from any of ``folders``."""
    return tuple(sorted({lang for folder in folders for lang in languages(folder, domain)}))


def catalogue_folder(folders: Sequence[Path], domain: str, lang: str) -> Path:
    """The first of ``folders`` with a catalogue of ``domain`` in ``lang`` (English: the
    first folder); a usage error naming every language the folders have otherwise."""
    for folder in folders:
        if lang in languages(folder, domain):
            return folder
    choices = ", ".join(languages_in(folders, domain))
    raise UsageError(f"no {domain} translation for language {lang!r} (available: {choices})")


def translations(templates: Path, domain: str, lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``domain`` in ``lang`` (English: the source strings); a
    usage error naming the choices when ``templates`` has none."""
    catalogue_folder([templates], domain, lang)
    if lang == SOURCE_LANGUAGE:
        return _english()
    path = catalogue_path(templates, lang, domain)
    return _compiled(path, path.stat().st_mtime_ns, lang, domain)


@lru_cache(maxsize=1)
def _english() -> gettext.NullTranslations:
    return gettext.NullTranslations()


@lru_cache(maxsize=32)
def _compiled(path: Path, mtime_ns: int, lang: str, domain: str) -> Translations:
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain=domain, abort_invalid=True)
    except PoFileError as exc:  # Babel counts lines from 0 and says "... on N"
        message = str(exc).removesuffix(f" on {exc.lineno}")
        raise UsageError(
            f"{path}:{exc.lineno + 1}: cannot read the {lang} catalogue: {message}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - Babel raises many kinds for a broken file
        raise UsageError(f"{path}: cannot read the {lang} catalogue: {exc}") from None
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@dataclass(frozen=True, slots=True)
class Formats:
    """Dates, times and numbers in one language, in one time zone."""

    lang: str
    tz: str

    @property
    def locale(self) -> Locale:
        return _locale(self.lang)

    def day(self, value: date) -> str:
        """``5 June 2016`` / ``5 июня 2016 г.``"""
        return _format_day(value, self.lang)

    def short_day(self, value: date) -> str:
        """``5 Jun 2016`` / ``5 июн. 2016 г.``"""
        return _format_short_day(value, self.lang)

    def when(self, value: datetime) -> str:
        """An instant in this zone: ``5 June 2016, 09:00``."""
        here = value.astimezone(zone(self.tz))
        return _format_when(here.replace(tzinfo=None), self.lang)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)


#: Formatting locale of a language where the bare language's default does not suit an
#: international secretariat: English dates as "23 June 2016", not "June 23, 2016".
_FORMAT_LOCALE = {"en": "en_GB"}


@lru_cache(maxsize=16)
def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(_FORMAT_LOCALE.get(lang, lang))
    except (UnknownLocaleError, ValueError):
        raise UsageError(f"unknown language {lang!r}") from None


@lru_cache(maxsize=4096)
def _format_day(value: date, lang: str) -> str:
    return format_date(value, "long", locale=_locale(lang))


@lru_cache(maxsize=4096)
def _format_short_day(value: date, lang: str) -> str:
    return format_date(value, "medium", locale=_locale(lang))


@lru_cache(maxsize=4096)
def _format_when(value: datetime, lang: str) -> str:
    # ``value`` is naive local time: the zone was applied by the caller.
    day = format_date(value.date(), "long", locale=_locale(lang))
    return f"{day}, {format_datetime(value, 'HH:mm', locale=_locale(lang))}"
