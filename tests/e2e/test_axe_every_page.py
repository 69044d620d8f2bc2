"""Issue 14: axe-core on every page of the intranet. The GET routes come
from the app's own route table (FastAPI), not from a list kept by hand:
every route that answers with a page (not /api, /webhooks, the metrics and
probes, /static, FastAPI's API docs, or a download) must have a visit plan
below, or the test fails and names it, so a new page cannot go unchecked.
Each plan fills the path's parameters from data made on the real stack (an
account in each stage of its life, one waiting for screenshots, a message
case, a declared crisis) and visits the page in Chromium as a person who
may see it; axe-core (WCAG 2.1 A/AA) must find no serious or critical
violation, and the page must answer 200 (a 403 or an error page is not
the page that was meant to be checked).

    .venv/bin/python -m pytest tests/e2e/test_axe_every_page.py -q -p no:xdist
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from playwright.async_api import Browser, Page
from starlette.routing import BaseRoute

from tests.e2e.browser import ARTIFACTS, axe_violations, new_page, person_page, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.snapshot_waits import waiting_snapshot
from tests.e2e.test_authorisation_matrix import request_account, to_amending
from tests.e2e.test_messages_api import as_, received
from tests.support import COMMS, MANAGER, REGISTRARS, REQUESTER, assessment

CRISIS = "eva.marklund"
OFFICER = "jonas.blom"  # samhällsbyggnad: a case officer only when asked
ADMIN = REQUESTER  # active_account's admins: elin.strand and johan.berg
REGISTRAR = REGISTRARS[0]
NARROW = 390  # a phone held upright (issue 14: layout on a narrow window)
OUT = ARTIFACTS / "axe"  # a screenshot of each page visited (git-ignored)

# Not pages: machine interfaces, files, and FastAPI's own API documentation.
NOT_PAGE_PREFIXES = ("/api/", "/webhooks/", "/static")
NOT_PAGES = {
    "/metrics": "Prometheus text",
    "/livez": "probe",
    "/readyz": "probe",
    "/healthz": "probe (JSON)",
    "/openapi.json": "the API's schema",
    "/docs": "FastAPI's Swagger UI for the JSON API, not an intranet page",
    "/docs/oauth2-redirect": "part of the Swagger UI",
    "/redoc": "FastAPI's ReDoc for the JSON API, not an intranet page",
    "/records/register.json": "download (R-36 export)",
    "/records/register.csv": "download (R-36 export)",
    "/messages/{case_id}/uploads/{upload_id}": "download (a case's screenshot, R-30/R-45)",
    "/accounts/{account_id}/consents/{upload_id}": "download (a guardian's consent, R-41)",
    # Redirects only: to the identity provider and back (tests/e2e/test_oidc*.py);
    # with the development sign-in there is no provider to go to.
    "/auth/oidc/start": "redirect to the OpenID provider",
    "/auth/oidc/callback": "redirect from the OpenID provider",
}


# The elements that stick out past the right edge of the window (the
# outermost ones; inside a .table-scroll box is allowed), as "tag.class".
WIDER_THAN_WINDOW = """() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return [];
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.table-scroll')) continue;
    const r = el.getBoundingClientRect();
    if (r.right > w + 1 && r.width > 0 && !(el.parentElement && el.parentElement
        .getBoundingClientRect().right > w + 1)) {
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
               + (el.id ? '#' + el.id : ''));
    }
  }
  return out.slice(0, 5);
}"""


@dataclass(frozen=True)
class Visit:
    route: str  # the route's path template, as in the route table
    path: str  # filled in, with any query
    person: str | None  # None: not signed in
    name: str


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(path, route) of every route, also inside included routers (FastAPI
    0.165 keeps an included router as one entry of app.routes)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + str(getattr(route, "path", "")), route


def page_routes(app: FastAPI) -> set[str]:
    """Every GET route of the app that answers with a page."""
    found = set()
    for path, route in _routes(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if path.startswith(NOT_PAGE_PREFIXES) or path in NOT_PAGES:
            continue
        found.add(path)
    return found


@dataclass
class Data:
    requested: str
    approved: str
    amending: str
    active: str
    waiting: str
    case_id: str


async def _data(stack: Stack) -> Data:
    requested = await request_account(stack, f"Axe begärt {uuid.uuid4().hex[:6]}")
    approved = await request_account(stack, f"Axe godkänt {uuid.uuid4().hex[:6]}")
    r = await stack.http.post(f"/api/accounts/{approved}/approve", headers=as_(MANAGER),
                              json={"admins_equipped": True})
    assert r.status_code == 200, r.text
    for kind in ("ros", "dpia"):  # ready for the communications unit's sign-off
        r = await stack.http.post(f"/api/accounts/{approved}/risk-assessments",
                                  headers=as_(REQUESTER),
                                  json=assessment(kind, datetime.now(UTC).date()))
        assert r.status_code == 200, r.text
    amending = await request_account(stack, f"Axe komplettering {uuid.uuid4().hex[:6]}")
    await to_amending(stack, amending)
    active = await active_account(stack)
    # An Instagram account without a Page token waits for its activation's
    # screenshots: the account page shows the upload.
    waiting = await active_account(stack, platform="instagram", platform_account_id=None,
                                   name="Ungdomens hus")
    assert await waiting_snapshot(stack, waiting, "major_change") is not None
    case_id = await received(stack, active, "När öppnar biblioteket efter renoveringen?")
    # the admin forwards it to a case officer in another unit.
    r = await stack.http.post(f"/api/messages/{case_id}/forward", headers=as_(ADMIN),
                              json={"officer": OFFICER, "note": "Kan du svara?"})
    assert r.status_code == 200, r.text
    # a crisis declared for the culture unit, so /crisis shows one.
    r = await stack.http.post("/api/municipalities/exempelby/crisis", headers=as_(CRISIS),
                              json={"reason": "Vattenläcka", "units": ["kultur"]})
    assert r.status_code == 200, r.text
    return Data(requested, approved, amending, active, waiting, case_id)


def plans(d: Data) -> list[Visit]:
    """Every page, filled in, as a person who may see it (several where
    the page differs by stage or by who looks)."""
    acc = "/accounts/{account_id}"
    return [
        Visit("/", "/", None, "start, anonymous"),
        Visit("/", "/", ADMIN, "start, signed in"),
        Visit("/signin", "/signin", None, "sign-in"),
        Visit("/signed-out", "/signed-out", None, "signed out"),
        Visit("/lang/{code}", "/lang/nb", None, "language switch (lands on a page)"),
        Visit("/register", "/register", None, "public register"),
        Visit("/register/{account_id}", f"/register/{d.active}", None,
              "public register entry's history"),
        Visit("/accounts/new", "/accounts/new", REQUESTER, "request form"),
        Visit("/tasks", "/tasks", REQUESTER, "tasks, requester"),
        Visit("/tasks", "/tasks", MANAGER, "tasks, manager"),
        Visit("/tasks", "/tasks", COMMS, "tasks, communications"),
        Visit("/tasks", "/tasks", CRISIS, "tasks, crisis management"),
        Visit(acc, f"/accounts/{d.requested}", MANAGER, "account requested, manager"),
        Visit(acc, f"/accounts/{d.approved}", COMMS, "account approved, communications"),
        Visit(acc, f"/accounts/{d.amending}", REQUESTER, "account sent back, requester"),
        Visit(acc, f"/accounts/{d.active}", ADMIN, "account active, admin"),
        Visit(acc, f"/accounts/{d.active}", MANAGER, "account active, manager"),
        Visit(acc, f"/accounts/{d.active}", COMMS, "account active, communications"),
        Visit(acc, f"/accounts/{d.waiting}", ADMIN, "account waiting for screenshots"),
        Visit(acc + "/amend", f"/accounts/{d.amending}/amend", REQUESTER, "amend form"),
        Visit("/inbox", "/inbox", ADMIN, "inbox"),
        Visit(acc + "/inbox", f"/accounts/{d.active}/inbox", ADMIN, "account inbox"),
        Visit(acc + "/messages/new", f"/accounts/{d.active}/messages/new", ADMIN,
              "message by hand"),
        Visit("/messages/{case_id}", f"/messages/{d.case_id}", ADMIN, "message case, admin"),
        Visit("/messages/{case_id}", f"/messages/{d.case_id}", OFFICER,
              "message case, case officer"),
        Visit("/inbox", "/inbox", OFFICER, "inbox, case officer"),
        Visit("/diarium", "/diarium", REGISTRAR, "diarium"),
        Visit("/diarium", "/diarium?q=biblioteket", REGISTRAR, "diarium search"),
        Visit("/moderation-log", "/moderation-log", REGISTRAR, "moderation log"),
        Visit("/disposal-log", "/disposal-log", REGISTRAR, "disposal log"),
        Visit("/records-exports", "/records-exports", REGISTRAR, "records exports"),
        Visit("/records/register", "/records/register", REGISTRAR, "register as a record"),
        Visit("/saved-replies", "/saved-replies", COMMS, "municipality's saved replies"),
        Visit(acc + "/saved-replies", f"/accounts/{d.active}/saved-replies", ADMIN,
              "account's saved replies"),
        Visit("/notifications", "/notifications", ADMIN, "notification settings"),
        Visit("/outbox", "/outbox", COMMS, "outbox"),
        Visit("/reports", f"/reports?account={d.active}", MANAGER, "account report"),
        Visit("/reports", "/reports?unit=kultur", MANAGER, "unit report"),
        Visit("/crisis", "/crisis", CRISIS, "crisis"),
    ]


def test_every_page_route_has_a_visit_plan() -> None:
    """The route table's pages and the plans' routes are the same set: a
    page added without a plan (or a plan for a page that is gone) fails
    here, fast, without the stack. Checked again in the browser test."""
    from web.app import create_app

    planned = {v.route for v in plans(Data(*(["x"] * 6)))}
    routes = page_routes(create_app(connect=_never))
    assert routes - planned == set(), f"pages axe never visits: {sorted(routes - planned)}"
    assert planned - routes == set(), f"plans for no route: {sorted(planned - routes)}"


async def _never() -> tuple[object, object]:  # pragma: no cover - never started
    raise AssertionError("not started")


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANALVAKT_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return tmp_path / "uploads"


async def test_axe_finds_nothing_serious_on_any_page(chromium: Browser, stack: Stack,
                                                     uploads: Path) -> None:
    """Every page route, each stage of an account, as a person who may see
    it, in a desktop window and a 390 px one: axe-core, no serious or
    critical WCAG 2.1 AA violation, and the page never wider than the
    window; each answers 200. A page route with no plan fails (by name)."""
    from web.app import create_app

    d = await _data(stack)
    visits = plans(d)
    routes = page_routes(create_app(connect=_never))
    assert routes <= {v.route for v in visits}, \
        f"pages axe never visits: {sorted(routes - {v.route for v in visits})}"
    pages: dict[str | None, Page] = {}
    problems: list[str] = []
    OUT.mkdir(parents=True, exist_ok=True)
    for number, visit in enumerate(visits, 1):
        if visit.person not in pages:
            pages[visit.person] = (await new_page(chromium) if visit.person is None
                                   else await person_page(chromium, stack, visit.person))
        page = pages[visit.person]
        response = await page.goto(url(stack, visit.path))
        status = response.status if response is not None else 0
        if status != 200:
            problems.append(f"{visit.name} ({visit.path}) as {visit.person}: HTTP {status}")
            continue
        shot = re.sub(r"[^a-z0-9]+", "-", visit.name.lower()).strip("-")
        for width in (1280, NARROW):
            await page.set_viewport_size({"width": width, "height": 900})
            where = f"{visit.name} ({visit.path}) as {visit.person}, {width} px"
            await page.screenshot(path=str(OUT / f"{number:02d}-{shot}-{width}.png"),
                                  full_page=True)
            for v in await axe_violations(page):
                if v.get("impact") in {"serious", "critical"}:
                    problems.append(
                        f"{where}: {v['id']} ({v['impact']}) {v['help']} at "
                        + ", ".join(str(n["target"]) for n in v["nodes"][:3]))
            # A phone-wide window: the page itself never scrolls sideways
            # (wide tables scroll in their own .table-scroll box).
            wide = await page.evaluate(WIDER_THAN_WINDOW)
            if wide:
                problems.append(f"{where}: wider than the window: {wide}")
        await page.set_viewport_size({"width": 1280, "height": 900})
    assert not problems, "axe on every page:\n  " + "\n  ".join(problems)
