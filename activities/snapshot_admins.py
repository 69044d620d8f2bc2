"""R-12, R-13, R-37: an account's admin changes reach its snapshots waiting
for screenshots.

AccountLifecycleWorkflow records AdminAdded or AdminRemoved and then calls
`inform_snapshot_admins` with the account's full admin list. The activity
finds the account's waiting snapshots in the snapshot_screenshot_requests
read model (projected with the snapshot's events, so a snapshot whose
request is on the record is found at once) and signals each one's
SnapshotWorkflow `admins_changed`, which records SnapshotAdminsUpdated on the
snapshot's stream: an added admin may say the screenshots are uploaded at
once, a removed one is refused from then on (not only at the next reminder,
which re-reads the account). Idempotent: a snapshot told the same list twice
records it once; one that has ended meanwhile is skipped.
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from activities.signals import signal_each


class InformSnapshotAdminsInput(BaseModel):
    """The account's admins after an AdminAdded or AdminRemoved."""

    account_id: str
    admins: list[str]


class InformSnapshotAdminsResult(BaseModel):
    snapshots: int
    not_running: int


async def waiting_snapshot_ids(pool: asyncpg.Pool, account_id: str) -> list[str]:
    """The account's snapshots waiting for screenshots (no outcome yet)."""
    rows = await pool.fetch(
        "SELECT snapshot_id FROM snapshot_screenshot_requests "
        "WHERE account_id = $1::uuid AND outcome IS NULL ORDER BY snapshot_id", account_id)
    return [r["snapshot_id"] for r in rows]


class SnapshotAdminActivities:
    """Built once by worker.py from the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="inform_snapshot_admins")
    async def inform(self, inp: InformSnapshotAdminsInput) -> InformSnapshotAdminsResult:
        # A snapshot that ended since the read model was read (done, record
        # only, or terminated) is skipped.
        sent = await signal_each(activity.client(),
                                 await waiting_snapshot_ids(self._pool, inp.account_id),
                                 "admins_changed", sorted(set(inp.admins)))
        activity.logger.info("admins sent to waiting snapshots", extra={
            "account_id": inp.account_id, "snapshots": sent.told,
            "not_running": sent.not_running})
        return InformSnapshotAdminsResult(snapshots=sent.told, not_running=sent.not_running)
