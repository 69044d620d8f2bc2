"""Issue 14's rules on the real stack, in Chromium where a person works:

- R-27: the communications unit keeps the municipality's saved replies, an
  account's admin the account's; the case page offers them (the account's,
  the municipality's, the official recommendation on political questions);
  an answer that corrects a factual error is recorded with its source and
  shown on the case page.
- R-36: the registrar reads the register of channels as a record, with each
  entry's history and the disposal decision of the records-management plan
  (from the directory YAML), and exports it as CSV and JSON.
- R-41: a post with an image of a child under 15 and no guardian's consent
  is refused with the reason; with the consent's reference it is recorded
  with the post.
axe-core checks each new page."""

from __future__ import annotations

import csv
import io

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import case, received
from tests.support import COMMS, OUTSIDER, REGISTRARS, REQUESTER

ADMIN = REQUESTER  # elin.strand, an admin of the account active_account makes


async def test_r27_saved_replies_and_a_correction_with_its_source(chromium: Browser,
                                                                 stack: Stack) -> None:
    account_id = await active_account(stack)
    asked = await received(stack, account_id, "Stämmer det att simhallen stänger i juni?")

    comms = await person_page(chromium, stack, COMMS)
    await comms.goto(url(stack, "/saved-replies"))
    await expect_accessible(comms, "saved-replies")
    assert "kommundirektörens förslag" in await comms.locator("main").inner_text()
    await comms.get_by_label("Rubrik").fill("Öppettider")
    await comms.locator("#f-saved-text").fill("Öppettiderna finns på exempelby.se.")
    await submit(comms, comms.get_by_role("button", name="Spara svaret"))
    assert "Öppettiderna finns på exempelby.se." in await comms.locator("main").inner_text()

    outsider = await person_page(chromium, stack, OUTSIDER)  # not in the communications unit
    await outsider.goto(url(stack, "/saved-replies"))
    assert await outsider.get_by_role("button", name="Spara svaret").count() == 0
    token = await outsider.locator("input[name=csrf_token]").first.input_value()
    refused = await outsider.request.post(url(stack, "/saved-replies"), form={
        "csrf_token": token, "language": "sv", "title": "Mitt svar", "text": "y"})
    assert refused.status == 403 and "kommunikationsenheten" in await refused.text()
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM saved_replies WHERE title = 'Mitt svar'") == 0

    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/accounts/{account_id}/saved-replies"))
    await expect_accessible(admin, "account-saved-replies")
    await admin.get_by_label("Rubrik").fill("Simhallen")
    await admin.locator("#f-saved-text").fill(
        "Simhallen har öppet hela sommaren enligt kultur- och fritidsnämndens beslut.")
    await submit(admin, admin.get_by_role("button", name="Spara svaret"))

    await admin.goto(url(stack, f"/messages/{asked}"))
    options = await admin.get_by_label("Sparade svar").locator("option").all_inner_texts()
    assert options[1:] == ["Simhallen", "Öppettider",
                           "Politisk fråga: hänvisa till kommundirektörens förslag"], options
    await admin.get_by_label("Sparade svar").select_option(label="Simhallen")
    await submit(admin, admin.get_by_role("button", name="Använd"))
    reply = admin.get_by_label("Svarstext")
    assert "hela sommaren" in await reply.input_value()
    await admin.get_by_text("Svaret rättar ett sakfel").click()
    await admin.get_by_label("Vad var fel?").fill("Att simhallen stänger i juni")
    await admin.get_by_label("Källa för det rätta").fill("KFN 2026/12, exempelby.se/simhallen")
    await expect_accessible(admin, "message-case-correction")
    await submit(admin, admin.get_by_role("button", name="Publicera svaret"))
    main = await admin.locator("main").inner_text()
    assert "rättar: Att simhallen stänger i juni; källa: KFN 2026/12" in main, main

    answered = await case(stack, asked)
    assert answered["stage"] == "answered"
    event = next(e for e in answered["timeline"] if e["event_type"] == "MessageAnswered")
    assert event["data"]["correction"] == {"error": "Att simhallen stänger i juni",
                                           "source": "KFN 2026/12, exempelby.se/simhallen"}


async def test_r27_a_correction_without_its_source_is_refused_on_the_form(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    asked = await received(stack, account_id, "Biblioteket är väl stängt på lördagar?")
    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/messages/{asked}"))
    await admin.get_by_label("Svarstext").fill("Biblioteket har öppet lördagar 10-14.")
    await admin.get_by_text("Svaret rättar ett sakfel").click()
    await admin.get_by_label("Vad var fel?").fill("Att biblioteket är stängt på lördagar")
    await submit(admin, admin.get_by_role("button", name="Publicera svaret"))
    assert "En rättelse anger källan för det rätta" in await admin.locator(
        "#f-respond-correction_source-error").inner_text()
    assert (await case(stack, asked))["stage"] != "answered"


async def test_r36_the_registrar_reads_and_exports_the_register_with_its_disposal_decision(
        chromium: Browser, stack: Stack) -> None:
    await active_account(stack)
    registrar = await person_page(chromium, stack, REGISTRARS[1])
    await registrar.goto(url(stack, "/records/register"))
    await expect_accessible(registrar, "register-records")
    plan = await registrar.locator("#register-disposal").inner_text()
    assert "Bevaras" in plan and "KS 2024/118" in plan and "1.4.2" in plan, plan
    main = await registrar.locator("main").inner_text()
    assert "Kulturhuset Ängen" in main and "Förd in i registret" in main

    exported = await registrar.request.get(url(stack, "/records/register.csv"))
    assert exported.status == 200
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    listed = [r for r in rows if r["event"] == "ListedInRegister"]
    assert [r["account_name"] for r in listed] == ["Kulturhuset Ängen"]
    assert (listed[0]["action"], listed[0]["decision"], listed[0]["record_class"]) == (
        "keep", "KS 2024/118", "1.4.2")
    as_json = await (await registrar.request.get(url(stack, "/records/register.json"))).json()
    assert as_json["disposal"]["action"] == "keep"
    [entry] = as_json["entries"]
    assert entry["disposal"]["decision"] == "KS 2024/118" and entry["listed"] is True

    outsider = await person_page(chromium, stack, OUTSIDER)
    assert (await outsider.request.get(url(stack, "/records/register.csv"))).status == 403


async def test_r41_a_child_under_15_without_a_guardians_consent_is_refused(
        stack: Stack) -> None:
    account_id = await active_account(stack)
    as_admin = {"X-Kanalvakt-Actor": ADMIN}
    child = {"rights": "Foto: Lisa Berg", "shows_people": True, "child_under_15": True}
    body = {"post_id": "p-41", "published_at": "2026-11-20T10:00:00+01:00", "images": [child]}
    r = await stack.http.post(f"/api/accounts/{account_id}/posts", headers=as_admin, json=body)
    assert r.status_code == 422, r.text  # a rule's refusal, with its reason
    assert r.json()["detail"]["key"] == "post.image_guardian_consent"
    assert "guardian" in r.text and "under 15" in r.text
    rows = await stack.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'PostRecorded' AND data->>'post_id' = 'p-41'")
    assert rows == []

    child["guardian_consent"] = "KS 2026/00042"
    r = await stack.http.post(f"/api/accounts/{account_id}/posts", headers=as_admin, json=body)
    assert r.status_code == 200, r.text
    [row] = await stack.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'PostRecorded' AND data->>'post_id' = 'p-41'")
    assert row["data"]["images"][0]["guardian_consent"] == "KS 2026/00042"


async def test_r41_the_post_form_refuses_a_child_without_consent_and_records_it_with(
        chromium: Browser, stack: Stack) -> None:
    """R-41 on the account page: the post form's image fields; a child under
    15 without the guardian's written consent is refused with the reason
    beside the form, nothing recorded; with the reference it is recorded."""
    account_id = await active_account(stack)
    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/accounts/{account_id}"))
    form = admin.locator("form[action$='/monitoring/post']")
    await form.get_by_label("Inläggets id på plattformen").fill("p-page-41")
    await form.get_by_label("Vem har rättigheterna till bilden?").fill("Foto: Lisa Berg")
    await form.get_by_label("Bilden visar personer som kan kännas igen").check()
    await form.get_by_label("Bilden visar ett barn under 15 år").check()
    await submit(admin, form.get_by_role("button", name="Registrera inlägget"))
    main = await admin.locator("main").inner_text()
    assert "vårdnadshavarens skriftliga samtycke ska registreras" in main, main
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'PostRecorded' "
        "AND data->>'post_id' = 'p-page-41'") == 0
    await expect_accessible(admin, "account-post-image-refused")

    form = admin.locator("form[action$='/monitoring/post']")
    await form.get_by_label("Vårdnadshavarens skriftliga samtycke").fill("KS 2026/00042")
    await submit(admin, form.get_by_role("button", name="Registrera inlägget"))
    [row] = await stack.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'PostRecorded' "
        "AND data->>'post_id' = 'p-page-41'")
    image = row["data"]["images"][0]
    assert (image["rights"], image["child_under_15"], image["guardian_consent"]) == (
        "Foto: Lisa Berg", True, "KS 2026/00042")
