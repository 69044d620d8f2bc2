"""Payload encryption on a real dev server (DESIGN "Data protection"): a
case started through the web app with a known text is stored encrypted in
Temporal's history (a client without the codec sees no text), the worker and
the codec client read it, and the web app's codec endpoint decodes it for a
signed-in person only (401 otherwise), with CORS for the Temporal UI."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from cli import load_directory_file
from codec import DEK, ENCODING, KEY_ID, MUNICIPALITY, SCOPE, EncryptionCodec, new_key_spec
from deploy.temporal import connect as connect_temporal
from tests.e2e.intranet import csrf_of
from tests.servers import serve_app
from tests.support import COMMS, DEV_SERVER, EXEMPELBY, REQUESTER, request_fields
from web.app import create_app
from workflows import search_attributes as sa
from workflows.account import AccountLifecycleWorkflow

SECRET_TEXT = "Hemlig kontaktperson Karin Svensson 0701234567"
UI_ORIGIN = "http://localhost:8233"


@dataclass
class EncryptedStack:
    client: Client  # with the codec, as worker.connect makes it
    plain: Client  # the same server, no codec: what Temporal stores
    http: httpx.AsyncClient


@pytest.fixture
async def encrypted(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EncryptedStack]:
    keys = f"{new_key_spec('exempelby/e1')},{new_key_spec('k2')},{new_key_spec('k1')}"
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS", keys)
    monkeypatch.setenv("DATABASE_URL", database_url)  # per-workflow data keys (codec.py)
    monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "1")
    monkeypatch.setenv("KANALVAKT_COOKIE_SECURE", "0")
    monkeypatch.delenv("KANALVAKT_ENV", raising=False)
    monkeypatch.delenv("KANALVAKT_CODEC_CORS_ORIGINS", raising=False)
    await load_directory_file(database_url, EXEMPELBY)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), ui=False, dev_server_log_level="error")
    address = env.client.service_client.config.target_host
    client = await connect_temporal(address)  # the production path: keys from the env
    assert client.data_converter.payload_codec is not None
    task_queue = f"enc-{uuid.uuid4().hex[:8]}"
    (tmp_path / "archive").mkdir()
    activities = app_worker.build_activities(pool, tmp_path / "archive")

    async def connect() -> tuple[asyncpg.Pool, Client]:
        from store.db import create_pool

        return await create_pool(database_url), client

    app = create_app(connect=connect, task_queue=task_queue)
    try:
        async with (app_worker.create_worker(client, activities, task_queue),
                    serve_app(app) as base_url,
                    httpx.AsyncClient(base_url=base_url, timeout=30) as http):
            yield EncryptedStack(client, env.client, http)
    finally:
        await env.shutdown()


def _payload_json(payloads: Any) -> list[dict[str, Any]]:
    return [MessageToDict(p) for p in payloads]


async def test_history_is_encrypted_and_the_codec_endpoint_reads_it(
        encrypted: EncryptedStack) -> None:
    r = await encrypted.http.post(
        "/api/accounts", headers={"X-Kanalvakt-Actor": REQUESTER},
        json={**request_fields(purpose=SECRET_TEXT), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    handle = encrypted.client.get_workflow_handle(r.json()["workflow_id"])
    # The worker decoded the input: the codec client reads the text back.
    state = await handle.query(AccountLifecycleWorkflow.state)
    assert state.request.purpose == SECRET_TEXT

    # What Temporal stores: the raw history, fetched without the codec.
    history = await encrypted.plain.get_workflow_handle(handle.id).fetch_history()
    # (serialised protobuf: an unencrypted json/plain payload's text is there verbatim)
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert len(history.events) > 3 and b"Karin Svensson" not in raw and b"0701234567" not in raw
    started = history.events[0].workflow_execution_started_event_attributes
    [payload] = started.input.payloads
    assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID] == DEK.encode()
    assert payload.metadata[SCOPE] == handle.id.encode()
    assert payload.metadata[MUNICIPALITY] == b"exempelby"
    assert b"Karin" not in payload.data

    body = {"payloads": _payload_json(started.input.payloads)}
    # Nobody signed in: 401, and no text.
    async with httpx.AsyncClient(base_url=str(encrypted.http.base_url), timeout=30) as anon:
        r = await anon.post("/api/codec/decode", json=body, headers={"Origin": UI_ORIGIN})
        assert r.status_code == 401 and "Karin" not in r.text
        assert r.headers["access-control-allow-origin"] == UI_ORIGIN

    # A signed-in person (the session cookie, as the Temporal UI's browser sends it).
    async with httpx.AsyncClient(base_url=str(encrypted.http.base_url), timeout=30,
                                 headers={"accept": "text/html"}) as browser:
        page = await browser.get("/signin")
        r = await browser.post("/signin/dev", data={
            "csrf_token": csrf_of(page.text), "person": f"exempelby/{REQUESTER}", "next": "/"})
        assert r.status_code == 303, r.text
        preflight = await browser.options("/api/codec/decode", headers={
            "Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        assert preflight.headers["access-control-allow-credentials"] == "true"
        other = await browser.options("/api/codec/decode", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

        r = await browser.post("/api/codec/decode", json=body,
                               headers={"Origin": UI_ORIGIN, "X-Namespace": "default"})
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == UI_ORIGIN
        [decoded] = r.json()["payloads"]
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
        assert SECRET_TEXT in base64.b64decode(decoded["data"]).decode()

        # encode: no workflow, so the system key; its payloads decode for the
        # communications unit only, and come back as they are for others.
        plain = {"payloads": [decoded]}
        r = await browser.post("/api/codec/encode", json=plain)
        assert r.status_code == 200, r.text
        [sealed] = r.json()["payloads"]
        assert base64.b64decode(sealed["metadata"][KEY_ID]) == b"k2"
        assert base64.b64decode(sealed["metadata"][SCOPE]) == b"system"
        r = await browser.post("/api/codec/decode", json={"payloads": [sealed]})
        assert r.status_code == 200 and r.json()["payloads"] == [sealed]
        async with httpx.AsyncClient(base_url=str(encrypted.http.base_url), timeout=30,
                                     headers={"accept": "text/html"}) as comms:
            page = await comms.get("/signin")
            r = await comms.post("/signin/dev", data={
                "csrf_token": csrf_of(page.text), "person": f"exempelby/{COMMS}", "next": "/"})
            assert r.status_code == 303, r.text
            r = await comms.post("/api/codec/decode", json={"payloads": [sealed]})
            assert r.json()["payloads"] == [decoded]

        # a payload from a key the app does not hold: returned as it came (the
        # UI shows ciphertext), never an error that breaks the page
        [foreign] = await EncryptionCodec.from_spec(new_key_spec("k9")).encode([payload])
        body = {"payloads": _payload_json([foreign])}
        r = await browser.post("/api/codec/decode", json=body)
        assert r.status_code == 200 and r.json() == body
        r = await browser.post("/api/codec/decode", json={"nope": 1})
        assert r.status_code == 400
