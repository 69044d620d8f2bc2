"""The intranet's frame in a real browser: sign-in, layout, language switch,
keyboard skip link, and axe-core on each page (WCAG 2.1 AA)."""

from __future__ import annotations

import re
import string

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, new_page, person_page, screenshot, url
from tests.e2e.conftest import Stack
from tests.support import ROOT
from web import i18n

# t("some.key") / t('some.key', ...) in a template or a web module; keys
# built at run time (t("stage." ~ s), t(f"rule.{key}")) are not literal.
_LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_.]*[a-z0-9_])["']\s*[,)]""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_in_every_language() -> None:
    """Swedish, Norwegian bokmål and English catalogs have the same keys, once
    every page module has added its own; no text is empty, a key's texts have
    the same placeholders in each language, and every key a template or a
    web module names literally (`t("...")`) has its texts."""
    from web.pages import page_routers

    page_routers()  # imports every page module, and so its texts
    assert i18n.missing_keys() == {}
    for key in i18n.CATALOGS[i18n.DEFAULT]:
        texts = [i18n.CATALOGS[lang][key] for lang in i18n.LANGUAGES]
        assert all(text.strip() for text in texts), (key, texts)
        assert len({frozenset(_placeholders(text)) for text in texts}) == 1, (key, texts)
    web = ROOT / "web"
    named = {key for path in [*web.glob("templates/*.html"), *web.glob("*.py")]
             for key in _LITERAL_KEY.findall(path.read_text(encoding="utf-8"))}
    assert len(named) > 200  # the scan found the templates' keys
    assert sorted(named - i18n.CATALOGS[i18n.DEFAULT].keys()) == []
    assert i18n.choose_language(None, "NO", "sv-SE") == "nb"  # a Norwegian municipality's people
    assert i18n.choose_language("en", "NO", None) == "en"  # the switch wins
    assert i18n.choose_language(None, None, "nn-NO,en;q=0.5") == "nb"
    assert i18n.choose_language(None, None, "de-DE, en;q=0.8") == "en"
    assert i18n.choose_language(None, None, None) == "sv"


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
