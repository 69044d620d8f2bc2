"""R-30, R-45 in the message workflow (issue 14): on a platform without an
API a removal asks an admin to take a screenshot and delete the comment by
hand. The case waits (and its chase reminds, under the time-skipping test
server) until the screenshot is uploaded and recorded; "Klar" before that
is refused by the update's validator with nothing written; after it the
deletion is confirmed and the case ends. Disposal deletes the screenshot
with the case's content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import message as msg
from domain.redaction import RemovalCategory
from store import record_uploads
from tests.support import eventually, keep_history
from tests.workflows.test_message_workflow import (
    ADMIN,
    MessageHarness,
    W,
    events_of,
    receive,
    result_of,
)
from tests.workflows.test_message_workflow import mh as mh  # noqa: F401 - the fixture
from workflows.message import RedactRequest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_r30_r45_a_deletion_by_hand_waits_for_its_screenshot(mh: MessageHarness) -> None:
    handle = await receive(mh, "Anna på kommunen är en idiot och borde sparkas",
                           platform="tiktok")
    removed = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.DEFAMATION_OR_INSULT,
        reason="Pekar ut en namngiven anställd"))
    state = removed.state
    assert state.stage is msg.Stage.REDACTED and state.pending_action == "delete"
    assert msg.screenshot_needed(state)

    # "Klar" before the screenshot: refused by the validator, nothing written.
    before = len(await events_of(mh, handle.id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(
            actor=ADMIN))
    assert "screenshot" in str(refused.value.cause)
    assert len(await events_of(mh, handle.id)) == before

    # The wait is chased like any action by hand: a reminder.
    due = msg.next_deadline(state)
    assert due is not None
    await mh.env.sleep(due - await mh.env.get_current_time() + timedelta(minutes=1))
    await eventually(lambda: events_of(mh, handle.id),
                     lambda e: "MessageReminderSent" in [x["event_type"] for x in e])

    stored = await record_uploads.store(
        mh.pool, None, purpose="removal_screenshot", municipality_id="exempelby",
        account_id=state.account_id, case_id=handle.id, file_name="kommentar.png",
        content=PNG, uploaded_by=ADMIN, uploaded_at=datetime.now(UTC))
    attached = await handle.execute_update(W.attach_screenshot, msg.AttachScreenshot(
        actor=ADMIN, upload_id=stored.upload_id, sha256=stored.sha256,
        file_name=stored.file_name))
    assert attached.state.pending_screenshot == stored.sha256
    await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(actor=ADMIN))
    done = await result_of(handle)
    assert done.stage is msg.Stage.REDACTED

    events = await events_of(mh, handle.id)
    [shot] = [e for e in events if e["event_type"] == "ScreenshotAttached"]
    assert (shot["actor"], shot["data"]["sha256"], shot["data"]["upload_id"]) == (
        ADMIN, stored.sha256, stored.upload_id)
    kinds = [e["event_type"] for e in events]
    assert kinds.index("ScreenshotAttached") < kinds.index("ManualActionConfirmed")
    assert await record_uploads.content(mh.pool, None, stored.upload_id) == PNG
    keep_history(await handle.fetch_history(), "message_deleted_by_hand_with_screenshot")
