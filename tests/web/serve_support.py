"""Real ``python -m doctrack`` processes for the serve tests: a folder with its own SQLite
database, commands run to completion, servers started and stopped by signal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from helpers import ROOT, WORKFLOWS

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
        """Start ``python -m doctrack ARGS``; the server's log is its stderr and stdout."""
        return Server(
            subprocess.Popen(
                [sys.executable, "-m", "doctrack", *args],
                cwd=self.folder,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )


class Server:
    """A started ``doctrack serve``; its log (stdout and stderr) is read as it comes."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, url: str, *, deadline: float = DEADLINE) -> httpx.Response:
        """Poll ``url`` until it answers, the server exits, or ``deadline`` seconds pass."""
        until = time.monotonic() + deadline
        while True:
            try:
                return httpx.get(url, timeout=2)
            except httpx.TransportError:
                self._check_alive(until, url, deadline)

    def wait_log(self, text: str) -> None:
        """Until ``text`` is in the log (or the server exits, or the deadline passes)."""
        until = time.monotonic() + DEADLINE
        while text not in self.log:
            self._check_alive(until, repr(text), DEADLINE)

    def _check_alive(self, until: float, what: str, deadline: float) -> None:
        if self.popen.poll() is not None:
            self._reader.join(DEADLINE)
            pytest.fail(f"doctrack serve exited with {self.popen.returncode}: {self.log}")
        if time.monotonic() > until:
            pytest.fail(f"no {what} within {deadline} s: {self.log}")
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
