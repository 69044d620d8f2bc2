"""R-38, issue 12 part 6: the registrar's records export runs as
RecordsExportWorkflow on the time-skipping test server with the real
activities and PostgreSQL: its progress is the workflow's query, the package
(the bag as a zip) is stored in PostgreSQL and valid, and it is emptied when
it expires (a durable timer, skipped here); an export that cannot be built
fails with its reason on the row, not retried forever."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import bagit
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from activities.records_export import BuildRecordsExportInput, RecordsExportProgress
from readviews.records import RecordsExportInput
from store.directory import DirectoryRepository, parse_directory_yaml
from store.records_exports import insert_records_export, records_export_package
from tests.support import EXEMPELBY, TEST_SERVER, keep_history
from tests.workflows.test_snapshot_workflow import put_active_account
from workflows.records_export import RecordsExportWorkflow

REGISTRAR = "ali.karimi"


@pytest_asyncio.fixture(loop_scope="session")
async def client(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[Client, str]]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER, data_converter=pydantic_data_converter)
    try:
        queue = f"kv-{uuid.uuid4().hex[:8]}"
        activities = app_worker.build_activities(pool, tmp_path / "archive")
        async with app_worker.create_worker(env.client, activities, queue):
            yield env.client, queue
    finally:
        await env.shutdown()


async def _start(pool: asyncpg.Pool, client: Client, queue: str, inp: RecordsExportInput,
                 keep: timedelta = timedelta(days=7)
                 ) -> tuple[str, WorkflowHandle[RecordsExportWorkflow, RecordsExportProgress]]:
    export_id = str(uuid.uuid4())
    await insert_records_export(
        pool, export_id, f"records-export-{export_id}", municipality_id=inp.municipality_id,
        account_id=inp.account_id, start=inp.start, end=inp.end,
        requested_by=inp.requested_by, requested_at=inp.now)
    handle = await client.start_workflow(
        RecordsExportWorkflow.run, BuildRecordsExportInput(export_id=export_id, export=inp,
                                                           keep=keep),
        id=f"records-export-{export_id}", task_queue=queue)
    return export_id, handle


async def _progress_until(handle: WorkflowHandle[RecordsExportWorkflow, RecordsExportProgress],
                          *statuses: str) -> list[RecordsExportProgress]:
    seen: list[RecordsExportProgress] = []
    for _ in range(200):
        progress = await handle.query(RecordsExportWorkflow.progress)
        seen.append(progress)
        if progress.status in statuses:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {statuses}: {[p.status for p in seen]}")


async def test_r38_records_export_workflow_reports_progress_stores_the_package_and_expires_it(
        pool: asyncpg.Pool, client: tuple[Client, str], tmp_path: Path) -> None:
    """The web starts it and returns; the query shows queued/building, then
    done with the package's id, size and expiry; the stored zip is a valid
    bag of the account's records; after 7 days the package is emptied."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    now = datetime.now(UTC).replace(microsecond=0)
    state = await put_active_account(SimpleNamespace(pool=pool, directory=directory),  # type: ignore[arg-type]
                                     name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=None, at=now)
    inp = RecordsExportInput(municipality_id="exempelby", account_id=state.account_id,
                             start=now.date() - timedelta(days=30), end=now.date(),
                             requested_by=REGISTRAR, now=now)
    export_id, handle = await _start(pool, *client, inp)

    seen = await _progress_until(handle, "done")
    assert {p.status for p in seen} <= {"queued", "building", "done"}
    done = seen[-1]
    assert done.export_id == export_id and done.step == 1 and done.steps == 2
    assert done.expires_at is not None and done.finished_at is not None
    assert done.expires_at - done.finished_at == timedelta(days=7)
    row = await pool.fetchrow("SELECT * FROM records_exports WHERE export_id = $1::uuid",
                              export_id)
    assert row["status"] == "done" and row["package_id"] == done.package_id
    package = await records_export_package(pool, export_id)
    assert package is not None and len(package) == done.size == row["size"]

    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert all(n.startswith(f"{done.package_id}/") for n in archive.namelist())
        archive.extractall(tmp_path)
    unpacked = tmp_path / str(done.package_id)
    bag = bagit.Bag(str(unpacked))
    bag.validate()
    assert bag.info["Kanalvakt-Package-Kind"] == "records_export"
    assert bag.info["Kanalvakt-Requested-By"] == REGISTRAR
    events = (unpacked / "data/metadata/account-events.jsonl").read_text("utf-8")
    assert '"AccountActivated"' in events

    # Kept for the registrar to download for 7 days, then emptied (the timer
    # is skipped by the test server while the result is awaited).
    result = await handle.result()
    assert result.status == "expired" and result.step == 2
    row = await pool.fetchrow("SELECT status, package FROM records_exports "
                              "WHERE export_id = $1::uuid", export_id)
    assert row["status"] == "expired" and row["package"] is None
    assert await records_export_package(pool, export_id) is None
    # Kept for tests/workflows/test_replay.py (KANALVAKT_RECORD_HISTORIES=1).
    keep_history(await handle.fetch_history(), "records_export_built_expired")


async def test_r38_a_records_export_that_cannot_be_built_fails_with_its_reason(
        pool: asyncpg.Pool, client: tuple[Client, str]) -> None:
    """An account that is not (any longer) there: the build's LookupError is a
    non-retryable failure; the workflow records it on the row and in its
    progress, and completes (no retry loop, no package)."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    inp = RecordsExportInput(municipality_id="exempelby", account_id=str(uuid.uuid4()),
                             start=date(2026, 3, 1), end=date(2026, 3, 31),
                             requested_by=REGISTRAR, now=datetime.now(UTC))
    export_id, handle = await _start(pool, *client, inp)
    result = await asyncio.wait_for(handle.result(), timeout=30)
    assert result.status == "failed" and result.error and "no account" in result.error
    assert (await handle.query(RecordsExportWorkflow.progress)).status == "failed"
    row = await pool.fetchrow("SELECT status, error, package FROM records_exports "
                              "WHERE export_id = $1::uuid", export_id)
    assert row["status"] == "failed" and "no account" in row["error"]
    assert row["package"] is None
