"""Progressive enhancement (issue 4: "server-rendered, progressive
enhancement with htmx or similar; no heavy SPA build"): web/static/site.js,
vanilla JS under the CSP's script-src 'self', in a real headless Chromium on
the whole stack.

- The case page's decision forms (data-enhance) are sent with fetch and the
  answer's <main> swapped in: no navigation (a marker set on `window`
  survives), the address follows the redirect, focus lands on the result or
  the error summary, back works, one POST per decision.
- The account page's forms are enhanced the same way (a check-in without
  a navigation); so are the request form and the crisis page's forms.
- The inbox refreshes its table region (data-refresh-seconds) and says how
  many new messages came, in the reader's language.
- Without JavaScript the same decision works by plain POST-redirect-GET.
axe-core checks the pages after each swap; screenshots go to test-artifacts/.
"""

from __future__ import annotations

from playwright.async_api import Browser, Page, Request, expect

from tests.e2e.browser import expect_accessible, person_page, screenshot, sign_in, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import case, received

QUESTION = "Hej! När öppnar biblioteket efter renoveringen?"
MARKER = "window.__kvMarker"


def _panel(page: Page, heading: str):  # type: ignore[no-untyped-def]
    return page.locator("section.decision").filter(
        has=page.get_by_role("heading", name=heading, exact=True))


async def _wait_focus(page: Page, element_id: str) -> None:
    """Until the element has focus (wait_for_function's eval is refused by our CSP)."""
    await page.locator(f"#{element_id}:focus").wait_for()


async def test_r22_r28_a_decision_on_the_case_page_shows_its_result_without_a_page_load(
        chromium: Browser, stack: Stack) -> None:
    """Issue 4 (R-22, R-28): the admin's invalid removal shows its errors in
    place (422, URL unchanged, focus on the error summary, nothing recorded);
    the registration then shows its result at once, without a navigation
    (window.__kvMarker survives), the address is the redirected page's,
    focus is on the result (role=status); the button is disabled while the
    answer is on its way and a second submit sends nothing; back restores
    the page without the result."""
    account_id = await active_account(stack)
    case_id = await received(stack, account_id, QUESTION)
    page = await person_page(chromium, stack, "elin.strand")
    await page.goto(url(stack, f"/messages/{case_id}"))
    case_url = page.url
    await page.evaluate(f"{MARKER} = 1")
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)
    page.on("request", on_request)

    # An invalid removal: the 422 page's errors in place, focus on the summary.
    redact = _panel(page, "Ta bort")
    await redact.get_by_label("Skäl för borttagning").select_option("advertising")
    await redact.get_by_role("button", name="Ta bort meddelandet").click()
    await _wait_focus(page, "error-summary")
    assert await page.evaluate(MARKER) == 1, "the page was reloaded"
    assert page.url == case_url
    assert await page.locator("#f-redact-reason").get_attribute("aria-invalid") == "true"
    assert await page.locator("#f-redact-category").input_value() == "advertising"  # kept
    assert "Kulturhuset Ängen" in await page.title()  # the 422 page's title
    await expect_accessible(page, "enhanced-case-error")
    await screenshot(page, "enhanced-case-error")
    assert posts == [f"{url(stack, '/messages/' + case_id)}/redact"]
    assert [e["event_type"] for e in (await case(stack, case_id))["timeline"]][-1] != \
        "MessageRedacted"

    # Registered: hold the answer a moment to see the form busy and refuse a second send.
    async def slow(route):  # type: ignore[no-untyped-def]
        import asyncio
        await asyncio.sleep(1.0)
        await route.continue_()
    await page.route("**/register", slow)
    register = _panel(page, "Registrera i diariet")
    await register.get_by_label("Diarieklass").fill("Synpunkter och klagomål")
    button = register.get_by_role("button", name="Registrera")
    await button.click()
    assert await button.is_disabled()
    assert await page.locator("main").get_attribute("aria-busy") == "true"
    await page.evaluate("document.querySelector(\"form[action$='/register']\").requestSubmit()")
    await _wait_focus(page, "result")
    assert await page.evaluate(MARKER) == 1, "the page was reloaded"
    result = await page.locator("#result").inner_text()
    assert "Meddelandet är registrerat i diariet." in result and "Diarienummer: KS " in result
    assert page.url == f"{case_url}?done=register"
    assert await page.locator("main").get_attribute("aria-busy") is None
    assert posts.count(f"{url(stack, '/messages/' + case_id)}/register") == 1  # sent once
    assert "Registrerat i diariet" in await page.locator("main table").last.inner_text()
    await expect_accessible(page, "enhanced-case-done")
    await screenshot(page, "enhanced-case-done")
    recorded = (await case(stack, case_id))["timeline"]
    assert [e["event_type"] for e in recorded if e["actor"] == "elin.strand"] == [
        "MessageRegistered"]

    # Back: the page as it was before the decision, still without a reload.
    await page.go_back()
    await page.locator("#result").wait_for(state="detached")
    assert page.url == case_url
    assert await page.evaluate(MARKER) == 1
    assert await page.locator("h1").count() == 1

    # Refused (a wrong CSRF token): the 403 page in place, focus on its heading.
    ack = page.locator("form[action$='/acknowledge']")
    await ack.locator("input[name=csrf_token]").evaluate("i => { i.value = 'forged'; }")
    await ack.get_by_role("button", name="Skicka mottagningsbesked").click()
    await page.locator("h1:focus").wait_for()
    assert "(403)" in await page.locator("h1").inner_text()
    assert "(403)" in await page.title()
    assert page.url == case_url and await page.evaluate(MARKER) == 1
    await expect_accessible(page, "enhanced-case-refused")
    assert "AcknowledgementSent" not in {
        e["event_type"] for e in (await case(stack, case_id))["timeline"]}


async def test_r22_the_inbox_shows_a_new_message_without_a_reload(
        chromium: Browser, stack: Stack) -> None:
    """Issue 4 (R-22): the account's inbox refreshes its table region every
    data-refresh-seconds (30 by default; 1 here): a message entered after the
    page was opened appears without a reload, the polite note says "1 nytt
    meddelande" in the reader's language, and the focused link keeps its focus."""
    account_id = await active_account(stack)
    first = await received(stack, account_id, "Varför är simhallen stängd i december?")
    page = await person_page(chromium, stack, "elin.strand")
    await page.goto(url(stack, f"/accounts/{account_id}/inbox"))
    region = page.locator("#inbox-region")
    assert await region.get_attribute("data-refresh-seconds") == "30"
    news = page.locator("#inbox-news")
    assert await news.get_attribute("aria-live") == "polite"
    assert await news.get_attribute("data-new-one") == "1 nytt meddelande"
    assert await news.inner_text() == ""
    rows = page.locator("table.inbox tbody tr")
    assert await rows.count() == 1
    await page.evaluate(f"{MARKER} = 1")
    await region.evaluate("r => r.setAttribute('data-refresh-seconds', '1')")
    await page.locator(f"a[href='/messages/{first}']").focus()

    second = await received(stack, account_id, "Kan jag låna e-böcker hos er?")
    await page.locator(f"a[href='/messages/{second}']").wait_for(timeout=10_000)
    assert await rows.count() == 2
    assert await page.evaluate(MARKER) == 1, "the page was reloaded"
    await expect(news).to_have_text("1 nytt meddelande")
    assert "(2)" in await page.locator("#open-cases").inner_text()
    assert await page.evaluate("document.activeElement.getAttribute('href')") == \
        f"/messages/{first}"  # focus kept on the same link
    await expect_accessible(page, "enhanced-inbox")
    await screenshot(page, "enhanced-inbox")

    # A hidden tab does not refresh; shown again, it refreshes at once.
    await page.evaluate("Object.defineProperty(document, 'hidden', "
                        "{configurable: true, get: () => true})")
    third = await received(stack, account_id, "Finns det parkering vid kulturhuset?")
    await page.wait_for_timeout(3_000)  # three intervals
    assert await page.locator(f"a[href='/messages/{third}']").count() == 0
    await page.evaluate("delete document.hidden; "
                        "document.dispatchEvent(new Event('visibilitychange'))")
    await page.locator(f"a[href='/messages/{third}']").wait_for(timeout=10_000)
    assert await page.evaluate(MARKER) == 1

    # The inbox across my accounts refreshes the same way.
    await page.goto(url(stack, "/inbox"))
    await page.evaluate(f"{MARKER} = 2")
    await region.evaluate("r => r.setAttribute('data-refresh-seconds', '1')")
    fourth = await received(stack, account_id, "Hur bokar jag en lokal?")
    await page.locator(f"a[href='/messages/{fourth}']").wait_for(timeout=10_000)
    await expect(news).to_have_text("1 nytt meddelande")
    assert await page.evaluate(MARKER) == 2
    await expect_accessible(page, "enhanced-my-inbox")


async def test_r28_without_javascript_a_decision_is_a_plain_post_redirect_get(
        chromium: Browser, stack: Stack) -> None:
    """Issue 4 (R-28): with JavaScript off the case page's decision is an
    ordinary form post, answered by a redirect to the page with its result."""
    account_id = await active_account(stack)
    case_id = await received(stack, account_id, QUESTION)
    context = await chromium.new_context(locale="sv-SE", java_script_enabled=False,
                                         viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await sign_in(page, stack, "elin.strand")
    await page.goto(url(stack, f"/messages/{case_id}"))
    register = _panel(page, "Registrera i diariet")
    await register.get_by_label("Diarieklass").fill("Synpunkter och klagomål")
    async with page.expect_navigation():
        await register.get_by_role("button", name="Registrera").click()
    assert page.url.endswith(f"/messages/{case_id}?done=register#result")
    assert "Meddelandet är registrerat i diariet." in await page.locator("#result").inner_text()
    await screenshot(page, "plain-case-done")
    await context.close()


async def test_r15_a_check_in_on_the_account_page_shows_its_result_without_a_page_load(
        chromium: Browser, stack: Stack) -> None:
    """Issue 4 (R-15): the account page's forms are enhanced too: the
    admin's check-in is sent with fetch and the account page's <main>
    swapped in, without a navigation (window.__kvMarker survives); the
    address follows the redirect and focus is on the result."""
    account_id = await active_account(stack)
    page = await person_page(chromium, stack, "elin.strand")
    await page.goto(url(stack, f"/accounts/{account_id}"))
    await page.evaluate(f"{MARKER} = 3")
    form = page.locator("form.check-in")
    assert await form.get_attribute("data-enhance") is not None
    await submit(page, form.get_by_role("button", name="Registrera kontroll"))
    assert await page.evaluate(MARKER) == 3, "the page was reloaded"
    assert "done=check_in" in page.url
    assert "Kontrollen är registrerad" in await page.locator(".notice-ok").inner_text()
    assert "Elin Strand" in await page.locator("#last-check-in").inner_text()
    await expect_accessible(page, "enhanced-account-check-in")
