"""R-39, R-43: `kanalvakt directory load` hands the municipality's crisis
settings and roles to its running CrisisWorkflow (the load_settings Update),
as it tells running account cases to reload their authorities; with no
crisis workflow running it says so and starts none. On the dev server (the
load also lists workflows and syncs the snapshot schedule, which the
time-skipping server does not implement)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import cli
import worker as app_worker
from domain import crisis as cr
from readviews.crisis import crisis_settings
from store.directory import parse_directory_yaml
from tests.support import DEV_SERVER, EXEMPELBY
from workflows import search_attributes as sa
from workflows.crisis import CrisisWorkflow
from workflows.starter import start_crisis_case


@pytest.fixture
async def dev(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER, data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL), dev_server_log_level="error")
    task_queue = f"dir-{uuid.uuid4().hex[:8]}"
    try:
        async with app_worker.create_worker(env.client, app_worker.build_activities(
                pool, tmp_path), task_queue):
            yield env, task_queue
    finally:
        await env.shutdown()


async def _stream(pool: asyncpg.Pool) -> list[str]:
    return [r["event_type"] for r in await pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version",
        cr.workflow_id_for("exempelby"))]


async def test_r39_directory_load_sends_the_crisis_settings_to_the_running_crisis_workflow(
        dev: tuple[WorkflowEnvironment, str], pool: asyncpg.Pool, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    env, task_queue = dev
    address = env.client.service_client.config.target_host
    text = EXEMPELBY.read_text(encoding="utf-8")
    directory = parse_directory_yaml(text)

    # No crisis workflow yet: the load says so and starts none.
    assert await cli._directory_load(database_url, directory, address) == cli.EXIT_OK
    assert "no crisis workflow of exempelby is running" in capsys.readouterr().out
    assert await _stream(pool) == []

    settings = await crisis_settings(pool, "exempelby")
    assert settings is not None and settings.policy.checkin_every == timedelta(hours=2)
    handle = await start_crisis_case(env.client, settings, None, task_queue=task_queue)
    for _ in range(100):  # its first task writes the settings it started with
        if await _stream(pool):
            break
        await asyncio.sleep(0.05)
    assert await _stream(pool) == ["CrisisSettingsLoaded"]

    # the municipality changes its crisis check-in interval and adds a
    # member to crisis management; the load hands both to the running workflow.
    assert "checkin_every: PT2H" in text and "crisis_management: [eva.marklund, karin.holm]" in text
    changed = parse_directory_yaml(
        text.replace("checkin_every: PT2H", "checkin_every: PT1H").replace(
            "crisis_management: [eva.marklund, karin.holm]",
            "crisis_management: [eva.marklund, karin.holm, elin.strand]"))
    assert await cli._directory_load(database_url, changed, address) == cli.EXIT_OK
    assert "sent the crisis settings to crisis:exempelby" in capsys.readouterr().out
    state = await handle.query(CrisisWorkflow.state)
    state = state if isinstance(state, cr.CrisisState) else cr.CrisisState.model_validate(state)
    assert state.settings.policy.checkin_every == timedelta(hours=1)
    assert "elin.strand" in state.settings.crisis_management
    assert cr.may_switch(state.settings, "elin.strand")
    assert await _stream(pool) == ["CrisisSettingsLoaded", "CrisisSettingsLoaded"]

    # The same file again: sent, but nothing changed, so nothing recorded.
    assert await cli._directory_load(database_url, changed, address) == cli.EXIT_OK
    assert "sent the crisis settings" in capsys.readouterr().out
    assert await _stream(pool) == ["CrisisSettingsLoaded", "CrisisSettingsLoaded"]
