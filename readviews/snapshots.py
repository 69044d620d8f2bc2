"""An account's snapshots and its requests for screenshots (R-37, R-38),
for the account page and the snapshots API."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def screenshot_requests_of(pool: asyncpg.Pool, account_id: str) -> list[dict[str, Any]]:
    """R-37: the account's snapshots that asked for screenshots, newest first."""
    rows = await pool.fetch(
        "SELECT * FROM snapshot_screenshot_requests WHERE account_id = $1::uuid "
        "ORDER BY requested_at DESC, snapshot_id", account_id)
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else
                 str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()}
            for r in rows]


async def snapshots_of(pool: asyncpg.Pool, account_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM snapshots WHERE account_id = $1::uuid ORDER BY taken_at, snapshot_id",
        account_id)
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else
                 str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()}
            for r in rows]


async def snapshots_in_diarium(pool: asyncpg.Pool, municipality_id: str, q: str, *,
                               account_id: str | None = None) -> list[dict[str, Any]]:
    """R-28, R-37: the municipality's registered snapshots whose diarium
    number holds `q` (case and spacing aside), newest first: the diarium
    search finds an account's snapshot by its number too (issue 14)."""
    needle = " ".join(q.split()).lower()
    if not needle:
        return []
    rows = await pool.fetch(
        "SELECT snapshot_id, account_id, reason, taken_at, diarium_number, record_class "
        "FROM snapshots WHERE municipality_id = $1 AND diarium_number IS NOT NULL "
        "AND ($2::uuid IS NULL OR account_id = $2::uuid) "
        "ORDER BY taken_at DESC, snapshot_id", municipality_id, account_id)
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else
                 str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()}
            for r in rows if needle in " ".join(str(r["diarium_number"]).split()).lower()]
