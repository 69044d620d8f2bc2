"""R-22: a message case chased for years outgrows one history. On the dev
server with the history limit lowered, the case continues as new after its
update handlers finish, and the next run carries the case as it stood: the
officer, the citizen's own clock (R-24), the steps already fired, the
issue-16 rules; no receipt and no hide is done twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from domain import message as msg
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from tests.support import DEV_SERVER, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_message_workflow import ADMIN, AUTHORITIES, SIG, TZ, result_of
from workflows import search_attributes as sa
from workflows.message import InboundMessageWorkflow as W
from workflows.message import RegisterRequest, RespondRequest
from workflows.starter import start_message_case


@pytest.fixture
async def dev(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Harness]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60"])
    task_queue = f"mcan-{uuid.uuid4().hex[:8]}"
    try:
        async with app_worker.create_worker(env.client, app_worker.build_activities(
                pool, tmp_path), task_queue):
            yield Harness(env, env.client, task_queue, pool, tmp_path, None)  # type: ignore[arg-type]
    finally:
        await env.shutdown()


async def runs_of(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f'WorkflowId="{workflow_id}"')])


async def test_r22_r24_a_long_case_continues_as_new_carrying_itself(dev: Harness) -> None:
    external_id = f"104_{uuid.uuid4().int % 10**12}"
    message = InboundMessage(
        platform="tiktok", external_id=external_id, kind="comment", account_ref="104",
        author_id="5551", author_name="Kim Medborgare",
        text="Jag vill överklaga beslutet om bygglov.", published_at=datetime.now(UTC))
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, external_id),
        account_id=str(uuid.uuid4()), municipality_id="exempelby", country=Country.SE,
        timezone=TZ, message=message, authorities=AUTHORITIES)
    handle = await start_message_case(dev.client, command, task_queue=dev.task_queue)
    first: msg.MessageState = await eventually(lambda: handle.query(W.state),
                                               lambda s: s.version >= 1)
    officers = ["elin.strand", "petra.handl"]
    for n in range(12):  # each hand-over adds an update, an activity and tasks
        await handle.execute_update(W.forward, msg.Forward(
            actor=ADMIN, officer=officers[n % 2], note=f"Överlämnad {n}"))
    runs = await eventually(lambda: runs_of(dev.client, handle.id), lambda n: n >= 2,
                            seconds=30)
    assert runs >= 2
    state: msg.MessageState = await dev.client.get_workflow_handle(handle.id).query(W.state)
    assert state.stage is msg.Stage.FORWARDED and state.officer == officers[11 % 2]
    assert state.citizen_stage is msg.Stage.OPEN
    assert state.citizen_since == first.stage_entered_at  # the citizen's clock
    assert state.fidelity_rules and state.version == 13
    assert msg.next_deadline(state) is not None

    latest = dev.client.get_workflow_handle(handle.id)
    await latest.execute_update(W.submit_draft, msg.SubmitDraft(
        actor=state.officer or "", text="Skicka överklagandet till bygglov@exempelby.se."))
    answered = await latest.execute_update(W.respond, RespondRequest(
        actor=ADMIN, signature=SIG, text="Skicka överklagandet till bygglov@exempelby.se."))
    assert answered.state.stage is msg.Stage.ANSWERED
    await latest.execute_update(W.confirm_manual_action, msg.ConfirmManualAction(actor=ADMIN))
    # a run continued as new takes the records chase: registered, it ends.
    assert (await latest.query(W.state)).records_chase
    await latest.execute_update(W.register, RegisterRequest(actor=ADMIN, record_class="1.1"))
    result = await result_of(latest)
    assert result.stage is msg.Stage.ANSWERED
    rows = await dev.pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 "
                                "ORDER BY version", handle.id)
    types = [r["event_type"] for r in rows]
    assert types.count("MessageReceived") == 1 and types.count("MessageForwarded") == 12
