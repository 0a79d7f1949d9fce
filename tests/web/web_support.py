"""Helpers for the web tests: an app over the ``world`` fixture, clients signed in per role."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2; the pinned dev stack has httpx, which still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from doctrack.config import Settings
from doctrack.services.accounts import Accounts
from doctrack.services.tracking import Tracker
from doctrack.web.app import create_app
from helpers import PARTIES, ROOT

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
#: One user per role in the ``world`` fixture, and a delegate (``kz``, of the lead party KZ).
ACTORS = ("drafter", "coord", "sec", "admin", "kz", "cn")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cheap_hasher() -> PasswordHasher:
    """argon2id with the cheapest parameters: the tests sign in hundreds of times."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def settings(**values: Any) -> Settings:
    return Settings(**({"secret_key": SECRET, "templates": str(ROOT / "templates")} | values))


@dataclass
class Site:
    """The app over a tracker, with a password and an API token for every user."""

    tracker: Tracker
    accounts: Accounts
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.app, follow_redirects=False, **kwargs)

    def api(self, name: str | None) -> TestClient:
        """A client sending ``name``'s token (None: no token)."""
        headers = {"Authorization": f"Bearer {self.tokens[name]}"} if name else {}
        return self.client(headers=headers)

    def browser(self, name: str | None) -> Browser:
        """A client that signed in on the login page as ``name`` (None: anonymous)."""
        b = Browser(self.client())
        if name is not None:
            b.login(name)
        return b


def make_site(tracker: Tracker, **values: Any) -> Site:
    accounts = Accounts(tracker.db, tracker.clock, hasher=cheap_hasher())
    site = Site(tracker, accounts, create_app(tracker, settings(**values), accounts=accounts))
    for name in ACTORS:
        accounts.set_password(name, PASSWORD)
        site.tokens[name] = accounts.create_token(name, label="tests")[1]
    return site


class Browser:
    """A session-cookie client that knows the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """A form post with the CSRF token (unless ``data`` names one itself)."""
        form = {"csrf_token": self.csrf, **(data or {})}
        response = self.client.post(url, data=form, **kwargs)
        self._remember(response)
        return response

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        response = self.post("/login", {"name": name, "password": password})
        assert response.status_code == 303, response.text
        self.get(response.headers["location"])  # signing in made a new CSRF token
        return response

    def _remember(self, response: httpx.Response) -> None:
        found = (
            _CSRF.search(response.text)
            if "html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)


def add(t: Tracker, slug: str, *, title: str | None = None, summit: str = "t16") -> None:
    """A convention led by KZ, in drafting, without a draft."""
    t.add_instrument(
        slug,
        title=title or f"Instrument {slug}",
        workflow="convention",
        summit=summit,
        lead="KZ",
        actor="setup",
    )


def draft(t: Tracker, slug: str, text: str = "draft") -> None:
    t.revise(slug, content=text.encode(), filename="draft.txt", as_user="drafter")


def to_agreed(t: Tracker, slug: str) -> None:
    """A new instrument, drafted, submitted, approved by every party and agreed."""
    add(t, slug)
    draft(t, slug)
    t.advance(slug, "submit", as_user="coord")
    for code in PARTIES:
        t.record_position(slug, code, "approve", as_user=code.lower())
    t.advance(slug, "agree", as_user="coord")
