"""Telling running workflows something from an activity: one signal to each
of a list of workflows found in a read model, skipping those that are gone.

Used where one workflow's change must reach others (an account's admins to
its open message cases and waiting snapshots, a crisis to its accounts and
cases). The ids come from read models, written with the events, so a
workflow whose start is on the record is found; one that ended since (or,
for a case, was never started: the feeder gives a new case the current
state itself) is counted as not running, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


def gone(error: RPCError) -> bool:
    """The workflow does not run (never started, or already ended)."""
    return error.status == RPCStatusCode.NOT_FOUND or "already completed" in str(error)


@dataclass
class Told:
    told: int = 0
    not_running: int = 0

    def __iadd__(self, other: Told) -> Told:
        self.told += other.told
        self.not_running += other.not_running
        return self


async def signal_each(client: Client, workflow_ids: Iterable[str], signal: str,
                      arg: object) -> Told:
    """Signal `signal` with `arg` to each workflow, heartbeating as it goes
    (the calling activity has a heartbeat timeout); other RPC errors raise,
    so the activity is retried (signals are idempotent where they are used)."""
    result = Told()
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).signal(signal, arg)
            result.told += 1
        except RPCError as error:
            if not gone(error):
                raise
            result.not_running += 1
        activity.heartbeat(result.told)
    return result
