"""InboundMessageWorkflow on the time-skipping server, with the real
activities on PostgreSQL and the Meta connector talking HTTP to a local fake
of the Graph API: each outcome, screening, and the escalation chain across
a weekend and a holiday."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from adapters.connectors.registry import Connectors
from domain import message as msg
from domain.calendar import OfficeHours, add_office_hours, next_working_day_close
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from domain.redaction import RemovalCategory
from tests.fakes.meta_graph import FakeGraph, serve
from tests.support import (
    COMMS,
    DEPUTY,
    MANAGER,
    OUTSIDER,
    REQUESTER,
    TEST_SERVER,
    eventually,
    keep_history,
    register_search_attributes,
)
from workflows.message import (
    AcknowledgeRequest,
    InboundMessageWorkflow,
    MessageWorkflowResult,
    RedactRequest,
    RegisterRequest,
    RespondRequest,
)
from workflows.starter import start_message_case

SIG = "Sofia Wallin, Kultur"  # the default policy requires a signature
W = InboundMessageWorkflow
PAGE, TOKEN = "104000000000001", "EAAGpage-token"
TZ = "Europe/Stockholm"
OFFICER = "elin.strand"
ADMINS = frozenset({"johan.berg", "sofia.wallin"})
AUTHORITIES = msg.MessageAuthorities(admins=ADMINS, manager=MANAGER, deputy=DEPUTY,
                                     communications=frozenset({COMMS, "ahmed.yusuf"}),
                                     registrars=frozenset({"ali.karimi"}))
ADMIN = "sofia.wallin"


@dataclass
class MessageHarness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    pool: asyncpg.Pool
    graph: FakeGraph


@pytest.fixture
async def mh(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[MessageHarness]:
    graph = FakeGraph()
    graph.grant(PAGE, TOKEN)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER, data_converter=pydantic_data_converter)
    try:
        await register_search_attributes(env.client)
        async with serve(graph) as graph_url, httpx.AsyncClient(timeout=10) as http:
            connectors = Connectors(http, tokens={PAGE: TOKEN}, graph_url=graph_url)
            activities = app_worker.build_activities(pool, tmp_path, connectors)
            task_queue = f"msg-{uuid.uuid4().hex[:8]}"
            async with app_worker.create_worker(env.client, activities, task_queue):
                yield MessageHarness(env, env.client, task_queue, pool, graph)
    finally:
        await env.shutdown()


async def receive(h: MessageHarness, text: str, *, at: datetime | None = None,
                  from_staff: bool = False, policy: msg.MessagePolicy | None = None,
                  platform: str = "facebook") -> WorkflowHandle[Any, Any]:
    published = at or await h.env.get_current_time()
    external_id = f"{PAGE}_{uuid.uuid4().int % 10**12}"
    if platform == "facebook":
        h.graph.add_facebook_comment(PAGE, external_id, message=text, from_id="5551",
                                     from_name="Kim Medborgare",
                                     created_time=published.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                                     post_id=f"{PAGE}_777")
    message = InboundMessage(platform=platform, external_id=external_id, kind="comment",
                             account_ref=PAGE, parent_id=f"{PAGE}_777", author_id="5551",
                             author_name="Kim Medborgare", from_staff=from_staff, text=text,
                             published_at=published)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, external_id),
        account_id=str(uuid.uuid4()), municipality_id="exempelby", country=Country.SE,
        timezone=TZ, message=message, policy=policy or msg.MessagePolicy(),
        authorities=AUTHORITIES)
    return await start_message_case(h.client, command, task_queue=h.task_queue)


async def result_of(handle: WorkflowHandle[Any, Any]) -> MessageWorkflowResult:
    result = await handle.result()
    return MessageWorkflowResult.model_validate(result) if isinstance(result, dict) else result


async def events_of(h: MessageHarness, case_id: str) -> list[dict[str, Any]]:
    rows = await h.pool.fetch("SELECT event_type, actor, occurred_at, data FROM events "
                              "WHERE stream_id = $1 ORDER BY version", case_id)
    return [dict(r) for r in rows]


async def test_r22_r23_r26_answered_on_the_platform_and_on_the_record(mh: MessageHarness) -> None:
    """R-21: received when published; R-23: an admin answers; R-26: signed;
    the reply is posted through the Graph API and its id recorded (R-21)."""
    handle = await receive(mh, "Hej! När öppnar biblioteket i sommar?")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.respond, RespondRequest(
            signature=SIG, actor=OUTSIDER, text="Svar"))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]

    done = await handle.execute_update(W.respond, RespondRequest(
        actor=ADMIN, text="Biblioteket öppnar klockan 10 hela sommaren.", signed=True,
        signature="/Sofia, Kultur- och fritidsförvaltningen"))
    assert done.state.stage is msg.Stage.ANSWERED
    assert done.platform is not None and done.platform.status == "done"
    posted = mh.graph.requests_to("POST", f"/v21.0/{handle.id.split(':')[-1]}/comments")
    assert len(posted) == 1 and "/Sofia" in posted[0].form["message"]

    assert not (await handle.query(W.state)).done  # registered or disposed of first
    # answered, then registered, so the case ends
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    assert (await result_of(handle)).stage is msg.Stage.ANSWERED
    events = await events_of(mh, handle.id)
    assert [e["event_type"] for e in events] == ["MessageReceived", "MessageAnswered",
                                                 "MessageRegistered"]
    answered = events[1]["data"]
    assert answered["reply_id"] == done.platform.platform_object_id
    assert answered["signature"].startswith("/Sofia")
    # The citizen's text is in the content store, not in the append-only log.
    assert events[0]["data"]["message"]["text"] == ""
    assert events[0]["data"]["message"]["author_name"] is None
    # Issue 10: nor the citizen's platform user id; the case id refers to them.
    assert events[0]["data"]["message"]["author_id"] is None
    # (kept as it is here: this worker has no payload keys; with them it is
    # sealed, tests/integration/test_message_contents_sealed.py)
    content = await mh.pool.fetchval("SELECT content FROM message_contents WHERE case_id = $1",
                                     handle.id)
    assert content["text"].startswith("Hej!") and content["author_name"] == "Kim Medborgare"
    assert content["author_id"] == "5551"
    row = await mh.pool.fetchrow("SELECT state FROM message_cases WHERE case_id = $1", handle.id)
    assert row["state"]["message"]["author_id"] is None
    row = await mh.pool.fetchrow("SELECT * FROM message_cases WHERE case_id = $1", handle.id)
    assert row["stage"] == "answered" and row["first_response_at"] is not None


def _before_christmas(now: datetime) -> datetime:
    """15:00 in Stockholm on the next 23 December: a Wednesday in 2026,
    before julafton, juldagen, annandag jul and a weekend."""
    year = now.year if now.date() < date(now.year, 12, 23) else now.year + 1
    local = datetime.combine(date(year, 12, 23), time(15, 0), ZoneInfo(TZ))
    return local.astimezone(UTC)


async def test_r23_escalation_chain_across_christmas_and_a_weekend(mh: MessageHarness) -> None:
    """R-23: answer by the next working day, in office hours; reminder to the
    admins, escalation to the manager at the deadline and to the
    communications unit after a second period, each on the record, with
    julafton, the Christmas holidays and the weekend skipped."""
    start = _before_christmas(await mh.env.get_current_time())
    await mh.env.sleep(start - await mh.env.get_current_time())
    handle = await receive(mh, "Varför plogas inte vår gata?", at=start)
    office = OfficeHours()
    reminder = add_office_hours(start, 4, Country.SE, TZ, office)
    deadline = next_working_day_close(start, Country.SE, TZ, office)
    second = next_working_day_close(deadline, Country.SE, TZ, office)
    assert deadline.astimezone(ZoneInfo(TZ)).date() > date(start.year, 12, 26)
    assert deadline.astimezone(ZoneInfo(TZ)).weekday() < 5

    await mh.env.sleep(second - await mh.env.get_current_time() + timedelta(minutes=1))
    # The sleep returns once the clock is past the second escalation; the
    # worker writes it after: wait for the three steps.
    events = await eventually(lambda: events_of(mh, handle.id), lambda e: len(e) >= 4)
    fired = [(e["event_type"], e["occurred_at"], sorted(e["data"]["recipients"]))
             for e in events if e["event_type"] != "MessageReceived"]
    assert [f[0] for f in fired] == ["MessageReminderSent", "MessageEscalated",
                                     "MessageEscalated"]
    for (_, at, _), due in zip(fired, (reminder, deadline, second), strict=True):
        assert due <= at < due + timedelta(minutes=5)
    assert fired[0][2] == sorted(ADMINS)
    assert fired[1][2] == sorted([MANAGER, DEPUTY])
    assert fired[2][2] == sorted([MANAGER, DEPUTY, COMMS, "ahmed.yusuf"])
    row = await mh.pool.fetchrow("SELECT escalated, stage FROM message_cases")
    assert row["escalated"] is True and row["stage"] == "open"
    notified = await mh.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE case_id = $1", handle.id)
    assert notified == 2 + 2 + 4

    # acknowledging stops the chain and starts the final-answer deadline.
    ack = await handle.execute_update(W.acknowledge, AcknowledgeRequest(
        actor=ADMIN, text="Tack, vi tar reda på det och återkommer."))
    assert ack.state.stage is msg.Stage.ACKNOWLEDGED and not ack.state.escalated


async def test_r31_r30_identity_number_hidden_at_once_then_registered_and_removed(
        mh: MessageHarness) -> None:
    """R-31: an identity number is hidden at once by the account's policy,
    with a preserved copy (R-30); removing it registers it first (R-31), with
    a number from the diarium series (R-28), then deletes it on the platform."""
    handle = await receive(mh, "Min son 19121212-1212 fick inte plats på förskolan!")
    object_id = handle.id.split(":")[-1]
    # Captured, hidden on the platform, written, then folded: wait for the
    # fold, in real time (an env.sleep returns at once while an activity runs).
    state: msg.MessageState = await eventually(lambda: handle.query(W.state),
                                               lambda s: s.hidden)
    assert state.hidden and [f.kind.value for f in state.flags] == ["identity_number"]
    assert "19121212" not in state.flags[0].detail
    assert mh.graph.objects[object_id].hidden
    copy = await mh.pool.fetchval("SELECT capture FROM preserved_copies WHERE case_id = $1",
                                  handle.id)
    assert "19121212-1212" in copy["text"]

    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.CONFIDENTIAL_INFORMATION,
        reason="Personnummer till ett barn"))
    assert done.state.stage is msg.Stage.REDACTED
    assert done.state.diarium_number == f"KS {(await mh.env.get_current_time()).year}/00001"
    assert mh.graph.objects[object_id].deleted
    types = [e["event_type"] for e in await events_of(mh, handle.id)]
    assert types == ["MessageReceived", "MessageHidden", "MessageRegistered", "MessageRedacted"]
    await result_of(handle)
    keep_history(await handle.fetch_history(), "message_identity_number_redacted")
    diarium = await mh.pool.fetchrow("SELECT * FROM diarium")
    assert diarium["confidential"] is True and diarium["case_id"] == handle.id


async def test_r32_advertising_is_removed_and_not_kept(mh: MessageHarness) -> None:
    """R-32 (Mora: copy_before_every_deletion False): advertising is removed
    without a preserved copy, under the disposal decision the policy names
    (R-33); R-29 records the category with its law."""
    handle = await receive(mh, "Köp billiga solglasögon nu med rabatt på https://spam.example.com",
                           policy=msg.MessagePolicy(copy_before_every_deletion=False))
    state: msg.MessageState = await handle.query(W.state)
    assert "advertising" in [f.kind.value for f in state.flags]
    done = await handle.execute_update(W.redact, RedactRequest(
        actor=ADMIN, category=RemovalCategory.ADVERTISING, reason="Reklam"))
    assert done.state.stage is msg.Stage.REDACTED
    redacted = (await events_of(mh, handle.id))[-1]["data"]
    assert redacted["preserved_copy"] is False and redacted["law"]
    assert redacted["decision_id"] == "SM-2"
    assert await mh.pool.fetchval("SELECT count(*) FROM preserved_copies") == 0


async def test_r24_forwarded_to_a_case_officer_whose_draft_is_published(
        mh: MessageHarness) -> None:
    """R-24, R-25: forwarded with its own deadline; only the officer drafts;
    an admin publishes the draft."""
    handle = await receive(mh, "Jag vill överklaga beslutet om bygglov.")
    await handle.execute_update(W.forward, msg.Forward(
        actor=ADMIN, officer=OFFICER, note="Bygglovsfråga; be om e-post (R-25)"))
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.submit_draft, msg.SubmitDraft(actor=ADMIN, text="x"))
    drafted = await handle.execute_update(W.submit_draft, msg.SubmitDraft(
        actor=OFFICER, text="Skicka ditt överklagande till bygglov@exempelby.se."))
    assert drafted.state.stage is msg.Stage.DRAFTED
    done = await handle.execute_update(W.respond, RespondRequest(signature=SIG,
        actor=ADMIN, text=drafted.state.draft or ""))
    assert done.state.stage is msg.Stage.ANSWERED
    answered = (await events_of(mh, handle.id))[-1]["data"]
    assert answered["drafted_by"] == OFFICER


async def test_r33_r35_disposed_under_a_decision_after_its_date(mh: MessageHarness) -> None:
    """R-33: only under a disposal decision; R-35: searchable until the
    disposal date, then the content goes and the log says decision, date, who."""
    handle = await receive(mh, "Haha, vilken fin bild!")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.dispose, msg.Dispose(actor=ADMIN, decision_id="X-9"))
    assert "SM-1" in refused.value.cause.message  # type: ignore[union-attr]
    scheduled = await handle.execute_update(W.dispose, msg.Dispose(actor=ADMIN,
                                                                   decision_id="SM-1"))
    assert scheduled.state.stage is msg.Stage.DISPOSAL_PENDING
    assert await mh.pool.fetchval("SELECT count(*) FROM message_contents") == 1

    assert (await result_of(handle)).stage is msg.Stage.DISPOSED
    assert await mh.pool.fetchval("SELECT count(*) FROM message_contents") == 0
    log = await mh.pool.fetchrow("SELECT * FROM disposal_log")
    assert log["decision_id"] == "SM-1" and log["decided_by"] == ADMIN
    # Crypto-shredding: the case's payload data key is destroyed with it (codec.py).
    key = await mh.pool.fetchrow("SELECT * FROM payload_data_keys WHERE scope = $1", handle.id)
    assert key["wrapped"] is None and key["destroyed_at"] is not None
    assert log["disposed_at"] >= scheduled.state.dispose_on


async def test_r21_a_staff_post_is_recorded_and_needs_no_answer(mh: MessageHarness) -> None:
    """R-21: staff posts are records drawn up by the municipality, kept apart."""
    handle = await receive(mh, "Välkommen till sommarens program!", from_staff=True)
    assert (await result_of(handle)).stage is msg.Stage.STAFF_POST
    row = await mh.pool.fetchrow("SELECT from_staff, stage FROM message_cases")
    assert row["from_staff"] is True and row["stage"] == "staff_post"


async def test_r22_a_redelivered_message_is_the_same_case(mh: MessageHarness) -> None:
    """A feeder or webhook retry reaches the running case, nothing twice."""
    handle = await receive(mh, "Hej!")
    state: msg.MessageState = await handle.query(W.state)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=handle.id, account_id=state.account_id,
        municipality_id="exempelby", country=Country.SE, timezone=TZ,
        message=state.message.model_copy(update={"text": "Hej!"}),
        authorities=AUTHORITIES)
    again = await start_message_case(mh.client, command, task_queue=mh.task_queue)
    assert again.result_run_id == handle.result_run_id
    await handle.execute_update(W.respond, RespondRequest(
        signature=SIG, actor=ADMIN, text="Hej hej!"))
    assert [e["event_type"] for e in await events_of(mh, handle.id)] == [
        "MessageReceived", "MessageAnswered"]


async def test_r28_diarium_numbers_follow_the_series(mh: MessageHarness) -> None:
    """R-28: registered messages get the next number of the municipality's
    series; registering is for admins and registrars."""
    handle = await receive(mh, "Jag vill lämna synpunkter på detaljplanen.")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.register, RegisterRequest(actor=REQUESTER,
                                                                record_class="Synpunkt"))
    done = await handle.execute_update(W.register, RegisterRequest(
        actor="ali.karimi", record_class="Synpunkt på detaljplan"))
    year = (await mh.env.get_current_time()).year
    assert done.state.diarium_number == f"KS {year}/00001"
    assert done.state.stage is msg.Stage.OPEN  # registered, still to be answered


async def test_r22_on_a_platform_without_an_api_a_person_acts_and_confirms(
        mh: MessageHarness) -> None:
    """R-22 with the manual connector: the answer is decided and recorded,
    a person is told exactly what to post, is reminded until they confirm,
    and the case ends only when they have."""
    handle = await receive(mh, "Hur söker man sommarjobb?", platform="tiktok")
    done = await handle.execute_update(W.respond, RespondRequest(signature=SIG,
        actor=ADMIN, text="Sök senast 1 mars på exempelby.se/sommarjobb"))
    assert done.state.stage is msg.Stage.ANSWERED
    assert done.platform is not None and done.platform.status == "awaiting_person"
    assert "Bekräfta" in done.platform.detail
    assert done.state.pending_action == "reply" and not done.state.done
    assert mh.graph.requests == []  # nothing was sent to any API

    due = msg.next_deadline(done.state)
    assert due is not None
    await mh.env.sleep(due - await mh.env.get_current_time() + timedelta(minutes=1))
    # Written by the worker after the sleep returns.
    types = [e["event_type"] for e in await eventually(lambda: events_of(mh, handle.id),
                                                       lambda e: len(e) >= 4)]
    assert types == ["MessageReceived", "MessageAnswered", "ManualActionRequested",
                     "MessageReminderSent"]

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(
            actor=OUTSIDER))
    await handle.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(
        actor=ADMIN, platform_object_id="7301122334455"))
    # answered, then registered, so the case ends
    await handle.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    assert (await result_of(handle)).stage is msg.Stage.ANSWERED
    assert (await events_of(mh, handle.id))[-2]["event_type"] == "ManualActionConfirmed"
    keep_history(await handle.fetch_history(), "message_answered_by_hand")
    # The same case under the one marker of every rule (issue 15): kept too.
    keep_history(await handle.fetch_history(), "message_answered_by_hand_one_marker")
