"""The vendored static files: htmx unmodified (its sha256 as recorded), served with a
type the browser runs."""

from __future__ import annotations

import hashlib

from web_support import Site

from doctrack.web.rendering import HTMX, STATIC

#: sha256 of htmx.org@2.0.8 dist/htmx.min.js, as vendored (src/doctrack/web/static/README.md).
HTMX_SHA256 = "22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313"


def test_the_vendored_htmx_is_the_recorded_file() -> None:
    assert hashlib.sha256((STATIC / HTMX).read_bytes()).hexdigest() == HTMX_SHA256
    assert (STATIC / "htmx-LICENSE.txt").is_file()


def test_static_files_are_served_without_signing_in(site: Site) -> None:
    client = site.client()
    script = client.get(f"/static/{HTMX}")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert hashlib.sha256(script.content).hexdigest() == HTMX_SHA256
    assert client.get("/static/web.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../app.py").status_code == 404
