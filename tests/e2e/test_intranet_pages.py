"""The intranet's frame in a real browser: sign-in, layout, language switch,
keyboard skip link, and axe-core on each page (WCAG 2.1 AA)."""

from __future__ import annotations

import re

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, new_page, person_page, screenshot, url
from tests.e2e.conftest import Stack

# Every text in every language, and the language choice: tests/e2e/test_texts.py.


async def test_signin_register_and_layout_are_accessible(chromium: Browser,
                                                         stack: Stack) -> None:
    page = await new_page(chromium)
    await page.goto(url(stack, "/signin"))
    assert await page.get_attribute("html", "lang") == "sv"
    await expect_accessible(page, "signin")
    await screenshot(page, "signin")
    # The skip link is the first thing a keyboard reaches, and it works.
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    await page.keyboard.press("Enter")
    # A fragment navigation completes after the key event: wait for it (a
    # skip link that goes nowhere times out here).
    await page.wait_for_url(re.compile(r"#main$"), timeout=5000)
    assert page.url.endswith("#main")

    await page.goto(url(stack, "/register"))
    await expect_accessible(page, "register")
    await screenshot(page, "register")

    # Language switch: bokmål, kept by cookie.
    await page.get_by_role("link", name="Norsk (bokmål)").click()
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "nb"
    assert await page.get_by_role("heading", level=1).inner_text() == \
        "Offisielle kanaler i sosiale medier"
    await expect_accessible(page, "register-nb")


async def test_signed_in_layout(chromium: Browser, stack: Stack) -> None:
    page = await person_page(chromium, stack, "elin.strand")
    await page.goto(url(stack, "/register"))
    assert "Inloggad som Elin Strand" in await page.locator(".who").inner_text()
    assert await page.locator(".dev-banner").is_visible()
    await expect_accessible(page, "register-signed-in")
    # Sign out is a form post with the CSRF token.
    await page.get_by_role("button", name="Logga ut").click()
    await page.wait_for_load_state()
    assert await page.locator(".who").inner_text() == "Logga in"
