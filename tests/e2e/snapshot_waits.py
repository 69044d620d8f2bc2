"""Helpers for e2e tests that meet a snapshot waiting for screenshots (R-37,
R-38): a platform Kanalvakt cannot read (TikTok; Instagram or Facebook
without a Page token) asks for screenshots before it packages anything;
tests about something else let the communications unit package the record
only, explicitly and on the record, over the JSON API."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from tests.support import COMMS

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

RECORD_ONLY_IN_TESTS = ("The test is not about this snapshot's screenshots: the "
                        "communications unit packages the record only")


async def waiting_snapshot(stack: Stack, account_id: str, reason: str,
                           seconds: float = 60) -> str | None:
    """The id of the account's snapshot (`reason`) once it waits for
    screenshots, or None once it was taken without waiting (a readable platform).

    Waiting means the workflow's own state says so, not only the read model:
    the request's row is written first and the workflow folds the wait into
    its state after (the record leads). Its Updates (screenshots_done,
    package_without_screenshots) are validated against that state, so a
    decision sent on the row alone could be refused as "not waiting"."""
    deadline = time.monotonic() + seconds
    while True:
        row = await stack.pool.fetchrow(
            "SELECT snapshot_id, outcome FROM snapshot_screenshot_requests "
            "WHERE account_id = $1::uuid AND reason = $2 ORDER BY requested_at DESC LIMIT 1",
            account_id, reason)
        if row is not None and row["outcome"] is None:
            sid = str(row["snapshot_id"])
            handle = stack.client.get_workflow_handle(sid)
            while await handle.query("screenshot_wait") is None:
                assert time.monotonic() < deadline, f"{sid}: the workflow never showed its wait"
                await asyncio.sleep(0.1)
            return sid
        if await stack.pool.fetchval(
                "SELECT count(*) FROM snapshots WHERE account_id = $1::uuid AND reason = $2",
                account_id, reason):
            return None
        assert time.monotonic() < deadline, f"no {reason} snapshot of {account_id}"
        await asyncio.sleep(0.1)


async def record_only(stack: Stack, account_id: str, reason: str,
                      because: str = RECORD_ONLY_IN_TESTS) -> str | None:
    """R-37, R-38: the communications unit packages the account's waiting
    `reason` snapshot without screenshots; its id (None: it did not wait)."""
    sid = await waiting_snapshot(stack, account_id, reason)
    if sid is not None:
        r = await stack.http.post(
            f"/api/accounts/{account_id}/snapshot-requests/{sid}/record-only",
            headers={"X-Kanalvakt-Actor": COMMS}, json={"reason": because})
        assert r.status_code == 200, r.text
    return sid
