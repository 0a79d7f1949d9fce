"""Signing in and out, the session cookie, CSRF refusals, throttling, security headers and
the secret key that signs the cookies."""

from __future__ import annotations

import base64
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner
from web_support import PASSWORD, SECRET, Browser, Site, draft, make_site

from doctrack.clock import FixedClock
from doctrack.config import Settings, load_settings
from doctrack.errors import ConfigError
from doctrack.services.tracking import Tracker
from doctrack.web import secret
from doctrack.web.headers import CSP
from doctrack.web.security import (
    SESSION_COOKIE,
    SESSION_ENDED,
    SESSION_MAX_AGE,
    SIGNED_OUT_EVERYWHERE,
)


def set_cookie(browser: Browser) -> str:
    response = browser.get("/login")
    return response.headers["set-cookie"]


def copy_of(site: Site, browser: Browser) -> Browser:
    """Another client holding a copy of ``browser``'s session cookie."""
    thief = Browser(site.client())
    thief.client.cookies.set(SESSION_COOKIE, browser.client.cookies[SESSION_COOKIE])
    assert thief.get("/").status_code == 200
    return thief


def test_the_session_cookie_is_httponly_lax_and_not_secure_on_http(site: Site) -> None:
    cookie = set_cookie(site.browser(None)).lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert f"max-age={SESSION_MAX_AGE}" in cookie
    assert "secure" not in cookie


def test_the_session_cookie_is_secure_behind_https(world: Tracker) -> None:
    site = make_site(world, base_url="https://doctrack.example.org")
    cookie = set_cookie(Browser(site.client(base_url="https://testserver"))).lower()
    assert "; secure" in cookie


def test_signing_in_leads_to_the_page_asked_for(site: Site) -> None:
    browser = site.browser(None)
    first = browser.get("/instruments/conv")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Finstruments%2Fconv"
    page = browser.get(first.headers["location"])
    assert 'name="next" value="/instruments/conv"' in page.text
    response = browser.post(
        "/login", {"name": "kz", "password": PASSWORD, "next": "/instruments/conv"}
    )
    assert (response.status_code, response.headers["location"]) == (303, "/instruments/conv")
    assert browser.get("/instruments/conv").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", ""])
def test_signing_in_never_leads_off_the_site(site: Site, target: str) -> None:
    browser = site.browser(None)
    browser.get("/login")
    response = browser.post("/login", {"name": "kz", "password": PASSWORD, "next": target})
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(("name", "password"), [("kz", "wrong password!"), ("nobody", PASSWORD)])
def test_a_failed_sign_in_says_one_thing_whatever_was_wrong(
    site: Site, name: str, password: str
) -> None:
    browser = site.browser(None)
    browser.get("/login")
    response = browser.post("/login", {"name": name, "password": password})
    assert response.status_code == 401
    assert "wrong user name or password" in response.text
    assert browser.get("/").status_code == 303  # still signed out


def test_too_many_failures_are_throttled_with_retry_after(site: Site) -> None:
    browser = site.browser(None)
    browser.get("/login")
    for _ in range(5):
        assert (
            browser.post("/login", {"name": "kz", "password": "not it at all"}).status_code == 401
        )
    response = browser.post("/login", {"name": "kz", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "900"
    assert "too many failed logins for kz: try again in 15 minutes" in response.text
    assert isinstance(site.tracker.clock, FixedClock)
    site.tracker.clock.set(site.tracker.clock.now() + timedelta(minutes=15))
    assert browser.post("/login", {"name": "kz", "password": PASSWORD}).status_code == 303


def test_sign_in_without_the_csrf_token_is_refused(site: Site) -> None:
    browser = site.browser(None)
    response = browser.client.post("/login", data={"name": "kz", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.text
    browser.get("/login")
    response = browser.post("/login", {"csrf_token": "forged", "name": "kz", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/instruments/conv/advance", {"trigger": "submit"}),
        ("/instruments/conv/position", {"party": "KZ", "stance": "approve"}),
        ("/instruments/conv/retarget", {"summit": "a17", "comment": "later"}),
        ("/instruments/conv/revise", {}),
        ("/logout", {}),
        ("/logout/everywhere", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "", "forged", "other session"])
def test_state_changing_forms_without_the_sessions_csrf_token_are_403(
    site: Site, path: str, form: dict[str, str], token: str | None
) -> None:
    draft(site.tracker, "conv")
    before = site.tracker.show("conv")
    browser = site.browser("admin")
    data = dict(form)
    if token == "other session":
        data["csrf_token"] = site.browser("admin").csrf
    elif token is not None:
        data["csrf_token"] = token
    files = {"file": ("d.txt", b"text")} if path.endswith("revise") else None
    response = browser.client.post(path, data=data, files=files)
    assert response.status_code == 403
    assert "CSRF token" in response.text
    assert site.tracker.show("conv") == before
    assert browser.get("/").status_code == 200  # still signed in: /logout was refused too
    assert copy_of(site, browser).get("/").status_code == 200  # and so was /logout/everywhere


def test_signing_out_ends_the_session(site: Site) -> None:
    browser = site.browser("coord")
    response = browser.post("/logout")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert browser.get("/").status_code == 303


def test_signing_out_ends_this_browsers_session_only(site: Site) -> None:
    laptop, phone = site.browser("coord"), site.browser("coord")
    laptop.post("/logout")
    assert laptop.get("/").status_code == 303
    assert phone.get("/").status_code == 200


def test_sign_out_everywhere_ends_every_session_copied_cookies_included(site: Site) -> None:
    laptop, phone = site.browser("coord"), site.browser("coord")
    thief, others = copy_of(site, phone), site.browser("sec")
    response = laptop.post("/logout/everywhere")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert SIGNED_OUT_EVERYWHERE in laptop.get("/login").text
    for ended in (laptop, phone, thief):
        assert ended.get("/").headers["location"].startswith("/login")
    assert SESSION_ENDED in phone.get("/login").text  # said once, then gone
    assert SESSION_ENDED not in phone.get("/login").text
    assert others.get("/").status_code == 200  # another user's sessions go on
    assert site.browser("coord").get("/").status_code == 200  # signing in again works


def test_a_password_change_ends_the_users_sessions(site: Site) -> None:
    browser = site.browser("coord")
    thief = copy_of(site, browser)
    site.accounts.set_password("coord", "a brand new long password")
    assert browser.get("/").status_code == 303
    assert thief.get("/").status_code == 303
    assert site.accounts.login("coord", "a brand new long password").name == "coord"


def forged(site: Site, session: dict[str, object]) -> Browser:
    """A client with a cookie signed with the site's own key, as SessionMiddleware signs."""
    data = base64.b64encode(json.dumps(session).encode())
    browser = Browser(site.client())
    browser.client.cookies.set(SESSION_COOKIE, TimestampSigner(SECRET).sign(data).decode("utf-8"))
    return browser


def test_a_session_without_the_users_epoch_is_over(site: Site) -> None:
    """A cookie signed before the session epoch existed (or after it moved) is no session;
    the same cookie with the epoch is one, so the forgery itself is sound."""
    epoch = site.tracker.get_user("coord").session_epoch
    assert forged(site, {"user": "coord", "epoch": epoch}).get("/").status_code == 200
    for stale in (
        {"user": "coord"},
        {"user": "coord", "epoch": epoch - 1},
        {"user": "coord", "epoch": str(epoch)},
        {"user": "coord", "epoch": True},
    ):
        assert forged(site, stale).get("/").status_code == 303, stale


def test_a_tampered_cookie_is_no_session(site: Site) -> None:
    browser = site.browser("coord")
    value = browser.client.cookies[SESSION_COOKIE]
    browser.client.cookies.set(SESSION_COOKIE, value[:-2] + ("A" if value[-1] != "A" else "B"))
    assert browser.get("/").headers["location"].startswith("/login")


def test_a_cookie_signed_with_another_key_is_no_session(site: Site, world: Tracker) -> None:
    browser = site.browser("coord")
    other = make_site(world, secret_key="another-secret-key-also-long-enough-0123")
    thief = Browser(other.client())
    thief.client.cookies.set(SESSION_COOKIE, browser.client.cookies[SESSION_COOKIE])
    assert thief.get("/").status_code == 303


def test_roles_are_read_on_every_request(site: Site) -> None:
    draft(site.tracker, "conv")
    browser = site.browser("kz")
    page = browser.get("/instruments/conv").text
    assert "submit → Expert review" not in page
    site.tracker.grant_role("kz", "drafter")
    assert "submit → Expert review" in browser.get("/instruments/conv").text


def test_every_answer_carries_the_security_headers(site: Site) -> None:
    for response in (
        site.browser(None).get("/login"),
        site.browser("kz").get("/"),
        site.client().get("/static/web.css"),
        site.api("kz").get("/api/v1/summits"),
    ):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"


# -- the secret key -----------------------------------------------------------------------


def _file_db(tmp_path: Path) -> Tracker:
    import doctrack

    url = f"sqlite:///{tmp_path / 'db' / 'doctrack.db'}"
    doctrack.init_database(url)
    return doctrack.connect(url, settings=Settings())


def test_without_a_setting_the_key_is_made_once_next_to_the_database(tmp_path: Path) -> None:
    tracker = _file_db(tmp_path)
    try:
        first = secret.secret_key(Settings(), tracker.db)
        path = tmp_path / "db" / "secret_key"
        assert path.read_text().strip() == first
        assert len(first) >= 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert secret.secret_key(Settings(), tracker.db) == first
        assert secret.secret_key(Settings(secret_key=SECRET), tracker.db) == SECRET
        assert list(path.parent.glob(".secret_key*")) == []
    finally:
        tracker.db.dispose()


def test_workers_starting_at_once_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: secret.load_or_create(path), range(32)))
    assert keys == {path.read_text().strip()}


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secret_key: a secret key needs at least 32"):
        load_settings(env={"DOCTRACK_SECRET_KEY": "short"})
    path = tmp_path / "secret_key"
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="shorter than 32 characters; delete the file"):
        secret.load_or_create(path)


def test_an_unwritable_folder_says_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.access(folder, os.W_OK):
        pytest.skip("running as root: every folder is writable")
    with pytest.raises(ConfigError, match="set DOCTRACK_SECRET_KEY"):
        secret.load_or_create(folder / "secret_key")


def test_the_key_is_not_in_the_settings_repr() -> None:
    assert SECRET not in repr(Settings(secret_key=SECRET))
