"""Issue 9: a poison row never stops the intake. Signed deliveries through
the real webhook, a feeder driven by the test (this module's stack runs
none of its own), the real worker, dev server and PostgreSQL.

R-21, R-22: every citizen message that can become a case becomes one, even
beside rows that never can; those are parked with their reason, visible to
operators (`kanalvakt intake`) and sent back by hand."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

import cli
from domain.inbound import InboundMessage
from feeder import FeederPaused, IntakeFeeder
from store.intake import IntakeRepository, RetryPolicy
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_webhook_intake import PAGE, comment, deliver, delivery
from tests.support import DEV_SERVER, eventually

FAST = RetryPolicy(max_attempts=3, base=timedelta(seconds=0.3), cap=timedelta(seconds=1))


@pytest.fixture
def stack_feeder() -> RetryPolicy | None:
    return None  # each test runs its own feeder


@asynccontextmanager
async def feeding(stack: Stack, policy: RetryPolicy) -> AsyncIterator[None]:
    stop = asyncio.Event()
    feeder = IntakeFeeder(stack.pool, stack.client, stack.task_queue, retry=policy)
    task = asyncio.create_task(feeder.run(stop, idle_seconds=0.05, pause_seconds=0.2))
    try:
        yield
    finally:
        stop.set()
        await task


async def row(pool: asyncpg.Pool, external_id: str) -> dict[str, Any] | None:
    r = await pool.fetchrow("SELECT * FROM intake WHERE external_id = $1", external_id)
    return None if r is None else dict(r)


async def case_ids(pool: asyncpg.Pool) -> set[str]:
    return {r["case_id"] for r in await pool.fetch("SELECT case_id FROM message_cases")}


async def run_cli(database_url: str, *args: str) -> int:
    """The operator's command, as run from a shell (its own event loop)."""
    return await asyncio.to_thread(cli.main, ["--database-url", database_url, *args])


async def test_issue9_r22_poison_rows_are_parked_and_the_rest_become_cases(
        stack: Stack, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    await active_account(stack, platform_account_id=PAGE)
    secret_1970 = "Gammalt inlägg 1971 med hemlig text"
    secret_stranger = "Till en okänd sida med hemlig text"
    old = comment(f"{PAGE}_77_2", secret_1970)
    old["value"]["created_time"] = 31_536_000  # 1971-01-01: no calendar gives it a deadline
    with structlog.testing.capture_logs() as logs:
        body = delivery(comment(f"{PAGE}_77_1", "Hej, när öppnar simhallen?"), old,
                        comment(f"{PAGE}_77_3", "Efter det gamla, före det okända"))
        r = await deliver(stack, body)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 3
        r = await deliver(stack, delivery(comment("999_1_1", secret_stranger), page="999"))
        assert r.status_code == 200, r.text
        late = await deliver(stack, delivery(comment(f"{PAGE}_77_4", "Och ett sist")))
        assert late.status_code == 200, late.text

        async with feeding(stack, FAST):
            wanted = {f"message:facebook:{PAGE}_77_{n}" for n in (1, 3, 4)}
            got = await eventually(lambda: case_ids(stack.pool), lambda c: wanted <= c, 30)
            assert wanted <= got, f"cases missing: {wanted - got}"
            parked_old = await eventually(lambda: row(stack.pool, f"{PAGE}_77_2"),
                                          lambda r: r is not None and r["parked_at"] is not None)
            stranger = await eventually(lambda: row(stack.pool, "999_1_1"),
                                        lambda r: r is not None and r["parked_at"] is not None)

    # Issue 10: a started row keeps the keys, not the citizen's text or name;
    # a parked row keeps its content until it is sent back or started.
    started = await row(stack.pool, f"{PAGE}_77_1")
    assert started is not None and started["started_at"] is not None
    assert not {"text", "author_name", "author_id", "permalink"} & set(started["message"])
    assert InboundMessage.model_validate(started["message"]).external_id == f"{PAGE}_77_1"
    assert parked_old is not None and parked_old["message"]["text"] == secret_1970

    # The impossible date is parked at its first attempt, with its reason.
    assert parked_old is not None and parked_old["started_at"] is None
    assert parked_old["attempts"] == 1
    assert "ImpossibleMessage" in parked_old["last_error"]
    assert "before 2000-01-01" in parked_old["last_error"]
    # The unknown Page was tried with backoff, then parked after its attempts.
    assert stranger is not None and stranger["attempts"] == FAST.max_attempts
    assert "UnknownAccount: no active facebook account 999" in stranger["last_error"]
    assert f"message:facebook:{PAGE}_77_2" not in await case_ids(stack.pool)

    # Logged with the row's key and the reason, never the text.
    parked_logs = [e for e in logs if e["event"] == "intake row parked"]
    assert {e["row"] for e in parked_logs} == {f"facebook:{PAGE}_77_2", "facebook:999_1_1"}
    retried = [e for e in logs if e["event"] == "intake row not started"]
    assert [e["attempts"] for e in retried if e["row"] == "facebook:999_1_1"] == [1, 2]
    everything_logged = json.dumps(logs, default=str)
    assert "hemlig text" not in everything_logged

    # Operators see them, and send them back by hand.
    capsys.readouterr()
    assert await run_cli(database_url, "intake", "status") == cli.EXIT_OK
    status = capsys.readouterr().out
    assert "parked: 2" in status and "pending: 0" in status
    assert await run_cli(database_url, "intake", "parked") == cli.EXIT_OK
    listing = capsys.readouterr().out
    assert f"facebook:{PAGE}_77_2" in listing and "facebook:999_1_1" in listing
    assert "before 2000-01-01" in listing and "hemlig" not in listing
    assert await run_cli(database_url, "intake", "retry") == cli.EXIT_BAD_INPUT
    assert await run_cli(database_url, "intake", "retry", "no-colon") == cli.EXIT_BAD_INPUT
    assert await run_cli(database_url, "intake", "retry", "facebook:999_1_1",
                   "facebook:not-parked") == cli.EXIT_FAILED
    again = await row(stack.pool, "999_1_1")
    assert again is not None and again["parked_at"] is None and again["attempts"] == 0
    # Sent back, it is tried afresh (and parked again: its Page is still unknown).
    async with feeding(stack, FAST):
        again = await eventually(lambda: row(stack.pool, "999_1_1"),
                                 lambda r: r is not None and r["parked_at"] is not None)
    assert again is not None and again["attempts"] == FAST.max_attempts
    assert await run_cli(database_url, "intake", "retry", "--all") == cli.EXIT_OK
    assert "2 parked message(s) sent back" in capsys.readouterr().out


async def test_issue9_r22_failing_rows_do_not_hold_up_later_ones(stack: Stack) -> None:
    """Head-of-line: 120 rows for an unknown Page, received first, do not
    delay the valid messages behind them; each failing row waits its own
    backoff instead of being tried several times a second."""
    await active_account(stack, platform_account_id=PAGE)
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    strangers = [InboundMessage(platform="facebook", external_id=f"888_1_{n}", kind="comment",
                                account_ref="888", text="okänd", published_at=earlier)
                 for n in range(120)]
    await IntakeRepository(stack.pool).accept(strangers, received_at=earlier)
    policy = RetryPolicy(max_attempts=10, base=timedelta(seconds=2), cap=timedelta(seconds=60))
    wanted = {f"message:facebook:{PAGE}_78_{n}" for n in range(5)}
    async with feeding(stack, policy):
        started = time.monotonic()
        r = await deliver(stack, delivery(*(comment(f"{PAGE}_78_{n}", f"Fråga {n}")
                                            for n in range(5))))
        assert r.status_code == 200, r.text
        got = await eventually(lambda: case_ids(stack.pool), lambda c: wanted <= c, 30)
        waited = time.monotonic() - started
    assert wanted <= got
    assert waited < 15, f"valid messages waited {waited:.1f} s behind failing rows"
    attempts = [r["attempts"] for r in await stack.pool.fetch(
        "SELECT attempts FROM intake WHERE account_ref = '888'")]
    # 2 s, then 4 s, then 8 s: a handful each, not four a second.
    assert max(attempts) <= 1 + int(waited / 2) and min(attempts) >= 1
    waiting = await IntakeRepository(stack.pool).status()
    assert waiting.parked == 0 and waiting.pending == 120


async def test_issue9_an_outage_uses_up_no_attempt(stack: Stack) -> None:
    """Temporal away: the batch is handed back untried and the feeder pauses;
    once Temporal answers, the same row becomes its case, recorded once."""
    await active_account(stack, platform_account_id=PAGE)
    message = InboundMessage(platform="facebook", external_id=f"{PAGE}_79_1", kind="comment",
                             account_ref=PAGE, author_id="5551", author_name="Kim",
                             text="Hej!", published_at=datetime.now(UTC) - timedelta(seconds=5))
    await IntakeRepository(stack.pool).accept([message], received_at=datetime.now(UTC))
    # A second dev server, connected to and then stopped: the client the
    # feeder holds now meets a server that is gone, as in an outage.
    gone = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        ui=False, dev_server_log_level="error")
    away = await Client.connect(gone.client.service_client.config.target_host,
                                retry_config=RetryConfig(max_retries=1),
                                data_converter=pydantic_data_converter)
    await gone.shutdown()
    with pytest.raises(FeederPaused):
        await IntakeFeeder(stack.pool, away, stack.task_queue, retry=FAST).feed_once()
    handed_back = await row(stack.pool, message.external_id)
    assert handed_back is not None
    assert handed_back["attempts"] == 0 and handed_back["claimed_until"] is None
    assert handed_back["parked_at"] is None and handed_back["started_at"] is None

    assert await IntakeFeeder(stack.pool, stack.client, stack.task_queue,
                              retry=FAST).feed_once() == 1
    case_id = f"message:facebook:{message.external_id}"
    assert case_id in await case_ids(stack.pool)
    received = await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'MessageReceived'",
        case_id)
    assert received == 1
