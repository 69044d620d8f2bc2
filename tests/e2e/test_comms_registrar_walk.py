"""Issue 14 (task D8): the communications unit's and the registrar's daily
work walked in Chromium on the real stack, one screenshot per page under
test-artifacts/walk-d8/ (git-ignored), axe-core on each page, and what the
walk found, checked on every page so it cannot come back:

- rule ids (R-39, R-40, R-29 ...) stood in the lead texts and headings of the
  crisis page and the registrar's pages: now only behind "Varför?";
- the outbox showed its channel as "email" on a Swedish page, and "Väntar: 2"
  without saying waiting for what;
- the register as a record named who listed a channel by directory id
  ("sofia.wallin"), not by name, and spelt platforms by capitalising their
  id; the records pages' sub-menu did not show where the reader was, and the
  main menu showed no section on them (nor on a register entry's page);
- the account page did not link to the account's inbox (the inbox linked
  back, but not the other way);
- a records export said only "built in the background" (where does it go,
  when is it ready?), and showed its period in ISO dates on a bokmål page.

    .venv/bin/python -m pytest tests/e2e/test_comms_registrar_walk.py -q -p no:xdist
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import Browser, Page

from tests.e2e.browser import (
    ARTIFACTS,
    expect_accessible,
    new_page,
    person_page,
    submit,
    url,
)
from tests.e2e.conftest import Stack, active_account
from tests.support import COMMS, REGISTRARS

OUT = ARTIFACTS / "walk-d8"
CRISIS = "eva.marklund"  # crisis management of Exempelby
# The account page is being rebuilt task-first on another branch (its
# checklist labels still carry rule ids); the walk does not hold it to this.
RULE_IDS_ALLOWED = {"comms-account"}


async def visible_rule_ids(page: Page) -> list[str]:
    """Rule ids in the page's main text outside a "Varför?" disclosure."""
    found: list[str] = await page.evaluate("""() => {
        const main = document.querySelector("main").cloneNode(true);
        main.querySelectorAll("details.why").forEach(d => d.remove());
        return main.textContent.match(/R-\\d\\d/g) || [];
    }""")
    return found


async def _look(page: Page, stack: Stack, path: str, name: str) -> str:
    await page.goto(url(stack, path))
    OUT.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    await expect_accessible(page, name)
    if name not in RULE_IDS_ALLOWED:
        assert await visible_rule_ids(page) == [], (name, await visible_rule_ids(page))
    return await page.locator("main").inner_text()


async def test_walk_communications_and_registrar_pages(chromium: Browser, stack: Stack
                                                       ) -> None:
    """Every page of the two roles' day opens, in Swedish, without serious
    axe violations; the screenshots are for a person to look at."""
    account_id = await active_account(stack)
    await stack.pool.execute(
        """INSERT INTO outbox (event_id, recipient, channel, municipality_id, account_id, kind,
               step, stage, created_at, status, attempts, last_error, send_after)
           VALUES (gen_random_uuid(), 'anna.lind', 'email', 'exempelby', $1::uuid,
                   'escalation', 'manager', 'open', now(), 'failed', 8,
                   'SMTP 550 relaying denied', now())""", account_id)
    comms = await person_page(chromium, stack, COMMS)
    for path, name in (("/tasks", "comms-tasks"), (f"/accounts/{account_id}", "comms-account"),
                       ("/saved-replies", "comms-saved-replies"),
                       (f"/accounts/{account_id}/saved-replies", "comms-account-saved"),
                       ("/outbox", "comms-outbox"), ("/crisis", "comms-crisis"),
                       ("/inbox", "comms-inbox"), ("/register", "comms-register"),
                       ("/records/register", "comms-records-register")):
        text = await _look(comms, stack, path, name)
        if name == "comms-account":  # the account's inbox is one click away (was none)
            await comms.locator("#account-inbox").get_by_role("link",
                                                          name="Kontots inkorg").click()
            await comms.wait_for_load_state()
            assert comms.url.endswith(f"/accounts/{account_id}/inbox"), comms.url
        if name == "comms-outbox":
            failed = await comms.locator("table[aria-labelledby=failed-h] tbody").inner_text()
            assert "E-post" in failed and "email" not in failed, failed
            assert "Väntar på att skickas" in text, text
        if name == "comms-crisis":  # the rule is one click away, not in the text
            await comms.locator("details.why summary").first.click()
            assert "regel R-39" in await comms.locator("details.why").first.inner_text()
    registrar = await person_page(chromium, stack, REGISTRARS[0])
    for path, name in (("/tasks", "reg-tasks"), ("/diarium", "reg-diarium"),
                       ("/moderation-log", "reg-moderation-log"),
                       ("/disposal-log", "reg-disposal-log"),
                       ("/records-exports", "reg-records-exports"),
                       ("/records/register", "reg-records-register")):
        text = await _look(registrar, stack, path, name)
        if path != "/tasks":  # the records pages' sub-menu shows where one is
            current = registrar.locator("nav.sub-nav a[aria-current=page]")
            weight = await current.evaluate("a => getComputedStyle(a).fontWeight")
            assert int(weight) >= 700, (name, weight)
        if path != "/tasks":  # ... and the main menu its section
            assert await registrar.locator("nav.main-nav a[aria-current=page]").inner_text() \
                == "Diarium", name
        if name == "reg-records-register":
            history = await registrar.locator("main table tbody").first.inner_text()
            assert "Sofia Wallin" in history and COMMS not in history, history
            assert re.search(r"Kulturhuset Ängen \(Facebook\)", text), text

    # A records export: the page says where it goes and when it is ready.
    await registrar.goto(url(stack, "/records-exports"))
    today = datetime.now(UTC).date()
    await registrar.get_by_label("Registrerat från och med").fill(today.isoformat())
    await registrar.get_by_label("Registrerat till och med").fill(today.isoformat())
    await submit(registrar, registrar.get_by_role("button", name="Starta uttag"))
    started = await registrar.get_by_role("status").inner_text()
    assert "när status är Klart finns det att ladda ned" in started, started
    await registrar.screenshot(path=str(OUT / "reg-records-export-started.png"), full_page=True)
    await expect_accessible(registrar, "reg-records-export-started")
    await _look(registrar, stack, "/lang/nb?next=/records-exports", "reg-records-exports-nb")
    period = await registrar.locator("table[aria-labelledby=exports] tbody td").nth(2).inner_text()
    assert period == f"{today:%d.%m.%Y} – {today:%d.%m.%Y}", period

    public = await new_page(chromium)
    await _look(public, stack, "/register", "public-register")
    await _look(public, stack, f"/register/{account_id}", "public-register-entry")
    assert await public.locator("nav.main-nav a[aria-current=page]").inner_text() == \
        "Offentligt register"
    public_nb = await new_page(chromium, locale="nb-NO")
    await _look(public_nb, stack, "/lang/nb?next=/register", "public-register-nb")
    await _look(public_nb, stack, f"/register/{account_id}", "public-register-entry-nb")

    # A crisis declared by crisis management: the communications unit's
    # crisis page and the public register in crisis mode.
    r = await stack.http.post("/api/municipalities/exempelby/crisis",
                              headers={"X-Kanalvakt-Actor": CRISIS},
                              json={"reason": "Stormen Doris: strömavbrott", "units": []})
    assert r.status_code == 200, r.text
    text = await _look(comms, stack, "/crisis", "comms-crisis-active")
    assert "Krisläge gäller" in text, text
    await _look(comms, stack, "/register", "comms-register-crisis")
    await _look(public, stack, "/register", "public-register-crisis")

