"""`/webhooks/meta` over real HTTP: the app from `create_app`, served by
uvicorn on a free port, writing to this test's own PostgreSQL database.

The Temporal client handed to the app is a lazy one pointed at a port where
nothing listens: the webhook path must acknowledge on the intake write alone,
so these tests also show that a delivery is taken while Temporal is down
("Intake under load", DESIGN.md).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.meta_webhooks import sign
from store.db import create_pool
from tests.domain.test_meta_webhooks import (
    IG_ID,
    PAGE_ID,
    PSID,
    facebook_comment,
    instagram_comment,
    instagram_message,
    messenger_echo,
    messenger_message,
)
from tests.servers import serve_app
from web.app import create_app

SECRET = "3c4e8f0a9b1d2c7e6f5a4b3c2d1e0f9a"
VERIFY_TOKEN = "exempelby-kanalvakt-2024"
URL = "/webhooks/meta"

Serve = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve(database_url: str) -> Serve:
    """Start the app with the environment as it is when called."""

    @asynccontextmanager
    async def serving() -> AsyncIterator[httpx.AsyncClient]:
        # Temporal is unreachable: a port bound but not listening, held while
        # the app runs, so no server can take it meanwhile (bind-and-close
        # would free it for anyone's bind(:0)).
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            unreachable = f"127.0.0.1:{held.getsockname()[1]}"

            async def connect() -> tuple[asyncpg.Pool, Client]:
                client = await Client.connect(unreachable, lazy=True,
                                              data_converter=pydantic_data_converter)
                return await create_pool(database_url), client

            app = create_app(connect=connect, task_queue="webhook-tests")
            async with (serve_app(app) as base_url,
                        httpx.AsyncClient(base_url=base_url, timeout=30) as http):
                yield http

    return serving


@pytest.fixture
async def http(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("META_APP_SECRET", SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", VERIFY_TOKEN)
    async with serve() as client:
        yield client


async def deliver(http: httpx.AsyncClient, payload: Any, *, secret: str | None = SECRET,
                  raw: bytes | None = None) -> httpx.Response:
    """POST as Meta does: compact JSON, non-ASCII escaped, signed over the exact bytes."""
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return await http.post(URL, content=body, headers=headers)


async def intake(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT platform, external_id, account_ref, message, received_at, started_at "
        "FROM intake ORDER BY platform, external_id")


# --------------------------------------------------------------------------- handshake


async def test_the_handshake_echoes_the_challenge_as_plain_text(
        http: httpx.AsyncClient) -> None:
    response = await http.get(URL, params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                           "hub.verify_token": VERIFY_TOKEN})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "1158201444"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"},
    {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
    {"hub.mode": "unsubscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN},
])
async def test_the_handshake_is_refused_without_our_token(http: httpx.AsyncClient,
                                                          params: dict[str, str]) -> None:
    response = await http.get(URL, params=params)
    assert response.status_code == 403
    assert "1158201444" not in response.text


# --------------------------------------------------------------------------- deliveries


async def test_a_signed_delivery_is_written_to_intake_before_the_200(
        http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    before = datetime.now(UTC)
    payload = {"object": "page", "entry": [facebook_comment()["entry"][0],
                                           messenger_message()["entry"][0],
                                           messenger_echo()["entry"][0]]}

    response = await deliver(http, payload)

    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicates": 0, "skipped": 0, "errors": []}
    rows = await intake(pool)
    assert [(r["platform"], r["external_id"], r["account_ref"]) for r in rows] == [
        ("facebook", f"{PAGE_ID}_811_2207", PAGE_ID),
        ("facebook", "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU", PAGE_ID),
        ("facebook", "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplw",
         PAGE_ID),
    ]
    comment, message, echo = (r["message"] for r in rows)
    assert comment["text"] == "När öppnar badhuset igen?"  # non-ASCII survives \u escapes
    assert comment["kind"] == "comment" and comment["from_staff"] is False
    assert message["kind"] == "private_message" and message["author_id"] == PSID
    assert echo["from_staff"] is True  # the Page's own answer, kept apart
    assert all(before <= r["received_at"] <= datetime.now(UTC) for r in rows)
    assert all(r["started_at"] is None for r in rows)  # the feeder's job, not ours


async def test_instagram_comments_and_messages_are_taken(
        http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    comments = await deliver(http, instagram_comment())
    messages = await deliver(http, instagram_message())
    assert comments.json()["accepted"] == 1 and messages.json()["accepted"] == 1
    rows = await intake(pool)
    assert {(r["platform"], r["account_ref"], r["message"]["kind"]) for r in rows} == {
        ("instagram", IG_ID, "comment"), ("instagram", IG_ID, "private_message")}


@pytest.mark.parametrize("how", ["missing", "wrong secret", "tampered body", "sha1"])
async def test_a_badly_signed_delivery_gets_401_and_writes_nothing(
        http: httpx.AsyncClient, pool: asyncpg.Pool, how: str) -> None:
    body = json.dumps(facebook_comment()).encode()
    headers = {"Content-Type": "application/json"}
    if how == "wrong secret":
        headers["X-Hub-Signature-256"] = sign("someone-elses-secret", body)
    elif how == "tampered body":
        headers["X-Hub-Signature-256"] = sign(SECRET, body)
        body = body.replace(b"badhuset", b"simhallen")
    elif how == "sha1":
        headers["X-Hub-Signature-256"] = "sha1=" + "0" * 40

    response = await http.post(URL, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "signature missing" if how == "missing" else "signature invalid")
    assert await intake(pool) == []


async def test_a_redelivery_is_counted_as_duplicates_and_stored_once(
        http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    payload = {"object": "page", "entry": [facebook_comment()["entry"][0],
                                           messenger_message()["entry"][0]]}
    first = await deliver(http, payload)
    rows_before = await intake(pool)

    again = await deliver(http, payload)

    assert first.json() == {"accepted": 2, "duplicates": 0, "skipped": 0, "errors": []}
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 2, "skipped": 0, "errors": []}
    assert await intake(pool) == rows_before  # not even received_at moved


async def test_a_batch_with_a_malformed_entry_keeps_the_rest(
        http: httpx.AsyncClient, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    secret_words = "Jag heter Karin och bor på Storgatan 1"
    broken = {"id": PAGE_ID, "time": 1717405300920, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1717405300478,
        "message": {"text": secret_words}}]}  # no mid
    reaction = {"id": PAGE_ID, "time": 1717405800, "changes": [{
        "field": "feed", "value": {"item": "reaction", "verb": "add", "reaction_type": "like",
                                   "post_id": f"{PAGE_ID}_811", "created_time": 1717405800}}]}
    payload = {"object": "page", "entry": [facebook_comment()["entry"][0], broken, reaction,
                                           messenger_message()["entry"][0]]}
    caplog.set_level(logging.INFO)

    response = await deliver(http, payload)

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2, "duplicates": 0, "skipped": 1,
        "errors": [{"path": "entry[1].messaging[0]",
                    "reason": "`message.mid` is missing or not an id"}],
    }
    assert [r["external_id"] for r in await intake(pool)] == [
        f"{PAGE_ID}_811_2207", "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"]
    rejected = [r.msg for r in caplog.records
                if isinstance(r.msg, dict) and r.msg.get("event") == "meta webhook event rejected"]
    assert rejected and rejected[0]["path"] == "entry[1].messaging[0]"
    assert rejected[0]["level"] == "warning"
    assert not any(secret_words in r.getMessage() or secret_words in str(r.msg)
                   for r in caplog.records)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"object=page&entry=1", "body is not JSON"),
    (b'{"object": "page", "entry": [', "body is not JSON"),
    (b"\xff\xfe\x00", "body is not JSON"),
    (b"[" * 100_000, "body is not JSON"),
    (b'{"object": "user", "entry": []}', '`object` must be "page" or "instagram"'),
    (b'{"object": "page", "entry": {}}', "`entry` must be a list"),
])
async def test_a_signed_body_that_is_no_delivery_gets_400_with_the_reason(
        http: httpx.AsyncClient, pool: asyncpg.Pool, raw: bytes, reason: str) -> None:
    response = await deliver(http, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["detail"] == reason
    assert await intake(pool) == []


async def test_without_an_app_secret_deliveries_get_503(
        serve: Serve, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("META_APP_SECRET", raising=False)
    monkeypatch.delenv("META_VERIFY_TOKEN", raising=False)
    async with serve() as http:
        unsigned = await deliver(http, facebook_comment(), secret=None)
        signed_with_empty = await deliver(http, facebook_comment(), secret="")
        handshake = await http.get(URL, params={"hub.mode": "subscribe", "hub.challenge": "1",
                                                "hub.verify_token": ""})
    for response in (unsigned, signed_with_empty, handshake):
        assert response.status_code == 503
        assert response.json()["detail"] == "webhooks not configured"
    assert await intake(pool) == []


async def test_the_acknowledgement_does_not_wait_for_temporal(
        http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """The app's Temporal client points where nothing listens; still a quick 200."""
    started = datetime.now(UTC)
    response = await deliver(http, messenger_message())
    assert response.status_code == 200
    assert datetime.now(UTC) - started < timedelta(seconds=5)
    assert len(await intake(pool)) == 1
