"""``doctrack demo --reset --serve`` (what ``./run demo`` runs) as a real process: it replays
the demo, prints the logins, serves the demo with the scheduler, and every printed login
signs in with the printed password."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from serve_support import Process, free_port

from doctrack.demo import load_scenario
from doctrack.demo.logins import DEMO_PASSWORD

pytestmark = pytest.mark.slow

#: The replay and one argon2 hash per demo user come before the server listens.
STARTUP = 120.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(base: str, name: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/login")
    token = _CSRF.search(page.text)
    assert token, page.text
    answer = client.post(
        "/login", data={"csrf_token": token[1], "name": name, "password": password}
    )
    return client, answer


def test_the_demo_serves_itself_and_its_printed_logins_sign_in(tmp_path: Path) -> None:
    p = Process(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = p.start("demo", "--reset", "--quiet", "--serve", "--port", str(port))
    try:
        health = server.wait_for(f"{base}/healthz", deadline=STARTUP)
        assert health.status_code == 200
        server.wait_log("scheduler started")
        log = server.log
        assert f"Sign in at {base} as any of these users" in log
        assert f"password of all of them is {DEMO_PASSWORD!r}" in log
        logins = log[log.index("Sign in at") : log.index("The demo's clock")]
        printed = set(re.findall(r"^  (\S+)  ", logins, flags=re.MULTILINE))
        assert printed == {u.name for u in load_scenario().users}
        # The replay stopped at its last entry; the served clock runs on from there.
        assert "The demo's clock runs on from 2016-06-24T06:00:00+00:00" in log

        for name in sorted(printed):
            answer = sign_in(base, name, DEMO_PASSWORD)[1]
            assert (answer.status_code, answer.headers.get("location")) == (303, "/"), name
        client, _ = sign_in(base, "delegate-kz", DEMO_PASSWORD)
        dashboard = client.get("/")
        assert dashboard.status_code == 200
        assert "Convention" in dashboard.text and "astana-2017" in dashboard.text
        page = client.get("/instruments/convention-extremism")
        assert page.status_code == 200 and "Astana" in page.text

        _, refused = sign_in(base, "coordinator", "not-the-password")
        assert refused.status_code == 401
        assert "Traceback" not in server.log
    finally:
        code = server.stop()
    assert code == 0, server.log
    assert "scheduler stopped" in server.log
