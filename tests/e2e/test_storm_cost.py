"""Issue 15: a storm costs the same per message at 5,000 as at 100.

What the feeder does for one more message is counted, not timed: the SQL
statements it sends, the rows PostgreSQL hands back to it, the activities
and the workflow tasks of the message's case. With 100 and with 5,000
messages of the same account already in the storm window (R-40), every
count must be the same; a count that grows with the window is a cost that
grows with the storm."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain import message as msg
from domain.inbound import InboundMessage, message_workflow_id
from feeder import IntakeFeeder, account_for
from store.db import create_pool
from store.eventstore import EventStore
from store.intake import IntakeRepository
from store.projections import all_projections
from store.receipts import record_receipt
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_webhook_intake import PAGE, deliver, delivery
from tests.e2e.test_webhook_intake import comment as webhook_comment
from tests.support import eventually


@pytest.fixture
def stack_feeder() -> None:
    return None  # the test feeds by hand, one row at a time


@dataclass
class Counts:
    statements: int = 0
    rows: int = 0


class CountingConnection(asyncpg.Connection):  # type: ignore[misc]
    """Counts what this connection sends and receives (the pool's methods
    all go through these)."""

    counts: Counts = Counts()

    def _rows(self, n: int) -> None:
        CountingConnection.counts.statements += 1
        CountingConnection.counts.rows += n

    async def execute(self, *args: Any, **kw: Any) -> Any:
        self._rows(0)
        return await super().execute(*args, **kw)

    async def executemany(self, *args: Any, **kw: Any) -> Any:
        self._rows(0)
        return await super().executemany(*args, **kw)

    async def fetch(self, *args: Any, **kw: Any) -> Any:
        rows = await super().fetch(*args, **kw)
        self._rows(len(rows))
        return rows

    async def fetchrow(self, *args: Any, **kw: Any) -> Any:
        row = await super().fetchrow(*args, **kw)
        self._rows(0 if row is None else 1)
        return row

    async def fetchval(self, *args: Any, **kw: Any) -> Any:
        value = await super().fetchval(*args, **kw)
        self._rows(1)
        return value


@pytest.fixture
async def counting_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=5,
                             connection_class=CountingConnection)
    try:
        yield pool
    finally:
        await pool.close()


def comment(n: int, *, at: datetime, text: str = "När öppnar simhallen?") -> InboundMessage:
    return InboundMessage(platform="facebook", external_id=f"{PAGE}_90_{n}", kind="comment",
                          account_ref=PAGE, author_id="5551", author_name="Kim", text=text,
                          published_at=at)


async def receive_many(stack: Stack, count: int, *, at: datetime) -> None:
    """`count` citizen messages on the record, as the feeder records them
    (receipt and projections), without starting their workflows."""
    store = EventStore(stack.pool, all_projections())
    account = await account_for(stack.pool, comment(0, at=at))

    async def one(n: int) -> None:
        m = comment(n, at=at - timedelta(seconds=n % 600))
        await record_receipt(stack.pool, store, msg.ReceiveMessage(
            actor=msg.SYSTEM, case_id=message_workflow_id(m.platform, m.external_id),
            account_id=account.account_id, municipality_id=account.municipality_id,
            country=account.country, timezone=account.timezone, message=m,
            policy=account.policy, authorities=account.authorities), stored_at=at)

    for start in range(1, count + 1, 50):
        await asyncio.gather(*(one(n) for n in range(start, min(start + 50, count + 1))))


async def feed_one(stack: Stack, pool: asyncpg.Pool,
                   n: int) -> tuple[Counts, int, int, list[str]]:
    """Feed one more message; what it cost the feeder, and its case's
    activities, workflow tasks and the patch markers its history records."""
    now = datetime.now(UTC)
    m = comment(n, at=now - timedelta(seconds=1))
    await IntakeRepository(stack.pool).accept([m], received_at=now)
    CountingConnection.counts = Counts()
    assert await IntakeFeeder(pool, stack.client, stack.task_queue).feed_once() == 1
    counts = CountingConnection.counts
    handle = stack.client.get_workflow_handle(message_workflow_id(m.platform, m.external_id))

    async def first_task() -> Any:
        history = await handle.fetch_history()
        done = [e for e in history.events
                if e.HasField("workflow_task_completed_event_attributes")]
        return history if done else None
    history = await eventually(first_task)
    assert history is not None
    activities = sum(e.HasField("activity_task_scheduled_event_attributes")
                     for e in history.events)
    tasks = sum(e.HasField("workflow_task_completed_event_attributes") for e in history.events)
    markers = [json.loads(p.data)["id"] for e in history.events
               if e.HasField("marker_recorded_event_attributes")
               for p in e.marker_recorded_event_attributes.details["patch-data"].payloads]
    return counts, activities, tasks, markers


async def test_issue15_r40_feeding_one_message_costs_the_same_at_100_and_5000(
        stack: Stack, counting_pool: asyncpg.Pool) -> None:
    await active_account(stack, platform_account_id=PAGE)
    now = datetime.now(UTC)
    await receive_many(stack, 100, at=now)
    small = await feed_one(stack, counting_pool, 100_001)
    await receive_many(stack, 5000, at=now)  # the first 100 again (idempotent), 4,900 more
    in_window = await stack.pool.fetchval(
        "SELECT count(*) FROM message_cases WHERE received_at > $1", now - timedelta(hours=1))
    assert in_window >= 5000
    large = await feed_one(stack, counting_pool, 100_002)
    assert small[0].statements > 0 and small[2] >= 1
    assert large == small, f"with 100 in the window: {small}; with 5,000: {large}"
    # Every rule patched into the message workflow used to add a marker
    # event to each new case's first task (six by December 2026): a new
    # case records one, "message-rules-2026-12", that stands for all of them.
    assert small[3] == ["message-rules-2026-12"], small[3]


async def test_r40_a_storm_through_the_intake_is_flagged_once_from_the_counts(
        stack: Stack) -> None:
    """R-40 end to end: signed deliveries of critical comments, fed by the
    feeder, are counted per minute; the storm is reported to the crisis
    workflow and flagged once, however many more arrive while it cools
    down; the counts are a read model rebuilt from the events."""
    await active_account(stack, platform_account_id=PAGE)
    angry = "Skandal! Inkompetent förvaltning, ni borde skämmas"
    for batch in range(4):  # 40 critical comments, over the default 30
        r = await deliver(stack, delivery(*(webhook_comment(f"{PAGE}_91_{batch}_{n}", angry)
                                            for n in range(10))))
        assert r.status_code == 200, r.text
    feeder = IntakeFeeder(stack.pool, stack.client, stack.task_queue)
    while await feeder.feed_once():
        pass

    async def storms() -> list[Any]:
        return await stack.pool.fetch("SELECT messages, critical FROM crisis_storms")
    flagged = await eventually(storms, lambda rows: len(rows) == 1, 30)
    assert len(flagged) == 1
    assert flagged[0]["messages"] >= 30 and flagged[0]["critical"] >= 30
    counted = await stack.pool.fetchval("SELECT sum(messages) FROM storm_counts")
    assert counted == 40

    # More while it cools down: counted, not flagged again.
    r = await deliver(stack, delivery(*(webhook_comment(f"{PAGE}_92_{n}", angry)
                                        for n in range(5))))
    assert r.status_code == 200
    while await feeder.feed_once():
        pass
    await asyncio.sleep(1)
    assert len(await storms()) == 1
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'StormFlagged'") == 1

    before = [dict(r) for r in await stack.pool.fetch(
        "SELECT * FROM storm_counts ORDER BY account_id, minute")]
    assert sum(r["messages"] for r in before) == 45
    await EventStore(stack.pool, all_projections()).rebuild()
    after = [dict(r) for r in await stack.pool.fetch(
        "SELECT * FROM storm_counts ORDER BY account_id, minute")]
    assert after == before
