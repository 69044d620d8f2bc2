"""The account workflow lives for years: on the dev server with the history
limit lowered it continues-as-new, after its update handlers finish, and the
next run carries every part of the state, including a running deadline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from domain import account as acc
from domain.directory import Country, Directory
from tests.support import COMMS, DEPUTY, DEV_SERVER, MANAGER, REQUESTER, eventually, request_fields
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import walk_to_active
from workflows import search_attributes as sa
from workflows.account import AccountLifecycleWorkflow as W
from workflows.starter import start_account_case


@pytest.fixture
async def dev(pool: asyncpg.Pool, directory: Directory, tmp_path: object
              ) -> AsyncIterator[Harness]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER,
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=60",
        ],
    )
    archive = tmp_path / "archive"  # type: ignore[operator]
    archive.mkdir()
    task_queue = f"can-{uuid.uuid4().hex[:8]}"
    try:
        async with app_worker.create_worker(env.client, app_worker.build_activities(
                pool, archive), task_queue):
            yield Harness(env, env.client, task_queue, pool, archive, directory)
    finally:
        await env.shutdown()


async def runs_of(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f'WorkflowId="{workflow_id}"')])


async def test_continues_as_new_carrying_state_and_deadlines(dev: Harness) -> None:
    """R-12 across runs: the admin-coverage deadline started in one run is
    still pending, with the same due time, in the next."""
    request = acc.AccountRequest.model_validate(request_fields())
    command = acc.RequestAccount(
        actor=REQUESTER, account_id=str(uuid.uuid4()), municipality_id="exempelby",
        country=Country.SE, timezone="Europe/Stockholm", request=request,
        authorities=dev.directory.authorities("kultur"))
    handle = await start_account_case(dev.client, command, task_queue=dev.task_queue)
    first_run = (await handle.describe()).run_id
    await walk_to_active(dev, handle)  # type: ignore[arg-type]
    lost = await handle.execute_update(W.remove_admin, acc.RemoveAdmin(actor=MANAGER,
                                                                       person=DEPUTY))
    due_before = acc.next_deadline(lost)
    assert due_before is not None

    for _ in range(8):
        await handle.execute_update(W.add_admin, acc.AddAdmin(actor=MANAGER, person=COMMS))
        await handle.execute_update(W.remove_admin, acc.RemoveAdmin(actor=MANAGER,
                                                                    person=COMMS))
    # A burst of concurrent updates while continue-as-new is due: none is lost.
    newcomers = ["ahmed.yusuf", "erik.sjoberg", "karin.holm", "sofia.wallin"]
    results = await asyncio.gather(*[
        handle.execute_update(W.add_admin, acc.AddAdmin(actor=MANAGER, person=p))
        for p in newcomers])
    assert len(results) == len(newcomers)

    state: acc.AccountState = await handle.query(W.state)
    assert (await handle.describe()).run_id != first_run
    # Visibility follows the runs a moment later (TEMPORAL-NOTES): poll.
    assert await eventually(lambda: runs_of(dev.client, handle.id), lambda n: n >= 2) >= 2
    assert set(state.admins) == {REQUESTER, *newcomers}
    assert acc.next_deadline(state) == due_before
    versions = await dev.pool.fetch(
        "SELECT version FROM events WHERE stream_id = $1 ORDER BY version",
        f"account-{state.account_id}")
    assert [r["version"] for r in versions] == list(range(1, state.version + 1))
