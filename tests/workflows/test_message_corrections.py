"""R-27 in the message workflow, on the time-skipping server with the real
activities and the fake Graph API: an answer that corrects a factual error
is published as written and recorded with the correction and its source;
held for confidential text (R-44) and then confirmed, it keeps them."""

from __future__ import annotations

from domain import message as msg
from tests.support import MANAGER
from tests.workflows.test_message_workflow import ADMIN, SIG, MessageHarness, W, events_of, receive
from tests.workflows.test_message_workflow import mh as mh  # noqa: F401 - the fixture
from workflows.message import RespondRequest

CORRECTION = msg.Correction(error="Att simhallen stänger i juni",
                            source="Beslut KFN 2026/12")


async def test_r27_the_answer_is_recorded_with_its_correction_and_source(
        mh: MessageHarness) -> None:
    handle = await receive(mh, "Simhallen stänger väl i juni?")
    comments = f"/v21.0/{handle.id.split(':')[-1]}/comments"
    done = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Simhallen har öppet hela sommaren.",
        correction=CORRECTION))
    assert done.state.stage is msg.Stage.ANSWERED and done.state.correction == CORRECTION
    assert [p.form["message"] for p in mh.graph.requests_to("POST", comments)] == [
        f"Simhallen har öppet hela sommaren.\n{SIG}"]  # the citizen sees the answer only
    [answered] = [e for e in await events_of(mh, handle.id)
                  if e["event_type"] == "MessageAnswered"]
    assert answered["data"]["correction"] == CORRECTION.model_dump()


async def test_r27_r44_a_held_correction_is_recorded_once_confirmed(mh: MessageHarness) -> None:
    handle = await receive(mh, "Är det sant att biblioteket stänger?")
    held = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, correction=CORRECTION,
        text="Biblioteket stänger inte; uppgiften om 19121212-1212 var fel."))
    assert held.state.stage is msg.Stage.AWAITING_APPROVAL
    assert held.state.pending_reply is not None
    assert held.state.pending_reply.correction == CORRECTION
    done = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=MANAGER))
    assert done.state.stage is msg.Stage.ANSWERED and done.state.correction == CORRECTION
