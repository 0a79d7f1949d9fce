"""``doctrack serve`` as a real process: it listens, answers the health check and the
login page, serves the API with a token made by the CLI, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import ROOT, WORKFLOWS

pytestmark = pytest.mark.slow

DEADLINE = 30.0  # seconds a server has to answer (it usually takes about one)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """``python -m doctrack ARGS`` in a folder with its own SQLite database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
        paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env = env | {
            "PYTHONPATH": os.pathsep.join(paths),
            "DOCTRACK_DATABASE_URL": f"sqlite:///{folder / 'var' / 'doctrack.db'}",
            "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
            "DOCTRACK_OUTBOX": str(folder / "outbox"),
        }

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "doctrack", *args],
            cwd=self.folder,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, *args: str) -> Server:
        return Server(
            subprocess.Popen(
                [sys.executable, "-m", "doctrack", *args],
                cwd=self.folder,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )


class Server:
    """A started ``doctrack serve``; its log (stderr) is read as it comes."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, url: str) -> httpx.Response:
        """Poll ``url`` until it answers, the server exits, or the deadline passes."""
        until = time.monotonic() + DEADLINE
        while True:
            try:
                return httpx.get(url, timeout=2)
            except httpx.TransportError:
                self._check_alive(until, url)

    def wait_log(self, text: str) -> None:
        """Until ``text`` is in the log (or the server exits, or the deadline passes)."""
        until = time.monotonic() + DEADLINE
        while text not in self.log:
            self._check_alive(until, repr(text))

    def _check_alive(self, until: float, what: str) -> None:
        if self.popen.poll() is not None:
            self._reader.join(DEADLINE)
            pytest.fail(f"doctrack serve exited with {self.popen.returncode}: {self.log}")
        if time.monotonic() > until:
            pytest.fail(f"no {what} within {DEADLINE} s: {self.log}")
        time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, then the exit status once the process is gone and its log read."""
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(DEADLINE)
        self._reader.join(DEADLINE)
        return code

    def ended(self) -> int:
        code = self.popen.wait(DEADLINE)
        self._reader.join(DEADLINE)
        return code


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
        server.stop()
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
