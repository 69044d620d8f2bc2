"""The records export's activities (R-38; issue 12 part 6): the package is
built by a worker, not inside a web request, and kept in PostgreSQL
(`records_exports.package`, the BagIt folder as a zip) for the registrar to
download from the web; nothing is shared through a folder. The workflow
(workflows/records_export.py) empties the package when it expires.

The rows are read and the bag written by readviews/records.py and
adapters/records_package.py, as for `kanalvakt records export`; here the bag
goes to a temporary folder, is zipped, stored, and the folder removed.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from codec import DataKeys
from readviews.records import RecordsExportInput, export_records

RecordsExportStatus = Literal["queued", "building", "done", "failed", "expired"]


class BuildRecordsExportInput(BaseModel):
    export_id: str
    export: RecordsExportInput
    keep: timedelta = timedelta(days=7)


class BuildRecordsExportResult(BaseModel):
    package_id: str
    manifest_sha256: str
    payload_oxum: str
    size: int
    finished_at: AwareDatetime
    expires_at: AwareDatetime


class FinishRecordsExportInput(BaseModel):
    export_id: str
    status: Literal["failed", "expired"]
    error: str | None = None


def zip_folder(folder: Path) -> bytes:
    """The bag as a zip, its files under the package's own folder name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


class RecordsExportActivities:
    """Built once by worker.py; `data_keys` open the sealed message texts."""

    def __init__(self, pool: asyncpg.Pool, data_keys: DataKeys | None = None) -> None:
        self._pool = pool
        self._data_keys = data_keys

    @activity.defn(name="build_records_export")
    async def build(self, inp: BuildRecordsExportInput) -> BuildRecordsExportResult:
        """Read the period's records, write the bag, store it zipped. A retry
        after the package was stored returns the stored one."""
        stored = await self._stored(inp.export_id)
        if stored is not None:
            return stored
        activity.heartbeat("reading")
        with tempfile.TemporaryDirectory(prefix="kanalvakt-records-") as folder:
            try:
                ref = await export_records(self._pool, Path(folder), inp.export,
                                           self._data_keys)
            except LookupError as missing:  # the account went away meanwhile
                raise ApplicationError(str(missing), type="NotFound",
                                       non_retryable=True) from None
            activity.heartbeat("zipping")
            package = await asyncio.to_thread(zip_folder, Path(ref.path))
        finished = datetime.now(UTC)
        await self._pool.execute(
            """
            UPDATE records_exports SET status = 'done', package_id = $2, manifest_sha256 = $3,
                payload_oxum = $4, package = $5, size = $6, finished_at = $7, expires_at = $8
            WHERE export_id = $1::uuid AND status = 'running'
            """, inp.export_id, ref.package_id, ref.manifest_sha256, ref.payload_oxum, package,
            len(package), finished, finished + inp.keep)
        activity.logger.info("records export stored", extra={
            "export_id": inp.export_id, "package_id": ref.package_id, "size": len(package)})
        result = await self._stored(inp.export_id)
        if result is None:
            raise ApplicationError(f"records export {inp.export_id} is not there to store",
                                   type="NotFound", non_retryable=True)
        return result

    @activity.defn(name="finish_records_export")
    async def finish(self, inp: FinishRecordsExportInput) -> None:
        """A failed export gets its reason; an expired one loses its package."""
        await self._pool.execute(
            """
            UPDATE records_exports SET status = $2, error = coalesce($3, error),
                package = NULL, finished_at = coalesce(finished_at, now())
            WHERE export_id = $1::uuid
            """, inp.export_id, inp.status, inp.error)

    async def _stored(self, export_id: str) -> BuildRecordsExportResult | None:
        row = await self._pool.fetchrow(
            "SELECT package_id, manifest_sha256, payload_oxum, size, finished_at, expires_at "
            "FROM records_exports WHERE export_id = $1::uuid AND status = 'done'", export_id)
        if row is None:
            return None
        return BuildRecordsExportResult(**dict(row))


class RecordsExportProgress(BaseModel):
    """What RecordsExportWorkflow's `progress` query answers (and its result)."""

    export_id: str
    status: RecordsExportStatus = "queued"
    step: int = 0  # steps done of `steps`: build and store, then expiry
    steps: int = 2
    package_id: str | None = None
    size: int | None = None
    finished_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    error: str | None = None
