"""InboundMessageWorkflow under crisis rules (R-39) on the time-skipping
server with the real activities and the fake Graph API: Kristiansand's
approval by crisis management, and a forwarded case's officer deadline
around the clock. One workflow under test per environment (one per test)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain import message as msg
from domain.crisis_mode import CrisisMode
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from domain.redaction import RemovalCategory
from tests.support import eventually, keep_history
from tests.workflows.test_message_workflow import (
    ADMIN,
    AUTHORITIES,
    OFFICER,
    PAGE,
    SIG,
    TZ,
    MessageHarness,
    W,
    events_of,
    mh,
    result_of,
)
from workflows.message import AcknowledgeRequest, RedactRequest, RegisterRequest, RespondRequest
from workflows.starter import start_message_case

__all__ = ["mh"]  # the fixture, shared with the message workflow's tests

KRISLEDNING = "eva.marklund"

def crisis(at: datetime, *, through: bool, communications_publish: bool = False
           ) -> CrisisMode:
    return CrisisMode(
        crisis_id="exempelby-1-test", municipality_id="exempelby", declared_at=at,
        answer_within=timedelta(hours=2), checkin_every=timedelta(hours=2),
        notice="Se exempelby.se/kris eller ring 0123-45 67 00.",
        through_crisis_management=through,
        crisis_management=frozenset({KRISLEDNING}) if through else frozenset(),
        communications_publish=communications_publish,
        communications=AUTHORITIES.communications if communications_publish else frozenset())


async def receive_in_crisis(h: MessageHarness, text: str, *, through: bool,
                            communications_publish: bool = False
                            ) -> WorkflowHandle[Any, Any]:
    """A citizen's comment received while a crisis covers the account (as the feeder starts it)."""
    published = await h.env.get_current_time()
    external_id = f"{PAGE}_{uuid.uuid4().int % 10**12}"
    h.graph.add_facebook_comment(PAGE, external_id, message=text, from_id="5551",
                                 from_name="Kim Medborgare",
                                 created_time=published.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                                 post_id=f"{PAGE}_777")
    message = InboundMessage(platform="facebook", external_id=external_id, kind="comment",
                             account_ref=PAGE, parent_id=f"{PAGE}_777", author_id="5551",
                             author_name="Kim Medborgare", text=text, published_at=published)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, external_id),
        account_id=str(uuid.uuid4()), municipality_id="exempelby", country=Country.SE,
        timezone=TZ, message=message, authorities=AUTHORITIES,
        crisis=crisis(published - timedelta(hours=1), through=through,
                      communications_publish=communications_publish))
    return await start_message_case(h.client, command, task_queue=h.task_queue)


async def test_r39_kristiansand_a_reply_is_published_only_once_crisis_management_approves(
        mh: MessageHarness) -> None:
    """R-39 (Kristiansand: all communication goes through crisis management):
    an admin's answer is recorded as waiting, nothing is posted; an admin
    cannot approve it (refused, nothing recorded); crisis management sends it
    back with a comment; the admin's second answer is approved and only then
    posted through the Graph API, recorded as the admin's answer."""
    handle = await receive_in_crisis(mh, "Är vattnet drickbart?", through=True)
    comments = f"/v21.0/{handle.id.split(':')[-1]}/comments"
    waiting = await handle.execute_update(W.respond, RespondRequest(signature=SIG,
        actor=ADMIN, text="Koka vattnet tills vidare."))
    assert waiting.state.stage is msg.Stage.AWAITING_APPROVAL and waiting.platform is None
    assert mh.graph.requests_to("POST", comments) == []
    count = len(await events_of(mh, handle.id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=ADMIN))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.acknowledge, AcknowledgeRequest(actor=ADMIN, text="Tack"))
    assert len(await events_of(mh, handle.id)) == count

    back = await handle.execute_update(W.send_back_reply, msg.SendBackReply(
        actor=KRISLEDNING, comment="Hänvisa till exempelby.se/kris"))
    assert back.state.stage is msg.Stage.OPEN
    assert back.state.sent_back == "Hänvisa till exempelby.se/kris"
    await handle.execute_update(W.respond, RespondRequest(signature=SIG,
        actor=ADMIN, text="Koka vattnet; se exempelby.se/kris."))
    done = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    assert done.state.stage is msg.Stage.ANSWERED
    assert done.platform is not None and done.platform.status == "done"
    posted = mh.graph.requests_to("POST", comments)
    # signed, as the default policy requires.
    assert [p.form["message"] for p in posted] == [f"Koka vattnet; se exempelby.se/kris.\n{SIG}"]
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == [
        "MessageReceived", "ReplySubmittedForApproval", "ReplySentBack",
        "ReplySubmittedForApproval", "ReplyApproved", "MessageAnswered"]
    assert [e["actor"] for e in events[-2:]] == [KRISLEDNING, ADMIN]
    assert events[-1]["data"]["reply_id"] == done.platform.platform_object_id
    row = await mh.pool.fetchrow("SELECT stage, first_response_at FROM message_cases "
                                 "WHERE case_id = $1", handle.id)
    assert row["stage"] == "answered" and row["first_response_at"] is not None


async def test_r39_a_forwarded_case_officer_is_reminded_and_escalated_within_hours(
        mh: MessageHarness) -> None:
    """R-39 stepped-up monitoring, R-24: forwarded during a crisis, the
    officer is reminded after one hour and the manager and admins hear at two
    hours, around the clock, instead of in working days."""
    handle = await receive_in_crisis(mh, "Var finns evakueringsplatsen?", through=False)
    forwarded_at = await mh.env.get_current_time()
    state = (await handle.execute_update(W.forward, msg.Forward(
        actor=ADMIN, officer=OFFICER, note="Beredskapsfråga"))).state
    plan = {s.name: s.due for s in msg.deadline_plan(state)}
    assert plan["officer_deadline"] - forwarded_at < timedelta(hours=2, seconds=5)
    await mh.env.sleep(timedelta(hours=2, minutes=5))

    def steps(events: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
        # The officer's steps; the citizen's own run beside them.
        return [(e["event_type"], e["data"]["step"].rsplit(":", 1)[1], e["data"]["recipients"])
                for e in events
                if e["event_type"] in {"MessageReminderSent", "MessageEscalated"}
                and ":officer_" in e["data"]["step"]]

    # Written by the worker after the sleep returns: wait for both steps.
    events = await eventually(lambda: events_of(mh, handle.id), lambda e: len(steps(e)) >= 2)
    fired = steps(events)
    assert fired == [
        ("MessageReminderSent", "officer_reminder", [OFFICER]),
        ("MessageEscalated", "officer_deadline",
         [*AUTHORITIES.managers, *sorted(AUTHORITIES.admins)]),
    ]
    due = datetime.fromisoformat(next(
        e for e in events if e["data"].get("step", "").endswith(":officer_deadline"))
        ["data"]["due"])
    assert due == plan["officer_deadline"]


async def test_r39_kristiansand_a_forward_and_a_removal_wait_for_crisis_management(
        mh: MessageHarness) -> None:
    """R-39 (Kristiansand: all communication goes through crisis management):
    an admin's forward and removal are recorded as waiting and listed for
    crisis management; nothing is deleted on the platform until it
    approves (an admin cannot, refused with nothing recorded); then the
    copy is kept (R-30) and the comment deleted through the Graph API."""
    handle = await receive_in_crisis(mh, "Här är hela deras film att ladda ner", through=True)
    object_id = handle.id.split(":")[-1]
    waiting = await handle.execute_update(W.forward, msg.Forward(
        actor=ADMIN, officer=OFFICER, note="Beredskapsfråga"))
    assert waiting.state.stage is msg.Stage.AWAITING_APPROVAL
    assert waiting.state.pending_reply is not None
    assert waiting.state.pending_reply.kind == "forward"
    forwarded = await handle.execute_update(W.approve_reply,
                                            msg.ApproveReply(actor=KRISLEDNING))
    assert (forwarded.state.stage, forwarded.state.officer) == (msg.Stage.FORWARDED, OFFICER)

    held = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.COPYRIGHT_INFRINGEMENT, reason="Upphovsrätt"))
    assert held.state.stage is msg.Stage.AWAITING_APPROVAL and held.platform is None
    assert held.state.pending_reply is not None
    assert held.state.pending_reply.approvers == {KRISLEDNING}
    assert not mh.graph.objects[object_id].deleted
    # Listed for crisis management as awaiting_approval lists it (the read model).
    listed = await mh.pool.fetchrow(
        "SELECT state->'pending_reply'->>'kind' AS kind, "
        "state->'pending_reply'->>'submitted_by' AS submitted_by FROM message_cases "
        "WHERE case_id = $1 AND stage = 'awaiting_approval' "
        "AND state->'pending_reply'->'approvers' ? $2", handle.id, KRISLEDNING)
    assert listed is not None and dict(listed) == {"kind": "removal", "submitted_by": ADMIN}
    count = len(await events_of(mh, handle.id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=ADMIN))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    assert len(await events_of(mh, handle.id)) == count

    done = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    assert done.state.stage is msg.Stage.REDACTED
    assert mh.graph.objects[object_id].deleted
    assert await mh.pool.fetchval("SELECT count(*) FROM preserved_copies WHERE case_id = $1",
                                  handle.id) == 1
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == [
        "MessageReceived", "ReplySubmittedForApproval", "ReplyApproved", "MessageForwarded",
        "ReplySubmittedForApproval", "ReplyApproved", "MessageRedacted"]
    assert [e["actor"] for e in events[-2:]] == [KRISLEDNING, ADMIN]


async def test_r31_r39_an_identity_number_is_hidden_and_removed_without_waiting(
        mh: MessageHarness) -> None:
    """R-31 with R-39: even where all communication goes through crisis
    management, an identity number is hidden at once on receipt and its
    removal (registered first) is carried out at once: it protects the
    person, so it never waits for an approval."""
    handle = await receive_in_crisis(mh, "Min son 19121212-1212 saknas!", through=True)
    object_id = handle.id.split(":")[-1]
    state: msg.MessageState = await eventually(lambda: handle.query(W.state),
                                               lambda s: s.hidden)
    assert state.crisis is not None and state.crisis.through_crisis_management
    assert mh.graph.objects[object_id].hidden
    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.CONFIDENTIAL_INFORMATION,
        reason="Personnummer till ett barn"))
    assert done.state.stage is msg.Stage.REDACTED and done.state.pending_reply is None
    assert mh.graph.objects[object_id].deleted
    types = [e["event_type"] for e in await events_of(mh, handle.id)]
    assert types == ["MessageReceived", "MessageHidden", "MessageRegistered", "MessageRedacted"]


async def test_r39_kristiansand_an_admins_hide_waits_for_crisis_management(
        mh: MessageHarness) -> None:
    """R-39 (Kristiansand: all communication goes through crisis management):
    an admin's hide is recorded as waiting and listed for crisis management;
    nothing is hidden on the platform until it approves (an admin cannot,
    refused with nothing recorded); then the copy is kept (R-30) and the
    comment hidden through the Graph API, recorded as the admin's hide."""
    handle = await receive_in_crisis(mh, "Alla på socialkontoret är lata idioter", through=True)
    object_id = handle.id.split(":")[-1]
    held = await handle.execute_update(W.hide, msg.Hide(
        actor=ADMIN, reason="Kränkande mot anställda", preserved_copy=True))
    assert held.state.stage is msg.Stage.AWAITING_APPROVAL and held.platform is None
    assert held.state.pending_reply is not None and held.state.pending_reply.kind == "hide"
    assert not mh.graph.objects[object_id].hidden
    listed = await mh.pool.fetchval(
        "SELECT state->'pending_reply'->>'kind' FROM message_cases WHERE case_id = $1 "
        "AND stage = 'awaiting_approval' AND state->'pending_reply'->'approvers' ? $2",
        handle.id, KRISLEDNING)
    assert listed == "hide"
    count = len(await events_of(mh, handle.id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=ADMIN))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    assert len(await events_of(mh, handle.id)) == count

    done = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    assert done.state.hidden and done.state.stage is msg.Stage.OPEN
    assert mh.graph.objects[object_id].hidden
    assert await mh.pool.fetchval("SELECT count(*) FROM preserved_copies WHERE case_id = $1",
                                  handle.id) == 1
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == [
        "MessageReceived", "ReplySubmittedForApproval", "ReplyApproved", "MessageHidden"]
    assert [e["actor"] for e in events[-2:]] == [KRISLEDNING, ADMIN]


async def test_r31_r39_an_admins_hide_of_confidential_data_does_not_wait(
        mh: MessageHarness) -> None:
    """R-31 with R-39: an admin's hide of confidential data is carried out at
    once even where all communication goes through crisis management."""
    handle = await receive_in_crisis(mh, "Min granne har varit inlagd på psyket", through=True)
    object_id = handle.id.split(":")[-1]
    done = await handle.execute_update(W.hide, msg.Hide(
        actor=ADMIN, reason="Uppgifter om någons hälsa", preserved_copy=True,
        confidential=True))
    assert done.state.hidden and done.state.pending_reply is None
    assert mh.graph.objects[object_id].hidden
    types = [e["event_type"] for e in await events_of(mh, handle.id)]
    assert types == ["MessageReceived", "MessageHidden"]


async def test_r39_r47_fjordvik_a_reply_approved_by_crisis_management_is_published_by_the_unit(
        mh: MessageHarness) -> None:
    """R-39 then R-47 (Fjordvik: all communication goes through crisis
    management, and the communications unit publishes in a crisis): the
    admin's answer waits for crisis management, approved it waits for the
    unit, whose member publishes it as written; then (R-50) it is registered
    and the case ends. Its history is kept for the replay test."""
    handle = await receive_in_crisis(mh, "Stänger skolorna i morgon?", through=True,
                                     communications_publish=True)
    comments = f"/v21.0/{handle.id.split(':')[-1]}/comments"
    waiting = await handle.execute_update(W.respond, RespondRequest(
        signature=SIG, actor=ADMIN, text="Skolorna är öppna; se exempelby.se/kris."))
    assert waiting.state.pending_reply is not None
    assert waiting.state.pending_reply.held_for == "crisis"
    approved = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    assert approved.state.stage is msg.Stage.AWAITING_APPROVAL and approved.platform is None
    assert approved.state.pending_reply is not None
    assert approved.state.pending_reply.held_for == "communications"
    assert mh.graph.requests_to("POST", comments) == []
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=KRISLEDNING))
    unit = sorted(AUTHORITIES.communications)[0]
    published = await handle.execute_update(W.approve_reply, msg.ApproveReply(actor=unit))
    assert published.state.stage is msg.Stage.ANSWERED
    assert [p.form["message"] for p in mh.graph.requests_to("POST", comments)] == [
        f"Skolorna är öppna; se exempelby.se/kris.\n{SIG}"]
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    assert (await result_of(handle)).stage is msg.Stage.ANSWERED
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == [
        "MessageReceived", "ReplySubmittedForApproval", "ReplyApproved",
        "ReplySubmittedForApproval", "ReplyApproved", "MessageAnswered", "MessageRegistered"]
    assert [e["actor"] for e in events[2:6]] == [KRISLEDNING, ADMIN, unit, ADMIN]
    keep_history(await handle.fetch_history(), "message_crisis_approved_published_by_unit")
