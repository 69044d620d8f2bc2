"""The authorisation matrix (issue 4): every role x every action, over the
JSON API and over the intranet's pages, on the whole stack.

Each action names the roles allowed to take it (the rules: R-01, R-03, R-04,
R-12, R-13, R-15..R-20, R-24, R-28, R-31, R-35, R-37..R-39, R-42, R-43 ...).
Every other role is tried first and must be refused - 403, or 401 / a
redirect to the sign-in page when not signed in - and the refusal must
change nothing: the event count of the action's stream (the account, the
message case, the crisis), the uploads, the exports, the snapshot workflows
are the same before and after. Then every allowed role takes the action and
must succeed: on its own account or case where one success uses it up
(approve, reject, amend, closure, register, a crisis approval; these are
made up front, in parallel, over the API with the X-Kanalvakt-Actor
header), else in turn, with the change undone in between where it cannot
be made twice (an admin added, then removed). Reads are tried by every
role: allowed ones get the page, the rest 403.

A failure lists every wrong cell as "role x action: expected ..., got ...".
One test per kind of action (account lifecycle, message decisions, reads,
crisis switch, crisis approvals, monitoring, snapshots), each run over both
surfaces (api, page).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError

from cli import load_directory_file
from domain import message as msg
from tests.e2e.conftest import Stack
from tests.e2e.intranet import sign_in
from tests.e2e.test_crisis_messages import _state, _through_crisis_management
from tests.e2e.test_messages_api import running
from tests.support import ROOT, assessment, eventually, full_checklist, request_fields
from tests.workflows.test_snapshot_workflow import _tiny_png

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
    api: httpx.AsyncClient
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    async def post(self, surface: str, role: str, path: str, body: dict[str, Any]
                   ) -> httpx.Response:
        fields, files = _split(body)
        if surface == "api":
            who = ROLES[role]
            headers = {"X-Kanalvakt-Actor": who[1]} if who else {}
            if files:
                return await self.api.post(path, data=fields, files=files,
                                                  headers=headers)
            return await self.api.post(path, json=body, headers=headers)
        data: dict[str, Any] = {"csrf_token": self.tokens[role], **fields}
        return await self.clients[role].post(path, data=data, files=files or None)

    async def get(self, surface: str, role: str, path: str) -> httpx.Response:
        if surface == "api":
            who = ROLES[role]
            headers = {"X-Kanalvakt-Actor": who[1]} if who else {}
            return await self.api.get(path, headers=headers)
        return await self.clients[role].get(path)


def fresh_connections(stack: Stack) -> httpx.AsyncClient:
    """A browser of its own (tests.e2e.intranet.browser) that opens a new
    connection per request: the server closes an idle kept-alive one after
    a few seconds, and a request racing that close fails with ReadError."""
    return httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=30,
                             headers={"accept": "text/html"},
                             limits=httpx.Limits(max_keepalive_connections=0))


@pytest.fixture
async def people(stack: Stack, database_url: str) -> AsyncIterator[People]:
    await load_directory_file(database_url, ROOT / "deploy" / "directory" / "fjordvik.yaml")
    found = People(stack, httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=30,
                                            limits=httpx.Limits(max_keepalive_connections=0)))
    for role, who in ROLES.items():
        client = fresh_connections(stack)
        if who is None:
            page = await client.get("/register")
            from tests.e2e.intranet import csrf_of

            found.tokens[role] = csrf_of(page.text) if "csrf_token" in page.text else ""
        else:
            found.tokens[role] = await sign_in(client, who[1], who[0])
        found.clients[role] = client
    yield found
    for client in [found.api, *found.clients.values()]:
        await client.aclose()


# --------------------------------------------------------------------------- outcomes


class Upload(bytes):
    """A file in a body: the request goes as multipart (a screenshot)."""


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    files = {k: (f"{k}.png", v, "image/png") for k, v in body.items() if isinstance(v, Upload)}
    return {k: v for k, v in body.items() if not isinstance(v, Upload)}, files


def refused(surface: str, role: str, r: httpx.Response) -> bool:
    if role == "anonymous":
        if surface == "api":  # 403: the CSRF guard refuses an anonymous form post first
            return r.status_code in (401, 403)
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


Target = tuple[str, dict[str, Any]]
Counter = Callable[[], Awaitable[int]]


@dataclass
class Action:
    """`allowed` roles each take the action and must succeed; every other
    role is refused first with nothing changed (`count`). A success that
    uses the case up (an approval, a closure) is taken by each allowed role
    on its own case: `own[role]` = (api target, page target); the rest use
    `api`/`page`. `undo(role)` puts things back after a role's success so
    the next allowed role can repeat it (an admin added, then removed).
    `pause`: seconds to wait before each allowed role's attempt, where the
    result is named by the second it was made in (an on-demand snapshot, a
    records export), so one attempt never takes the next one's name.
    `passes`: for an action whose precondition the matrix cannot bring
    about on the dev server, an allowed role must get past the authorisation
    check and be stopped by the rule, whose message holds this text."""

    name: str
    allowed: frozenset[str]
    api: Target | None
    page: Target | None
    count: Counter
    own: dict[str, tuple[Target | None, Target | None]] = field(default_factory=dict)
    undo: Callable[[str], Awaitable[None]] | None = None
    passes: str | None = None
    pause: float = 0  # before each allowed attempt: ids that hold the second


async def check_action(people: People, surface: str, action: Action,
                       problems: list[str]) -> None:
    """Every role but the allowed ones is refused with nothing changed; then
    every allowed role takes it (on its own case where `own` says so)."""
    default = action.api if surface == "api" else action.page
    if default is None:
        return
    path, body = default
    for role in ROLES:
        if role in action.allowed:
            continue
        before = await action.count()
        r = await people.post(surface, role, path, body)
        after = await action.count()
        if not refused(surface, role, r):
            problems.append(f"{role} x {action.name}: expected refusal (403), got "
                            f"{r.status_code} {r.text[:160]!r}")
        if after != before:
            problems.append(f"{role} x {action.name}: expected nothing changed, got "
                            f"{before} -> {after} (the action's events, uploads, exports "
                            "or workflows)")
    allowed = [role for role in ROLES if role in action.allowed]
    for i, role in enumerate(allowed):
        own = action.own.get(role)
        target = (own[0] if surface == "api" else own[1]) if own else default
        if target is None:
            continue
        await asyncio.sleep(action.pause)
        r = await people.post(surface, role, *target)
        if action.passes is not None:
            # The page re-renders a rule's refusal (422) without the form
            # it does not offer; its 403 comes before, from the same decide.
            by_rule = action.passes in r.text if surface == "api" else r.status_code == 422
            if r.status_code in (401, 403, 404) or r.status_code < 400 or not by_rule:
                problems.append(f"{role} x {action.name}: expected allowed, stopped only by "
                                f"the rule ({action.passes!r}), got {r.status_code} "
                                f"{r.text[:200]!r}")
            continue
        if not succeeded(surface, r):
            problems.append(f"{role} x {action.name}: expected allowed, got "
                            f"{r.status_code} {r.text[:300]!r}")
        elif action.undo is not None and i < len(allowed) - 1:
            await action.undo(role)


async def check_read(people: People, surface: str, name: str, path: str,
                     allowed: set[str], problems: list[str]) -> None:
    for role in ROLES:
        r = await people.get(surface, role, path)
        if role in allowed:
            if r.status_code != 200:
                problems.append(f"{role} x {name}: expected 200, got {r.status_code} "
                                f"{r.text[:160]!r}")
        elif not refused(surface, role, r):
            problems.append(f"{role} x {name}: expected refusal (403), got {r.status_code}")


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
    await _api(stack, "manager", f"{base}/approve", {"admins_equipped": True})  # R-52
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
    # The receipt is on the record (the row above) before the feeder starts
    # the workflow: wait for that too, or a decision may reach no case.
    await running(stack, case_id)
    return case_id


# --------------------------------------------------------------------------- the tests


async def to_amending(stack: Stack, account_id: str) -> None:
    base = f"/api/accounts/{account_id}"
    today = datetime.now(UTC).date()
    await _api(stack, "manager", f"{base}/approve", {"admins_equipped": True})  # R-52
    await _api(stack, "requester", f"{base}/risk-assessments", assessment("ros", today))
    await _api(stack, "requester", f"{base}/risk-assessments", assessment("dpia", today))
    await _api(stack, "communications", f"{base}/sign-off",
               {"decision": "send_back", "comment": "Förtydliga syftet"})


async def amendment(stack: Stack, account_id: str) -> dict[str, Any]:
    r = await stack.http.get(f"/api/accounts/{account_id}", headers=COLLEAGUE)
    return {"request": r.json()["state"]["request"], "comment": "Förtydligat"}


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_account_lifecycle(stack: Stack, people: People, surface: str) -> None:
    """R-01 (manager or deputy approves or rejects), R-04 (ROS/DPIA by the
    requester, proposed admins or manager), R-03 (communications signs off,
    activates), amend (requester or manager), R-13 (manager appoints and
    removes admins), R-12 (an admin's own 2FA, or communications), R-43
    message settings and R-19 closure (manager or communications), R-37 a
    change of the profile (the account's admins or communications; a refusal
    records nothing and starts no snapshot). Request:
    anyone of the municipality. Every allowed role takes each action: on its
    own account where a success uses the account up (reject, approve, amend,
    closure; made up front, in parallel), else in turn on the same one (an
    admin added then removed again)."""
    problems: list[str] = []
    managers = frozenset({"manager", "deputy"})
    page = surface == "page"

    # R-02: a request; refused only outside the municipality; each of the
    # municipality's people requests one.
    async def accounts() -> int:
        n: int = await stack.pool.fetchval("SELECT count(*) FROM events WHERE event_type = "
                                           "'AccountRequested'")
        return n
    def requesting(role: str) -> Target:
        name = f"Matrisen {role} {uuid.uuid4().hex[:6]}"
        return ("/api/accounts", {**request_fields(account_name=name, proposed_admins=ADMINS),
                                  "municipality_id": "exempelby"})

    colleagues = frozenset(r for r in ROLES if r not in ("other_municipality", "anonymous"))
    await check_action(people, surface, Action(
        "request", colleagues, requesting("anyone"), None, accounts,
        own={role: (requesting(role), None) for role in colleagues}), problems)

    # Fresh accounts for the allowed roles whose success uses one up.
    (a, reject_m, reject_d, approve_d, amend_m, amend_d, close_d, close_c) = \
        await asyncio.gather(*(request_account(stack, f"Matris {k} {uuid.uuid4().hex[:6]}")
                               for k in range(8)))
    await asyncio.gather(*([] if page else [to_amending(stack, amend_m),
                                            to_amending(stack, amend_d)]),
                         to_active(stack, close_d), to_active(stack, close_c))
    api = f"/api/accounts/{a}"
    today = datetime.now(UTC).date()
    count = account_events(stack, a)

    def on(account: str, api_action: str, body: dict[str, Any], page_action: str,
           form: dict[str, Any]) -> tuple[Target, Target]:
        return ((f"/api/accounts/{account}/{api_action}", body),
                (f"/accounts/{account}/act/{page_action}", form))

    def act(name: str, allowed: frozenset[str], api_action: str, body: dict[str, Any],
            page_action: str, form: dict[str, Any], counter: Counter = count,
            account: str = a, **more: Any) -> Action:
        api_target, page_target = on(account, api_action, body, page_action, form)
        return Action(name, allowed, api_target, page_target, counter, **more)

    reason = {"reason": "Inte nu"}
    # R-52: the manager confirms the admins' time, resources and knowledge.
    equipped: dict[str, Any] = {"admins_equipped": True}
    equipped_form: dict[str, Any] = {"admins_equipped": "on"}
    steps = [
        act("reject (awaiting manager)", managers, "reject", reason, "reject", reason,
            account_events(stack, reject_m), account=reject_m,
            own={"deputy": on(reject_d, "reject", reason, "reject", reason)}),
        act("approve", managers, "approve", equipped, "approve", equipped_form,
            own={"deputy": on(approve_d, "approve", equipped, "approve", equipped_form)}),
        # ROS may be recorded again while the stage lasts: each allowed role does.
        act("risk assessment", managers | {"requester", "admin"}, "risk-assessments",
            assessment("ros", today), "risk", {**assessment("ros", today)}),
    ]
    for step in steps:
        await check_action(people, surface, step, problems)
    await _api(stack, "requester", f"{api}/risk-assessments", assessment("dpia", today))
    send_back = {"decision": "send_back", "comment": "Förtydliga syftet"}
    await check_action(people, surface, act(
        "sign-off", frozenset({"communications"}), "sign-off", send_back, "sign_off",
        send_back), problems)
    if not page:  # the amend page's form is the request form: covered over the API
        await check_action(people, surface, Action(
            "amend", managers | {"requester"}, (f"{api}/amend", await amendment(stack, a)),
            None, count, own={
                "manager": ((f"/api/accounts/{amend_m}/amend",
                             await amendment(stack, amend_m)), None),
                "deputy": ((f"/api/accounts/{amend_d}/amend",
                            await amendment(stack, amend_d)), None)}), problems)
    else:
        await _api(stack, "requester", f"{api}/amend", await amendment(stack, a))
    await _api(stack, "communications", f"{api}/sign-off",
               {"decision": "approve", "checklist": full_checklist()})
    activate_form = {"handle": "@matrisen", "url": "https://www.facebook.com/matrisen",
                     **{f"admin_{p}": "on" for p in ADMINS},
                     **{f"tfa_{p}": "on" for p in ADMINS}}

    async def remove_again(_: str) -> None:
        await _api(stack, "manager", f"{api}/admins/per.nystrom/remove", {"reason": "Igen"})

    async def add_again(_: str) -> None:
        await _api(stack, "manager", f"{api}/admins",
                   {"person": "per.nystrom", "two_factor": True})

    async def without_two_factor(_: str = "") -> None:
        """hanna.lof (the admin role) again as an admin whose 2FA is not confirmed."""
        await _api(stack, "manager", f"{api}/admins/hanna.lof/remove", {"reason": "Ny telefon"})
        await _api(stack, "manager", f"{api}/admins", {"person": "hanna.lof", "two_factor": False})

    async def own_two_factor() -> Action:
        await without_two_factor()
        return act("confirm one's own 2FA", frozenset({"admin", "communications"}),
                   "admins/hanna.lof/two-factor", {}, "two_factor", {"person": "hanna.lof"},
                   undo=without_two_factor)

    closing = {"reason": "Kontot läggs ned"}
    confirmed = {**closing, "confirm": "on"}  # the page's confirmation (issue 14)
    publisher = {"person": "ali.karimi"}

    async def unappoint(_: str) -> None:
        await _api(stack, "manager", f"{api}/publishers/ali.karimi/remove", {})

    async def appoint_again(_: str) -> None:
        await _api(stack, "manager", f"{api}/publishers", publisher)

    async def profile_changes() -> int:
        """R-37: the account's events and the snapshots profile changes started."""
        started = [w.id async for w in stack.client.list_workflows(
            'WorkflowType="SnapshotWorkflow"') if "profile-changed" in w.id]
        return await count() + len(started)

    later = [
        act("activate", frozenset({"communications"}), "activate", activation(), "activate",
            activate_form),
        act("message settings", managers | {"communications"}, "message-settings",
            {"signature": "required"}, "message_settings",
            {"opens": "08:00", "closes": "16:30", "answer_rule": "next_working_day",
             "answer_office_hours": "24", "signature": "required"}),
        act("record a profile change", frozenset({"admin", "communications"}),
            "profile-changes", {"picture_changed": True, "note": "Ny profilbild"},
            "profile_change", {"picture_changed": "on", "note": "Ny profilbild"},
            profile_changes),
        act("add admin", managers, "admins", {"person": "per.nystrom", "two_factor": False},
            "add_admin", {"person": "per.nystrom"}, undo=remove_again),
        act("confirm an admin's 2FA", frozenset({"communications"}),
            "admins/per.nystrom/two-factor", {}, "two_factor", {"person": "per.nystrom"}),
        act("remove admin", managers, "admins/per.nystrom/remove", {"reason": "Slutar"},
            "remove_admin", {"person": "per.nystrom", "reason": "Slutar"}, undo=add_again),
        # R-52: publishers beside the admins, appointed and removed by the manager.
        act("appoint a publisher", managers, "publishers", publisher, "appoint_publisher",
            publisher, undo=unappoint),
        act("remove a publisher", managers, "publishers/ali.karimi/remove", {},
            "remove_publisher", publisher, undo=appoint_again),
    ]
    for step in later:
        await check_action(people, surface, step, problems)
    # R-12: an admin confirms their own 2FA (or the communications unit does).
    await check_action(people, surface, await own_two_factor(), problems)
    last = [
        act("closure", managers | {"communications"}, "closure", closing, "closure", confirmed,
            own={"deputy": on(close_d, "closure", closing, "closure", confirmed),
                 "communications": on(close_c, "closure", closing, "closure", confirmed)}),
    ]
    for step in last:
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
    kinds = ("respond", "ack", "forward", "register", "register2", "redact", "dispose")
    found = await asyncio.gather(*(message(stack, account_id, f"Fråga {k}: när öppnar ni?")
                                   for k in kinds))
    cases = dict(zip(kinds, found, strict=True))

    def decision(name: str, case: str, path: str, body: dict[str, Any],
                 allowed: frozenset[str] = admin, **more: Any) -> Action:
        return Action(name, allowed, (f"/api/messages/{case}/{path}", body),
                      (f"/messages/{case}/{path}", body), stream_events(stack, case), **more)

    steps = [
        decision("respond", cases["respond"], "respond", {"text": "Klockan tio."}),
        decision("confirm a manual action", cases["respond"], "confirm", {}),
        decision("acknowledge", cases["ack"], "acknowledge", {"text": "Vi återkommer."}),
        decision("forward", cases["forward"], "forward",
                 {"officer": "linnea.palm", "note": "Kan du svara?"}),
        decision("officer's draft", cases["forward"], "draft", {"text": "Svar från Energi."},
                 allowed=frozenset({"case_officer"})),
        decision("register", cases["register"], "register",
                 {"record_class": "Synpunkter"}, allowed=frozenset({"admin", "registrar"}),
                 own={"registrar": (
                     (f"/api/messages/{cases['register2']}/register",
                      {"record_class": "Synpunkter"}),
                     (f"/messages/{cases['register2']}/register",
                      {"record_class": "Synpunkter"}))}),
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
                 ("records exports", "/records-exports", records),
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
        "declare crisis", only, (api, declare),
        ("/crisis/declare", declare), count), problems)
    await check_action(people, surface, Action(
        "end crisis", only, (f"{api}/end", ending),
        ("/crisis/end", ending), count), problems)
    if surface == "page":
        await check_read(people, surface, "crisis page", "/crisis",
                         {"crisis_management", "communications"}, problems)
    else:
        await check_read(people, surface, "crisis digests", f"{api}/digests",
                         {"crisis_management", "communications"}, problems)
    report(problems)


# --------------------------------------------------------------------------- R-39 approvals


def on_case(case: str, path: str, body: dict[str, Any]) -> tuple[Target, Target]:
    return (f"/api/messages/{case}/{path}", body), (f"/messages/{case}/{path}", body)


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_crisis_reply_approval(stack: Stack, people: People, surface: str,
                                            database_url: str, tmp_path: Path) -> None:
    """R-39 (Kristiansand), R-43: with the setting that all communication goes
    through crisis management (as in fjordvik.yaml), an admin's reply waits;
    only crisis management approves it or sends it back while the crisis
    lasts (the admin who wrote it may not); once the crisis has ended the
    account's admins may too, so a waiting reply is not stuck. Each allowed
    role decides on its own waiting reply (made up front, in parallel)."""
    problems: list[str] = []
    await _through_crisis_management(database_url, tmp_path)
    account_id = await request_account(stack, f"Kris {uuid.uuid4().hex[:6]}")
    await to_active(stack, account_id)
    crisis = "/api/municipalities/exempelby/crisis"
    await _api(stack, "crisis_management", crisis,
               {"reason": "Vattenläcka", "units": ["kultur"]})
    kinds = ("approve", "send-back", "approve-cm", "approve-admin", "back-cm", "back-admin")
    found = await asyncio.gather(*(message(stack, account_id, f"Krisfråga {k}: drickbart?")
                                   for k in kinds))
    cases = dict(zip(kinds, found, strict=True))

    async def state(case: str) -> msg.MessageState | None:
        try:
            return await _state(stack, case)
        except RPCError:  # the read model may list the case a moment before it runs
            return None

    async def covered(case: str, crisis_on: bool) -> None:
        found = await eventually(lambda: state(case), lambda s: s is not None and (
            s.crisis is not None) == crisis_on)
        assert found is not None and (found.crisis is not None) == crisis_on, (case, found)

    await asyncio.gather(*(covered(c, True) for c in found))
    answers = await asyncio.gather(*(_api(stack, "admin", f"/api/messages/{c}/respond",
                                          {"text": "Koka vattnet tills vidare."})
                                     for c in found))
    assert {r.json()["state"]["stage"] for r in answers} == {"awaiting_approval"}

    cm = frozenset({"crisis_management"})
    back = {"comment": "Hänvisa till krisinformationen"}

    def decision(name: str, case: str, path: str, body: dict[str, Any],
                 allowed: frozenset[str], **more: Any) -> Action:
        api, page = on_case(case, path, body)
        return Action(name, allowed, api, page, stream_events(stack, case), **more)

    await check_action(people, surface, decision(
        "approve a waiting reply (crisis on)", cases["approve"], "approve", {}, cm), problems)
    await check_action(people, surface, decision(
        "send back a waiting reply (crisis on)", cases["send-back"], "send-back", back, cm),
        problems)

    await _api(stack, "crisis_management", f"{crisis}/end", {"reason": "Över"})
    waiting = [cases[k] for k in ("approve-cm", "approve-admin", "back-cm", "back-admin")]
    await asyncio.gather(*(covered(c, False) for c in waiting))
    after = cm | {"admin"}
    await check_action(people, surface, decision(
        "approve a waiting reply (crisis ended)", cases["approve-cm"], "approve", {}, after,
        own={"admin": on_case(cases["approve-admin"], "approve", {})}), problems)
    await check_action(people, surface, decision(
        "send back a waiting reply (crisis ended)", cases["back-cm"], "send-back", back, after,
        own={"admin": on_case(cases["back-admin"], "send-back", back)}), problems)
    report(problems)


# --------------------------------------------------------------------------- monitoring


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_monitoring(stack: Stack, people: People, surface: str) -> None:
    """R-15, R-16: the account's admins check in; R-18: the admins record a
    post; R-19: the communications unit keeps an account proposed for
    closure (none can be proposed on the dev server without weeks passing,
    so the communications unit is shown to pass the authorisation check and
    be stopped by the rule alone); R-20: watch items by the account's admins,
    the unit's staff, its manager and deputy and the communications unit,
    resolved by the manager or deputy; R-43: the monitoring settings by the
    manager, deputy or communications unit (API); the monitoring status and
    watch items are read by the admins, the unit and communications (API)."""
    problems: list[str] = []
    account_id = await request_account(stack, f"Bevakning {uuid.uuid4().hex[:6]}")
    await to_active(stack, account_id)
    api, pg = f"/api/accounts/{account_id}", f"/accounts/{account_id}/monitoring"
    count = account_events(stack, account_id)
    moment = datetime.now(UTC) - timedelta(hours=1)
    local = moment.strftime("%Y-%m-%dT%H:%M")  # read in Stockholm time: in the past
    for _ in range(2):  # W-1 and W-2, one for each resolver
        await _api(stack, "admin", f"{api}/watch-items",
                   {"summary": "Fel öppettider", "seen_at": moment.isoformat()})
    admin = frozenset({"admin"})
    managers = frozenset({"manager", "deputy"})
    watch_form = {"summary": "Kritik i kommentarerna", "seen_at": local}

    def mon(name: str, allowed: frozenset[str], path: str, body: dict[str, Any],
            action: str | None, form: dict[str, Any], **more: Any) -> Action:
        return Action(name, allowed, (f"{api}/{path}", body),
                      (f"{pg}/{action}", form) if action else None, count, **more)

    def resolving(item: str) -> tuple[Target, Target]:
        return ((f"{api}/watch-items/{item}/resolve", {"note": "Rättat"}),
                (f"{pg}/resolve", {"item_id": item, f"note_{item}": "Rättat"}))

    policy = {"posts_per_week": 2, "inactivity_days": 30, "check_ins_per_day": 3}
    resolve_api, resolve_page = resolving("W-1")
    steps = [
        mon("check-in", admin, "check-ins", {}, "check_in", {}),
        mon("record a post", admin, "posts",
            {"post_id": "matris_1", "published_at": moment.isoformat()}, "post",
            {"post_id": "matris_1", "published_at": local}),
        mon("keep an account proposed for closure", frozenset({"communications"}), "keep",
            {"reason": "Kontot behövs"}, "keep", {"reason": "Kontot behövs"},
            passes="no closure has been proposed"),
        mon("raise a watch item", admin | managers | {"requester", "communications"},
            "watch-items", {"summary": "Kritik i kommentarerna", "seen_at": moment.isoformat()},
            "watch", watch_form),
        Action("resolve a watch item", managers, resolve_api, resolve_page, count,
               own={"deputy": resolving("W-2")}),
        mon("monitoring settings", managers | {"communications"}, "monitoring-settings",
            policy, None, {}),
    ]
    for step in steps:
        await check_action(people, surface, step, problems)
    if surface == "api":
        readers = {"admin", "manager", "deputy", "communications", "requester"}
        await check_read(people, surface, "monitoring status", f"{api}/monitoring", readers,
                         problems)
        await check_read(people, surface, "watch items", f"{api}/watch-items", readers,
                         problems)
    report(problems)


# --------------------------------------------------------------------------- snapshots


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The web app's archive folder in the test's own folder, never the
    repository's .state/ (the web app writes nothing there: issue 12)."""
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return tmp_path / "web-archive"


@pytest.mark.parametrize("surface", SURFACES)
async def test_matrix_snapshots(stack: Stack, people: People, surface: str,
                                archive: Path) -> None:
    """R-37: a snapshot on demand and a screenshot upload by the account's
    admins, its unit's manager or deputy and the communications unit (API and
    the account page); R-28, R-35, R-38: a records export by a registrar or
    the communications unit (API). A refusal starts no workflow, stores no
    upload, writes no export."""
    problems: list[str] = []
    account_id = await request_account(stack, f"Arkiv {uuid.uuid4().hex[:6]}")
    await to_active(stack, account_id)
    api, pg = f"/api/accounts/{account_id}", f"/accounts/{account_id}"
    keepers = frozenset({"admin", "manager", "deputy", "communications"})

    async def snapshot_workflows() -> int:
        # The test's own dev server: this account's snapshots only.
        return len([w async for w in stack.client.list_workflows(
            'WorkflowType="SnapshotWorkflow"')])

    async def uploads() -> int:
        n: int = await stack.pool.fetchval(
            "SELECT count(*) FROM snapshot_uploads WHERE account_id = $1::uuid", account_id)
        return n

    async def exports() -> int:
        # Issue 12: an export is a row (and a workflow) the request writes,
        # its package built by the worker.
        n: int = await stack.pool.fetchval("SELECT count(*) FROM records_exports")
        return n

    await settle(lambda: _positive(snapshot_workflows))  # the activation's own (R-37)
    started = await snapshot_workflows()
    png = Upload(_tiny_png())
    today = datetime.now(UTC).date()
    span = {"municipality_id": "exempelby", "start": str(today - timedelta(days=1)),
            "end": str(today + timedelta(days=1))}
    steps = [
        Action("take a snapshot", keepers, (f"{api}/snapshots", {}),
               (f"{pg}/snapshots", {}), snapshot_workflows, pause=1.05),
        Action("upload a screenshot", keepers,
               (f"{api}/snapshot-uploads", {"file": png, "caption": "Profil"}),
               (f"{pg}/snapshot-uploads", {"file": png, "caption": "Profil"}), uploads),
        Action("records export", frozenset({"registrar", "communications"}),
               ("/api/records-exports", span), None, exports, pause=1.05),
    ]
    for step in steps:
        await check_action(people, surface, step, problems)
    if surface == "api":
        await check_read(people, surface, "snapshots list", f"{api}/snapshots", set(keepers),
                         problems)
    # Exactly one snapshot per allowed person was started, none for a refusal.
    expected = started + len(keepers)
    try:
        await settle(lambda: _equal(snapshot_workflows, expected), seconds=10)
    except AssertionError:
        problems.append(f"take a snapshot: expected {expected} snapshot workflows (the "
                        f"activation's and one per allowed role), got "
                        f"{await snapshot_workflows()}")
    report(problems)


async def _positive(count: Counter) -> bool:
    return await count() > 0


async def _equal(count: Counter, n: int) -> bool:
    return await count() == n
