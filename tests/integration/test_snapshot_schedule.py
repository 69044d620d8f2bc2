"""R-37, R-43: the per-municipality Temporal Schedule of snapshots, on the
dev server (the time-skipping test server does not implement schedules:
CreateSchedule answers "unimplemented"). The schedule's calendar is proved by
the server's own next action times; the fan-out it starts is driven under
time skipping in tests/workflows/test_snapshot_workflow.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest_asyncio
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import snapshot as snap
from tests.support import DEV_SERVER
from workflows.snapshot_starter import (
    delete_snapshot_schedule,
    next_snapshot_times,
    sync_snapshot_schedule,
)


@pytest_asyncio.fixture(loop_scope="session")
async def dev() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=DEV_SERVER,
                                                data_converter=pydantic_data_converter)
    try:
        yield env
    finally:
        await env.shutdown()


def nominal_moments(policy: snap.SnapshotPolicy, tz: str, after: datetime, n: int
                    ) -> list[datetime]:
    moments = sorted(
        datetime.combine(d.in_year(year), policy.at, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        for year in (after.year, after.year + 1, after.year + 2) for d in policy.dates)
    return [m for m in moments if m > after][:n]


async def test_r37_schedule_fires_on_the_policys_dates_and_follows_its_changes(
        dev: WorkflowEnvironment) -> None:
    client = dev.client
    policy = snap.SnapshotPolicy()
    tz = "Europe/Stockholm"
    assert await sync_snapshot_schedule(client, "exempelby", policy, tz,
                                        task_queue="kv") == "created"
    assert await sync_snapshot_schedule(client, "exempelby", policy, tz,
                                        task_queue="kv") == "unchanged"
    now = datetime.now(UTC)
    times = await next_snapshot_times(client, "exempelby")
    assert times[:4] == nominal_moments(policy, tz, now, 4)
    assert {(t.astimezone(ZoneInfo(tz)).month, t.astimezone(ZoneInfo(tz)).day)
            for t in times} <= {(3, 15), (10, 15)}
    assert all(t.astimezone(ZoneInfo(tz)).time() == time(6, 0) for t in times)

    described = await client.get_schedule_handle("snapshots:exempelby").describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "SnapshotFanOutWorkflow" and action.id == "snapshots:exempelby"

    # the directory's settings change; the schedule follows at the next sync.
    changed = snap.SnapshotPolicy.model_validate({"dates": ["04-01", "11-01"], "at": "07:30"})
    assert await sync_snapshot_schedule(client, "exempelby", changed, tz,
                                        task_queue="kv") == "updated"
    times = await next_snapshot_times(client, "exempelby")
    assert times[:2] == nominal_moments(changed, tz, datetime.now(UTC), 2)

    # Norway's municipality in its own time zone.
    assert await sync_snapshot_schedule(client, "fjordvik", policy, "Europe/Oslo",
                                        task_queue="kv") == "created"
    oslo = await next_snapshot_times(client, "fjordvik")
    assert oslo[0] == nominal_moments(policy, "Europe/Oslo", datetime.now(UTC), 1)[0]
    assert await delete_snapshot_schedule(client, "fjordvik")
    assert not await delete_snapshot_schedule(client, "fjordvik")
