"""``doctrack serve`` as a real process: it listens, answers the health check and the
login page, serves the API with a token made by the CLI, and stops on SIGTERM."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import Process, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def process(tmp_path: Path) -> Iterator[Process]:
    p = Process(tmp_path)
    p.run("init")
    p.run("party", "add", "KZ", "--name", "Kazakhstan")
    p.run("user", "add", "aliya", "--email", "a@example.org", "--role", "coordinator")
    yield p


def test_serve_answers_health_login_and_the_api(process: Process) -> None:
    token = process.run("user", "token", "create", "aliya", "--label", "test").split()[-1]
    port = free_port()
    server = process.start("serve", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        health = server.wait_for(f"{base}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert "Sign in to doctrack" in httpx.get(f"{base}/login").text
        assert httpx.get(f"{base}/api/v1/summits").status_code == 401
        api = httpx.get(f"{base}/api/v1/summits", headers={"Authorization": f"Bearer {token}"})
        assert (api.status_code, api.json()) == (200, [])
        assert "server" not in health.headers
    finally:
        code = server.stop()
    assert code == 0, server.log  # SIGTERM is how a service manager stops it: not a failure
    assert f"Uvicorn running on http://127.0.0.1:{port}" in server.log
    key = process.folder / "var" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_serve_with_the_scheduler_dispatches_and_stops_on_sigterm(process: Process) -> None:
    port = free_port()
    server = process.start("serve", "--port", str(port), "--with-scheduler")
    try:
        server.wait_for(f"http://127.0.0.1:{port}/healthz")
        server.wait_log("scheduler started")
    finally:
        code = server.stop()
    assert code == 0, server.log
    assert "received SIGTERM: stopping after the batch in flight" in server.log
    assert "scheduler stopped" in server.log
    assert "Finished server process" in server.log  # uvicorn finished its requests too


def test_serve_on_a_port_in_use_fails_with_one_line(process: Process) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = process.start("serve", "--port", str(port), "--with-scheduler")
        code = server.ended()
    assert code == 2, server.log
    assert f"doctrack: the web server could not start on 127.0.0.1:{port}" in server.log
    assert "Traceback" not in server.log
