"""Records exports (R-38) run by RecordsExportWorkflow: the row the web
writes when it starts one, read back for its progress and its package (the
bag as a zip, stored by the worker: activities/records_export.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

_COLUMNS = ("export_id, workflow_id, municipality_id, account_id, period_start, period_end, "
            "requested_by, requested_at, status, package_id, manifest_sha256, payload_oxum, "
            "size, error, finished_at, expires_at")


async def insert_records_export(pool: asyncpg.Pool, export_id: str, workflow_id: str, *,
                                municipality_id: str, account_id: str | None, start: date,
                                end: date, requested_by: str, requested_at: datetime) -> None:
    await pool.execute(
        """
        INSERT INTO records_exports (export_id, workflow_id, municipality_id, account_id,
            period_start, period_end, requested_by, requested_at)
        VALUES ($1::uuid, $2, $3, $4::uuid, $5, $6, $7, $8)
        """, export_id, workflow_id, municipality_id, account_id, start, end, requested_by,
        requested_at)


async def records_export_row(pool: asyncpg.Pool, export_id: str) -> dict[str, Any] | None:
    """The export's row as JSON values (without its package)."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM records_exports WHERE export_id = $1::uuid", export_id)
    if row is None:
        return None
    return {k: (v.isoformat() if isinstance(v, date | datetime)
                else str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


async def records_export_package(pool: asyncpg.Pool, export_id: str) -> bytes | None:
    raw = await pool.fetchval(
        "SELECT package FROM records_exports WHERE export_id = $1::uuid AND status = 'done'",
        export_id)
    return None if raw is None else bytes(raw)


async def records_exports_of(pool: asyncpg.Pool, municipality_id: str,
                             limit: int = 20) -> list[dict[str, Any]]:
    """The municipality's latest exports, newest first (the registrars' page)."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM records_exports WHERE municipality_id = $1 "
        "ORDER BY requested_at DESC, export_id LIMIT $2", municipality_id, limit)
    return [{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()}
            for r in rows]


async def fail_records_export(pool: asyncpg.Pool, export_id: str, error: str) -> None:
    """An export whose workflow could not be started: failed, with why."""
    await pool.execute(
        "UPDATE records_exports SET status = 'failed', error = $2, finished_at = now() "
        "WHERE export_id = $1::uuid AND status = 'running'", export_id, error[:500])
