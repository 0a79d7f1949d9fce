"""Headless Chromium through Playwright, for the tests that look at rendered pages.

The browser is Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it), never one that
Playwright downloads. :func:`chromium_or_skip` decides what a missing browser means: a skip
with the reason on a developer's machine, a failure under CI (``CI`` set and not ``false``
or ``0``). ``scripts/screenshots`` uses :func:`launch` too, so the flags live here only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request

#: Debian's Chromium; Playwright's own browser download is not used.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless in a container: no sandbox (root), no GPU, nothing fetched in the background.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
#: Where the tests leave screenshots (and the HTML they show); default: the test's tmp_path.
ARTIFACTS_ENV = "DOCTRACK_TEST_ARTIFACTS"
#: The viewport of the tests and of the README's screenshots.
VIEWPORT = {"width": 1280, "height": 900}


def in_ci() -> bool:
    """Whether this is a CI run (``CI`` set, and not to ``0``/``false``/``no``)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def chromium_or_skip(executable: Path = CHROMIUM) -> Path:
    """``executable`` if it exists; otherwise a skip saying why, or a failure under CI."""
    if executable.is_file() and os.access(executable, os.X_OK):
        return executable
    reason = f"{executable} not found (Debian: apt-get install chromium; .ci/run installs it)"
    if in_ci():
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def launch(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    """Headless Chromium at ``executable`` with :data:`CHROMIUM_ARGS`."""
    return playwright.chromium.launch(
        executable_path=str(executable), args=list(CHROMIUM_ARGS), headless=True
    )


def artifacts_dir(default: Path) -> Path:
    """The folder named by ``DOCTRACK_TEST_ARTIFACTS`` (created), else ``default``."""
    named = os.environ.get(ARTIFACTS_ENV)
    folder = Path(named) if named else default
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Visit:
    """A page opened from a file, with everything it complained about or asked for."""

    page: Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and requests for anything but the page."""
        return [
            *(f"console error: {m}" for m in self.console_errors),
            *(f"page error: {e}" for e in self.page_errors),
            *(f"request: {r}" for r in self.requests if r != self.url),
        ]


def visit(browser: Browser, path: Path, *, viewport: dict[str, int] | None = None) -> Visit:
    """Open ``path`` (a ``file://`` URL) in a fresh context and wait until it has loaded.

    Close the page's context with ``visit.page.context.close()``.
    """
    context = browser.new_context(viewport=viewport or VIEWPORT, java_script_enabled=True)
    page = context.new_page()
    url = path.resolve().as_uri()
    seen = Visit(page=page, url=url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console_errors.append(f"{message.text} ({message.location})")

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.page_errors.append(str(exc)))
    page.on("request", on_request)
    page.goto(url, wait_until="load")
    return seen


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, from its IHDR chunk; AssertionError if it is not a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR", "PNG without an IHDR chunk first"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
