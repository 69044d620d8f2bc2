"""R-37, R-38: a decision on a snapshot waiting for screenshots is not refused
for arriving together with the write of its own request.

The snapshot writes SnapshotScreenshotsRequested (the read model
snapshot_screenshot_requests, which the web layer checks before it sends a
decision, in the same transaction) and folds the wait into its state after
the write's activity returns (the record leads). A decision sent as soon as
the read model shows the wait can reach the workflow in the same workflow
task as that activity's result, and the SDK runs an Update's validator
before it resolves the activity: the validator must not refuse it as "not
waiting". Found by task J (test races); reproduced here step by step on the
dev server, with the workflow worker stopped while the write is held by a
lock, so the order does not depend on timing."""

from __future__ import annotations

import asyncio
import types
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import worker as app_worker
from domain import snapshot as snap
from domain.directory import Directory
from tests.support import COMMS, DEV_SERVER, eventually
from tests.workflows.test_snapshot_workflow import put_active_account
from workflows import search_attributes as sa
from workflows.snapshot_models import SnapshotResult
from workflows.snapshot_starter import start_snapshot

TZ = "Europe/Stockholm"
REASON = "Kontot är avpublicerat på TikTok; inget finns att fotografera"


@pytest.fixture
async def dev() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), dev_server_log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


def workflow_worker(env: WorkflowEnvironment, task_queue: str) -> Worker:
    return Worker(env.client, task_queue=task_queue, workflows=list(app_worker.WORKFLOWS),
                  workflow_runner=app_worker.sandbox_runner())


async def lock_waits(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"))


async def test_r37_r38_a_decision_arriving_with_the_requests_write_is_not_refused(
        dev: WorkflowEnvironment, pool: asyncpg.Pool, directory: Directory,
        tmp_path: Path) -> None:
    """R-37, R-38: the communications unit packages the record only while the
    snapshot's request is being written: the read model shows the wait, the
    decision reaches the workflow with the write's result, and it is taken
    (SnapshotRecordOnlyDecided), not refused as 'not waiting'."""
    now = await dev.get_current_time()
    account = types.SimpleNamespace(pool=pool, directory=directory)
    state = await put_active_account(account, name="Kulturhuset Ängen",  # type: ignore[arg-type]
                                     platform="tiktok", platform_account_id=None, at=now)
    queue = f"wait-{uuid.uuid4().hex[:8]}"
    activities = app_worker.build_activities(pool, tmp_path)
    async with Worker(dev.client, task_queue=queue, activities=activities.all()):
        workflows = workflow_worker(dev, queue)
        running = asyncio.create_task(workflows.run())
        # Hold the request's write (its projection) until the workflow worker is gone.
        conn = await pool.acquire()
        held = conn.transaction()
        await held.start()
        await conn.execute("LOCK TABLE snapshot_screenshot_requests IN EXCLUSIVE MODE")
        handle = await start_snapshot(
            dev.client, account_id=state.account_id, municipality_id="exempelby",
            slug=state.slug, reason=snap.SnapshotReason.ON_DEMAND,
            day=snap.local_date(now, TZ), task_queue=queue, requested_by=COMMS, label="090000")
        assert await eventually(lambda: lock_waits(pool), seconds=60), "the write never blocked"
        await workflows.shutdown()
        await running

        # The decision reaches the server while the workflow waits for the
        # write: it is held for the next workflow task (the only one pending).
        decided = asyncio.create_task(handle.execute_update(
            "package_without_screenshots",
            snap.PackageWithoutScreenshots(actor=COMMS, reason=REASON)))

        async def pending_task() -> bool:
            return (await handle.describe()).raw_description.HasField("pending_workflow_task")
        assert await eventually(pending_task), "the decision did not reach the server"

        # The write goes through: the read model shows the wait, and the
        # write's result waits in the same workflow task as the decision.
        await held.rollback()
        await pool.release(conn)

        async def written() -> bool:
            events = (await handle.fetch_history()).events
            return sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                       for e in events) >= 4  # account, diarium number, capture, the write
        assert await eventually(written), "the request's write did not complete"
        row = await pool.fetchrow(
            "SELECT outcome FROM snapshot_screenshot_requests WHERE snapshot_id = $1", handle.id)
        assert row is not None and row["outcome"] is None  # waiting, says the read model

        async with workflow_worker(dev, queue):
            wait = snap.ScreenshotWait.model_validate(await asyncio.wait_for(decided, 60))
            assert wait.outcome == "record_only"
            result = SnapshotResult.model_validate(
                await asyncio.wait_for(handle.result(), 120))
    assert (result.source, result.screenshots) == ("record_only", 0)
    recorded = [r["event_type"] for r in await pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", handle.id)]
    assert recorded[:2] == ["SnapshotScreenshotsRequested", "SnapshotRecordOnlyDecided"]
