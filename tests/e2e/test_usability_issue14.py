"""Issue 14, the usability round, in Chromium on the real stack (dev server,
worker, web app), with axe-core on each page: the activation snapshot of an
Instagram account offers its screenshot upload and is labelled as the
activation's (R-37); its diarium number is found by the diarium search
(R-28); a message is entered by hand from the browser into the same intake
as the JSON API (R-21); the instruction for an action by hand names the
account's @handle, the author, a quote and the link, never internal ids, and
never quotes an identity number (R-31); platforms are spelled as they spell
themselves."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.snapshot_waits import waiting_snapshot
from tests.e2e.test_account_pages import _fill_request
from tests.e2e.test_messages_api import as_, case
from tests.support import (
    COMMS,
    MANAGER,
    REGISTRARS,
    REQUESTER,
    assessment,
    eventually,
    request_fields,
)
from tests.workflows.test_snapshot_workflow import _tiny_png

ADMIN = REQUESTER
PERSONNUMMER_TEXT = "Hej! Min son 19121212-1212 fick inte plats på förskolan, varför?"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The web app's uploads in the test's own folder, never .state/."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("KANALVAKT_UPLOAD_DIR", str(folder))
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return folder


async def test_r37_r28_instagram_activation_snapshot_offers_its_upload_and_shows_in_diarium(
        chromium: Browser, stack: Stack, uploads: Path) -> None:
    """Issue 14 item 1: an Instagram account without a Page token waits at
    activation for screenshots; its admin finds the upload beside the wait
    (before: the form was not offered on an active Instagram account, and
    Done could only answer that nothing was uploaded), labelled as the
    activation snapshot, not "Efter större ändring"; after the upload Done
    packages it. Item 9: the registrar's search by its diarium number shows
    it as the activation snapshot, linked to the account."""
    account_id = await active_account(stack, platform="instagram")
    sid = await waiting_snapshot(stack, account_id, "major_change")
    assert sid is not None and sid.endswith("-activated")
    page = await person_page(chromium, stack, ADMIN)
    await page.goto(url(stack, f"/accounts/{account_id}"))
    panel = await page.locator("#snapwait").inner_text()
    assert "Aktiveringsbild" in panel and "Efter större ändring" not in panel, panel
    assert "(Instagram)" in await page.locator("h1").inner_text()
    upload = page.get_by_label(re.compile(r"^Skärmbild \("))
    assert await upload.count() == 1, "no screenshot upload beside the activation's wait"
    await expect_accessible(page, "u14-instagram-activation-wait")
    await screenshot(page, "u14-instagram-activation-wait")

    await upload.set_input_files(files=[{
        "name": "profil.png", "mimeType": "image/png", "buffer": _tiny_png()}])
    await submit(page, page.get_by_role("button", name="Ladda upp"))
    await page.wait_for_url(re.compile(r"done=upload"))
    await submit(page, page.get_by_role("button", name="Klar: skärmbilderna är uppladdade"))
    await page.wait_for_url(re.compile(r"done=snapwait"))
    result = await asyncio.wait_for(stack.client.get_workflow_handle(sid).result(), timeout=120)
    assert (result["source"], result["screenshots"]) == ("screenshots", 1)
    number = result["diarium_number"]
    assert re.fullmatch(r"KS \d{4}/\d{5}", number), number

    await eventually(lambda: stack.pool.fetchval(
        "SELECT diarium_number FROM snapshots WHERE snapshot_id = $1", sid),
        lambda n: n == number, seconds=30)
    registrar = await person_page(chromium, stack, REGISTRARS[0])
    await registrar.goto(url(stack, "/diarium"))
    await registrar.get_by_label("Diarienummer eller ord i texten").fill(number)
    await submit(registrar, registrar.get_by_role("button", name="Sök"))
    # Found once, as the snapshot it is (before: "Texten är gallrad", linked
    # to a message page that does not exist), linked to the account's snapshots.
    assert await registrar.locator("table.diarium tbody tr").count() == 1
    hits = registrar.locator("tr.snapshot-hit")
    assert await hits.count() == 1
    row = await hits.inner_text()
    assert number in row and "aktiveringsbild" in row and "gallrad" not in row, row
    assert await hits.locator("a").get_attribute("href") == f"/accounts/{account_id}#snapshots"
    await expect_accessible(registrar, "u14-diarium-snapshot-hit")
    await screenshot(registrar, "u14-diarium-snapshot-hit")
    # Spaces typed twice still find it; another number does not.
    await registrar.goto(url(stack, "/diarium?q=" + number.replace(" ", "%20%20")))
    assert await registrar.locator("tr.snapshot-hit").count() == 1
    await registrar.goto(url(stack, "/diarium?q=KS%201999/99999"))
    assert await registrar.locator("tr.snapshot-hit").count() == 0


async def _case_of(stack: Stack, account_id: str) -> str | None:
    value = await stack.pool.fetchval(
        "SELECT case_id FROM message_cases WHERE account_id = $1::uuid", account_id)
    return None if value is None else str(value)


async def test_r21_r31_a_message_entered_by_hand_and_the_instruction_a_person_can_follow(
        chromium: Browser, stack: Stack) -> None:
    """Issue 14 items 2 and 3 on a TikTok account (no API): the admin enters
    a comment from the browser (the inbox links the page; an empty form
    answers with its errors; the manager, not an admin, is refused); it
    becomes a case through the intake, is hidden at once for its identity
    number (R-31), and the instruction to hide it by hand names the account's
    @handle, the author, a quote (the number masked) and the link, not the
    platform ids."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    page = await person_page(chromium, stack, ADMIN)
    await page.goto(url(stack, f"/accounts/{account_id}/inbox"))
    await page.get_by_role("link", name="Lägg in ett meddelande för hand").click()
    await page.wait_for_url(re.compile(r"/messages/new$"))
    assert "TikTok" in await page.locator("main .lead").inner_text()
    await expect_accessible(page, "u14-entry-form")
    await screenshot(page, "u14-entry-form")

    await submit(page, page.get_by_role("button", name="Lägg in meddelandet"))
    assert "Skriv meddelandets text." in await page.locator(".error-summary").inner_text()
    assert await _case_of(stack, account_id) is None
    await expect_accessible(page, "u14-entry-form-errors")

    link = "https://www.tiktok.com/@kulturhusetangen/video/7301234567890"
    await page.get_by_label("Avsändare").fill("Karin Ek")
    await page.get_by_label(re.compile("^Meddelandets text")).fill(PERSONNUMMER_TEXT)
    await page.get_by_label("Länk till meddelandet").fill(link)
    await submit(page, page.get_by_role("button", name="Lägg in meddelandet"))
    await page.wait_for_url(re.compile(r"/inbox\?done=entered$"))
    assert "Meddelandet är inlagt" in await page.locator("#entered").inner_text()

    case_id = await eventually(lambda: _case_of(stack, account_id), seconds=30)
    assert case_id is not None and case_id.startswith("message:tiktok:manual-")
    got: dict[str, Any] = await eventually(
        lambda: case(stack, case_id),
        lambda c: (c.get("state") or {}).get("pending_action") == "hide", seconds=30)
    assert got["state"]["pending_action"] == "hide", got
    await page.goto(url(stack, f"/messages/{case_id}"))
    instruction = await page.locator("main .notice").first.inner_text()
    assert "Logga in på TikTok" in instruction, instruction
    assert "@kulturhusetangen" in instruction and "Karin Ek" in instruction, instruction
    assert "Hej! Min son" in instruction and link in instruction, instruction
    assert "19121212-1212" not in instruction and "•" in instruction, instruction
    assert "manual-" not in instruction and account_id not in instruction, instruction
    assert "med id" not in instruction, instruction
    await expect_accessible(page, "u14-manual-instruction")
    await screenshot(page, "u14-manual-instruction")

    # Only the account's admins enter its messages, on the page as in the API.
    manager = await person_page(chromium, stack, MANAGER)
    answer = await manager.goto(url(stack, f"/accounts/{account_id}/messages/new"))
    assert answer is not None and answer.status == 403
    await manager.goto(url(stack, f"/accounts/{account_id}/inbox"))
    assert await manager.get_by_role("link", name="Lägg in ett meddelande för hand").count() == 0


async def test_r19_closure_is_a_rare_action_behind_a_confirmation_naming_its_consequence(
        chromium: Browser, stack: Stack) -> None:
    """Issue 14 item 7: on the active account's page the profile change and
    the closure (R-19) are folded under "Mer", apart from the everyday forms; the
    closure names what follows (the register, the final snapshot, no way
    back) and is refused, with nothing sent, until that is confirmed."""
    account_id = await active_account(stack)
    page = await person_page(chromium, stack, MANAGER)
    await page.goto(url(stack, f"/accounts/{account_id}"))
    closure = page.locator("form[action$='/act/closure']")
    assert await closure.count() == 1 and not await closure.is_visible()
    assert not await page.locator("form[action$='/act/profile_change']").is_visible()
    await screenshot(page, "u14-active-account-manager")
    await page.locator("#rare-actions > summary").click()
    consequence = await page.locator("#closure-consequence").inner_text()
    assert "går inte att ångra" in consequence and "register" in consequence, consequence
    assert "ögonblicksbild" in consequence, consequence
    await expect_accessible(page, "u14-closure-open")

    await closure.get_by_label(re.compile("^Skäl")).fill("Kontot ersätts av kommunens huvudkonto")
    await submit(page, closure.get_by_role("button", name="Avsluta kontot"))
    assert "Bekräfta att kontot ska avslutas" in await page.locator(
        "#rare-actions .error-summary").inner_text()
    assert await page.locator("#rare-actions").get_attribute("open") is not None
    closed = await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'ClosureRequested' "
        "AND stream_id = (SELECT stream_id FROM accounts WHERE account_id = $1::uuid)",
        account_id)
    assert closed == 0
    assert await stack.pool.fetchval(
        "SELECT stage FROM accounts WHERE account_id = $1::uuid", account_id) == "active"
    await expect_accessible(page, "u14-closure-unconfirmed")
    await screenshot(page, "u14-closure-unconfirmed")

    await closure.get_by_label(re.compile("^Jag förstår")).check()
    await submit(page, closure.get_by_role("button", name="Avsluta kontot"))
    await page.wait_for_url(re.compile(r"done=closure"))
    stage = await eventually(lambda: stack.pool.fetchval(
        "SELECT stage FROM accounts WHERE account_id = $1::uuid", account_id),
        lambda s: s != "active", seconds=30)
    assert stage != "active"


async def test_r05_r08_sign_off_gaps_once_as_plain_sentences_rules_behind_why(
        chromium: Browser, stack: Stack) -> None:
    """Issue 14 item 4: the sign-off form says who may accept the platform's
    terms (R-05); a sign-off with the checklist unfilled (the profile's gaps
    among them, R-08) answers with the gaps once, each a plain sentence, the
    rule id behind a "Varför?" disclosure (before: one long sentence of rule
    codes, shown twice); nothing changes."""
    r = await stack.http.post("/api/accounts", headers=as_(REQUESTER), json={
        **request_fields(), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    r = await stack.http.post(f"/api/accounts/{account_id}/approve", headers=as_(MANAGER),
                              json={"admins_equipped": True})
    assert r.status_code == 200, r.text
    for kind in ("ros", "dpia"):
        r = await stack.http.post(f"/api/accounts/{account_id}/risk-assessments",
                                  headers=as_(REQUESTER),
                                  json=assessment(kind, datetime.now(UTC).date()))
        assert r.status_code == 200, r.text

    page = await person_page(chromium, stack, COMMS)
    await page.goto(url(stack, f"/accounts/{account_id}"))
    who = await page.locator("#sign_off-who-accepts").inner_text()
    assert "chef" in who and "kommunikationsenheten" in who, who
    await submit(page, page.get_by_role("button", name="Registrera beslutet"))
    gaps = page.locator("#sign_off-gaps > li")
    assert await gaps.count() >= 3
    shown = await page.locator("main").inner_text()
    first = (await gaps.first.inner_text()).split("\n")[0].replace("Varför?", "").strip()
    assert shown.count(first) == 1, (first, shown)
    visible = await page.locator("#f-sign_off-form").inner_text()
    assert not re.search(r"R-\d\d", visible), visible
    assert "R-08" in (await page.locator("#f-sign_off-form").text_content() or "")
    await gaps.first.locator("summary").click()
    assert re.search(r"R-\d\d", await gaps.first.inner_text())
    await expect_accessible(page, "u14-signoff-gaps")
    await screenshot(page, "u14-signoff-gaps")
    assert await stack.pool.fetchval(
        "SELECT stage FROM accounts WHERE account_id = $1::uuid", account_id) \
        == "awaiting_signoff"


async def test_r01_r53_the_requester_is_told_who_decides_next_and_by_when(
        chromium: Browser, stack: Stack) -> None:
    """Issue 14 item 9: after sending the request form (enhanced by site.js,
    <main> swapped), the requester's account page names who decides next
    (the unit's manager and deputy, R-01; never the requester, R-53) and by
    when (item 8: at the end of the office day), and the top menu no longer
    marks "request an account" as the section shown."""

    elin = await person_page(chromium, stack, REQUESTER)
    await elin.goto(url(stack, "/accounts/new"))
    current = elin.locator("nav.main-nav [aria-current=page]")
    assert await current.get_attribute("href") == "/accounts/new"
    # Item 5: the admins' picker offers the directory by name and unit.
    option = await elin.locator("datalist#people option[value='johan.berg']").text_content()
    assert option == "Johan Berg (Kultur- och fritidsförvaltningen)", option
    await _fill_request(elin)
    for routine in ("Kriskommunikation", "Registrering", "Gallring", "Arkivering",
                    "Olämpliga eller sekretessbelagda inlägg"):
        await elin.get_by_label(routine, exact=True).check()
    await submit(elin, elin.get_by_role("button", name="Skicka begäran"))
    await elin.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}\?done=requested"))
    assert await current.count() == 0, await current.first.get_attribute("href")
    step = await elin.locator("#next-step").inner_text()
    assert "Anna Lind" in step and "Johan Berg" in step and "beslutar" in step, step
    # Item 8: a deadline of working days ends at the office's closing time
    # (the request's monitoring hours, 08:00-16:30), not at the click's time.
    assert "Elin Strand" not in step and re.search(
        r"Det ska vara gjort (senast \w+ \d+ \w+|i dag|i morgon) kl\. 16\.30", step), step
    await expect_accessible(elin, "u14-requested-next-step")
    await screenshot(elin, "u14-requested-next-step")
    # The manager reads the same line with "du" for herself.
    anna = await person_page(chromium, stack, MANAGER)
    await anna.goto(elin.url.split("?")[0])
    assert (await anna.locator("#next-step").inner_text()).startswith("du, Johan Berg")
