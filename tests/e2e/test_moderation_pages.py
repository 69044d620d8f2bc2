"""The moderation, registrar, report and crisis pages in a real headless
Chromium (Debian's, through Playwright), on the whole stack: an account's
admin takes decisions on screened messages on the case page and sees the
result at once; a registrar searches the diarium; a manager reads the
report; crisis management opens the crisis page. axe-core checks each page
(WCAG 2.1 AA, no serious or critical violations); screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, Page

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, activation_snapshot, active_account
from tests.e2e.test_messages_api import case, decide, received
from tests.support import eventually

PERSONNUMMER_TEXT = "Hej! Min son 19121212-1212 fick inte plats på förskolan, varför?"
INSULT_TEXT = "Ni är idioter allihop på kulturhuset, när öppnar ni biblioteket?"


async def _case_when(stack: Stack, case_id: str, ok: Any) -> dict[str, Any]:
    return await eventually(lambda: case(stack, case_id), ok)


async def _submit(page: Page, heading: str, button: str) -> None:
    """Send the form in the decision panel titled `heading`."""
    panel = page.locator("section.decision").filter(
        has=page.get_by_role("heading", name=heading, exact=True))
    await submit(page, panel.get_by_role("button", name=button))


async def test_r31_r29_r30_an_admin_removes_a_screened_message_on_the_case_page(
        chromium: Browser, stack: Stack) -> None:
    """R-31: a message with a Swedish personnummer is captured and hidden at
    once; the inbox shows its flags and deadline. On the case page the admin
    confirms the hide done by hand, then removes it as sensitive personal data
    (R-29, with its law; registered first, R-31; a copy kept, R-30): each
    decision shows its result at once."""
    account_id = await active_account(stack)
    hidden = await received(stack, account_id, PERSONNUMMER_TEXT)
    await _case_when(stack, hidden, lambda c: c["state"].get("pending_action") == "hide")
    insult = await received(stack, account_id, INSULT_TEXT)

    page = await person_page(chromium, stack, "elin.strand")
    await page.goto(url(stack, "/inbox"))
    await expect_accessible(page, "inbox")
    await screenshot(page, "inbox")
    row = page.locator("table.inbox tbody tr").filter(has_text="fick inte plats")
    assert "Personnummer" in await row.inner_text()
    assert "Dolt" in await row.inner_text()
    assert "kontorstimmar" in await row.inner_text()  # the countdown, in office hours
    insult_row = page.locator("table.inbox tbody tr").filter(has_text="biblioteket")
    assert "Förolämpning" in await insult_row.inner_text()

    await row.get_by_role("link").first.click()
    # The load state of the inbox itself would do: wait for the case page.
    await page.wait_for_url(re.compile(r"/messages/"))
    await page.wait_for_load_state()
    assert "/messages/" in page.url
    await expect_accessible(page, "message-case")
    await screenshot(page, "message-case")
    assert "Ska döljas för hand" in await page.locator("main").inner_text()

    # A form sent without what it needs: the error beside the field, nothing recorded.
    await page.get_by_label("Motivering").fill("")
    await _submit(page, "Ta bort", "Ta bort meddelandet")
    summary = page.locator(".error-summary")
    assert await summary.is_visible()
    assert await page.locator("#f-redact-reason").get_attribute("aria-invalid") == "true"
    assert await page.locator("#f-redact-category").input_value() == \
        "privacy_or_sensitive_data"  # the screening's proposal is kept
    await expect_accessible(page, "message-case-error")
    await screenshot(page, "message-case-error")
    assert [e["event_type"] for e in (await case(stack, hidden))["timeline"]][-1] == \
        "ManualActionRequested"

    # The hide done by hand on the platform, confirmed.
    await _submit(page, "Bekräfta åtgärd gjord för hand", "Bekräfta")
    assert "Åtgärden är bekräftad." in await page.locator("#result").inner_text()

    # Removed as sensitive personal data: registered first, the law recorded.
    await page.get_by_label("Skäl för borttagning").select_option("privacy_or_sensitive_data")
    await page.get_by_label("Motivering").fill("Personnummer till ett barn.")
    await _submit(page, "Ta bort", "Ta bort meddelandet")
    result = await page.locator("#result").inner_text()
    assert "Meddelandet är borttaget" in result
    assert "Diarienummer: KS " in result
    assert "Ska tas bort" in await page.locator("main").inner_text() or \
        "plattformen" in result  # the platform has no API: a person deletes it
    assert "Borttaget (kopia bevarad)" in await page.locator("h1").inner_text()
    timeline = await page.locator("table").last.inner_text()
    assert "Registrerat i diariet" in timeline and "Dataskyddsförordningen" in timeline
    await expect_accessible(page, "message-case-done")
    await screenshot(page, "message-case-done")
    recorded = (await case(stack, hidden))["timeline"]
    assert [e["event_type"] for e in recorded if e["actor"] == "elin.strand"] == [
        "ManualActionConfirmed", "MessageRegistered", "MessageRedacted"]

    # The insult answered with the account's signature rule (R-26: optional).
    await page.goto(url(stack, f"/messages/{insult}"))
    await page.get_by_label("Svarstext").fill("Biblioteket öppnar klockan 10.")
    await page.get_by_label("Signera svaret").check()
    await _submit(page, "Svara", "Publicera svaret")
    assert "Svaret är registrerat." in await page.locator("#result").inner_text()
    answered = await case(stack, insult)
    assert answered["stage"] == "answered"
    reply = next(e for e in answered["timeline"] if e["event_type"] == "MessageAnswered")
    assert reply["data"]["signature"] == "Elin Strand, Kultur- och fritidsförvaltningen"


async def test_r28_r31_r42_r39_registrar_search_reports_and_crisis_pages(
        chromium: Browser, stack: Stack) -> None:
    """R-28, R-31: a registrar finds a registered message by its number and a
    word of its text; a confidential one shows no text and is not found by
    its words. R-42: the unit's manager reads the report with its charts and
    their tables. R-39: crisis management declares crisis mode for the unit
    on the crisis page, and the result shows at once."""
    account_id = await active_account(stack)
    await activation_snapshot(stack, account_id)  # registered too
    public = await received(stack, account_id, "Varför är simhallen stängd i december?")
    secret = await received(stack, account_id, "Min diagnos gör att jag behöver hjälp.")
    answered = await received(stack, account_id, "När öppnar biblioteket?")
    ads = await received(stack, account_id, "Köp billiga solglasögon på example.com!")
    for case_id, decision, body in (
            (public, "register", {"record_class": "Synpunkter och klagomål"}),
            (secret, "register", {"record_class": "Socialtjänst", "confidential": True}),
            (answered, "respond", {"text": "Klockan 10."}),
            (ads, "redact", {"category": "advertising", "reason": "Reklam"})):
        r = await decide(stack, case_id, decision, "elin.strand", body)
        assert r.status_code == 200, r.text
    number = (await case(stack, public))["diarium_number"]

    # The registrar's search, confidential rows without text.
    page = await person_page(chromium, stack, "ali.karimi")
    await page.goto(url(stack, "/diarium"))
    nav = await page.locator("nav.main-nav").inner_text()
    assert "Diarium" in nav and "Krisläge" not in nav
    rows = page.locator("table.diarium tbody tr")
    assert await rows.count() == 3  # the two messages and the activation's snapshot
    assert "Sekretess texten och avsändaren visas inte" in await rows.filter(
        has_text="Socialtjänst").inner_text()
    assert "diagnos" not in await page.locator("main").inner_text()
    await page.get_by_label("Diarienummer eller ord i texten").fill(number)
    await page.get_by_role("button", name="Sök").click()
    await page.wait_for_load_state()
    assert await rows.count() == 1 and number in await rows.inner_text()
    assert "simhallen" in await rows.inner_text()
    await expect_accessible(page, "diarium")
    await screenshot(page, "diarium")
    await page.get_by_label("Diarienummer eller ord i texten").fill("diagnos")
    await page.get_by_role("button", name="Sök").click()
    await page.wait_for_load_state()
    assert await rows.count() == 0  # a confidential text is not searched
    # A browser's date field sends only valid dates; a typed-in address may not.
    await page.goto(url(stack, "/diarium?q=diagnos&from=2026-13-01"))
    assert "Ange ett datum" in await page.locator(".error-summary").inner_text()
    assert await page.locator("#f-from").get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("Diarienummer eller ord i texten").input_value() == "diagnos"
    await page.goto(url(stack, "/moderation-log"))
    log = await page.locator("main table").inner_text()
    assert "Kommersiella budskap eller reklam" in log and "Besvarat" in log
    await expect_accessible(page, "moderation-log")
    await screenshot(page, "moderation-log")
    await page.goto(url(stack, "/disposal-log"))
    await expect_accessible(page, "disposal-log")

    # the unit's manager reads the report.
    page = await person_page(chromium, stack, "anna.lind")
    await page.goto(url(stack, "/reports?unit=kultur"))
    figures = await page.locator("ul.figures").inner_text()
    assert "Mottagna meddelanden\n4" in figures and "Besvarade frågor\n1" in figures
    assert await page.locator("figure.chart svg[role=img]").count() == 3
    table = await page.locator("table.report").inner_text()
    assert "Kulturhuset Ängen (Facebook)" in table
    redactions = await page.locator("main").inner_text()
    assert "Kommersiella budskap eller reklam\t1" in redactions
    await expect_accessible(page, "report-unit")
    await screenshot(page, "report-unit")
    await page.goto(url(stack, "/reports"))
    await expect_accessible(page, "report-overview")
    await screenshot(page, "report-overview")

    # crisis management switches the culture unit into crisis mode.
    page = await person_page(chromium, stack, "eva.marklund")
    await page.goto(url(stack, "/crisis"))
    await submit(page, page.get_by_role("button", name="Gå över till krisläge"))
    assert await page.locator("#f-declare-reason").get_attribute("aria-invalid") == "true"
    await page.locator("#f-declare-reason").fill("Stormen Gudrun")
    await page.get_by_label("Kultur- och fritidsförvaltningen").check()
    await submit(page, page.get_by_role("button", name="Gå över till krisläge"))
    assert "Krisläget gäller nu" in await page.locator("#result").inner_text()
    banner = await page.locator(".crisis-banner").inner_text()
    assert "Kultur- och fritidsförvaltningen" in banner and "Stormen Gudrun" in banner
    assert "krisinformation" in banner  # the accounts point to the website
    await expect_accessible(page, "crisis")
    await screenshot(page, "crisis")
