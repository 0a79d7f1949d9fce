"""The authorization matrix: every route x every role x anonymous, with the exact answer.

Each route is tried by an anonymous caller and by one user of each role (``drafter``,
``coord``, ``sec``, ``admin``; ``kz``, the delegate of the lead party KZ; ``cn``, another
party's delegate), each on an instrument of their own, made ready for the route, so that
one caller's success does not change what the next one finds. API calls carry the user's
bearer token; pages are driven by a client that signed in on the login page.

An answer is its status, except that a redirect reads ``login`` when it goes to the login
page and ``303`` when it goes anywhere else (a form that was carried out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from web_support import ACTORS, Site, add, draft, to_agreed

from doctrack.services.reminders import ReminderDesk
from doctrack.services.tracking import Tracker

ANON = "anonymous"
CALLERS = (ANON, *ACTORS)


def everyone(status: str, anonymous: str) -> dict[str, str]:
    return {ANON: anonymous, **dict.fromkeys(ACTORS, status)}


def only(allowed: tuple[str, ...], ok: str, refused: str, anonymous: str) -> dict[str, str]:
    return {ANON: anonymous, **{a: ok if a in allowed else refused for a in ACTORS}}


def slug_of(caller: str) -> str:
    return f"i-{caller}"


def outcome(response: httpx.Response) -> str:
    if response.status_code in (302, 303, 307):
        return "login" if response.headers["location"].startswith("/login") else "303"
    return str(response.status_code)


Setup = Callable[[Tracker, str], None]
Call = Callable[[Site, str | None, str], httpx.Response]


@dataclass(frozen=True)
class Route:
    name: str
    setup: Setup
    call: Call
    expected: dict[str, str]


def nothing(t: Tracker, slug: str) -> None:
    return None


def with_draft(t: Tracker, slug: str) -> None:
    add(t, slug)
    draft(t, slug)


def two_drafts(t: Tracker, slug: str) -> None:
    add(t, slug)
    draft(t, slug, "first draft\n")
    draft(t, slug, "second draft\n")


def pending_reminder(t: Tracker, slug: str) -> int:
    desk = ReminderDesk(t.db, t.clock)
    return next(r.id for r in desk.list(status="pending") if r.instrument == slug)


def cancelled(t: Tracker, slug: str) -> None:
    add(t, slug)
    ReminderDesk(t.db, t.clock).cancel(pending_reminder(t, slug), as_user="coord")


def summit(t: Tracker, slug: str) -> None:
    """A summit of the caller's own (23-24 June 2016, Tashkent), with an instrument."""
    t.add_summit(
        slug,
        title=f"Summit {slug}",
        city="Tashkent",
        starts=date(2016, 6, 23),
        ends=date(2016, 6, 24),
        tz="Asia/Tashkent",
        actor="setup",
    )
    add(t, f"{slug}-doc", summit=slug)


def reminder_id(t: Tracker, slug: str) -> int:
    desk = ReminderDesk(t.db, t.clock)
    return next(r.id for r in desk.list() if r.instrument == slug)


# -- the API: bearer tokens ---------------------------------------------------------------


def api_get(path: str) -> Call:
    return lambda site, who, slug: site.api(who).get(path.format(slug=slug))


def api_post(path: str, body: dict[str, object]) -> Call:
    return lambda site, who, slug: site.api(who).post(path.format(slug=slug), json=body)


def api_revise(site: Site, who: str | None, slug: str) -> httpx.Response:
    return site.api(who).post(
        f"/api/v1/instruments/{slug}/revise",
        files={"file": ("draft-2.txt", b"second draft")},
        data={"note": "second"},
    )


READERS = everyone("200", "401")
API_ROUTES = [
    Route("GET /api/v1/instruments", add, api_get("/api/v1/instruments"), READERS),
    Route("GET /api/v1/instruments/{slug}", add, api_get("/api/v1/instruments/{slug}"), READERS),
    Route(
        "GET /api/v1/instruments/{slug}/history",
        add,
        api_get("/api/v1/instruments/{slug}/history"),
        READERS,
    ),
    Route(
        "GET /api/v1/instruments/{slug}/triggers",
        add,
        api_get("/api/v1/instruments/{slug}/triggers"),
        READERS,
    ),
    Route(
        "GET /api/v1/instruments/{slug}/revisions/1",
        with_draft,
        api_get("/api/v1/instruments/{slug}/revisions/1"),
        READERS,
    ),
    Route("GET /api/v1/summits", nothing, api_get("/api/v1/summits"), READERS),
    Route(
        "GET /api/v1/summits/{slug}/move-preview",
        summit,
        api_get("/api/v1/summits/{slug}/move-preview?starts=2016-07-07"),
        READERS,
    ),
    Route(
        "GET /api/v1/summits/{slug}/calendar.ics",
        summit,
        api_get("/api/v1/summits/{slug}/calendar.ics"),
        READERS,
    ),
    Route(
        "GET /api/v1/instruments/{slug}/diff",
        two_drafts,
        api_get("/api/v1/instruments/{slug}/diff?a=1&b=2"),
        READERS,
    ),
    Route("GET /api/v1/reminders", add, api_get("/api/v1/reminders"), READERS),
    Route("GET /api/v1/reports/status", add, api_get("/api/v1/reports/status?format=md"), READERS),
    Route("GET /openapi.json", nothing, api_get("/openapi.json"), READERS),
    Route(
        "POST advance submit (drafter, coordinator)",
        with_draft,
        api_post("/api/v1/instruments/{slug}/advance", {"trigger": "submit"}),
        only(("drafter", "coord", "admin"), "200", "403", "401"),
    ),
    Route(
        "POST advance approve (secretary)",
        to_agreed,
        api_post("/api/v1/instruments/{slug}/advance", {"trigger": "approve"}),
        only(("sec", "admin"), "200", "403", "401"),
    ),
    Route(
        "POST position KZ (its delegate, a coordinator)",
        with_draft,
        api_post("/api/v1/instruments/{slug}/position", {"party": "KZ", "stance": "approve"}),
        only(("coord", "admin", "kz"), "200", "403", "401"),
    ),
    Route(
        "POST revise (drafter, coordinator, secretary)",
        add,
        api_revise,
        only(("drafter", "coord", "sec", "admin"), "201", "403", "401"),
    ),
    Route(
        "POST retarget (coordinator, secretary)",
        add,
        api_post("/api/v1/instruments/{slug}/retarget", {"summit": "a17", "comment": "later"}),
        only(("coord", "sec", "admin"), "200", "403", "401"),
    ),
    Route(
        "POST summit move (coordinator, secretary)",
        summit,
        api_post("/api/v1/summits/{slug}/move", {"starts": "2016-07-07", "comment": "Ufa"}),
        only(("coord", "sec", "admin"), "200", "403", "401"),
    ),
]

# -- the pages: a signed-in session, CSRF tokens -----------------------------------------


def page_get(path: str) -> Call:
    return lambda site, who, slug: site.browser(who).get(path.format(slug=slug))


def page_post(path: str, form: Callable[[Site, str], dict[str, str]]) -> Call:
    def call(site: Site, who: str | None, slug: str) -> httpx.Response:
        browser = site.browser(who)
        return browser.post(path.format(slug=slug), form(site, slug))

    return call


def advance_form(trigger: str) -> Callable[[Site, str], dict[str, str]]:
    def form(site: Site, slug: str) -> dict[str, str]:
        return {"trigger": trigger, "version": str(site.tracker.show(slug).version)}

    return form


def move_form(site: Site, slug: str) -> dict[str, str]:
    version = site.tracker.get_summit(slug).version
    return {"starts": "2016-07-07", "comment": "Ufa", "version": str(version)}


def page_revise(site: Site, who: str | None, slug: str) -> httpx.Response:
    return site.browser(who).post(
        f"/instruments/{slug}/revise", {"note": "second"}, files={"file": ("d.txt", b"text")}
    )


def page_reminder(action: str) -> Call:
    def call(site: Site, who: str | None, slug: str) -> httpx.Response:
        number = reminder_id(site.tracker, slug)
        return site.browser(who).post(f"/reminders/{number}/{action}")

    return call


PAGE_READERS = everyone("200", "login")
STAFF = ("coord", "sec", "admin")
PAGE_ROUTES = [
    Route("GET /", add, page_get("/"), PAGE_READERS),
    Route("GET /summits/t16", add, page_get("/summits/t16"), PAGE_READERS),
    Route(
        "GET /summits/{slug}/calendar.ics",
        summit,
        page_get("/summits/{slug}/calendar.ics"),
        PAGE_READERS,
    ),
    Route(
        "GET /reports/status?format=md&lang=ru",
        add,
        page_get("/reports/status?format=md&lang=ru"),
        PAGE_READERS,
    ),
    Route("GET /instruments/{slug}", add, page_get("/instruments/{slug}"), PAGE_READERS),
    Route(
        "GET /instruments/{slug}/revisions/1",
        with_draft,
        page_get("/instruments/{slug}/revisions/1"),
        PAGE_READERS,
    ),
    Route(
        "GET /instruments/{slug}/diff",
        two_drafts,
        page_get("/instruments/{slug}/diff?a=1&b=2"),
        PAGE_READERS,
    ),
    Route(
        "GET /workflows/{name}/diagram.svg",
        nothing,
        page_get("/workflows/convention/diagram.svg?state=drafting"),
        PAGE_READERS,
    ),
    Route("GET /reminders", add, page_get("/reminders"), PAGE_READERS),
    Route("GET /reports/status", add, page_get("/reports/status"), PAGE_READERS),
    Route(
        "POST advance submit",
        with_draft,
        page_post("/instruments/{slug}/advance", advance_form("submit")),
        only(("drafter", "coord", "admin"), "303", "403", "login"),
    ),
    Route(
        "POST advance approve",
        to_agreed,
        page_post("/instruments/{slug}/advance", advance_form("approve")),
        only(("sec", "admin"), "303", "403", "login"),
    ),
    Route(
        "POST position KZ",
        with_draft,
        page_post(
            "/instruments/{slug}/position", lambda site, slug: {"party": "KZ", "stance": "object"}
        ),
        only(("coord", "admin", "kz"), "303", "403", "login"),
    ),
    Route(
        "POST revise",
        add,
        page_revise,
        only(("drafter", "coord", "sec", "admin"), "303", "403", "login"),
    ),
    Route(
        "POST retarget",
        add,
        page_post(
            "/instruments/{slug}/retarget",
            lambda site, slug: {"summit": "a17", "comment": "carried over"},
        ),
        only(STAFF, "303", "403", "login"),
    ),
    Route(
        "POST summit preview (a read: every signed-in user)",
        summit,
        page_post("/summits/{slug}/preview", lambda site, slug: {"starts": "2016-07-07"}),
        everyone("200", "login"),
    ),
    Route(
        "POST summit move",
        summit,
        page_post("/summits/{slug}/move", move_form),
        only(STAFF, "303", "403", "login"),
    ),
    Route(
        "POST /reminders/{id}/cancel",
        add,
        page_reminder("cancel"),
        only(STAFF, "303", "403", "login"),
    ),
    Route(
        "POST /reminders/{id}/retry",
        cancelled,
        page_reminder("retry"),
        only(STAFF, "303", "403", "login"),
    ),
    Route(
        "POST /logout",
        nothing,
        page_post("/logout", lambda site, slug: {}),
        everyone("login", "login"),
    ),
    Route(
        "POST /logout/everywhere",
        nothing,
        page_post("/logout/everywhere", lambda site, slug: {}),
        everyone("login", "login"),
    ),
    Route("GET /login", nothing, page_get("/login"), everyone("303", "200")),
    Route("GET /healthz", nothing, page_get("/healthz"), everyone("200", "200")),
    Route(
        "GET /static/htmx", nothing, page_get("/static/htmx-2.0.8.min.js"), everyone("200", "200")
    ),
    Route("GET /static/web.css", nothing, page_get("/static/web.css"), everyone("200", "200")),
]


@pytest.mark.parametrize("route", API_ROUTES + PAGE_ROUTES, ids=lambda r: r.name)
def test_every_caller_gets_the_exact_answer(site: Site, route: Route) -> None:
    for caller in CALLERS:
        route.setup(site.tracker, slug_of(caller))
    got = {
        caller: outcome(route.call(site, None if caller == ANON else caller, slug_of(caller)))
        for caller in CALLERS
    }
    assert got == route.expected


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, those of included routers too (FastAPI includes them lazily)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        elif hasattr(route, "path"):
            yield route


def test_the_matrix_covers_every_route(site: Site) -> None:
    """A new route must join the matrix: every path the app serves is named above."""
    served = {
        f"{method} {route.path}"
        for route in _routes(site.app.routes)
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }
    tried = {
        "GET /api/v1/instruments",
        "GET /api/v1/instruments/{slug}",
        "GET /api/v1/instruments/{slug}/history",
        "GET /api/v1/instruments/{slug}/triggers",
        "GET /api/v1/instruments/{slug}/revisions/{number}",
        "GET /api/v1/instruments/{slug}/diff",
        "POST /api/v1/instruments/{slug}/advance",
        "POST /api/v1/instruments/{slug}/position",
        "POST /api/v1/instruments/{slug}/revise",
        "POST /api/v1/instruments/{slug}/retarget",
        "GET /api/v1/summits",
        "GET /api/v1/summits/{slug}/move-preview",
        "GET /api/v1/summits/{slug}/calendar.ics",
        "POST /api/v1/summits/{slug}/move",
        "GET /api/v1/reminders",
        "GET /api/v1/reports/status",
        "GET /openapi.json",
        "GET /",
        "GET /summits/{slug}",
        "GET /summits/{slug}/calendar.ics",
        "POST /summits/{slug}/preview",
        "POST /summits/{slug}/move",
        "GET /instruments/{slug}",
        "GET /instruments/{slug}/revisions/{number}",
        "GET /instruments/{slug}/diff",
        "GET /workflows/{name}/diagram.svg",
        "POST /instruments/{slug}/advance",
        "POST /instruments/{slug}/position",
        "POST /instruments/{slug}/revise",
        "POST /instruments/{slug}/retarget",
        "GET /reminders",
        "POST /reminders/{reminder_id}/{action}",
        "GET /reports/status",
        "GET /login",
        "POST /login",  # tests/web/test_sessions.py
        "POST /logout",
        "POST /logout/everywhere",
        "GET /healthz",
    }
    assert served == tried
