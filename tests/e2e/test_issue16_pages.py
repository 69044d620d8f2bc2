"""Issue 16 on the intranet's account page, in Chromium: publishers beside
the admins (R-52), who read and who accepted the platform's terms apart with
the manager's delegate offered (R-05), and the message settings of issue 16
with the municipality's value and the stricter default beside the account's
(R-43, R-22, R-26, R-31, R-33, R-45, R-46, R-47, R-48, R-50)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import Browser, Page

from tests.e2e.browser import (
    ARTIFACTS,
    expect_accessible,
    person_page,
    screenshot,
    submit,
    url,
)
from tests.e2e.conftest import Stack, active_account
from tests.support import (
    COMMS,
    DEPUTY,
    MANAGER,
    REQUESTER,
    SIGN_OFF_CHECKLIST,
    assessment,
    request_fields,
)

PUBLISHER = "ali.karimi"  # kansli, in the sample directory


def as_(actor: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": actor}


async def _state(stack: Stack, account_id: str) -> dict[str, object]:
    r = await stack.http.get(f"/api/accounts/{account_id}", headers=as_(MANAGER))
    assert r.status_code == 200, r.text
    state: dict[str, object] = r.json()["state"]
    return state


async def _part(page: Page, selector: str, name: str) -> None:
    """A screenshot of one part of the page (test-artifacts/<name>.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def _publishers_text(page: Page) -> str:
    return await page.locator("#publisher-list").inner_text()


async def test_r52_the_manager_appoints_and_removes_publishers_on_the_account_page(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    path = f"/accounts/{account_id}"

    anna = await person_page(chromium, stack, MANAGER)
    await anna.goto(url(stack, path))
    assert "Kontot har inga publicister" in await _publishers_text(anna)
    await anna.locator("#f-pub-person").fill(PUBLISHER)
    await submit(anna, anna.get_by_role("button", name="Utse publicisten"))
    await anna.wait_for_url(re.compile(r"done=appoint_publisher"))
    assert "Ali Karimi" in await _publishers_text(anna)
    assert (await _state(stack, account_id))["publishers"] == [PUBLISHER]

    # A refusal (an admin already publishes) is said plainly, the input kept,
    # nothing recorded.
    await anna.locator("#f-pub-person").fill(REQUESTER)
    await submit(anna, anna.get_by_role("button", name="Utse publicisten"))
    refusal = await anna.locator("#f-pub-form").inner_text()
    assert "R-52" not in refusal and REQUESTER in refusal, refusal
    # The rule behind "Varför?" (issue 14).
    why = await anna.locator("#f-pub-form + details.why").text_content() or ""
    assert "R-52" in why, why
    assert await anna.locator("#f-pub-person").input_value() == REQUESTER
    # Someone not in the directory is named in the field's own error.
    await anna.locator("#f-pub-person").fill("no.such.person")
    await submit(anna, anna.get_by_role("button", name="Utse publicisten"))
    assert "no.such.person" in await anna.locator("#f-pub-person-error").inner_text()
    assert (await _state(stack, account_id))["publishers"] == [PUBLISHER]
    await expect_accessible(anna, "account-publishers-manager")
    await screenshot(anna, "account-publishers-manager")
    await _part(anna, "#publishers", "account-publishers-refused")

    # The deputy may too (R-01, R-13: the deputy stands in); an admin sees
    # the list without the controls.
    johan = await person_page(chromium, stack, DEPUTY)
    await johan.goto(url(stack, path))
    assert await johan.get_by_role("button", name="Utse publicisten").count() == 1
    elin = await person_page(chromium, stack, REQUESTER)
    await elin.goto(url(stack, path))
    assert "Ali Karimi" in await _publishers_text(elin)
    assert await elin.get_by_role("button", name="Utse publicisten").count() == 0
    assert await elin.get_by_role("button", name="Ta bort Ali Karimi som publicist").count() == 0
    await _part(elin, "#publishers", "account-publishers-admin")
    # A forged post by her is the 403 page, nothing recorded.
    token = await elin.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = await elin.request.post(url(stack, f"{path}/act/remove_publisher"),
                                     form={"csrf_token": token or "", "person": PUBLISHER})
    assert forged.status == 403
    assert (await _state(stack, account_id))["publishers"] == [PUBLISHER]

    await anna.goto(url(stack, path))
    await submit(anna, anna.get_by_role("button", name="Ta bort Ali Karimi som publicist"))
    await anna.wait_for_url(re.compile(r"done=remove_publisher"))
    assert "Kontot har inga publicister" in await _publishers_text(anna)
    assert (await _state(stack, account_id))["publishers"] == []
    timeline = await anna.locator("#timeline").inner_text()
    assert "Publicist utsedd" in timeline and "Publicist borttagen" in timeline


async def test_r05_the_sign_off_page_records_who_read_and_who_accepted_the_terms_apart(
        chromium: Browser, stack: Stack) -> None:
    r = await stack.http.post("/api/accounts", headers=as_(REQUESTER), json={
        **request_fields(), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    account_id = r.json()["account_id"]
    path = f"/accounts/{account_id}"

    # The approval page offers the terms delegate (R-05) beside R-52's confirmation.
    anna = await person_page(chromium, stack, MANAGER)
    await anna.goto(url(stack, path))
    delegate = anna.get_by_label("Behörig att godkänna plattformens villkor")
    hint = await anna.locator("#f-approve-terms_delegate-hint").inner_text()
    assert "plattformens villkor" in hint
    await delegate.fill(REQUESTER)
    await anna.get_by_label(
        "De utsedda kontoansvariga har tid, resurser och kunskap").check()
    await submit(anna, anna.get_by_role("button", name="Godkänn begäran"))
    await anna.wait_for_url(re.compile(r"done=approve"))
    today = datetime.now(UTC).date()
    for kind in ("ros", "dpia"):
        r = await stack.http.post(f"/api/accounts/{account_id}/risk-assessments",
                                  headers=as_(REQUESTER), json=assessment(kind, today))
        assert r.status_code == 200, r.text

    sofia = await person_page(chromium, stack, COMMS)
    await sofia.goto(url(stack, path))
    read_by = sofia.get_by_label("Villkoren lästa av")
    accepted_by = sofia.get_by_label("Villkoren godkända av")
    # The delegate is offered first, as the default of both fields.
    assert await read_by.input_value() == REQUESTER
    assert await accepted_by.input_value() == REQUESTER
    hint = await sofia.locator("#f-sign_off-terms_accepted_by-hint").inner_text()
    assert "Elin Strand (elin.strand)" in hint and "Anna Lind (anna.lind)" in hint
    await expect_accessible(sofia, "account-signoff-terms")
    await screenshot(sofia, "account-signoff-terms")
    await _part(sofia, "form[action$='/act/sign_off']", "account-signoff-terms-form")
    # The checklist, its ids behind "Varför?".
    for label in SIGN_OFF_CHECKLIST:
        await sofia.get_by_label(label).check()
    await sofia.get_by_label("Profiltexten som den publiceras").fill(
        "Kulturhuset Ängen är en del av Exempelby kommun. Vi svarar vardagar 8–16.30.")
    await sofia.get_by_label("Länkar i profilen, en per rad").fill(
        "https://www.exempelby.se/kultur-och-fritid\n"
        "https://www.exempelby.se/styrdokument/riktlinjer-for-sociala-medier")

    # Accepted by someone who did not read them: refused, the inputs kept.
    await read_by.fill(f"{MANAGER}, {COMMS}")
    await accepted_by.fill(REQUESTER)
    await submit(sofia, sofia.get_by_role("button", name="Registrera beslutet"))
    # The rule id stays behind "Varför?" (issue 14): in the page, not in view.
    refusal = await sofia.locator("#f-sign_off-form").text_content() or ""
    assert "R-05" in refusal, refusal
    assert await read_by.input_value() == f"{MANAGER}, {COMMS}"
    # Accepted by someone not authorised (not the manager, the unit or the delegate).
    await read_by.fill(f"{MANAGER}, {PUBLISHER}")
    await accepted_by.fill(PUBLISHER)
    await submit(sofia, sofia.get_by_role("button", name="Registrera beslutet"))
    assert "R-05" in (await sofia.locator("#f-sign_off-form").text_content() or "")
    assert (await _state(stack, account_id))["stage"] == "awaiting_signoff"

    # Read by the manager and the delegate, accepted by the delegate.
    await read_by.fill(f"{MANAGER}, {REQUESTER}")
    await accepted_by.fill(REQUESTER)
    await submit(sofia, sofia.get_by_role("button", name="Registrera beslutet"))
    await sofia.wait_for_url(re.compile(r"done=sign_off"))
    state = await _state(stack, account_id)
    assert state["stage"] == "awaiting_activation"
    checklist = state["sign_off"]
    assert isinstance(checklist, dict)
    assert checklist["terms_read_by"] == [MANAGER, REQUESTER]
    assert checklist["terms_accepted_by"] == REQUESTER
    assert checklist["terms_read_and_accepted_by"] is None


async def test_r43_message_settings_of_issue16_shown_and_edited_with_the_stricter_default(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    path = f"/accounts/{account_id}"
    anna = await person_page(chromium, stack, MANAGER)
    await anna.goto(url(stack, path))

    # each setting as the account has it, the municipality's, and the
    # stricter default; Exempelby (Mora) is milder on signatures and watched.
    signature = await anna.locator("#setting-signature").inner_text()
    assert "frivillig" in signature and "krävs" in signature
    assert "mildare än standard" in signature
    watched = await anna.locator("#setting-watched").inner_text()
    assert watched.split("\t")[1:] == ["ja mildare än standard", "ja mildare än standard",
                                       "nej"], watched
    town = await anna.locator("#town-settings").inner_text()
    assert "var 5:e arbetsdag" in town  # lifecycle.chase_every_days
    assert "kommunikationsenheten godkänner" in town  # R-48, Exempelby: approve
    publishes = await anna.locator("#setting-crisis_publishes").inner_text()
    assert publishes.split("\t")[1:] == ["nej mildare än standard", "ja"], publishes
    await expect_accessible(anna, "account-settings")
    await screenshot(anna, "account-settings")
    await _part(anna, "#settings", "account-settings-table")
    await _part(anna, "#town-settings", "account-settings-town")

    # A bad value: a clear error on the field, the other inputs kept, nothing saved.
    chase = anna.get_by_label("Jaga obesvarade meddelanden var n:e arbetsdag (1–20)")
    await chase.fill("0")
    await anna.get_by_label("Tillåt utfallet ”bevakad”").uncheck()
    await submit(anna, anna.get_by_role("button", name="Spara inställningarna"))
    error = await anna.locator("#f-ms-chase_every_working_days-error").inner_text()
    assert "Ange ett helt antal arbetsdagar från 1 till 20." in error
    assert not await anna.get_by_label("Tillåt utfallet ”bevakad”").is_checked()
    assert await anna.locator("#error-summary").count() == 1
    await _part(anna, "form[action$='/act/message_settings']", "account-settings-form-error")
    before = await _state(stack, account_id)
    assert before["message_policy"] is None or \
        before["message_policy"]["chase_every_working_days"] == 1  # type: ignore[index]

    await chase.fill("3")
    await anna.get_by_label("Granskning: E-postadress").select_option("hide")
    await anna.get_by_label("Gallringsbeslut för reklam").select_option("SM-1")
    await submit(anna, anna.get_by_role("button", name="Spara inställningarna"))
    await anna.wait_for_url(re.compile(r"done=message_settings"))
    policy = (await _state(stack, account_id))["message_policy"]
    assert isinstance(policy, dict)
    assert policy["chase_every_working_days"] == 3
    assert policy["watched_allowed"] is False
    assert policy["advertising_disposal_decision"] == "SM-1"
    assert sorted(policy["screening"]["auto_hide"]) == ["email", "identity_number"]
    assert "var 3:e arbetsdag" in await anna.locator("#setting-chase").inner_text()
    watched = await anna.locator("#setting-watched").inner_text()
    assert watched.split("\t")[1:] == ["nej", "ja mildare än standard", "nej"], watched
    # Hiding e-mail addresses too is stricter than the default, and said so.
    hidden = await anna.locator("#setting-hidden").inner_text()
    assert hidden.split("\t")[1] == "Personnummer, E-postadress strängare än standard", hidden

    # A decision the account does not have is refused with its own words.
    token = await anna.locator("input[name=csrf_token]").first.get_attribute("value")
    r = await anna.request.post(url(stack, f"{path}/act/message_settings"), form={
        "csrf_token": token or "", "opens": "08:00", "closes": "16:30",
        "answer_rule": "office_hours", "answer_office_hours": "24", "signature": "optional",
        "minor_records_decision": "SM-9"}, max_redirects=0)
    assert r.status == 422 and "SM-9 är inte ett av kontots gallringsbeslut" in await r.text()
    api = await stack.http.post(f"/api/accounts/{account_id}/message-settings",
                                headers=as_(MANAGER), json={"minor_records_decision": "SM-9"})
    assert api.status_code == 422, api.text
    assert api.json()["detail"][0]["loc"] == ["body", "minor_records_decision"]

    # Norwegian and English, and without JavaScript the form still works.
    context = await chromium.new_context(java_script_enabled=False, locale="nb-NO")
    plain = await context.new_page()
    await plain.goto(url(stack, "/signin"))
    await plain.get_by_label("Person").select_option(f"exempelby/{MANAGER}")
    await plain.locator("form[action='/signin/dev'] button").click()
    await plain.goto(url(stack, "/lang/nb"))
    await plain.goto(url(stack, path))
    assert "Standard (den strengere)" in await plain.locator("#settings").inner_text()
    await plain.get_by_label("Purr ubesvarte meldinger hver n. arbeidsdag (1–20)").fill("25")
    await plain.get_by_role("button", name="Lagre innstillingene").click()
    assert "Oppgi et helt antall arbeidsdager fra 1 til 20." in await plain.locator(
        "#f-ms-chase_every_working_days-error").inner_text()
    await plain.get_by_label("Purr ubesvarte meldinger hver n. arbeidsdag (1–20)").fill("2")
    await plain.get_by_role("button", name="Lagre innstillingene").click()
    await plain.wait_for_url(re.compile(r"done=message_settings"))
    assert "hver 2. arbeidsdag" in await plain.locator("#setting-chase").inner_text()
    await screenshot(plain, "account-settings-nb-nojs")
    await plain.goto(url(stack, "/lang/en"))
    await plain.goto(url(stack, path))
    assert "Default (the stricter)" in await plain.locator("#settings").inner_text()
    assert "every 2 working days" in await plain.locator("#setting-chase").inner_text()
    assert await plain.get_by_label("Allow the outcome \"watched\"").count() == 1
    await context.close()
    assert (await _state(stack, account_id))["message_policy"][  # type: ignore[index]
        "chase_every_working_days"] == 2

