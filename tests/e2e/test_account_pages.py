"""The account lifecycle in the intranet, in a real browser, by three people
(R-01..R-07, R-12): elin.strand (kultur) requests, anna.lind (kultur's
manager) approves, elin records ROS and DPIA, erik.sjoberg (communications)
signs off and activates, and the account is in the public register. axe-core
checks every main page on the way; screenshots go to test-artifacts/."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page

from cli import load_directory_file
from tests.e2e.browser import expect_accessible, new_page, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack
from tests.e2e.intranet import browser, sign_in
from tests.support import ROOT, SIGN_OFF_CHECKLIST, request_fields

# Account reads are for people of the account's municipality.
COLLEAGUE = {"X-Kanalvakt-Actor": "elin.strand"}


async def _fill_request(page: Page) -> None:
    await page.get_by_label("Verksamhet").select_option("kultur")
    await page.get_by_label("Plattform").select_option("instagram")
    await page.get_by_label("Kontots namn").fill("Kulturhuset Ängen")
    await page.get_by_label("Kontaktadress (e-post)").fill("kulturhuset@exempelby.se")
    await page.get_by_label("Syfte").fill("Visa programmet och svara på frågor.")
    await page.get_by_label("Målgrupp").fill("Unga vuxna i Exempelby")
    await page.get_by_label(re.compile(r"^Mål \(")).fill("Fler besökare under 30 år")
    await page.get_by_label("Budskap").fill("Kulturhuset är ditt vardagsrum")
    await page.get_by_label("Varför just den här kanalen?").fill("Målgruppen finns där")
    await page.get_by_label("Ja", exact=True).check()
    await page.get_by_label("Resurser").fill("Två kommunikatörer")
    await page.get_by_label("Timmar per vecka").fill("8")
    await page.get_by_label("Administratör 2").fill("johan.berg")


async def _stage(page: Page) -> str:
    return (await page.locator("#stage").inner_text()).strip()


async def test_request_to_public_register_by_three_people(chromium: Browser,
                                                          stack: Stack) -> None:
    """R-02 form -> R-01 manager approval -> R-04 ROS and DPIA -> R-03 sign-off
    with its checklist -> R-12 activation with two admins with 2FA -> R-07
    public register; each step by the person whose step it is."""
    elin = await person_page(chromium, stack, "elin.strand")

    # an incomplete form comes back with its errors, nothing lost.
    await elin.goto(url(stack, "/accounts/new"))
    await expect_accessible(elin, "request-form")
    await elin.get_by_label("Kontots namn").fill("Kulturhuset Ängen")
    await elin.get_by_label("Kontaktadress (e-post)").fill("inte-en-adress")
    await submit(elin, elin.get_by_role("button", name="Skicka begäran"))
    summary = elin.locator("#error-summary")
    assert await summary.is_visible()
    assert await elin.get_by_label("Kontots namn").input_value() == "Kulturhuset Ängen"
    email = elin.get_by_label("Kontaktadress (e-post)")
    assert await email.get_attribute("aria-invalid") == "true"
    assert "f-contact_email-error" in (await email.get_attribute("aria-describedby") or "")
    await expect_accessible(elin, "request-form-errors")
    await screenshot(elin, "request-form-errors")
    started = await stack.http.get("/api/accounts?municipality=exempelby", headers=COLLEAGUE)
    assert started.status_code == 200 and started.json() == []  # nothing started

    await _fill_request(elin)
    # the routines delegated with the account.
    for routine in ("Kriskommunikation", "Registrering", "Gallring", "Arkivering",
                    "Olämpliga eller sekretessbelagda inlägg"):
        await elin.get_by_label(routine, exact=True).check()
    await elin.get_by_label("Kontaktadress (e-post)").fill("kulturhuset@exempelby.se")
    await submit(elin, elin.get_by_role("button", name="Skicka begäran"))
    await elin.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}\?done=requested"))
    account_path = elin.url.split("?")[0].removeprefix(url(stack, ""))
    assert await _stage(elin) == "Väntar på chefens beslut"
    assert "Konto begärt" in await elin.locator("#timeline").inner_text()
    assert await elin.get_by_role("button", name="Godkänn begäran").count() == 0
    await expect_accessible(elin, "account-requested")
    await screenshot(elin, "account-requested")

    # the manager finds it among her tasks and approves.
    anna = await person_page(chromium, stack, "anna.lind")
    await anna.goto(url(stack, "/tasks"))
    await expect_accessible(anna, "tasks-manager")
    await screenshot(anna, "tasks-manager")
    await anna.get_by_role("link", name="Godkänn eller avslå begäran").click()
    await anna.wait_for_url(re.compile(account_path))
    # R-52: the manager confirms the admins' time, resources and knowledge.
    await anna.get_by_label(
        "De utsedda kontoansvariga har tid, resurser och kunskap").check()
    await submit(anna, anna.get_by_role("button", name="Godkänn begäran"))
    await anna.wait_for_url(re.compile(r"done=approve"))
    assert await _stage(anna) == "ROS och DPIA"

    # the requester records both assessments.
    await elin.goto(url(stack, account_path))
    for kind, ref in (("ros", "KS 2026/0042"), ("dpia", "KS 2026/0043")):
        await elin.get_by_label("Analys").select_option(kind)
        await elin.get_by_label("Dokumentets diarienummer").fill(ref)
        await submit(elin, elin.get_by_role("button", name="Registrera analysen"))
        await elin.wait_for_url(re.compile(r"done=risk"))
    assert await _stage(elin) == "Granskas av kommunikationsenheten"

    # the communications unit signs off with the checklist (R-05..R-11).
    erik = await person_page(chromium, stack, "erik.sjoberg")
    await erik.goto(url(stack, "/tasks"))
    await erik.get_by_role("link", name="Granska och godkänn kontot").click()
    await erik.wait_for_url(re.compile(account_path))
    await expect_accessible(erik, "account-signoff")
    await screenshot(erik, "account-signoff")
    # An incomplete checklist is refused with the rules' reasons; nothing recorded.
    await submit(erik, erik.get_by_role("button", name="Registrera beslutet"))
    # The reasons in plain words, each rule id behind "Varför?" (issue 14).
    refusal = erik.locator("#f-sign_off-form")
    assert "avsändare" in await refusal.inner_text()
    assert "R-08" in (await refusal.text_content() or "")
    assert await _stage(erik) == "Granskas av kommunikationsenheten"
    # The checklist, its ids behind "Varför?".
    for label in SIGN_OFF_CHECKLIST:
        await erik.get_by_label(label).check()
    await erik.get_by_label("Profiltexten som den publiceras").fill(
        "Kulturhuset Ängen är en del av Exempelby kommun. Vi svarar vardagar 8–16.30.")
    await erik.get_by_label("Länkar i profilen, en per rad").fill(
        "https://www.exempelby.se/kultur-och-fritid\n"
        "https://www.exempelby.se/styrdokument/riktlinjer-for-sociala-medier")
    # read and accepted apart; with no delegate the manager is offered for both.
    assert await erik.get_by_label(
        "Villkoren lästa av").input_value() == "anna.lind"
    assert await erik.get_by_label(
        "Villkoren godkända av").input_value() == "anna.lind"
    await submit(erik, erik.get_by_role("button", name="Registrera beslutet"))
    await erik.wait_for_url(re.compile(r"done=sign_off"))
    assert await _stage(erik) == "Väntar på aktivering"

    # R-12: activation with both admins' 2FA confirmed; R-07: listed.
    await erik.get_by_label("Kontonamn (@namn)").fill("@kulturhusetangen")
    await erik.get_by_label("Kontots adress (https://)").fill(
        "https://www.instagram.com/kulturhusetangen")
    await erik.get_by_label("Elin Strand har tvåfaktorsinloggning").check()
    await erik.get_by_label("Johan Berg har tvåfaktorsinloggning").check()
    await submit(erik, erik.get_by_role("button", name="Aktivera kontot"))
    await erik.wait_for_url(re.compile(r"done=activate"))
    assert await _stage(erik) == "Aktivt"
    timeline = await erik.locator("#timeline").inner_text()
    for event in ("Konto begärt", "Godkänt av chef", "Analys registrerad",
                  "Godkänt av kommunikationsenheten", "Aktiverat", "Infört i registret"):
        assert event in timeline, event
    assert "Anna Lind" in timeline and "Erik Sjöberg" in timeline
    await expect_accessible(erik, "account-active")
    await screenshot(erik, "account-active")

    public = await new_page(chromium)
    await public.goto(url(stack, "/register"))
    row = public.get_by_role("row", name=re.compile("Kulturhuset Ängen"))
    assert "@kulturhusetangen" in await row.inner_text()
    await expect_accessible(public, "register-listed")
    await screenshot(public, "register-listed")


async def test_wrong_person_gets_403_and_nothing_is_recorded(stack: Stack,
                                                            database_url: str) -> None:
    """R-01 on the page: a form post by someone who is not the unit's manager
    is refused with the 403 page before anything reaches the workflow; the
    account's events are unchanged. A person of another municipality may
    not even see the page."""
    async with browser(stack) as elin:
        await sign_in(elin, "elin.strand")
        r = await elin.post("/api/accounts", json={**request_fields(),
                                                   "municipality_id": "exempelby"})
        account_id = r.json()["account_id"]
    before = (await stack.http.get(f"/api/accounts/{account_id}/timeline",
                                   headers=COLLEAGUE)).json()
    async with browser(stack) as outsider:
        token = await sign_in(outsider, "jonas.blom")  # samhällsbyggnad
        page = await outsider.get(f"/accounts/{account_id}")
        assert page.status_code == 200 and "Godkänn begäran" not in page.text
        r = await outsider.post(f"/accounts/{account_id}/act/approve",
                                data={"csrf_token": token, "comment": "ok"})
        assert r.status_code == 403 and "Inget har ändrats" in r.text
        # And with no CSRF token, the right person is refused too.
    async with browser(stack) as anna:
        await sign_in(anna, "anna.lind")
        r = await anna.post(f"/accounts/{account_id}/act/approve", data={"comment": "ok"})
        assert r.status_code == 403
    await load_directory_file(database_url, ROOT / "deploy" / "directory" / "fjordvik.yaml")
    async with browser(stack) as norwegian:
        await sign_in(norwegian, "ingrid.haugen", municipality="fjordvik")
        r = await norwegian.get(f"/accounts/{account_id}")
        assert r.status_code == 403
    after = (await stack.http.get(f"/api/accounts/{account_id}/timeline", headers=COLLEAGUE)).json()
    assert after == before
    state = (await stack.http.get(f"/api/accounts/{account_id}", headers=COLLEAGUE)).json()
    assert state["stage"] == "awaiting_manager"
