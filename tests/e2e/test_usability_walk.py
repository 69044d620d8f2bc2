"""Issue 14: a task-based walk per role in Chromium on the real stack, as
docs/usability.md reports it. Each role does one everyday task the way a
person would (from the top menu or /tasks, following links and labels, no
typed addresses except the start page): the walk counts the clicks (click,
check, select) and the fields typed, times the task, saves a screenshot of
each step under test-artifacts/usability/ (git-ignored) and writes the
numbers to test-artifacts/usability/walk.json. A task that cannot be
finished fails the test: the path must work, not only be measured.

    .venv/bin/python -m pytest tests/e2e/test_usability_walk.py -q -p no:xdist
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page

from tests.e2e.browser import ARTIFACTS, expect_accessible, person_page, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.snapshot_waits import record_only, waiting_snapshot
from tests.e2e.test_account_pages import _fill_request
from tests.e2e.test_messages_api import as_, case, received
from tests.support import (
    COMMS,
    MANAGER,
    REGISTRARS,
    REQUESTER,
    SIGN_OFF_CHECKLIST,
    assessment,
    eventually,
)
from tests.workflows.test_snapshot_workflow import _tiny_png

OUT = ARTIFACTS / "usability"
CRISIS = "eva.marklund"
OFFICER = "jonas.blom"


@dataclass
class Walk:
    role: str
    task: str
    page: Page
    clicks: int = 0
    typed: int = 0
    steps: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    async def click(self, target: Locator) -> None:
        self.clicks += 1
        await target.click()
        await self.page.wait_for_load_state()

    async def send(self, button: Locator) -> None:
        self.clicks += 1
        await submit(self.page, button)

    async def fill(self, target: Locator, text: str) -> None:
        self.typed += 1
        await target.fill(text)

    async def check(self, target: Locator) -> None:
        self.clicks += 1
        await target.check()

    async def shot(self, name: str) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        file = f"{self.role}-{len(self.steps) + 1:02d}-{name}.png"
        await self.page.screenshot(path=str(OUT / file), full_page=True)
        self.steps.append(file)

    def done(self) -> dict[str, Any]:
        self.seconds = round(time.monotonic() - self.started, 1)
        return {"role": self.role, "task": self.task, "clicks": self.clicks,
                "typed": self.typed, "seconds": self.seconds, "steps": list(self.steps)}


async def _walk(chromium: Browser, stack: Stack, person: str, role: str, task: str,
                start: str) -> Walk:
    page = await person_page(chromium, stack, person)
    await page.goto(url(stack, start))
    return Walk(role, task, page)


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANALVAKT_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return tmp_path / "uploads"


async def test_usability_walk_per_role(chromium: Browser, stack: Stack, uploads: Path) -> None:
    """Requester, manager, admin, case officer, communications, registrar and
    crisis management each finish their task; axe on the page each ends on."""
    results: list[dict[str, Any]] = []

    # Requester: request an account from the top menu.
    w = await _walk(chromium, stack, REQUESTER, "requester", "request an account", "/tasks")
    await w.shot("tasks")
    await w.click(w.page.locator("nav.main-nav").get_by_role("link", name="Begär nytt konto"))
    await w.shot("form")
    await _fill_request(w.page)
    w.typed += 10
    w.clicks += 4
    for routine in ("Kriskommunikation", "Registrering", "Gallring", "Arkivering",
                    "Olämpliga eller sekretessbelagda inlägg"):
        await w.check(w.page.get_by_label(routine, exact=True))
    await w.send(w.page.get_by_role("button", name="Skicka begäran"))
    await w.page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}\?done=requested"))
    account_path = "/" + w.page.url.split("?")[0].split("/", 3)[3]
    assert "Anna Lind" in await w.page.locator("#next-step").inner_text()
    await w.shot("requested")
    await expect_accessible(w.page, "walk-requester")
    results.append(w.done())

    # Manager: approve it from "my tasks".
    w = await _walk(chromium, stack, MANAGER, "manager", "approve a request", "/tasks")
    await w.shot("tasks")
    await w.click(w.page.locator(f"a[href='{account_path}']").first)
    await w.shot("account")
    await w.check(w.page.get_by_label(
        "De utsedda kontoansvariga har tid, resurser och kunskap"))
    await w.send(w.page.get_by_role("button", name="Godkänn begäran"))
    await w.page.wait_for_url(re.compile(r"done=approve"))
    await w.shot("approved")
    await expect_accessible(w.page, "walk-manager")
    results.append(w.done())

    # Communications: sign off (the assessments recorded over the API first).
    account_id = account_path.rsplit("/", 1)[1]
    for kind in ("ros", "dpia"):
        r = await stack.http.post(f"/api/accounts/{account_id}/risk-assessments",
                                  headers=as_(REQUESTER),
                                  json=assessment(kind, datetime.now(UTC).date()))
        assert r.status_code == 200, r.text
    w = await _walk(chromium, stack, COMMS, "communications", "sign off an account", "/tasks")
    await w.shot("tasks")
    await w.click(w.page.locator(f"a[href='{account_path}']").first)
    await w.shot("account")
    # The checklist, its ids behind "Varför?".
    for label in SIGN_OFF_CHECKLIST:
        await w.check(w.page.get_by_label(label))
    await w.fill(w.page.get_by_label("Profiltexten som den publiceras"),
                 "Kulturhuset Ängen är en del av Exempelby kommun. Vi svarar vardagar.")
    await w.fill(w.page.get_by_label("Länkar i profilen, en per rad"),
                 "https://www.exempelby.se/kultur\nhttps://www.exempelby.se/riktlinjer")
    await w.fill(w.page.get_by_label(re.compile(r"^Villkoren lästa av")), MANAGER)
    await w.fill(w.page.get_by_label(re.compile(r"^Villkoren godkända av")), MANAGER)
    await w.send(w.page.get_by_role("button", name="Registrera beslutet"))
    await w.page.wait_for_url(re.compile(r"done=sign_off"))
    await w.shot("signed-off")
    await expect_accessible(w.page, "walk-communications")
    results.append(w.done())

    # Admin: enter a message seen on TikTok by hand.
    tiktok = await active_account(stack, platform="tiktok", platform_account_id=None,
                                  name="Ungdomens hus")
    w = await _walk(chromium, stack, REQUESTER, "admin", "enter a message by hand", "/inbox")
    await w.shot("inbox")
    await w.click(w.page.get_by_role("link", name=re.compile("^Ungdomens hus")).first)
    await w.click(w.page.get_by_role("link", name="Lägg in ett meddelande för hand"))
    await w.shot("entry-form")
    await w.fill(w.page.get_by_label("Avsändare"), "Karin Ek")
    await w.fill(w.page.get_by_label(re.compile("^Meddelandets text")),
                 "Hur söker man sommarjobb hos kommunen?")
    await w.send(w.page.get_by_role("button", name="Lägg in meddelandet"))
    await w.page.wait_for_url(re.compile(r"done=entered"))
    await w.shot("entered")
    await expect_accessible(w.page, "walk-admin")
    results.append(w.done())

    # Case officer: answer a question forwarded to them.
    case_id = await eventually(lambda: stack.pool.fetchval(
        "SELECT case_id FROM message_cases WHERE account_id = $1::uuid", tiktok), seconds=30)
    await eventually(lambda: case(stack, str(case_id)),
                     lambda c: (c.get("state") or {}).get("stage") is not None, seconds=30)
    r = await stack.http.post(f"/api/messages/{case_id}/forward", headers=as_(REQUESTER),
                              json={"officer": OFFICER, "note": "Kan du svara om sommarjobb?"})
    assert r.status_code == 200, r.text
    w = await _walk(chromium, stack, OFFICER, "case-officer", "answer a forwarded question",
                    "/inbox")
    await w.shot("inbox")
    await w.click(w.page.locator(f"a[href='/messages/{case_id}']").first)
    await w.shot("case")
    form = w.page.locator("section.decision").filter(has=w.page.locator("textarea")).first
    await w.fill(form.locator("textarea").first,
                 "Ansökan till sommarjobb öppnar i mars på exempelby.se/sommarjobb.")
    await w.send(form.locator("button[type=submit]").first)
    assert await w.page.locator(".error-summary").count() == 0
    await w.shot("answered")
    await expect_accessible(w.page, "walk-officer")
    results.append(w.done())

    # Registrar: find the TikTok account's activation snapshot by its number
    # (the communications unit packages it without screenshots first, R-38).
    sid = await record_only(stack, tiktok, "major_change")
    number = await eventually(lambda: stack.pool.fetchval(
        "SELECT diarium_number FROM diarium WHERE case_id = $1", sid), seconds=60)
    assert number, sid
    w = await _walk(chromium, stack, REGISTRARS[0], "registrar", "find a record by its number",
                    "/tasks")
    await w.click(w.page.locator("nav.main-nav").get_by_role("link", name="Diarium"))
    await w.fill(w.page.get_by_label("Diarienummer eller ord i texten"), str(number))
    await w.send(w.page.get_by_role("button", name="Sök"))
    await w.shot("diarium")
    assert "aktiveringsbild" in await w.page.locator("tr.snapshot-hit").inner_text()
    await expect_accessible(w.page, "walk-registrar")
    results.append(w.done())

    # Crisis management: open the crisis page from the top menu.
    w = await _walk(chromium, stack, CRISIS, "crisis-management", "see the crisis state",
                    "/tasks")
    await w.click(w.page.locator("nav.main-nav").get_by_role("link", name="Krisläge"))
    await w.shot("crisis")
    await expect_accessible(w.page, "walk-crisis")
    results.append(w.done())

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "walk.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    assert [r["role"] for r in results] == [
        "requester", "manager", "communications", "admin", "case-officer", "registrar",
        "crisis-management"]


async def narrow(w: Walk, name: str) -> None:
    """The same step on a phone-wide window (390 px): a screenshot, and the
    page no wider than the window (issue 14: layout on a narrow window)."""
    await w.page.set_viewport_size({"width": 390, "height": 844})
    OUT.mkdir(parents=True, exist_ok=True)
    await w.page.screenshot(path=str(OUT / f"{w.role}-390-{name}.png"), full_page=True)
    scroll, client = await w.page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{w.role} {name}: the page is {scroll} px on a {client} px window"
    await w.page.set_viewport_size({"width": 1280, "height": 900})


async def _before(page: Page, first: str, second: str) -> bool:
    """Whether `first` comes before `second` in the page (document order)."""
    return bool(await page.evaluate(
        "([a, b]) => !!(document.querySelector(a).compareDocumentPosition("
        "document.querySelector(b)) & Node.DOCUMENT_POSITION_FOLLOWING)", [first, second]))


async def test_usability_walk_daily_work(chromium: Browser, stack: Stack, uploads: Path) -> None:
    """Issue 14, the everyday work after activation, walked as people do it
    from the start page: the admin's check-in (R-15), an answer from
    "Mina uppgifter" (R-22), the activation snapshot's screenshots (R-37,
    R-38), a new admin who confirms their own 2FA and an admin removed
    (R-12, R-13), and crisis management declaring a crisis (R-39). Each
    fix of this round is asserted on the way: / opens "Mina uppgifter"; a
    message task names the author and quotes the text, not the case id;
    the active account's page leads with the checks, not with the rare
    forms; removing an admin or declaring a crisis names the consequence
    before it is sent; the pages fit a 390 px window."""
    results: list[dict[str, Any]] = []
    account_id = await active_account(stack)
    insta = await active_account(stack, platform="instagram", platform_account_id=None,
                                 name="Ungdomens hus")
    sid = await waiting_snapshot(stack, insta, "major_change")
    assert sid is not None
    await record_only(stack, account_id, "major_change")
    case_id = await received(stack, account_id, "Hur bokar man stora salen för en konsert?",
                             author_name="Karin Ek")

    # Admin: the twice-daily check-in, from the start page.
    w = await _walk(chromium, stack, REQUESTER, "admin-daily", "check in on the account", "/")
    assert w.page.url.endswith("/tasks"), w.page.url  # before: the welcome page
    await w.shot("start")
    # On a phone each task's "by when" is on screen, not scrolled away to
    # the right of its table (before: the deadline column was cut off).
    await w.page.set_viewport_size({"width": 390, "height": 844})
    due = w.page.locator("#snapshot-tasks + .table-scroll tbody td:last-child").first
    box = await due.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    assert (await due.evaluate("e => getComputedStyle(e, '::before').content")) != "none"
    await narrow(w, "tasks")
    await w.click(w.page.get_by_role("link", name="Kulturhuset Ängen (Facebook)"))
    await w.shot("account")
    await narrow(w, "account")
    # The checks lead; the rare forms (profile change, closure) come after them.
    assert await _before(w.page, "#monitoring", "#rare-actions")
    assert await w.page.locator("#actions-title").is_hidden()
    assert "(R-15)" not in await w.page.locator("#check-in-hint").inner_text()
    await w.send(w.page.get_by_role("button", name=re.compile("Registrera kontroll")))
    await w.page.wait_for_url(re.compile(r"done=check_in"))
    await w.shot("checked-in")
    await expect_accessible(w.page, "walk-admin-check-in")
    results.append(w.done())

    # Admin: answer a citizen's question from "Mina uppgifter".
    w = await _walk(chromium, stack, REQUESTER, "admin-answer", "answer a message", "/tasks")
    row = w.page.locator("#message-tasks + .table-scroll tr").filter(
        has=w.page.locator(f"a[href='/messages/{case_id}']"))
    text = await row.inner_text()
    assert "Karin Ek" in text and "Hur bokar man stora salen" in text, text
    assert case_id not in text, text  # before: "(kommentar, message:facebook:manual-…)"
    await w.shot("tasks")
    await w.click(row.get_by_role("link", name="Besvara"))
    await w.shot("case")
    await narrow(w, "case")
    await w.fill(w.page.get_by_label("Svarstext"),
                 "Hej Karin! Stora salen bokar du på exempelby.se/lokaler.")
    await w.send(w.page.get_by_role("button", name="Publicera svaret"))
    assert await w.page.locator(".error-summary").count() == 0
    await w.shot("answered")
    await expect_accessible(w.page, "walk-admin-answer")
    results.append(w.done())

    # Admin: the activation snapshot's screenshots, from the task.
    w = await _walk(chromium, stack, REQUESTER, "admin-snapshot", "upload screenshots",
                    "/tasks")
    await w.click(w.page.locator(f"a[href^='/accounts/{insta}']").filter(
        has_text="Ladda upp skärmbilder").first)
    await w.shot("account")
    await w.page.get_by_label(re.compile(r"^Skärmbild \(")).set_input_files(files=[{
        "name": "profil.png", "mimeType": "image/png", "buffer": _tiny_png()}])
    w.clicks += 1
    await w.send(w.page.get_by_role("button", name="Ladda upp"))
    await w.page.wait_for_url(re.compile(r"done=upload"))
    await w.send(w.page.get_by_role("button", name="Klar: skärmbilderna är uppladdade"))
    await w.page.wait_for_url(re.compile(r"done=snapwait"))
    await w.shot("done")
    await expect_accessible(w.page, "walk-admin-snapshot")
    results.append(w.done())

    # Manager: a new admin, who then confirms their own 2FA.
    w = await _walk(chromium, stack, MANAGER, "manager-admins", "add an admin",
                    f"/accounts/{account_id}")
    await w.shot("account")
    # the manager notes criticism for the record; the page does not
    # offer them a report "to the manager", i.e. to themselves.
    assert await w.page.get_by_role("heading", name="Rapportera till chefen").count() == 0
    assert await w.page.get_by_role(
        "heading", name="Anteckna kritik eller fel som du känner till").count() == 1
    adding = w.page.locator("form[action$='/act/add_admin']")
    await w.fill(adding.get_by_label(re.compile(r"^Person")), "per.nystrom")
    await w.send(adding.get_by_role("button"))
    await w.page.wait_for_url(re.compile(r"done=add_admin"))
    await w.shot("added")
    results.append(w.done())
    w = await _walk(chromium, stack, "per.nystrom", "new-admin", "confirm one's own 2FA", "/")
    await w.shot("tasks")
    await w.click(w.page.get_by_role("link", name="Bekräfta din tvåfaktorsinloggning"))
    await w.shot("account")
    await w.send(w.page.get_by_role("button", name="Bekräfta 2FA för Per Nyström"))
    await w.page.wait_for_url(re.compile(r"done=two_factor"))
    await w.shot("confirmed")
    await expect_accessible(w.page, "walk-new-admin")
    results.append(w.done())

    # Manager: an admin removed, only after the consequence is named.
    w = await _walk(chromium, stack, MANAGER, "manager-remove", "remove an admin",
                    f"/accounts/{account_id}")
    removal = w.page.locator("details.confirm").filter(has_text="Ta bort Johan Berg")
    confirm = removal.get_by_role("button", name="Ja, ta bort Johan Berg som administratör")
    assert not await confirm.is_visible()  # before: one click removed him
    await w.click(removal.locator("summary"))
    consequence = await removal.inner_text()
    assert "inte längre administratör" in consequence and "minst två" in consequence
    await w.shot("confirm")
    await w.fill(removal.get_by_label(re.compile("^Skäl")), "Byter tjänst")
    await w.send(confirm)
    await w.page.wait_for_url(re.compile(r"done=remove_admin"))
    await w.shot("removed")
    admins = await stack.http.get(f"/api/accounts/{account_id}", headers=as_(MANAGER))
    assert "johan.berg" not in admins.json()["state"]["admins"]
    results.append(w.done())

    # Crisis management: declare a crisis for one unit, told first what follows.
    w = await _walk(chromium, stack, CRISIS, "crisis-declare", "declare a crisis", "/")
    await w.click(w.page.locator("nav.main-nav").get_by_role("link", name="Krisläge"))
    consequence = await w.page.locator("#declare-consequence").inner_text()
    assert "krisreglerna" in consequence and "offentliga registret" in consequence
    await w.shot("crisis")
    await narrow(w, "crisis")
    await w.fill(w.page.locator("#f-declare-reason"), "Vattenläcka i Kulturhuset")
    await w.check(w.page.get_by_label("Kultur- och fritidsförvaltningen"))
    await w.send(w.page.get_by_role("button", name="Gå över till krisläge"))
    await w.page.wait_for_url(re.compile(r"/crisis"))
    assert await w.page.locator(".crisis-banner").count() == 1
    await w.shot("declared")
    await expect_accessible(w.page, "walk-crisis-declare")
    results.append(w.done())

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "walk-daily.json").write_text(json.dumps(results, indent=2, ensure_ascii=False),
                                         "utf-8")
