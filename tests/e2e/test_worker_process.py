"""Issue 12 against a real worker process (`python -m worker`): its metrics
and health port (liveness, readiness once polling, Kanalvakt's and the
Temporal SDK's metrics) and its graceful shutdown: SIGTERM while an
activity waits for Meta's Graph API lets the activity finish and report,
within KANALVAKT_WORKER_SHUTDOWN_SECONDS, and the case goes on with the
next worker.

The web app and the feeder run in this process (as in the e2e stack), the
workflows and activities only in the worker process; Meta is the local fake
(tests/fakes/meta_graph.py), answering the hide late."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import settings
from cli import load_directory_file
from codec import new_key_spec
from deploy.temporal import connect as connect_temporal
from domain.meta_webhooks import sign
from feeder import IntakeFeeder
from store.db import create_pool
from store.intake import RetryPolicy
from tests.e2e.conftest import META_APP_SECRET, META_VERIFY_TOKEN, Stack, active_account
from tests.e2e.test_webhook_intake import PAGE, comment, deliver, delivery
from tests.fakes.meta_graph import FakeGraph, serve
from tests.servers import port_for_another_process, serve_app
from tests.support import DEV_SERVER, EXEMPELBY, eventually
from web.app import create_app
from workflows import search_attributes as sa

TOKEN = "page-token-for-shutdown"
IDENTITY_NUMBER = "19121212-1212"


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log: Path
    health_port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worker", "--no-feeder"], cwd=settings.ROOT,
                env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.get(f"http://127.0.0.1:{self.health_port}{path}")

    async def ready(self, seconds: float = 60) -> httpx.Response | None:
        async def probe() -> httpx.Response | None:
            try:
                return await self.get("/readyz")
            except httpx.HTTPError:
                return None
        return await eventually(probe, lambda r: r is not None and r.status_code == 200,
                                seconds=seconds)

    async def exited(self, seconds: float) -> int | None:
        process = self.process
        assert process is not None
        try:
            return await asyncio.to_thread(process.wait, seconds)
        except subprocess.TimeoutExpired:
            return None

    def events(self) -> list[dict[str, object]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass
class ProcessStack:
    stack: Stack
    worker: WorkerProcess
    graph: FakeGraph


@pytest.fixture
async def process_stack(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, web_socket: socket.socket
                        ) -> AsyncIterator[ProcessStack]:
    graph = FakeGraph()
    graph.grant(PAGE, TOKEN)
    async with serve(graph) as graph_url:
        monkeypatch.setenv("META_APP_SECRET", META_APP_SECRET)
        monkeypatch.setenv("META_VERIFY_TOKEN", META_VERIFY_TOKEN)
        monkeypatch.setenv("META_PAGE_TOKENS", json.dumps({PAGE: TOKEN}))
        monkeypatch.setenv("META_GRAPH_URL", graph_url)
        monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "1")
        monkeypatch.setenv("KANALVAKT_COOKIE_SECURE", "0")
        monkeypatch.delenv("KANALVAKT_ENV", raising=False)
        monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS",
                           f"{new_key_spec('exempelby/e1')},{new_key_spec('k1')}")
        monkeypatch.setenv("DATABASE_URL", database_url)
        await load_directory_file(database_url, EXEMPELBY)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
            search_attributes=list(sa.ALL), ui=False, dev_server_log_level="error")
        address = env.client.service_client.config.target_host
        client: Client = await connect_temporal(address)
        task_queue = f"proc-{uuid.uuid4().hex[:8]}"
        health_port = port_for_another_process()
        worker_env = {**os.environ, "TEMPORAL_ADDRESS": address,
                      "KANALVAKT_TASK_QUEUE": task_queue,
                      "KANALVAKT_WORKER_HEALTH_HOST": "127.0.0.1",
                      "KANALVAKT_WORKER_HEALTH_PORT": str(health_port),
                      "KANALVAKT_WORKER_SHUTDOWN_SECONDS": "30",
                      "KANALVAKT_ARCHIVE_DIR": str(tmp_path / "archive"),
                      "KANALVAKT_STATE_DIR": str(tmp_path / "state"),
                      "KANALVAKT_SERVICE": "worker", "PYTHONUNBUFFERED": "1"}
        worker = WorkerProcess(worker_env, tmp_path / "worker.log", health_port)

        async def connect() -> tuple[asyncpg.Pool, Client]:
            return await create_pool(database_url), client

        app = create_app(connect=connect, task_queue=task_queue)
        stop_feeding = asyncio.Event()
        feeder = IntakeFeeder(pool, client, task_queue, retry=RetryPolicy())
        worker.start()
        try:
            async with serve_app(app, web_socket) as base_url:
                feeding = asyncio.create_task(feeder.run(stop_feeding, idle_seconds=0.05))
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                    yield ProcessStack(Stack(client, http, pool, address, tmp_path / "archive",
                                             task_queue), worker, graph)
                stop_feeding.set()
                await feeding
        finally:
            worker.stop()
            await env.shutdown()


async def test_worker_port_live_ready_when_polling_with_sdk_metrics(
        process_stack: ProcessStack) -> None:
    worker = process_stack.worker
    ready = await worker.ready()
    assert ready is not None and ready.status_code == 200, worker.log.read_text()
    assert ready.text == "ready: polling\n"
    live = await worker.get("/livez")
    assert live.status_code == 200
    metrics = await worker.get("/metrics")
    assert metrics.status_code == 200
    assert "kanalvakt_worker_ready 1.0" in metrics.text
    assert "kanalvakt_worker_activities_running 0.0" in metrics.text
    # The Temporal SDK's runtime telemetry, passed through: its pollers and
    # task slots on this worker's task queue.
    sdk = [line for line in metrics.text.splitlines()
           if line.startswith("temporal_") and process_stack.stack.task_queue in line]
    assert any(line.startswith("temporal_worker_task_slots_available") for line in sdk), \
        metrics.text[-3000:]
    assert (await worker.get("/nothing")).status_code == 404

    # SIGTERM with nothing running: not ready at once, then a clean exit.
    assert worker.process is not None
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.exited(30) == 0, worker.log.read_text()[-3000:]
    events = [e.get("event") for e in worker.events()]
    assert "worker stopping" in events and "worker stopped" in events


@pytest.mark.timeout(240)
async def test_sigterm_lets_a_running_activity_finish(process_stack: ProcessStack) -> None:
    """R-31: a message with an identity number is hidden at once on the
    platform; the worker gets SIGTERM while the Graph API takes 8 s to
    answer the hide. The worker stops polling, waits for the activity (its
    graceful shutdown timeout is 30 s), which completes and reports; the
    process then exits 0, and the next worker carries the case on."""
    stack, worker, graph = process_stack.stack, process_stack.worker, process_stack.graph
    assert await worker.ready() is not None, worker.log.read_text()
    await active_account(stack, platform_account_id=PAGE)
    comment_id = f"{PAGE}_77_{uuid.uuid4().hex[:8]}"
    text = f"Min son {IDENTITY_NUMBER} fick inte plats på förskolan"
    graph.add_facebook_comment(PAGE, comment_id, message=text, from_id="5551", from_name="Kim",
                               created_time=datetime.now(UTC).isoformat(),
                               post_id=f"{PAGE}_77")
    graph.delay_next(8, method="POST", path_suffix=comment_id)
    r = await deliver(stack, delivery(comment(comment_id, text)))
    assert r.status_code == 200, r.text
    case_id = f"message:facebook:{comment_id}"

    async def hide_asked() -> int:
        return len([q for q in graph.requests
                    if q.method == "POST" and q.path.endswith(comment_id)])
    assert await eventually(hide_asked, seconds=60) == 1, worker.log.read_text()[-3000:]
    assert worker.process is not None
    asked_at = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(1)
    assert worker.process.poll() is None, "the worker did not wait for its activity"
    assert (await worker.get("/readyz")).status_code == 503  # no new work for it
    assert await worker.exited(45) == 0, worker.log.read_text()[-3000:]
    assert time.monotonic() - asked_at >= 6  # it waited for the answer

    history = await stack.client.get_workflow_handle(case_id).fetch_history()
    scheduled = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")}
    completed = [scheduled[e.activity_task_completed_event_attributes.scheduled_event_id]
                 for e in history.events
                 if e.HasField("activity_task_completed_event_attributes")]
    assert "platform_action" in completed
    assert not [e for e in history.events
                if e.HasField("activity_task_failed_event_attributes")
                or e.HasField("activity_task_timed_out_event_attributes")
                or e.HasField("activity_task_canceled_event_attributes")]
    assert graph.objects[comment_id].hidden
    # Our own (structlog) line inside the activity names its case and activity.
    [visibility] = [e for e in worker.events() if e.get("event") == "graph comment visibility set"]
    assert visibility["workflow_id"] == case_id and visibility["activity_type"] == \
        "platform_action" and visibility["service"] == "worker", visibility

    # The next worker picks the case up where the finished activity left it.
    worker.start()
    assert await worker.ready() is not None

    async def recorded() -> list[str]:
        return [r["event_type"] for r in await stack.pool.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", case_id)]
    types = await eventually(recorded, lambda t: "MessageHidden" in t, seconds=60)
    assert "MessageHidden" in types, types


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=settings.ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)


async def _start_web(process_stack: ProcessStack, shutdown_seconds: str
                     ) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = port_for_another_process({process_stack.worker.health_port})
    log = process_stack.worker.log.with_name(f"web-{shutdown_seconds}.log")
    env = {**process_stack.worker.env, "KANALVAKT_WEB_SHUTDOWN_SECONDS": shutdown_seconds,
           "KANALVAKT_SERVICE": "web"}
    web = _spawn([sys.executable, "-m", "cli", "web", "--host", "127.0.0.1", "--port", str(port)],
                 env, log)

    async def live() -> int:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"http://127.0.0.1:{port}/livez")).status_code
        except httpx.HTTPError:
            return 0
    assert await eventually(live, lambda s: s == 200, seconds=60) == 200, log.read_text()
    return web, port, log


async def _half_sent_delivery(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                  bytes]:
    """A signed delivery whose body is only half sent yet."""

    body = delivery(comment(f"999_1_{uuid.uuid4().hex[:8]}", "Hej"), page="999")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /webhooks/meta HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                  f"X-Hub-Signature-256: {sign(META_APP_SECRET, body)}\r\n\r\n").encode()
                 + body[:len(body) // 2])
    await writer.drain()
    return reader, writer, body[len(body) // 2:]


@pytest.mark.timeout(180)
async def test_sigterm_lets_the_web_app_finish_an_open_request(
        process_stack: ProcessStack) -> None:
    """`kanalvakt web` gets SIGTERM while a webhook delivery is half
    received: within KANALVAKT_WEB_SHUTDOWN_SECONDS (20) it takes the rest,
    acknowledges it (200, in the intake) and then exits."""
    web, port, log = await _start_web(process_stack, "20")
    try:
        reader, writer, rest = await _half_sent_delivery(port)
        await asyncio.sleep(0.5)
        web.send_signal(signal.SIGTERM)
        await asyncio.sleep(3)
        assert web.poll() is None, "the web app did not wait for the open request"
        writer.write(rest)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        assert status_line.startswith(b"HTTP/1.1 200"), status_line + log.read_bytes()[-2000:]
        writer.close()
        code = await asyncio.to_thread(web.wait, 30)
        # uvicorn ends by raising the signal again once it has shut down.
        assert code in {0, -signal.SIGTERM}, log.read_text()[-3000:]
        assert "Finished server process" in log.read_text()
        assert await process_stack.stack.pool.fetchval(
            "SELECT count(*) FROM intake WHERE account_ref = '999'") == 1
    finally:
        if web.poll() is None:
            web.kill()
            web.wait(10)
