"""Issue 9: no order of decisions and no text wedges a message case. The
real InboundMessageWorkflow, its real activities on PostgreSQL and the
manual connector (a platform without an API, the default for an account
without a Page token)."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain import message as msg
from tests.workflows.test_message_workflow import (
    ADMIN,
    SIG,
    MessageHarness,
    W,
    events_of,
    receive,
    result_of,
)
from tests.workflows.test_message_workflow import mh as mh  # noqa: F401 - the fixture
from workflows.message import AcknowledgeRequest, RegisterRequest, RespondRequest


async def task_failures(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The workflow tasks that failed (a wedged case fails one on every retry)."""
    history = await handle.fetch_history()
    return [e.workflow_task_failed_event_attributes.failure.message for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def test_issue9_r22_r23_acknowledged_then_answered_by_hand_finishes(
        mh: MessageHarness) -> None:
    """Issue 9 item 3 (R-22, R-23): on a platform without an API, an
    acknowledgement and then the answer, each to be posted by hand: both are
    awaited in turn, and the case ends once both are confirmed."""
    handle = await receive(mh, "När öppnar badhuset?", platform="tiktok")
    acked = await handle.execute_update(W.acknowledge, AcknowledgeRequest(
        actor=ADMIN, text="Tack, vi återkommer."))
    assert acked.state.pending_action == "reply"
    answered = await handle.execute_update(W.respond, RespondRequest(signature=SIG,
        actor=ADMIN, text="Badhuset öppnar 1 september."))
    assert answered.state.stage is msg.Stage.ANSWERED
    assert answered.platform is not None and answered.platform.status == "awaiting_person"
    assert answered.state.pending_action == "reply"
    assert "Tack, vi återkommer." in (answered.state.pending_instruction or "")
    first = await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(
        actor=ADMIN, platform_object_id="ack-1"))
    # The answer, awaited next, with its own instruction.
    assert first.state.pending_action == "reply" and not first.state.done
    assert "Badhuset öppnar 1 september." in (first.state.pending_instruction or "")
    await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(
        actor=ADMIN, platform_object_id="answer-1"))
    # answered, then registered, so the case ends
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    assert (await result_of(handle)).stage is msg.Stage.ANSWERED
    types = [e["event_type"] for e in await events_of(mh, handle.id)]
    assert types == ["MessageReceived", "AcknowledgementSent", "ManualActionRequested",
                     "MessageAnswered", "ManualActionRequested", "ManualActionConfirmed",
                     "ManualActionConfirmed", "MessageRegistered"]
    assert await task_failures(handle) == []


async def test_issue9_a_nul_in_a_decisions_text_is_recorded_without_it(
        mh: MessageHarness) -> None:
    """Issue 9 item 4: a NUL and a lone surrogate in an acknowledgement are
    normalised (domain.text) and recorded; the case goes on."""
    handle = await receive(mh, "Hej!", platform="tiktok")
    acked = await handle.execute_update(W.acknowledge, AcknowledgeRequest(
        actor=ADMIN, text="Tack\x00 \ud800vi återkommer \u200f"))
    assert acked.state.stage is msg.Stage.ACKNOWLEDGED
    data = (await events_of(mh, handle.id))[1]["data"]
    assert data["text"] == "Tack \ufffdvi återkommer \u200f"
    # As raw JSON (the typed request refuses these in the client already):
    # nothing but control characters, and 100 KB, are refused by the update.
    for text in ("\x00\x00", "x" * 100_000):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("respond", {"actor": ADMIN, "text": text})
    await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(actor=ADMIN))
    await handle.execute_update(W.respond, RespondRequest(signature=SIG, actor=ADMIN, text="Svar."))
    await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(actor=ADMIN))
    # answered, then registered, so the case ends
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    assert (await result_of(handle)).stage is msg.Stage.ANSWERED
    assert await task_failures(handle) == []
