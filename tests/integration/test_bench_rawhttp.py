"""bench/rawhttp.py, the storm's lean sender: it must read every answer the
way HTTP/1.1 frames it, or the benchmark would count wrong acks. Driven
against a real uvicorn serving a small ASGI app on a free port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bench.rawhttp import RawHttpError, RawSender
from tests.servers import held_socket, port_of, serve_app


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    echo = json.dumps({"got": len(body), "sig": dict(scope["headers"]).get(
        b"x-hub-signature-256", b"").decode()}).encode()
    if path == "/chunked":  # no content-length: uvicorn streams it chunked
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": echo[:5], "more_body": True})
        await send({"type": "http.response.body", "body": echo[5:]})
        return
    headers = [(b"content-length", str(len(echo)).encode())]
    if path == "/close":
        headers.append((b"connection", b"close"))
    status = 503 if path == "/busy" else 200
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": echo})


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with serve_app(app, lifespan="off") as url:
        yield url


async def test_keep_alive_chunked_close_and_status_are_read_as_framed(base_url: str) -> None:
    sender = RawSender(base_url)
    headers = {"content-type": "application/json", "X-Hub-Signature-256": "sha256=ab"}
    try:
        for n in range(3):  # one connection, three requests
            status, body = await sender.post("/webhooks/meta", b"x" * (10 + n), headers)
            assert status == 200 and json.loads(body) == {"got": 10 + n, "sig": "sha256=ab"}
        status, body = await sender.post("/chunked", b"{}", headers)
        assert status == 200 and json.loads(body)["got"] == 2
        status, body = await sender.post("/close", b"{}", headers)  # server closes after
        assert status == 200 and json.loads(body)["got"] == 2
        status, body = await sender.post("/busy", b"{}", headers)  # reopened
        assert status == 503 and json.loads(body)["got"] == 2
    finally:
        await sender.aclose()


async def test_a_refused_connection_is_an_error_not_an_ack() -> None:
    sock = held_socket()
    port = port_of(sock)
    sock.close()  # nothing listens there now
    sender = RawSender(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(RawHttpError):
        await sender.post("/webhooks/meta", b"{}", {})
    with pytest.raises(ValueError):
        RawSender("https://example.org")
