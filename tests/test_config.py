"""Settings: defaults, then the TOML file, then DOCTRACK_* variables, then explicit overrides."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import time
from pathlib import Path

import pytest

from doctrack.config import SETTINGS, Settings, load_settings, setting_names
from doctrack.domain import Days
from doctrack.errors import ConfigError
from helpers import ROOT

#: Environment variables DESIGN.md pins by name.
PINNED_ENV = {
    "DOCTRACK_DATABASE_URL",
    "DOCTRACK_WORKFLOWS",
    "DOCTRACK_NOW",
    "DOCTRACK_SMTP_HOST",
    "DOCTRACK_SMTP_PORT",
    "DOCTRACK_SMTP_STARTTLS",
    "DOCTRACK_SMTP_USER",
    "DOCTRACK_SMTP_PASSWORD",
    "DOCTRACK_MAIL_FROM",
    "DOCTRACK_OUTBOX",
}
#: (setting, malformed value as it would come from the environment).
MALFORMED = [
    ("smtp_starttls", "maybe"),
    ("smtp_port", "twenty-five"),
    ("busy_timeout", "1.5"),
    ("send_time", "9 o'clock"),
    ("send_time", "25:00"),
    ("summit_reminders_before", "30 days"),
    ("summit_reminders_before", "30d,-7d"),
]


@pytest.fixture(autouse=True)
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from an empty folder, so that no config/doctrack.toml is found by default."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _toml(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///var/doctrack.db"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (None, 25, False)
    assert settings.send_time == time(9, 0)
    assert settings.summit_reminders_before == (Days(days=30), Days(days=7))
    assert settings.summit_reminders_to == ("secretary",)
    assert (settings.outbox, settings.now, settings.workflows) == ("var/outbox", None, None)


def test_file_values_are_read(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
database_url = "sqlite:///data/d.db"
smtp_host = "smtp.example.org"
smtp_port = 587
smtp_starttls = true
send_time = "08:30"
summit_reminders_before = ["14d", "2d"]
summit_reminders_to = ["secretary", "coordinator"]
""",
    )
    settings = load_settings(path, env={})
    assert settings.database_url == "sqlite:///data/d.db"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.example.org",
        587,
        True,
    )
    assert settings.send_time == time(8, 30)
    assert settings.summit_reminders_before == (Days(days=14), Days(days=2))
    assert settings.summit_reminders_to == ("secretary", "coordinator")


def test_default_file_in_the_current_folder_is_read(empty_folder: Path) -> None:
    _toml(empty_folder, 'mail_from = "sco@example.org"\n', "config/doctrack.toml")
    assert load_settings(env={}).mail_from == "sco@example.org"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'smtp_port = 587\nmail_from = "file@example.org"\n')
    settings = load_settings(path, env={"DOCTRACK_SMTP_PORT": "2525"})
    assert (settings.smtp_port, settings.mail_from) == (2525, "file@example.org")


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        env={
            "DOCTRACK_SMTP_STARTTLS": "yes",
            "DOCTRACK_SUMMIT_REMINDERS_BEFORE": "30d, 7d, 1d",
            "DOCTRACK_SUMMIT_REMINDERS_TO": "secretary,admin",
            "DOCTRACK_SEND_TIME": "07:15",
            "DOCTRACK_SMTP_HOST": "",
        }
    )
    assert settings.smtp_starttls is True
    assert settings.summit_reminders_before == tuple(Days(days=d) for d in (30, 7, 1))
    assert settings.summit_reminders_to == ("secretary", "admin")
    assert settings.send_time == time(7, 15)
    assert settings.smtp_host is None


def test_explicit_overrides_win_over_environment_and_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'database_url = "sqlite:///file.db"\nnow = "2016-01-01"\n')
    settings = load_settings(
        path,
        env={"DOCTRACK_DATABASE_URL": "sqlite:///env.db", "DOCTRACK_NOW": "2016-02-01"},
        overrides={"database_url": "sqlite:///option.db", "now": None},
    )
    assert settings.database_url == "sqlite:///option.db"
    assert settings.now == "2016-02-01"  # an override of None leaves the value alone


@pytest.mark.parametrize(("name", "raw"), MALFORMED)
def test_malformed_environment_value_raises_naming_the_setting(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(env={f"DOCTRACK_{name.upper()}": raw})


@pytest.mark.parametrize(("name", "raw"), MALFORMED)
def test_malformed_file_value_raises_naming_the_setting(
    tmp_path: Path, name: str, raw: str
) -> None:
    path = _toml(tmp_path, f"{name} = {json.dumps(raw)}\n")
    with pytest.raises(ConfigError, match=name):
        load_settings(path, env={})


def test_wrong_toml_type_raises_naming_the_setting(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'database_url = ["sqlite:///a.db"]\n')
    with pytest.raises(ConfigError, match="database_url"):
        load_settings(path, env={})


def test_malformed_now_raises_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="now"):
        load_settings(env={"DOCTRACK_NOW": "yesterday"})


def test_unknown_key_in_the_file_raises_naming_the_key(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'smtp_hots = "smtp.example.org"\n')
    with pytest.raises(ConfigError, match="smtp_hots"):
        load_settings(path, env={})


def test_explicit_config_file_that_is_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml", env={})


def test_file_that_is_not_toml_raises(tmp_path: Path) -> None:
    path = _toml(tmp_path, "smtp_port = = 25\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(path, env={})


def test_setting_names_are_the_settings_fields() -> None:
    assert setting_names() == [s.name for s in SETTINGS]


def test_pinned_environment_variables_are_settings() -> None:
    assert {s.env for s in SETTINGS} >= PINNED_ENV


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    text = readme.read_text(encoding="utf-8")
    undocumented = [s.env for s in SETTINGS if not re.search(rf"\b{s.env}\b", text)]
    assert undocumented == []


def test_shipped_config_file_loads_and_names_only_known_settings() -> None:
    shipped = ROOT / "config" / "doctrack.toml"
    load_settings(shipped, env={})
    keys = set(tomllib.loads(shipped.read_text(encoding="utf-8")))
    assert keys <= {s.name for s in SETTINGS}


def test_a_toml_local_time_is_accepted_for_send_time(tmp_path: Path) -> None:
    settings = load_settings(_toml(tmp_path, "send_time = 07:45:00\n"), env={})
    assert settings.send_time == time(7, 45)


def test_a_toml_offset_time_is_refused_for_send_time(tmp_path: Path) -> None:
    path = _toml(tmp_path, "send_time = 1979-05-27T07:32:00Z\n")
    with pytest.raises(ConfigError, match="send_time"):
        load_settings(path, env={})
