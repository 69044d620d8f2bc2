"""Issue 14 (task D8) in Chromium on the real stack:

- R-36: the public register (`/register`, no sign-in) and each entry's
  history (`/register/{id}`) show the disposal decision of the
  records-management plan that applies, as the registrar's page shows it, in
  Swedish, bokmål and English; the public JSON carries it too.
- R-27: the saved replies are reachable by links: the main menu (the
  communications unit: the municipality's), the account page (its admins:
  the account's) and the case page's reply form ("Hantera sparade svar").
axe-core checks each page."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, new_page, person_page, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import received
from tests.support import COMMS, OUTSIDER, REQUESTER

ADMIN = REQUESTER  # elin.strand, an admin of the account active_account makes


async def test_r36_the_public_register_and_an_entrys_history_show_the_disposal_decision(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    public = await new_page(chromium)  # nobody signed in
    await public.goto(url(stack, "/register"))
    await expect_accessible(public, "public-register")
    plan = await public.locator("section.panel").filter(
        has_text="Registret i dokumenthanteringsplanen").inner_text()
    for shown in ("Förteckning över officiella kanaler i sociala medier", "1.4.2", "Bevaras",
                  "KS 2024/118"):
        assert shown in plan, (shown, plan)
    row = public.locator("tbody tr").filter(has_text="Kulturhuset Ängen")
    assert "Gallring: bevaras" in await row.locator(".entry-disposal").inner_text()

    await row.get_by_role("link", name="Historik").click()
    await public.wait_for_load_state()
    assert public.url.endswith(f"/register/{account_id}")
    await expect_accessible(public, "public-register-entry")
    assert "Kulturhuset Ängen i registret" in await public.locator("h1").inner_text()
    disposal = await public.locator("#entry-disposal").inner_text()
    assert "Bevaras" in disposal and "KS 2024/118" in disposal, disposal
    history = await public.locator("#entry-history").inner_text()
    assert "Förd in i registret" in history, history
    main = await public.locator("main").inner_text()
    # Who entered it is not public (the register names only the responsible manager).
    assert COMMS not in main and "Sofia Wallin" not in main, main

    # The same in bokmål and English (the reader's language, no sign-in).
    await public.goto(url(stack, f"/lang/nb?next=/register/{account_id}"))
    disposal = await public.locator("#entry-disposal").inner_text()
    assert "Registeret i arkivplanen" in await public.locator("main").inner_text()
    assert "Bevares" in disposal and "Vedtak" in disposal, disposal
    assert "Ført inn i registeret" in await public.locator("#entry-history").inner_text()
    await public.goto(url(stack, "/lang/en?next=/register"))
    plan = await public.locator("section.panel").filter(
        has_text="The register in the records-management plan").inner_text()
    assert "Kept" in plan and "KS 2024/118" in plan, plan

    # A decision to dispose: the years show on the register and the entry.
    await stack.pool.execute(
        "UPDATE municipalities SET records_plan = $1 WHERE id = 'exempelby'",
        {"channels": {"plan_line": "Kanalförteckning", "action": "dispose",
                      "dispose_after_years": 10, "decision": "KS 2026/7"}})
    await public.goto(url(stack, "/lang/sv?next=/register"))
    cell = await public.locator("tbody tr .entry-disposal").first.inner_text()
    assert "gallras 10 år efter att kanalen lämnat registret" in cell, cell
    await public.goto(url(stack, f"/register/{account_id}"))
    disposal = await public.locator("#entry-disposal").inner_text()
    assert "Gallras 10 år" in disposal and "KS 2026/7" in disposal, disposal

    # The public JSON carries it on each entry.
    [entry] = (await stack.http.get("/api/register")).json()
    assert entry["disposal"]["action"] == "dispose"
    assert (entry["disposal"]["dispose_after_years"], entry["disposal"]["decision"]) == (
        10, "KS 2026/7")

    # An account never listed has no public history; nor has a made-up id.
    assert (await stack.http.get("/register/00000000-0000-0000-0000-000000000000")
            ).status_code == 404
    assert (await stack.http.get("/register/not-an-id")).status_code == 404


async def test_r27_saved_replies_are_reached_by_links_from_menu_account_and_case(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    asked = await received(stack, account_id, "Vem bestämmer om nya cykelvägar?")

    # The communications unit: the main menu -> the municipality's saved replies.
    comms = await person_page(chromium, stack, COMMS)
    await comms.goto(url(stack, "/tasks"))
    await comms.locator("nav.main-nav").get_by_role("link", name="Sparade svar").click()
    await comms.wait_for_load_state()
    assert comms.url.endswith("/saved-replies")
    assert await comms.locator("nav.main-nav a[aria-current=page]").inner_text() == \
        "Sparade svar"
    await comms.get_by_label("Rubrik").fill("Cykelvägar")
    await comms.locator("#f-saved-text").fill("Cykelvägar beslutas av tekniska nämnden.")
    await submit(comms, comms.get_by_role("button", name="Spara svaret"))
    assert "erbjuds nu i svarsformuläret" in await comms.get_by_role("status").inner_text()
    await expect_accessible(comms, "saved-replies-added")

    # Someone outside the communications unit has no such menu item.
    outsider = await person_page(chromium, stack, OUTSIDER)
    await outsider.goto(url(stack, "/tasks"))
    assert await outsider.locator("nav.main-nav").get_by_role(
        "link", name="Sparade svar").count() == 0

    # An admin: the account page -> the account's saved replies.
    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/accounts/{account_id}"))
    await admin.locator("#account-saved-replies").get_by_role(
        "link", name="Kontots sparade svar").click()
    await admin.wait_for_load_state()
    assert admin.url.endswith(f"/accounts/{account_id}/saved-replies")
    await expect_accessible(admin, "account-saved-replies")

    # The case page's reply form -> "Hantera sparade svar" (the account's).
    await admin.goto(url(stack, f"/messages/{asked}"))
    options = await admin.get_by_label("Sparade svar").locator("option").all_inner_texts()
    assert "Cykelvägar" in options, options
    await admin.get_by_role("link", name="Hantera sparade svar").click()
    await admin.wait_for_load_state()
    assert admin.url.endswith(f"/accounts/{account_id}/saved-replies")
    # ... and from there to the municipality's.
    await admin.locator("#saved-elsewhere").get_by_role(
        "link", name="Kommunens sparade svar").click()
    await admin.wait_for_load_state()
    assert admin.url.endswith("/saved-replies")
    assert "Cykelvägar beslutas av tekniska nämnden." in await admin.locator("main").inner_text()
