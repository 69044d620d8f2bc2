"""Issue 15: more than one feeder (in more than one process, so intake can
use more than one core) claim rows safely: each row becomes exactly one
case, its receipt recorded once, whichever feeder took it (R-21, R-22)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain.inbound import InboundMessage
from feeder import IntakeFeeder
from store.db import create_pool
from store.intake import IntakeRepository
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_webhook_intake import PAGE
from tests.support import eventually

ROWS = 300


@pytest.fixture
def stack_feeder() -> None:
    return None


@pytest.fixture
async def other_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A second feeder's own connections, as another process would have."""
    pool = await create_pool(database_url, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()


async def test_issue15_r22_two_feeders_start_each_case_once(
        stack: Stack, other_pool: asyncpg.Pool) -> None:
    await active_account(stack, platform_account_id=PAGE)
    now = datetime.now(UTC)
    await IntakeRepository(stack.pool).accept(
        [InboundMessage(platform="facebook", external_id=f"{PAGE}_95_{n}", kind="comment",
                        account_ref=PAGE, author_id=str(5000 + n), author_name="Kim",
                        text=f"Fråga nummer {n}", published_at=now - timedelta(seconds=n))
         for n in range(ROWS)], received_at=now)
    done = {"a": 0, "b": 0}

    async def run(name: str, pool: asyncpg.Pool) -> None:
        feeder = IntakeFeeder(pool, stack.client, stack.task_queue, batch=20)
        while True:
            fed = await feeder.feed_once()
            if fed == 0 and await IntakeRepository(pool).pending_count() == 0:
                return
            done[name] += fed
            await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(run("a", stack.pool), run("b", other_pool)), 120)
    assert done["a"] + done["b"] == ROWS
    assert done["a"] > 0 and done["b"] > 0, done
    counts = await stack.pool.fetchrow(
        """SELECT count(*) FILTER (WHERE event_type = 'MessageReceived') AS received,
                  count(DISTINCT stream_id) FILTER (WHERE event_type = 'MessageReceived')
                      AS cases
           FROM events WHERE stream_id LIKE 'message:facebook:%'""")
    assert (counts["received"], counts["cases"]) == (ROWS, ROWS)
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM intake WHERE started_at IS NULL") == 0

    async def workflows() -> int:
        return sum([1 async for _ in stack.client.list_workflows(
            "WorkflowType = 'InboundMessageWorkflow'")])
    assert await eventually(workflows, lambda n: n >= ROWS, 30) == ROWS


def _spawn_feeder(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "worker", "--feeder-only"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def test_issue15_a_feeder_process_of_its_own_feeds_the_stack(
        stack: Stack, database_url: str, tmp_path: Any) -> None:
    """`python -m worker --feeder-only`: a process that only feeds, beside
    the stack's worker, which runs the cases; SIGTERM ends it cleanly."""
    await active_account(stack, platform_account_id=PAGE)
    env = {**os.environ, "DATABASE_URL": database_url, "TEMPORAL_ADDRESS": stack.temporal_address,
           "KANALVAKT_TASK_QUEUE": stack.task_queue, "KANALVAKT_PAYLOAD_KEYS": ""}
    process = _spawn_feeder(env, tmp_path / "feeder.log")
    try:
        now = datetime.now(UTC)
        await IntakeRepository(stack.pool).accept(
            [InboundMessage(platform="facebook", external_id=f"{PAGE}_96_{n}", kind="comment",
                            account_ref=PAGE, text=f"Fråga {n}",
                            published_at=now - timedelta(seconds=1)) for n in range(20)],
            received_at=now)

        async def started() -> int:
            return int(await stack.pool.fetchval(
                "SELECT count(*) FROM intake WHERE started_at IS NOT NULL"))
        assert await eventually(started, lambda n: n == 20, 60) == 20
        assert await stack.pool.fetchval(
            "SELECT count(*) FROM message_cases WHERE case_id LIKE $1",
            f"message:facebook:{PAGE}_96_%") == 20
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    output = (tmp_path / "feeder.log").read_text()
    assert code == 0, output
    assert "feeder started" in output and "feeder stopped" in output
    assert "worker started" not in output
