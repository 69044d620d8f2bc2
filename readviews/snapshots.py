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

