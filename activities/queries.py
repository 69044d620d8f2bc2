"""Reads of the read models for the web app and the archive packages."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


def _row(record: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, str) and key in {"admins", "state"}:
            value = json.loads(value)
        out[key] = str(value) if key == "account_id" else value
    return out


async def public_register(
    pool: asyncpg.Pool, *, municipality_id: str | None = None, account_id: str | None = None,
) -> list[dict[str, Any]]:
    """R-07: official channels with unit, platform, purpose, contact, hours and
    the responsible person (the unit's manager, from the directory)."""
    rows = await pool.fetch(
        """
        SELECT r.account_id, r.municipality_id, m.name AS municipality, r.unit_id,
               u.name AS unit, r.platform, r.account_name, r.handle, r.url, r.purpose,
               r.contact_email, r.monitoring_hours, p.name AS responsible, r.listed_at
        FROM public_register r
        JOIN municipalities m ON m.id = r.municipality_id
        LEFT JOIN units u ON u.municipality_id = r.municipality_id AND u.id = r.unit_id
        LEFT JOIN people p ON p.municipality_id = u.municipality_id AND p.id = u.manager
        WHERE ($1::text IS NULL OR r.municipality_id = $1)
          AND ($2::uuid IS NULL OR r.account_id = $2::uuid)
        ORDER BY m.name, u.name, r.platform, r.account_name
        """,
        municipality_id, account_id,
    )
    return [_row(r) for r in rows]


async def account(pool: asyncpg.Pool, account_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM accounts WHERE account_id = $1::uuid", account_id)
    return _row(row) if row else None


async def accounts(
    pool: asyncpg.Pool, *, municipality_id: str | None = None, stage: str | None = None,
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """
        SELECT account_id, workflow_id, municipality_id, unit_id, platform, account_name, stage,
               handle, url, next_deadline, escalated, requested_at, updated_at, version
        FROM accounts
        WHERE ($1::text IS NULL OR municipality_id = $1) AND ($2::text IS NULL OR stage = $2)
        ORDER BY requested_at DESC
        """,
        municipality_id, stage,
    )
    return [_row(r) for r in rows]


async def timeline(pool: asyncpg.Pool, account_id: str) -> list[dict[str, Any]]:
    """Every event of the account with who and when."""
    rows = await pool.fetch(
        """
        SELECT version, event_type, actor, occurred_at, data
        FROM events WHERE stream_id = 'account-' || $1 ORDER BY version
        """,
        account_id,
    )
    return [_row(r) for r in rows]
