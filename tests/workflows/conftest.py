"""Workflow tests: the time-skipping test server, the real activities on a
real PostgreSQL (one fresh database per test), the sample directory loaded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from domain.directory import Directory
from store.directory import DirectoryRepository, parse_directory_yaml
from tests.support import EXEMPELBY, TEST_SERVER, register_search_attributes


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    pool: asyncpg.Pool
    archive_dir: Path
    directory: Directory


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> Directory:
    parsed = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(parsed)
    return parsed


@pytest.fixture
async def h(pool: asyncpg.Pool, directory: Directory, tmp_path: Path
                  ) -> AsyncIterator[Harness]:
    # One workflow under test per environment: the v1 time-skipping server
    # skips the clock for everything at once (TEMPORAL-NOTES.md).
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER, data_converter=pydantic_data_converter)
    try:
        await register_search_attributes(env.client)
        archive = tmp_path / "archive"
        archive.mkdir()
        task_queue = f"kv-{uuid.uuid4().hex[:8]}"
        activities = app_worker.build_activities(pool, archive)
        async with app_worker.create_worker(env.client, activities, task_queue):
            yield Harness(env, env.client, task_queue, pool, archive, directory)
    finally:
        await env.shutdown()
