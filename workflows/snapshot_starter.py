"""Starting snapshots and keeping each municipality's snapshot Schedule in
step with its policy (R-37). Client-side code: the worker, the CLI and the
web app use it.

Schedule `snapshots:<municipality>`: one calendar entry per nominal date of
the policy (e.g. month 3, day 15, at 06:00) in the municipality's time
zone; its action starts SnapshotFanOutWorkflow, which moves the date off
blackouts and non-working days (Temporal's calendar cannot say "next
working day"). The policy's signature is kept in the schedule's note, so
`sync_snapshot_schedule` updates the schedule only when the policy changed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from domain import snapshot as snap
from workflows.snapshot import SnapshotFanOutWorkflow, SnapshotWorkflow
from workflows.snapshot_models import SnapshotFanOutInput, SnapshotInput

NOTE_PREFIX = "kanalvakt snapshot policy "


def schedule_spec(policy: snap.SnapshotPolicy, timezone: str) -> ScheduleSpec:
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(
            month=[ScheduleRange(d.month)], day_of_month=[ScheduleRange(d.day)],
            hour=[ScheduleRange(policy.at.hour)], minute=[ScheduleRange(policy.at.minute)],
            second=[ScheduleRange(0)],
            comment=f"R-37 nominal snapshot date {d}") for d in policy.dates],
        time_zone_name=timezone,
    )


def policy_note(policy: snap.SnapshotPolicy, timezone: str, task_queue: str) -> str:
    body = json.dumps({"policy": policy.model_dump(mode="json"), "tz": timezone,
                       "queue": task_queue}, sort_keys=True)
    return NOTE_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:16]


def snapshot_schedule(municipality_id: str, policy: snap.SnapshotPolicy, timezone: str, *,
                      task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SnapshotFanOutWorkflow.run, SnapshotFanOutInput(municipality_id=municipality_id),
            id=snap.fanout_id(municipality_id), task_queue=task_queue),
        spec=schedule_spec(policy, timezone),
        # A fan-out may wait days for the next working day; never two at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=policy_note(policy, timezone, task_queue)),
    )


async def sync_snapshot_schedule(
    client: Client, municipality_id: str, policy: snap.SnapshotPolicy, timezone: str, *,
    task_queue: str,
) -> Literal["created", "updated", "unchanged"]:
    """Create the municipality's snapshot Schedule, or update it when its
    policy changed; idempotent (two workers starting at once both succeed)."""
    wanted = snapshot_schedule(municipality_id, policy, timezone, task_queue=task_queue)
    sid = snap.schedule_id(municipality_id)
    try:
        await client.create_schedule(sid, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle: ScheduleHandle = client.get_schedule_handle(sid)
    current = await handle.describe()
    if current.schedule.state.note == wanted.state.note:
        return "unchanged"

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await handle.update(update)
    return "updated"


async def next_snapshot_times(client: Client, municipality_id: str) -> list[datetime]:
    described = await client.get_schedule_handle(snap.schedule_id(municipality_id)).describe()
    return list(described.info.next_action_times)


async def start_snapshot(
    client: Client, *, account_id: str, municipality_id: str, slug: str,
    reason: snap.SnapshotReason, day: date, task_queue: str, requested_by: str = "kanalvakt",
    label: str | None = None, change: str | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start one snapshot (on demand or after a major change). Raises
    WorkflowAlreadyStartedError if a snapshot of that id exists already."""
    key = snap.snapshot_key(reason, day, label=label)
    sid = snap.snapshot_id(municipality_id, slug, key)
    return await client.start_workflow(
        SnapshotWorkflow.run,
        SnapshotInput(account_id=account_id, snapshot_id=sid, reason=reason,
                      requested_by=requested_by, change=change),
        id=sid, task_queue=task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)


async def delete_snapshot_schedule(client: Client, municipality_id: str) -> bool:
    try:
        await client.get_schedule_handle(snap.schedule_id(municipality_id)).delete()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
