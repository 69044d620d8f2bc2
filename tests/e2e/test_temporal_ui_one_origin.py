"""Issue 14, item 10: the Temporal UI decodes payloads for an authorised
person without the Codec Server dialog. The UI (the dev server's, UI 2.54)
is served through deploy/ui_proxy.py, which puts Kanalvakt's codec endpoint
on the UI's own origin and answers the UI's settings with it: the codec
call is same-origin and carries the intranet's session cookie. Proved in
Chromium with a fresh browser profile (nothing in localStorage):
- the account's admin sees the message text, and the UI does not say the
  codec server could not connect;
- a colleague who may not read the case, signed in, sees the ciphertext;
- someone not signed in sees the ciphertext (the endpoint answers 401).
Screenshots go to test-artifacts/temporal-ui-one-origin-*.png."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import httpx
from playwright.async_api import Browser, Page, Response, expect

from deploy.ui_proxy import CODEC_PATH, create_ui_proxy
from tests.e2e.browser import new_page, screenshot, sign_in
from tests.e2e.test_temporal_ui_codec import (
    CASE_ID,
    COULD_NOT_CONNECT,
    SECRET_TEXT,
    UiStack,
    _message_case,
    _workflow_url,
    ui_stack,  # noqa: F401 - the fixture, used by name
)
from tests.servers import serve_app
from tests.support import OUTSIDER, REQUESTER
from web.pages import SESSION_COOKIE


@dataclass
class Calls:
    statuses: list[int] = field(default_factory=list)
    with_session: list[bool] = field(default_factory=list)


def _watch(page: Page, codec: str) -> Calls:
    calls = Calls()

    async def seen(response: Response) -> None:
        if response.url.startswith(codec) and response.request.method == "POST":
            headers = await response.request.all_headers()
            calls.statuses.append(response.status)
            calls.with_session.append(f"{SESSION_COOKIE}=" in headers.get("cookie", ""))

    page.on("response", seen)
    return calls


async def _open(page: Page, url: str, calls: Calls) -> str:
    await page.goto(url)
    for _ in range(200):
        if calls.statuses:
            break
        await page.wait_for_timeout(100)
    assert calls.statuses, "the UI did not call the codec endpoint"
    return str(await page.locator("body").inner_text())


async def test_the_temporal_ui_decodes_for_an_authorised_person_without_a_dialog(
        ui_stack: UiStack, chromium: Browser) -> None:  # noqa: F811
    ui = ui_stack
    run_id = await _message_case(ui)
    history = await ui.plain.get_workflow_handle(CASE_ID).fetch_history()
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    ciphertext = base64.b64encode(payload.data).decode()
    web = str(ui.stack.http.base_url).rstrip("/")

    async with serve_app(create_ui_proxy(ui.ui_url, web)) as proxy:
        codec = f"{proxy}{CODEC_PATH}"
        # The settings the UI reads: the codec on its own origin, with credentials.
        async with httpx.AsyncClient(timeout=30) as http:
            settings = (await http.get(f"{proxy}/api/v1/settings")).json()["Codec"]
        assert settings["Endpoint"] == codec and settings["IncludeCredentials"] is True
        case_url = _workflow_url(proxy, run_id)

        # The account's admin, signed in to the intranet, no dialog: decoded.
        admin = await new_page(chromium)
        await sign_in(admin, ui.stack, REQUESTER)
        calls = _watch(admin, codec)
        await _open(admin, case_url, calls)
        line = admin.locator(".cm-line", has_text=SECRET_TEXT).first
        await line.scroll_into_view_if_needed()
        await expect(line).to_be_visible()
        await screenshot(admin, "temporal-ui-one-origin-decoded")
        body = str(await admin.locator("body").inner_text())
        assert SECRET_TEXT in body and ciphertext not in body
        assert COULD_NOT_CONNECT not in body
        assert await admin.evaluate("() => localStorage.getItem('endpoint')") is None
        assert set(calls.statuses) == {200} and all(calls.with_session), calls

        # A colleague of another unit, signed in, who may not read the case: ciphertext.
        outsider = await new_page(chromium)
        await sign_in(outsider, ui.stack, OUTSIDER)
        outsider_calls = _watch(outsider, codec)
        await _open(outsider, case_url, outsider_calls)
        await expect(outsider.get_by_text(ciphertext[:40])).to_be_visible()
        await screenshot(outsider, "temporal-ui-one-origin-outsider")
        body = str(await outsider.locator("body").inner_text())
        assert set(outsider_calls.statuses) == {200} and all(outsider_calls.with_session)
        assert "Karin" not in body and "0701234567" not in body and ciphertext in body

        # Not signed in: 401, ciphertext.
        anon = await new_page(chromium)
        anon_calls = _watch(anon, codec)
        await _open(anon, case_url, anon_calls)
        await expect(anon.get_by_text(ciphertext[:40])).to_be_visible()
        body = str(await anon.locator("body").inner_text())
        assert set(anon_calls.statuses) == {401} and not any(anon_calls.with_session)
        assert "Karin" not in body and ciphertext in body
