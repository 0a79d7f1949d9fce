"""The REST API on each backend: the pinned shapes, ETag and If-Match, errors as JSON with
the right status (404, 409, 422), uploads and downloads, reports."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from web_support import Site, add, draft, to_agreed

from doctrack.errors import ConnectionLostError, DiskFullError
from doctrack.web.headers import REPORT_CSP


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the JSON error ``code`` with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return dict(body["error"])


def test_show_is_doc_show_json_with_the_version_as_etag(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("coord").get("/api/v1/instruments/conv")
    assert response.status_code == 200
    assert response.json() == site.tracker.show("conv").to_json()
    assert response.headers["etag"] == '"2"'
    assert list(response.json()) == [
        "slug",
        "title",
        "kind",
        "workflow",
        "state",
        "state_label",
        "state_since",
        "final",
        "adopted",
        "summit",
        "lead",
        "version",
        "revision",
        "depends_on",
        "positions",
        "position_details",
        "deadlines",
        "allowed_triggers",
    ]


def test_if_none_match_with_the_current_etag_is_304(site: Site) -> None:
    api = site.api("kz")
    assert api.get("/api/v1/instruments/conv", headers={"If-None-Match": '"1"'}).status_code == 304
    assert api.get("/api/v1/instruments/conv", headers={"If-None-Match": '"0"'}).status_code == 200


def test_advance_with_the_current_if_match_is_taken(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("coord").post(
        "/api/v1/instruments/conv/advance",
        json={"trigger": "submit", "comment": "to the experts"},
        headers={"If-Match": '"2"'},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "slug": "conv",
        "trigger": "submit",
        "from": "drafting",
        "to": "expert_review",
        "to_label": "Expert review",
        "version": 3,
    }
    assert response.headers["etag"] == '"3"'
    assert site.tracker.history("conv")[-1].comment == "to the experts"


def test_advance_with_a_stale_if_match_is_409_and_changes_nothing(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("coord").post(
        "/api/v1/instruments/conv/advance", json={"trigger": "submit"}, headers={"If-Match": '"1"'}
    )
    body = error(response, 409, "conflict")
    assert (body["state"], body["version"]) == ("drafting", 2)
    assert "expected version 1" in body["message"]
    assert site.tracker.show("conv").version == 2


def test_a_malformed_if_match_is_422(site: Site) -> None:
    response = site.api("coord").post(
        "/api/v1/instruments/conv/advance",
        json={"trigger": "submit"},
        headers={"If-Match": '"1", "2"'},
    )
    error(response, 422, "invalid")


def test_a_failed_guard_is_409_naming_the_guard_and_what_is_missing(site: Site) -> None:
    draft(site.tracker, "conv")
    site.tracker.advance("conv", "submit", as_user="coord")
    response = site.api("coord").post("/api/v1/instruments/conv/advance", json={"trigger": "agree"})
    body = error(response, 409, "guard_failed")
    assert body["guard"] == "all_parties_approve"
    assert body["detail"] == "no approve on revision 1 from CN, KG, KZ, RU, TJ, UZ"


def test_a_trigger_not_possible_now_is_409_with_the_possible_ones(site: Site) -> None:
    response = site.api("admin").post("/api/v1/instruments/conv/advance", json={"trigger": "sign"})
    body = error(response, 409, "invalid_trigger")
    assert body["possible"] == ["submit", "withdraw"]


def test_refusals_of_final_states_are_409(site: Site) -> None:
    site.tracker.advance("conv", "withdraw", as_user="sec")
    response = site.api("coord").post(
        "/api/v1/instruments/conv/revise", files={"file": ("d.txt", b"text")}
    )
    error(response, 409, "refused")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("advance", {}),
        ("advance", {"trigger": ""}),
        ("advance", {"trigger": "submit", "extra": 1}),
        ("advance", {"trigger": 7}),
        ("advance", {"trigger": "submit", "comment": "bell \x07"}),
        ("position", {"party": "KZ", "stance": "maybe"}),
        ("position", {"stance": "approve"}),  # a coordinator represents no party
        ("retarget", {"summit": "a17"}),
        ("retarget", {"summit": "a17", "comment": " "}),
        ("retarget", {"summit": "t16", "comment": "same summit"}),
    ],
)
def test_bad_bodies_are_422(site: Site, path: str, body: dict[str, Any]) -> None:
    draft(site.tracker, "conv")
    before = site.tracker.show("conv")
    response = site.api("coord").post(f"/api/v1/instruments/conv/{path}", json=body)
    error(response, 422, "invalid")
    assert site.tracker.show("conv") == before


def test_a_body_that_is_not_json_is_422(site: Site) -> None:
    response = site.api("coord").post(
        "/api/v1/instruments/conv/advance",
        content=b"trigger=submit",
        headers={"Content-Type": "application/json"},
    )
    error(response, 422, "invalid")


def test_a_bad_body_names_the_field(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("coord").post("/api/v1/instruments/conv/advance", json={"trigger": 7})
    found = error(response, 422, "invalid")
    assert [f["field"] for f in found["fields"]] == ["body.trigger"]


@pytest.mark.parametrize("token", [None, "dt_" + "x" * 43])
def test_without_a_valid_token_a_bad_body_or_if_match_is_still_401(
    site: Site, token: str | None
) -> None:
    """The token is checked before the body and the headers are read: an outsider learns
    nothing about what the route accepts."""
    draft(site.tracker, "conv")
    before = site.tracker.show("conv")
    headers = {"If-Match": "seven"} | ({"Authorization": f"Bearer {token}"} if token else {})
    response = site.client(headers=headers).post(
        "/api/v1/instruments/conv/advance", content=b"{not json"
    )
    error(response, 401, "unauthenticated")
    assert site.tracker.show("conv") == before


@pytest.mark.parametrize(
    ("failure", "retry"),
    [
        (ConnectionLostError("database connection lost; nothing was changed, try again"), "5"),
        (DiskFullError("the database is full: free some space"), None),
    ],
)
def test_a_failed_database_is_503_with_its_one_line(
    site: Site, monkeypatch: pytest.MonkeyPatch, failure: Exception, retry: str | None
) -> None:
    """storage.db turns the driver's errors into these (tests/faults); the API says 503,
    with Retry-After when trying again may help."""
    draft(site.tracker, "conv")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(site.tracker, "advance", fail)
    response = site.api("coord").post("/api/v1/instruments/conv/advance", json={"trigger": "x"})
    found = error(response, 503, "database_unavailable")
    assert found["message"] == str(failure)
    assert response.headers.get("Retry-After") == retry


@pytest.mark.parametrize(
    "query", ["limit=501", "limit=-1", "offset=-1", "limit=ten", "status=lost"]
)
def test_bad_queries_are_422(site: Site, query: str) -> None:
    path = "/api/v1/reminders" if query.startswith("status") else "/api/v1/instruments"
    error(site.api("coord").get(f"{path}?{query}"), 422, "invalid")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/instruments/nope",
        "/api/v1/instruments/nope/history",
        "/api/v1/instruments/nope/triggers",
        "/api/v1/instruments/conv/revisions/1",
        "/api/v1/reports/status?summit=nope",
        "/api/v1/no-such-route",
    ],
)
def test_missing_things_are_404(site: Site, path: str) -> None:
    error(site.api("coord").get(path), 404, "not_found")


def test_not_allowed_is_403_naming_the_roles_needed(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("cn").post(
        "/api/v1/instruments/conv/position", json={"party": "KZ", "stance": "approve"}
    )
    body = error(response, 403, "not_allowed")
    assert "delegate of KZ or coordinator" in body["message"]


def test_list_filters_and_pages(site: Site) -> None:
    for n in range(5):
        add(site.tracker, f"p{n}", summit="a17")
    to_agreed(site.tracker, "q")
    api = site.api("drafter")
    page = api.get("/api/v1/instruments?summit=a17&limit=2&offset=1").json()
    assert [i["slug"] for i in page["items"]] == ["p1", "p2"]
    assert (page["limit"], page["offset"], page["count"]) == (2, 1, 2)
    assert page["next"] == "p2"  # a full page: the next one starts after its last slug
    following = api.get("/api/v1/instruments?summit=a17&limit=2&after=p2").json()
    assert ([i["slug"] for i in following["items"]], following["next"]) == (["p3", "p4"], "p4")
    last = api.get("/api/v1/instruments?summit=a17&limit=2&after=p4").json()
    assert (last["items"], last["next"]) == ([], None)
    agreed = api.get("/api/v1/instruments?state=agreed").json()["items"]
    assert [i["slug"] for i in agreed] == ["q"]
    assert agreed[0] == next(i.to_json() for i in site.tracker.list_instruments(state="agreed"))
    error(api.get("/api/v1/instruments?summit=nowhere"), 404, "not_found")


def test_a_delegate_records_their_own_partys_position_by_default(site: Site) -> None:
    draft(site.tracker, "conv")
    response = site.api("kz").post(
        "/api/v1/instruments/conv/position", json={"stance": "reserve", "comment": "art. 5"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["positions"] == {"KZ": "reserve"}
    assert response.headers["etag"] == '"3"'


def test_revise_uploads_and_the_draft_downloads_byte_for_byte(site: Site) -> None:
    content = "Проект конвенции\n<script>alert(1)</script>\n".encode()
    api = site.api("drafter")
    response = api.post(
        "/api/v1/instruments/conv/revise",
        files={"file": ("проект-1.txt", content, "text/plain")},
        data={"note": "first draft"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["revision"] == 1
    assert response.headers["location"] == "/api/v1/instruments/conv/revisions/1"
    got = api.get(response.headers["location"])
    assert got.content == content
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%D0%BF%D1%80%D0%BE" in got.headers["content-disposition"]


def test_an_empty_upload_is_422(site: Site) -> None:
    response = site.api("drafter").post(
        "/api/v1/instruments/conv/revise", files={"file": ("empty.txt", b"")}
    )
    error(response, 422, "invalid")


def test_retarget_moves_the_deadlines(site: Site) -> None:
    response = site.api("sec").post(
        "/api/v1/instruments/conv/retarget", json={"summit": "a17", "comment": "not ready"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["summit"] == "a17"
    assert response.json()["deadlines"][0]["due"].startswith("2017-")


def test_history_and_summits_are_the_clis_json(site: Site) -> None:
    api = site.api("cn")
    history = api.get("/api/v1/instruments/conv/history").json()
    assert history == [e.to_json() for e in site.tracker.history("conv")]
    assert api.get("/api/v1/summits").json() == [s.to_json() for s in site.tracker.list_summits()]


def test_triggers_are_the_users_own(site: Site) -> None:
    api = site.api("coord")
    assert [t["trigger"] for t in api.get("/api/v1/instruments/conv/triggers").json()] == ["submit"]
    assert site.api("kz").get("/api/v1/instruments/conv/triggers").json() == []


def test_reminders_page_through_the_queue(site: Site) -> None:
    api = site.api("coord")
    every = api.get("/api/v1/reminders").json()["items"]
    assert every
    assert every[0] == next(iter(r.to_json() for r in _desk(site).list()))
    second = api.get("/api/v1/reminders?limit=1&offset=1").json()["items"]
    assert second == every[1:2]
    assert api.get("/api/v1/reminders?status=sent").json()["items"] == []


def _desk(site: Site) -> Any:
    from doctrack.services.reminders import ReminderDesk

    return ReminderDesk(site.tracker.db, site.tracker.clock)


def test_status_report_formats(site: Site) -> None:
    api = site.api("sec")
    as_json = api.get("/api/v1/reports/status?summit=t16")
    assert as_json.headers["content-type"] == "application/json"
    assert json.loads(as_json.text)["schema"] == "doctrack.status-report/1"
    md = api.get("/api/v1/reports/status?summit=t16&format=md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert "Convention on countering extremism" in md.text
    html = api.get("/api/v1/reports/status?format=html&lang=ru")
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"] == REPORT_CSP
    assert 'lang="ru"' in html.text
    error(api.get("/api/v1/reports/status?format=docx"), 422, "invalid")
    error(api.get("/api/v1/reports/status?lang=xx"), 422, "invalid")


def test_an_unknown_or_revoked_token_is_401(site: Site) -> None:
    token_id, token = site.accounts.create_token("coord", label="short-lived")
    client = site.client(headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/summits").status_code == 200
    site.accounts.revoke_token(token_id)
    response = client.get("/api/v1/summits")
    error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = site.client(headers={"Authorization": "Bearer dt_" + "x" * 43})
    error(wrong.get("/api/v1/summits"), 401, "unauthenticated")
    basic = site.client(headers={"Authorization": "Basic Y29vcmQ6cGFzc3dvcmQ="})
    error(basic.get("/api/v1/summits"), 401, "unauthenticated")


def test_the_session_cookie_does_not_open_the_api(site: Site) -> None:
    browser = site.browser("admin")
    error(browser.get("/api/v1/summits"), 401, "unauthenticated")
    response = browser.client.post("/api/v1/instruments/conv/advance", json={"trigger": "withdraw"})
    error(response, 401, "unauthenticated")
    assert site.tracker.show("conv").state == "drafting"


def test_openapi_names_the_pinned_endpoints_and_bearer_auth(site: Site) -> None:
    schema = site.api("kz").get("/openapi.json").json()
    for path in (
        "/api/v1/instruments",
        "/api/v1/instruments/{slug}",
        "/api/v1/instruments/{slug}/advance",
        "/api/v1/instruments/{slug}/position",
        "/api/v1/instruments/{slug}/revise",
        "/api/v1/instruments/{slug}/retarget",
        "/api/v1/instruments/{slug}/history",
        "/api/v1/summits",
        "/api/v1/summits/{slug}/move",
        "/api/v1/summits/{slug}/move-preview",
        "/api/v1/summits/{slug}/calendar.ics",
        "/api/v1/reminders",
        "/api/v1/reports/status",
    ):
        assert path in schema["paths"], path
    assert not any(p.startswith(("/instruments", "/login")) for p in schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    advance = schema["paths"]["/api/v1/instruments/{slug}/advance"]["post"]
    body = advance["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/AdvanceBody")
    assert set(schema["components"]["schemas"]["AdvanceBody"]["properties"]) == {
        "trigger",
        "comment",
    }
    move = schema["paths"]["/api/v1/summits/{slug}/move"]["post"]
    assert {p["name"] for p in move["parameters"]} == {"slug", "if-match"}
    body = schema["components"]["schemas"]["MoveBody"]
    assert set(body["properties"]) == {"starts", "ends", "comment"}
    assert body["required"] == ["starts"]
    assert body["properties"]["starts"]["format"] == "date"
    report_types = schema["paths"]["/api/v1/reports/status"]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in report_types
    # A signed-in person may read it too; nobody else.
    assert site.browser("kz").get("/openapi.json").status_code == 200
    error(site.client().get("/openapi.json"), 401, "unauthenticated")
