"""Settings in one place: each has a name, a type, a default and help text.

Values come from the defaults, then ``config/doctrack.toml`` (or ``--config FILE``), then
environment variables ``DOCTRACK_<NAME>``; command-line options win over all of them.
A malformed value fails at start with the setting's name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any

from doctrack.clock import parse_instant
from doctrack.domain import Days
from doctrack.errors import ConfigError, UsageError

DEFAULT_CONFIG_FILE = Path("config/doctrack.toml")
DEFAULT_DATABASE_URL = "sqlite:///var/doctrack.db"


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise TypeError("expected a whole number")
    return int(str(raw))


def _to_positive_int(raw: object) -> int:
    value = _to_int(raw)
    if value < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value}")
    return value


#: The largest upload limit that can be set, in MiB: the tracker refuses larger drafts
#: whatever the setting (``doctrack.services.tracking.MAX_REVISION_BYTES``).
MAX_UPLOAD_MIB = 50


def _to_upload_mib(raw: object) -> int:
    value = _to_positive_int(raw)
    if value > MAX_UPLOAD_MIB:
        raise ValueError(f"expected at most {MAX_UPLOAD_MIB} (MiB), got {value}")
    return value


def _to_str(raw: object) -> str:
    if not isinstance(raw, str | int | float):
        raise TypeError("expected a string")
    return str(raw)


def _to_opt_str(raw: object) -> str | None:
    text = _to_str(raw)
    return text or None


#: The shortest secret key accepted: 32 characters (itsdangerous signs with HMAC-SHA1 over a
#: key derived from it; shorter keys are guessable).
MIN_SECRET_KEY = 32


def _to_secret(raw: object) -> str | None:
    """A secret key of at least :data:`MIN_SECRET_KEY` characters; empty: none."""
    text = _to_opt_str(raw)
    if text is not None and len(text.strip()) < MIN_SECRET_KEY:
        raise ValueError(f"a secret key needs at least {MIN_SECRET_KEY} characters")
    return text


def _to_instant(raw: object) -> str | None:
    """An ISO-8601 time, checked now and kept as written (the clock parses it)."""
    text = _to_opt_str(raw)
    if text is not None:
        try:
            parse_instant(text)
        except UsageError:
            raise ValueError(
                f"expected an ISO-8601 time such as 2016-09-01T09:00, got {text!r}"
            ) from None
    return text


def _to_time(raw: object) -> time:
    if isinstance(raw, time):  # a TOML local time: send_time = 09:00:00
        value = raw
    else:
        try:
            value = time.fromisoformat(_to_str(raw))
        except ValueError:
            raise ValueError("expected a time such as 09:00") from None
    if value.tzinfo is not None:
        raise ValueError("expected a local time without an offset, such as 09:00")
    return value


def _to_days_list(raw: object) -> tuple[Days, ...]:
    items = raw if isinstance(raw, list) else [p for p in str(raw).split(",") if p.strip()]
    return tuple(Days.parse(str(p).strip()) for p in items)


def _to_str_list(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return tuple(str(p).strip() for p in items if str(p).strip())


def _to_cron(raw: object) -> str | None:
    """A crontab rule (five fields) for scheduled reports; empty or ``off``: none."""
    text = " ".join(_to_str(raw).split())
    if text.lower() in {"", "off"}:
        return None
    from doctrack.services.report_schedule import check_cron

    return check_cron(text)


def _to_cron_table(raw: object) -> tuple[tuple[str, str | None], ...]:
    """Summit slug to crontab rule (``off``: none). TOML: a table; environment:
    ``slug=RULE;slug=off``."""
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        items = []
        for part in str(raw).split(";"):
            if part.strip():
                slug, sep, rule = part.partition("=")
                if not sep:
                    raise ValueError(f"expected SUMMIT=RULE, got {part.strip()!r}")
                items.append((slug.strip(), rule))
    return tuple((str(slug), _to_cron(rule)) for slug, rule in items)


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name (the TOML key; the env var is ``DOCTRACK_`` + upper case)."""

    name: str
    parse: Callable[[object], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "DOCTRACK_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        _to_str,
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database: sqlite:///PATH or postgresql+psycopg://...",
    ),
    Setting(
        "workflows",
        _to_opt_str,
        None,
        "Folder of workflow files; default ./workflows if it exists, else the packaged ones",
    ),
    Setting(
        "now",
        _to_instant,
        None,
        "Fixed current time (ISO-8601; UTC without an offset) for rehearsals and replays",
    ),
    Setting(
        "busy_timeout",
        _to_int,
        30,
        "Seconds a SQLite writer waits for another writer before giving up",
    ),
    Setting(
        "smtp_host",
        _to_opt_str,
        None,
        "SMTP server; without it emails are written to the outbox folder",
    ),
    Setting("smtp_port", _to_int, 25, "SMTP port"),
    Setting("smtp_starttls", _to_bool, False, "Use STARTTLS on the SMTP connection"),
    Setting("smtp_user", _to_opt_str, None, "SMTP login user"),
    Setting("smtp_password", _to_opt_str, None, "SMTP login password"),
    Setting("mail_from", _to_str, "doctrack@localhost", "From address of emails"),
    Setting("outbox", _to_str, "var/outbox", "Folder for .eml files when no SMTP host is set"),
    Setting(
        "send_time",
        _to_time,
        time(9, 0),
        "Local time (in the summit's zone) at which reminders are sent",
    ),
    Setting(
        "summit_reminders_before",
        _to_days_list,
        (Days(days=30), Days(days=7)),
        "Days before a summit's first day at which summit reminders go out",
    ),
    Setting(
        "summit_reminders_to", _to_str_list, ("secretary",), "Roles that receive summit reminders"
    ),
    Setting(
        "templates",
        _to_opt_str,
        None,
        "Folder of email and report templates; default ./templates if it exists, else the "
        "packaged ones",
    ),
    Setting(
        "dispatch_interval",
        _to_positive_int,
        60,
        "Seconds between two dispatcher runs of `doctrack scheduler`",
    ),
    Setting(
        "report_schedule",
        _to_cron,
        None,
        "Crontab rule (in each summit's zone) on which the scheduler emails the status "
        "report, e.g. '0 8 * * mon'; unset: no scheduled reports",
    ),
    Setting(
        "report_schedule_by_summit",
        _to_cron_table,
        (),
        "Per summit: a rule that replaces report_schedule, or 'off'",
    ),
    Setting(
        "report_to",
        _to_str_list,
        ("secretary",),
        "Roles that receive scheduled status reports",
    ),
    Setting(
        "report_pdf",
        _to_bool,
        True,
        "Attach the PDF to scheduled report emails when WeasyPrint is installed",
    ),
    Setting(
        "base_url",
        _to_str,
        "http://127.0.0.1:8000",
        "Public address of the web UI, used for links in emails and reports",
    ),
    Setting(
        "secret_key",
        _to_secret,
        None,
        "Key that signs the web UI's session cookies (32 characters or more); unset: a random "
        "key made once into var/secret_key next to the database",
    ),
    Setting(
        "max_upload_mib",
        _to_upload_mib,
        MAX_UPLOAD_MIB,
        f"Largest draft the web UI accepts, in MiB (1 to {MAX_UPLOAD_MIB}); a larger upload is "
        "refused and nothing is stored",
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`."""

    database_url: str = DEFAULT_DATABASE_URL
    workflows: str | None = None
    now: str | None = None
    busy_timeout: int = 30
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "doctrack@localhost"
    outbox: str = "var/outbox"
    send_time: time = time(9, 0)
    summit_reminders_before: tuple[Days, ...] = field(default=(Days(days=30), Days(days=7)))
    summit_reminders_to: tuple[str, ...] = ("secretary",)
    templates: str | None = None
    dispatch_interval: int = 60
    report_schedule: str | None = None
    report_schedule_by_summit: tuple[tuple[str, str | None], ...] = ()
    report_to: tuple[str, ...] = ("secretary",)
    report_pdf: bool = True
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = field(default=None, repr=False)
    max_upload_mib: int = MAX_UPLOAD_MIB


def _parse(setting: Setting, raw: object, source: str) -> Any:
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: bad value for {setting.name}: {exc}") from None


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then ``DOCTRACK_*`` variables, then ``overrides``.

    An explicitly named file must exist; the default ``config/doctrack.toml`` is optional.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = Path(config_file) if config_file is not None else DEFAULT_CONFIG_FILE
    if config_file is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        for key, raw in data.items():
            setting = _BY_NAME.get(key)
            if setting is None:
                known = ", ".join(sorted(_BY_NAME))
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
            values[key] = _parse(setting, raw, str(path))
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.name] = _parse(setting, env[setting.env], setting.env)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = _parse(_BY_NAME[key], raw, f"--{key.replace('_', '-')}")
    return Settings(**values)


def setting_names() -> list[str]:
    """Names of all settings (a test checks each is documented in the README)."""
    return [f.name for f in fields(Settings)]
