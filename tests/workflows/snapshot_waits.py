"""Helpers for tests that meet a snapshot waiting for screenshots (R-37,
R-38): a platform Kanalvakt cannot read (in the tests: TikTok, or Instagram
without a Page token) asks for screenshots before it packages anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from domain import snapshot as snap
from tests.support import COMMS

RECORD_ONLY_IN_TESTS = ("The test is not about this snapshot's screenshots: the "
                        "communications unit packages the record only")


async def waiting(handle: WorkflowHandle[Any, Any], ready: Callable[[snap.ScreenshotWait], bool],
                  seconds: float = 60) -> snap.ScreenshotWait:
    """The snapshot's wait once `ready(wait)` holds, polled in real time (a
    child just started may not be there yet)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    wait: snap.ScreenshotWait | None = None
    while True:
        try:
            raw = await handle.query("screenshot_wait")
            wait = None if raw is None else snap.ScreenshotWait.model_validate(raw)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
        if wait is not None and ready(wait):
            return wait
        assert loop.time() < deadline, f"{handle.id}: still {wait}"
        await asyncio.sleep(0.1)


async def record_only_when_waiting(client: Client, snapshot_id: str,
                                   reason: str = RECORD_ONLY_IN_TESTS) -> None:
    """R-37, R-38: the communications unit decides, explicitly and on the
    record, that the snapshot `snapshot_id` is packaged without screenshots."""
    handle = client.get_workflow_handle(snapshot_id)
    await waiting(handle, lambda w: w.outcome is None)
    await handle.execute_update("package_without_screenshots",
                                snap.PackageWithoutScreenshots(actor=COMMS, reason=reason))
