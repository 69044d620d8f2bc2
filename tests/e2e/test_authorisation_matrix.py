"""The authorisation matrix (issue 4): every role x every action, over the
JSON API and over the intranet's pages, on the whole stack.

Each action names the roles allowed to take it (the rules: R-01, R-03, R-04,
R-12, R-13, R-19, R-24, R-28, R-31, R-39, R-42 ...). Every other role is tried
first and must be refused - 403, or 401 / a redirect to the sign-in page when
not signed in - and the refusal must change nothing: the event count of the
action's stream (the account, the message case, the crisis) is the same
before and after. Then one allowed role takes the action and it succeeds.
Reads (the registrars' pages, reports, inboxes, the crisis page) are tried
by every role: allowed ones get the page, the rest 403.

A failure lists every wrong cell as "role x action: expected ..., got ...".
One test per kind of action (account lifecycle, message decisions, reads,
crisis switch), each run over both surfaces (api, page).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cli import load_directory_file
from tests.e2e.conftest import Stack
from tests.e2e.intranet import browser, sign_in
from tests.support import ROOT, assessment, full_checklist, request_fields

# role -> (municipality, person); None: not signed in.
ROLES: dict[str, tuple[str, str] | None] = {
    "requester": ("exempelby", "elin.strand"),        # kultur staff, asked for the account
    "manager": ("exempelby", "anna.lind"),            # kultur's förvaltningschef
    "deputy": ("exempelby", "johan.berg"),            # kultur's deputy
    "admin": ("exempelby", "hanna.lof"),              # the account's admin (R-12, R-13)
    "case_officer": ("exempelby", "linnea.palm"),     # a question is forwarded to her (R-24)
    "communications": ("exempelby", "sofia.wallin"),  # kommunikationsenheten (R-03)
    "registrar": ("exempelby", "ali.karimi"),         # registrator (R-28)
    "crisis_management": ("exempelby", "eva.marklund"),  # krisledning (R-39)
    "other_unit": ("exempelby", "jonas.blom"),        # samhällsbyggnad: no say over kultur
    "other_municipality": ("fjordvik", "bjorn.dahle"),  # Fjordvik's health staff
    "anonymous": None,
}
ADMINS = ["hanna.lof", "ida.hedlund"]
SURFACES = ["api", "page"]

# Reads an account as a person of its municipality.
COLLEAGUE = {"X-Kanalvakt-Actor": "elin.strand"}


def person(role: str) -> str:
    who = ROLES[role]
    assert who is not None
    return who[1]


# --------------------------------------------------------------------------- the people


@dataclass
class People:
    """Each role's own signed-in client (pages) and header (API)."""

    stack: Stack
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    async def post(self, surface: str, role: str, path: str, body: dict[str, Any]
                   ) -> httpx.Response:
        if surface == "api":
            who = ROLES[role]
            headers = {"X-Kanalvakt-Actor": who[1]} if who else {}
            return await self.stack.http.post(path, json=body, headers=headers)
        data: dict[str, Any] = {"csrf_token": self.tokens[role], **body}
        return await self.clients[role].post(path, data=data)

    async def get(self, surface: str, role: str, path: str) -> httpx.Response:
        if surface == "api":
            who = ROLES[role]
            headers = {"X-Kanalvakt-Actor": who[1]} if who else {}
            return await self.stack.http.get(path, headers=headers)
        return await self.clients[role].get(path)


@pytest.fixture
async def people(stack: Stack, database_url: str) -> AsyncIterator[People]:
    await load_directory_file(database_url, ROOT / "deploy" / "directory" / "fjordvik.yaml")
    found = People(stack)
    for role, who in ROLES.items():
        client = browser(stack)
        if who is None:
            page = await client.get("/register")
            from tests.e2e.intranet import csrf_of

            found.tokens[role] = csrf_of(page.text) if "csrf_token" in page.text else ""
        else:
            found.tokens[role] = await sign_in(client, who[1], who[0])
        found.clients[role] = client
    yield found
    for client in found.clients.values():
        await client.aclose()


# --------------------------------------------------------------------------- outcomes


def refused(surface: str, role: str, r: httpx.Response) -> bool:
    if role == "anonymous":
        if surface == "api":
            return r.status_code == 401
        return (r.status_code == 303 and r.headers["location"].startswith("/signin")) \
            or r.status_code == 403
    if role == "other_municipality" and r.status_code == 404:
        return True  # another municipality's unit is not even there for them
    return r.status_code == 403


def succeeded(surface: str, r: httpx.Response) -> bool:
    if surface == "api":
        return r.status_code in (200, 201, 202)
    return r.status_code in (200, 303) and \
        not r.headers.get("location", "").startswith("/signin")


@dataclass
class Action:
    name: str
    allowed: frozenset[str]
    by: str  # the allowed role that takes it
    api: tuple[str, dict[str, Any]] | None
    page: tuple[str, dict[str, Any]] | None
    count: Callable[[], Awaitable[int]]  # events of the stream it would change


async def check_action(people: People, surface: str, action: Action,
                       problems: list[str]) -> None:
    """Every role but the allowed ones is refused with nothing changed; then
    `action.by` takes it."""
    target = action.api if surface == "api" else action.page
    if target is None:
        return
    path, body = target
    for role in ROLES:
        if role in action.allowed:
            continue
        before = await action.count()
        r = await people.post(surface, role, path, body)
        after = await action.count()
        if not refused(surface, role, r):
            problems.append(f"{role} x {action.name}: expected refusal, got {r.status_code} "
                            f"{r.text[:160]!r}")
        if after != before:
            problems.append(f"{role} x {action.name}: refused, but the stream went from "
                            f"{before} to {after} events")
    r = await people.post(surface, action.by, path, body)
    if not succeeded(surface, r):
        problems.append(f"{action.by} x {action.name}: expected it to succeed, got "
                        f"{r.status_code} {r.text[:300]!r}")


async def check_read(people: People, surface: str, name: str, path: str,
                     allowed: set[str], problems: list[str]) -> None:
    for role in ROLES:
        r = await people.get(surface, role, path)
        if role in allowed:
            if r.status_code != 200:
                problems.append(f"{role} x {name}: expected 200, got {r.status_code} "
                                f"{r.text[:160]!r}")
        elif not refused(surface, role, r):
            problems.append(f"{role} x {name}: expected refusal, got {r.status_code}")


def report(problems: list[str]) -> None:
    assert not problems, "authorisation matrix:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- set-up


def _as(role: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": person(role)}


async def _api(stack: Stack, role: str, path: str, body: dict[str, Any]) -> httpx.Response:
    r = await stack.http.post(path, json=body, headers=_as(role))
    assert r.status_code in (200, 201, 202), (path, r.text)
    return r


async def request_account(stack: Stack, name: str) -> str:
    r = await _api(stack, "requester", "/api/accounts", {
        **request_fields(account_name=name, platform="facebook", proposed_admins=ADMINS),
        "municipality_id": "exempelby"})
    return str(r.json()["account_id"])


def activation() -> dict[str, Any]:
    return {"handle": "@matrisen", "url": "https://www.facebook.com/matrisen",
            "platform_account_id": None,
            "admins": [{"person": p, "two_factor": True} for p in ADMINS]}


async def to_active(stack: Stack, account_id: str) -> None:
    base = f"/api/accounts/{account_id}"
    today = datetime.now(UTC).date()
    await _api(stack, "manager", f"{base}/approve", {})
    await _api(stack, "requester", f"{base}/risk-assessments", assessment("ros", today))
    await _api(stack, "requester", f"{base}/risk-assessments", assessment("dpia", today))
    await _api(stack, "communications", f"{base}/sign-off",
               {"decision": "approve", "checklist": full_checklist()})
    await _api(stack, "communications", f"{base}/activate", activation())


def account_events(stack: Stack, account_id: str) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        n: int = await stack.pool.fetchval(
            "SELECT count(*) FROM events e JOIN accounts a ON a.stream_id = e.stream_id "
            "WHERE a.account_id = $1::uuid", account_id)
        return n
    return count


def stream_events(stack: Stack, stream_id: str) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        n: int = await stack.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1",
                                           stream_id)
        return n
    return count


async def settle(probe: Callable[[], Awaitable[bool]], seconds: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, "the stack did not settle"
        await asyncio.sleep(0.1)


async def message(stack: Stack, account_id: str, text: str) -> str:
    """A citizen's message entered by the account's admin, once its case runs."""
    r = await _api(stack, "admin", f"/api/accounts/{account_id}/messages", {
        "kind": "comment", "text": text, "author_name": "Kim Medborgare",
        "published_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()})
    case_id = str(r.json()["case_id"])

    async def started() -> bool:
        return bool(await stack.pool.fetchval(
            "SELECT count(*) FROM message_cases WHERE case_id = $1", case_id))
    await settle(started)
    return case_id


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_account_lifecycle(stack: Stack, people: People, surface: str) -> None:
    """R-01 (manager approves or rejects), R-04 (ROS/DPIA by the requester,
    proposed admins or manager), R-03 (communications signs off, activates),
    amend (requester or manager), R-13 (manager appoints and removes admins),
    R-12 (an admin's own 2FA, or communications), R-43 message settings and
    R-19 closure (manager or communications). Request: anyone of the
    municipality."""
    problems: list[str] = []
    managers = frozenset({"manager", "deputy"})
    page = surface == "page"

    # R-02: a request; refused only outside the municipality.
    async def accounts() -> int:
        n: int = await stack.pool.fetchval("SELECT count(*) FROM events WHERE event_type = "
                                           "'AccountRequested'")
        return n
    name = f"Matrisen {uuid.uuid4().hex[:6]}"
    await check_action(people, surface, Action(
        "request", frozenset(r for r in ROLES if r not in ("other_municipality", "anonymous")),
        "requester",
        ("/api/accounts", {**request_fields(account_name=name, proposed_admins=ADMINS),
                           "municipality_id": "exempelby"}),
        None, accounts), problems)

    rejected = await request_account(stack, f"Avslag {uuid.uuid4().hex[:6]}")
    a = await request_account(stack, f"Matris {uuid.uuid4().hex[:6]}")
    api, pg = f"/api/accounts/{a}", f"/accounts/{a}/act"
    today = datetime.now(UTC).date()
    count = account_events(stack, a)

    def act(name: str, allowed: frozenset[str], by: str, api_path: str,
            body: dict[str, Any], page_action: str, form: dict[str, Any],
            counter: Callable[[], Awaitable[int]] = count, base: str = pg) -> Action:
        return Action(name, allowed, by, (api_path, body), (f"{base}/{page_action}", form),
                      counter)

    steps = [
        act("reject (awaiting manager)", managers, "deputy",
            f"/api/accounts/{rejected}/reject", {"reason": "Inte nu"}, "reject",
            {"reason": "Inte nu"}, account_events(stack, rejected),
            base=f"/accounts/{rejected}/act"),
        act("approve", managers, "manager", f"{api}/approve", {}, "approve", {}),
        act("risk assessment", managers | {"requester", "admin"}, "requester",
            f"{api}/risk-assessments", assessment("ros", today), "risk",
            {**assessment("ros", today)}),
    ]
    for step in steps:
        await check_action(people, surface, step, problems)
    await _api(stack, "requester", f"{api}/risk-assessments", assessment("dpia", today))
    send_back = {"decision": "send_back", "comment": "Förtydliga syftet"}
    await check_action(people, surface, act(
        "sign-off", frozenset({"communications"}), "communications", f"{api}/sign-off",
        send_back, "sign_off", send_back), problems)
    if not page:  # the amend page's form is the request form: covered over the API
        state = (await stack.http.get(api, headers=COLLEAGUE)).json()["state"]
        await check_action(people, surface, act(
            "amend", managers | {"requester"}, "requester", f"{api}/amend",
            {"request": state["request"], "comment": "Förtydligat"}, "amend", {}), problems)
    else:
        state = (await stack.http.get(api, headers=COLLEAGUE)).json()["state"]
        await _api(stack, "requester", f"{api}/amend", {"request": state["request"]})
    await _api(stack, "communications", f"{api}/sign-off",
               {"decision": "approve", "checklist": full_checklist()})
    activate_form = {"handle": "@matrisen", "url": "https://www.facebook.com/matrisen",
                     **{f"admin_{p}": "on" for p in ADMINS},
                     **{f"tfa_{p}": "on" for p in ADMINS}}
    later = [
        act("activate", frozenset({"communications"}), "communications", f"{api}/activate",
            activation(), "activate", activate_form),
        act("message settings", managers | {"communications"}, "manager",
            f"{api}/message-settings", {"signature": "required"}, "message_settings",
            {"opens": "08:00", "closes": "16:30", "answer_rule": "next_working_day",
             "answer_office_hours": "24", "signature": "required"}),
        act("add admin", managers, "manager", f"{api}/admins",
            {"person": "per.nystrom", "two_factor": False}, "add_admin",
            {"person": "per.nystrom"}),
        act("confirm an admin's 2FA", frozenset({"communications"}), "communications",
            f"{api}/admins/per.nystrom/two-factor", {}, "two_factor",
            {"person": "per.nystrom"}),
        act("remove admin", managers, "deputy", f"{api}/admins/per.nystrom/remove",
            {"reason": "Slutar"}, "remove_admin", {"person": "per.nystrom", "reason": "Slutar"}),
        act("closure", managers | {"communications"}, "manager", f"{api}/closure",
            {"reason": "Kontot läggs ned"}, "closure", {"reason": "Kontot läggs ned"}),
    ]
    for step in later:
        await check_action(people, surface, step, problems)
    report(problems)


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_message_decisions(stack: Stack, people: People, surface: str) -> None:
    """R-22..R-35: the account's admins answer, acknowledge, forward, redact,
    dispose and confirm; the case officer drafts (R-24); admins or a
    registrar register (R-28). The unit's manager reads but does not decide."""
    problems: list[str] = []
    account_id = await request_account(stack, f"Meddelanden {uuid.uuid4().hex[:6]}")
    await to_active(stack, account_id)
    admin = frozenset({"admin"})
    cases = {k: await message(stack, account_id, f"Fråga {k}: när öppnar ni?")
             for k in ("respond", "ack", "forward", "register", "redact", "dispose")}

    def decision(name: str, case: str, path: str, body: dict[str, Any],
                 allowed: frozenset[str] = admin, by: str = "admin") -> Action:
        return Action(name, allowed, by, (f"/api/messages/{case}/{path}", body),
                      (f"/messages/{case}/{path}", body), stream_events(stack, case))

    steps = [
        decision("respond", cases["respond"], "respond", {"text": "Klockan tio."}),
        decision("confirm a manual action", cases["respond"], "confirm", {}),
        decision("acknowledge", cases["ack"], "acknowledge", {"text": "Vi återkommer."}),
        decision("forward", cases["forward"], "forward",
                 {"officer": "linnea.palm", "note": "Kan du svara?"}),
        decision("officer's draft", cases["forward"], "draft", {"text": "Svar från Energi."},
                 allowed=frozenset({"case_officer"}), by="case_officer"),
        decision("register", cases["register"], "register",
                 {"record_class": "Synpunkter"}, allowed=frozenset({"admin", "registrar"}),
                 by="registrar"),
        decision("redact", cases["redact"], "redact",
                 {"category": "defamation_or_insult", "reason": "Personangrepp"}),
        decision("dispose", cases["dispose"], "dispose", {"decision_id": "SM-1"}),
    ]
    for step in steps:
        await check_action(people, surface, step, problems)

    readers = {"admin", "manager", "deputy", "communications"}
    inbox = (f"/api/accounts/{account_id}/inbox" if surface == "api"
             else f"/accounts/{account_id}/inbox")
    await check_read(people, surface, "account inbox", inbox, readers, problems)
    case = cases["forward"]
    await check_read(people, surface, "message case",
                     f"/api/messages/{case}" if surface == "api" else f"/messages/{case}",
                     readers | {"registrar", "case_officer"}, problems)
    report(problems)


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_records_and_reports(stack: Stack, people: People, surface: str) -> None:
    """An account's state, timeline and page for people of its municipality;
    R-28, R-31, R-35: the diarium and the moderation and disposal logs for
    registrars and the communications unit; R-42: an account's report for
    its readers, a unit's for its manager, deputy and the communications unit."""
    problems: list[str] = []
    account_id = await request_account(stack, f"Rapport {uuid.uuid4().hex[:6]}")
    await to_active(stack, account_id)
    records = {"registrar", "communications"}
    readers = {"admin", "manager", "deputy", "communications"}
    colleagues = {r for r, who in ROLES.items() if who and who[0] == "exempelby"}
    if surface == "api":
        reads = [("account", f"/api/accounts/{account_id}", colleagues),
                 ("account timeline", f"/api/accounts/{account_id}/timeline", colleagues),
                 ("accounts list", "/api/accounts?municipality=exempelby", colleagues),
                 ("diarium", "/api/diarium?municipality=exempelby", records),
                 ("moderation log", "/api/moderation-log?municipality=exempelby", records),
                 ("disposal log", "/api/disposal-log?municipality=exempelby", records),
                 ("account report", f"/api/accounts/{account_id}/response-times", readers)]
    else:
        reads = [("account page", f"/accounts/{account_id}", colleagues),
                 ("diarium", "/diarium", records),
                 ("moderation log", "/moderation-log", records),
                 ("disposal log", "/disposal-log", records),
                 ("account report", f"/reports?account={account_id}", readers),
                 ("unit report", "/reports?unit=kultur",
                  {"manager", "deputy", "communications"})]
    for name, path, allowed in reads:
        await check_read(people, surface, name, path, set(allowed), problems)
    report(problems)


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_crisis_switch(stack: Stack, people: People, surface: str) -> None:
    """R-39: only crisis management declares and ends crisis mode; a refusal
    starts nothing and records nothing on the crisis stream. The crisis page
    (digests hold the questions' texts) is for crisis management and the
    communications unit."""
    problems: list[str] = []
    count = stream_events(stack, "crisis:exempelby")
    only = frozenset({"crisis_management"})
    declare = {"reason": "Stormen Gudrun", "units": ["kultur"]}
    ending = {"reason": "Över"}
    api = "/api/municipalities/exempelby/crisis"
    await check_action(people, surface, Action(
        "declare crisis", only, "crisis_management", (api, declare),
        ("/crisis/declare", declare), count), problems)
    await check_action(people, surface, Action(
        "end crisis", only, "crisis_management", (f"{api}/end", ending),
        ("/crisis/end", ending), count), problems)
    if surface == "page":
        await check_read(people, surface, "crisis page", "/crisis",
                         {"crisis_management", "communications"}, problems)
    else:
        await check_read(people, surface, "crisis digests", f"{api}/digests",
                         {"crisis_management", "communications"}, problems)
    report(problems)
