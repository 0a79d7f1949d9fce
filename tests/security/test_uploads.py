"""Uploads: limited in size (setting ``max_upload_mib``), refused without a trace, never
served as a page: an .html or .svg draft downloads as an octet-stream attachment."""

from __future__ import annotations

from pathlib import Path

import pytest

from doctrack.config import MAX_UPLOAD_MIB, load_settings
from doctrack.errors import ConfigError
from doctrack.services.tracking import MAX_REVISION_BYTES, Tracker
from helpers import snapshot
from web.web_support import make_site

MIB = 2**20


@pytest.fixture
def tracker_with_conv(world: Tracker) -> Tracker:
    world.add_instrument(
        "conv", title="Convention", workflow="convention", summit="t16", lead="KZ", actor="x"
    )
    return world


def test_an_upload_over_the_limit_is_refused_and_changes_nothing(
    tracker_with_conv: Tracker, db_url: str
) -> None:
    site = make_site(tracker_with_conv, max_upload_mib=1)
    drafter = site.browser("drafter")
    drafter.get("/instruments/conv")
    before = snapshot(db_url)
    answer = drafter.client.post(
        "/instruments/conv/revise",
        data={"csrf_token": drafter.csrf},
        files={"file": ("big.txt", b"x" * (MIB + 1), "text/plain")},
    )
    assert answer.status_code == 422
    assert "&#39;big.txt&#39; is larger than the upload limit of 1 MiB" in answer.text
    assert snapshot(db_url) == before
    answer = drafter.client.post(
        "/instruments/conv/revise",
        data={"csrf_token": drafter.csrf},
        files={"file": ("fits.txt", b"x" * MIB, "text/plain")},
    )
    assert answer.status_code == 303
    assert tracker_with_conv.show("conv").revision == 1


def test_the_api_keeps_the_same_upload_limit(tracker_with_conv: Tracker, db_url: str) -> None:
    site = make_site(tracker_with_conv, max_upload_mib=1)
    drafter = site.api("drafter")
    assert drafter.get("/api/v1/summits").status_code == 200  # the token's first use is noted
    before = snapshot(db_url)
    answer = drafter.post(
        "/api/v1/instruments/conv/revise", files={"file": ("big.txt", b"x" * (MIB + 1))}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == (
        "'big.txt' is larger than the upload limit of 1 MiB"
    )
    assert snapshot(db_url) == before
    fits = drafter.post("/api/v1/instruments/conv/revise", files={"file": ("fits.txt", b"x" * MIB)})
    assert fits.status_code == 201, fits.text


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("page.html", b"<html><script>alert(document.cookie)</script></html>"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("../../etc/passwd", b"root:x:0:0\n"),
    ],
)
def test_a_draft_is_never_served_as_a_page(
    tracker_with_conv: Tracker, name: str, body: bytes
) -> None:
    site = make_site(tracker_with_conv)
    answer = site.api("drafter").post(
        "/api/v1/instruments/conv/revise", files={"file": (name, body, "text/html")}
    )
    assert answer.status_code == 201, answer.text
    for client, url in (
        (site.browser("coord").client, "/instruments/conv/revisions/1"),
        (site.api("coord"), "/api/v1/instruments/conv/revisions/1"),
    ):
        got = client.get(url)
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment; ")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        assert "/" not in got.headers["content-disposition"].split(";")[1]


@pytest.mark.parametrize("value", ["0", "51", "-1", "ten", "1.5"])
def test_a_bad_upload_limit_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="max_upload_mib"):
        load_settings(env={"DOCTRACK_MAX_UPLOAD_MIB": value})
    toml = tmp_path / "doctrack.toml"
    toml.write_text(f'max_upload_mib = "{value}"\n')
    with pytest.raises(ConfigError, match="max_upload_mib"):
        load_settings(toml, env={})


def test_the_upload_limit_defaults_to_the_trackers_own() -> None:
    assert MAX_UPLOAD_MIB * MIB == MAX_REVISION_BYTES
    assert load_settings(env={}).max_upload_mib == MAX_UPLOAD_MIB
    assert load_settings(env={"DOCTRACK_MAX_UPLOAD_MIB": "5"}).max_upload_mib == 5
