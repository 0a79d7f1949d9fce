"""The key that signs session cookies: the ``secret_key`` setting, else a file.

Without ``DOCTRACK_SECRET_KEY`` (or ``secret_key`` in the TOML file) the key is read from
``secret_key`` in the folder of the SQLite database (``var/secret_key`` for the default
database), or ``./var/secret_key`` when the database is not a SQLite file. The first
process that finds no file makes one: 32 random bytes, written to a private temporary file
(mode 0600) that is then linked into place, so several workers starting at once all end
up with the one key that won and never read a half-written file. Every web worker sharing
the file signs and accepts the same cookies; workers on other machines need the setting.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from doctrack.config import MIN_SECRET_KEY, Settings
from doctrack.errors import ConfigError

if TYPE_CHECKING:
    from doctrack.storage.db import Database

FILE_NAME = "secret_key"


def key_path(db: Database) -> Path:
    """Where the generated key lives for database ``db``."""
    database = db.engine.url.database if db.is_sqlite else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).resolve().parent / FILE_NAME
    return Path("var") / FILE_NAME


def secret_key(settings: Settings, db: Database) -> str:
    """The configured key, else the one in :func:`key_path` (made on first use)."""
    if settings.secret_key:
        return settings.secret_key
    return load_or_create(key_path(db))


def load_or_create(path: Path) -> str:
    """The key in ``path``; when there is none, a new random one written there first."""
    try:
        return _load_or_create(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot read or make the secret key {path}: {exc.strerror or exc}; "
            "set DOCTRACK_SECRET_KEY or make the folder writable"
        ) from None


def _load_or_create(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another worker was first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        key = ""
    if len(key) < MIN_SECRET_KEY:
        raise ConfigError(
            f"{path}: the secret key is shorter than {MIN_SECRET_KEY} characters; "
            "delete the file to have a new one made (everyone is signed out)"
        )
    return key
