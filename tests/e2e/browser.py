"""Browser helpers for the intranet's end-to-end tests (Playwright on
Debian's chromium, see the `chromium` fixture in conftest.py).

    page = await person_page(chromium, stack, "elin.strand")   # signed in
    await page.goto(url(stack, "/tasks"))
    await expect_accessible(page, "tasks")     # axe-core: no serious/critical
    await screenshot(page, "tasks")            # test-artifacts/tasks.png
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Locator, Page

from tests.e2e.conftest import Stack
from tests.support import ROOT

ARTIFACTS = ROOT / "test-artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def url(stack: Stack, path: str) -> str:
    return str(stack.http.base_url).rstrip("/") + path


async def new_page(chromium: Browser, *, locale: str = "sv-SE") -> Page:
    """A page in a context of its own (own cookies: one person each)."""
    context = await chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    return page


async def sign_in(page: Page, stack: Stack, person: str,
                  municipality: str = "exempelby") -> None:
    """Through the development sign-in page, as a person would."""
    await page.goto(url(stack, "/signin"))
    await page.get_by_label("Person").select_option(f"{municipality}/{person}")
    await page.get_by_role("button", name="Logga in som vald person").click()
    await page.wait_for_load_state()
    assert await page.locator(".who").count() > 0


async def submit(page: Page, button: Locator) -> None:
    """Click a form's button and wait for its answer: site.js sends a form
    marked data-enhance with fetch and swaps <main> (aria-busy while in
    flight); a plain form is a navigation (wait_for_load_state)."""
    await button.click()
    await page.wait_for_load_state()
    await page.locator("main[aria-busy=true]").wait_for(state="detached")


async def person_page(chromium: Browser, stack: Stack, person: str) -> Page:
    page = await new_page(chromium)
    await sign_in(page, stack, person)
    return page


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (bundled by axe-playwright-python) in the page, WCAG 2.1 A/AA."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={
        "runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


async def expect_accessible(page: Page, name: str) -> None:
    """No serious or critical WCAG 2.1 AA violation on the page."""
    bad = [v for v in await axe_violations(page) if v.get("impact") in {"serious", "critical"}]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3]) for v in bad)


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
