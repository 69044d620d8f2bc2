"""Issue 12 part 8: scale-out proven on one machine.

One Temporal dev server and one PostgreSQL; two worker processes (`python
-m worker`, each with its intake feeder and outbox sender, each with its own
metrics and health port) and two web processes (`kanalvakt web` on two
ports), all on the same task queue and database. A storm of signed Meta
webhook deliveries is spread over both web processes (every tenth sent a
second time to the other one, as Meta redelivers); midway one worker is
killed with SIGKILL while it feeds and runs cases. The other carries on:
the rows the dead feeder had claimed come back when its lease runs out
(KANALVAKT_INTAKE_LEASE_SECONDS), its workflow tasks and activities go to
the other worker when Temporal times them out.

Counted afterwards from PostgreSQL and Temporal: every delivered comment
is one intake row, started; one message case; exactly one MessageReceived
on its stream (R-21: received once, on the record); exactly one workflow
execution under its case id, running, with no workflow task or activity
left on the dead worker (R-22: each message goes on to be answered,
forwarded or disposed of); none missing, none twice.

Run it alone: `.venv/bin/python -m pytest -m scale_out -p no:xdist -q`
(40 s on a fairly quiet 2-core machine, over 2 minutes on a loaded one)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import settings
from cli import load_directory_file
from codec import new_key_spec
from deploy.temporal import connect as connect_temporal
from domain.meta_webhooks import sign
from tests.e2e.conftest import META_APP_SECRET, Stack, active_account
from tests.e2e.test_webhook_intake import PAGE, comment, delivery
from tests.servers import port_for_another_process
from tests.support import DEV_SERVER, EXEMPELBY, eventually
from workflows import search_attributes as sa

pytestmark = [pytest.mark.scale_out, pytest.mark.timeout(330)]

DELIVERIES = 300
REDELIVER_EVERY = 10  # every tenth delivery is sent again, to the other web process
SENDERS = 8
LEASE_SECONDS = 10  # the feeders' lease on claimed rows (KANALVAKT_INTAKE_LEASE_SECONDS)


@dataclass
class Child:
    """A child process of the test, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=settings.ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class ScaleOut:
    client: Client
    pool: asyncpg.Pool
    workers: list[Child]
    worker_ports: list[int]
    webs: list[Child]
    web_urls: list[str]
    task_queue: str
    children: list[Child] = field(default_factory=list)

    def logs(self) -> str:
        return "\n".join(c.tail() for c in self.children)


async def _answers(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(url)).status_code
    except httpx.HTTPError:
        return 0


async def _metric(port: int, name: str) -> float:
    """A sum of a metric's samples on a worker's metrics port (0 when
    the port does not answer)."""
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in {" ", "{"}:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
async def scale_out(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScaleOut]:
    keys = f"{new_key_spec('exempelby/e1')},{new_key_spec('k1')}"
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS", keys)
    monkeypatch.setenv("DATABASE_URL", database_url)
    await load_directory_file(database_url, EXEMPELBY)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), ui=False, dev_server_log_level="error")
    address = env.client.service_client.config.target_host
    client = await connect_temporal(address)
    task_queue = f"scale-{uuid.uuid4().hex[:8]}"
    common = {**os.environ, "DATABASE_URL": database_url, "TEMPORAL_ADDRESS": address,
              "KANALVAKT_TASK_QUEUE": task_queue, "KANALVAKT_PAYLOAD_KEYS": keys,
              "META_APP_SECRET": META_APP_SECRET, "KANALVAKT_DEV_SIGNIN": "1",
              "KANALVAKT_COOKIE_SECURE": "0", "KANALVAKT_INTAKE_LEASE_SECONDS": str(LEASE_SECONDS),
              "KANALVAKT_ARCHIVE_DIR": str(tmp_path / "archive"),
              "KANALVAKT_STATE_DIR": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    common.pop("KANALVAKT_ENV", None)
    taken: set[int] = set()

    def port() -> int:
        p = port_for_another_process(taken)
        taken.add(p)
        return p

    worker_ports = [port(), port()]
    workers = [Child(f"worker {n}", [sys.executable, "-m", "worker"],
                     {**common, "KANALVAKT_SERVICE": "worker",
                      "KANALVAKT_WORKER_HEALTH_HOST": "127.0.0.1",
                      "KANALVAKT_WORKER_HEALTH_PORT": str(p)}, tmp_path / f"worker-{n}.log")
               for n, p in enumerate(worker_ports, start=1)]
    web_ports = [port(), port()]
    webs = [Child(f"web {n}", [sys.executable, "-m", "cli", "web", "--host", "127.0.0.1",
                               "--port", str(p)], {**common, "KANALVAKT_SERVICE": "web"},
                  tmp_path / f"web-{n}.log") for n, p in enumerate(web_ports, start=1)]
    children = [*workers, *webs]
    out = ScaleOut(client, pool, workers, worker_ports, webs,
                   [f"http://127.0.0.1:{p}" for p in web_ports], task_queue, children)
    try:
        for child in children:
            child.start()
        for p in worker_ports:
            status = await eventually(lambda p=p: _answers(f"http://127.0.0.1:{p}/readyz"),
                                      lambda s: s == 200, seconds=90)
            assert status == 200, out.logs()
        for url in out.web_urls:
            status = await eventually(lambda url=url: _answers(f"{url}/livez"),
                                      lambda s: s == 200, seconds=90)
            assert status == 200, out.logs()
        yield out
    finally:
        for child in children:
            child.stop()
        await env.shutdown()


async def test_r21_r22_scale_out_two_workers_two_webs_a_worker_killed_midway(
        scale_out: ScaleOut) -> None:
    """R-21, R-22 (issue 12 part 8): two workers, two web processes, one
    dev server, one PostgreSQL; 300 signed deliveries (and 30 redeliveries)
    spread over both web processes; worker 1 killed with SIGKILL midway
    while it feeds. Every delivery becomes exactly one intake row, one
    message case, one MessageReceived and one workflow execution; none is
    missing, none is doubled, none is left on the dead worker."""
    so = scale_out
    pool = so.pool
    async with httpx.AsyncClient(base_url=so.web_urls[0], timeout=30) as api:
        await active_account(Stack(so.client, api, pool, "", Path(), so.task_queue),
                             platform_account_id=PAGE)

    run = uuid.uuid4().hex[:6]
    comment_ids = [f"{PAGE}_8{n % 7}_{run}{n}" for n in range(DELIVERIES)]
    bodies = [delivery(comment(cid, f"Fråga nummer {n} om biblioteket", from_id=str(6000 + n)))
              for n, cid in enumerate(comment_ids)]
    # (body, web process): alternating; every tenth again to the other one.
    plan: list[tuple[bytes, int]] = []
    for n, body in enumerate(bodies):
        plan.append((body, n % 2))
        if n % REDELIVER_EVERY == 0:
            plan.append((body, 1 - n % 2))
    acked: list[int] = []  # index into plan
    refused: list[str] = []
    cursor = itertools.count()
    half_sent = asyncio.Event()
    may_go_on = asyncio.Event()

    async def sender(clients: list[httpx.AsyncClient]) -> None:
        while (i := next(cursor)) < len(plan):
            if i >= len(plan) // 2:
                half_sent.set()
                await may_go_on.wait()
            body, web = plan[i]
            r = await clients[web].post("/webhooks/meta", content=body, headers={
                "content-type": "application/json",
                "X-Hub-Signature-256": sign(META_APP_SECRET, body)})
            if r.status_code == 200:
                acked.append(i)
            else:
                refused.append(f"{r.status_code} {r.text[:200]}")

    doomed, survivor = so.workers
    doomed_port = so.worker_ports[0]
    clients = [httpx.AsyncClient(base_url=u, timeout=30) for u in so.web_urls]
    try:
        sending = asyncio.gather(*(sender(clients) for _ in range(SENDERS)))
        await asyncio.wait_for(half_sent.wait(), 120)
        # Midway: worker 1 has fed cases of the storm and runs workflow
        # tasks; it is killed while the intake still has rows to feed.
        fed = await eventually(lambda: _metric(doomed_port, "kanalvakt_feeder_started_total"),
                               lambda n: n >= 10, seconds=60)
        assert fed >= 10, "worker 1's feeder started no cases\n" + so.logs()
        tasks = await _metric(doomed_port, "temporal_workflow_task_execution_latency_count")
        started_before = int(await pool.fetchval(
            "SELECT count(*) FROM intake WHERE started_at IS NOT NULL"))
        assert doomed.process is not None
        doomed.kill()  # SIGKILL: no graceful shutdown, leases and tasks left behind
        killed_at = time.monotonic()
        may_go_on.set()
        await asyncio.wait_for(sending, 120)
    finally:
        for c in clients:
            await c.aclose()
    assert doomed.process is not None and doomed.process.returncode == -9
    assert not refused, refused[:5]
    assert len(acked) == len(plan)
    assert started_before < DELIVERIES, "the storm was over before the kill"
    print(f"\nworker 1 killed after feeding {fed:.0f} cases ({tasks:.0f} workflow tasks); "
          f"{started_before}/{DELIVERIES} started by then")

    # Everything started, by the surviving worker's feeder.
    async def started() -> int:
        return int(await pool.fetchval(
            "SELECT count(*) FROM intake WHERE started_at IS NOT NULL"))
    assert await eventually(started, lambda n: n >= DELIVERIES, seconds=150) == DELIVERIES, \
        so.logs()
    assert survivor.process is not None and survivor.process.poll() is None, survivor.tail()

    expected = {f"message:facebook:{cid}" for cid in comment_ids}
    intake = await pool.fetchrow(
        "SELECT count(*) AS rows, count(DISTINCT external_id) AS ids, "
        "count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked, "
        "count(*) FILTER (WHERE attempts > 1) AS taken_over FROM intake "
        "WHERE account_ref = $1", PAGE)
    assert (intake["rows"], intake["ids"], intake["parked"]) == (DELIVERIES, DELIVERIES, 0)

    cases = [r["case_id"] for r in await pool.fetch(
        "SELECT case_id FROM message_cases WHERE case_id LIKE 'message:facebook:%'")]
    assert len(cases) == DELIVERIES and set(cases) == expected

    received = {r["stream_id"]: r["n"] for r in await pool.fetch(
        "SELECT stream_id, count(*) AS n FROM events WHERE event_type = 'MessageReceived' "
        "GROUP BY stream_id")}
    assert set(received) == expected
    assert set(received.values()) == {1}, {k: v for k, v in received.items() if v != 1}

    # Temporal: one execution per case id, none more (visibility follows the
    # starts by a moment), all running.
    async def executions() -> list[tuple[str, str, WorkflowExecutionStatus | None]]:
        return [(w.id, w.run_id, w.status) async for w in so.client.list_workflows(
            "WorkflowType = 'InboundMessageWorkflow'")]
    found = await eventually(executions, lambda e: len(e) >= DELIVERIES, seconds=30)
    ids = [w[0] for w in found]
    assert len(ids) == DELIVERIES and set(ids) == expected, (len(ids), len(set(ids)))
    not_running = [w for w in found if w[2] != WorkflowExecutionStatus.RUNNING]
    assert not not_running, not_running[:5]

    # Nothing left on the dead worker: every case's workflow has finished its
    # workflow tasks and activities (the other worker took over what was in
    # flight) and waits on its timers.
    slots = asyncio.Semaphore(16)

    async def busy(case_id: str) -> str | None:
        async with slots:
            raw = (await so.client.get_workflow_handle(case_id).describe()).raw_description
        if raw.HasField("pending_workflow_task") or len(raw.pending_activities):
            return case_id
        return None

    async def still_busy() -> list[str]:
        return [c for c in await asyncio.gather(*(busy(c) for c in sorted(expected))) if c]
    left = await eventually(still_busy, lambda b: not b, seconds=120)
    assert not left, (left[:5], so.logs())
    print(f"all settled {time.monotonic() - killed_at:.1f} s after the kill; "
          f"{intake['taken_over']} rows claimed more than once (a lease taken over)")
    # The surviving worker's feeder fed the rest.
    assert await _metric(so.worker_ports[1], "kanalvakt_feeder_started_total") > 0
