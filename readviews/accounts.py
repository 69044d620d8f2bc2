"""Reads of the account read models for the web app and the archive packages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from domain import account as acc
from domain.records_plan import RecordsPlan


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
    the responsible person (the unit's manager, from the directory).

    R-39: `crisis` is null, or, while a crisis covers the account's unit, the
    notice the account points to (the website and phone come first) with the
    municipality's crisis website and phone, from the crisis_modes read model
    (at most one crisis in force per municipality).

    R-36: `disposal` is the records-management plan's decision on the
    register (its line, class, kept or disposed of after N years, decision),
    as the registrar's page `/records/register` shows it."""
    rows = await pool.fetch(
        """
        SELECT r.account_id, r.municipality_id, m.name AS municipality, r.unit_id,
               u.name AS unit, r.platform, r.account_name, r.handle, r.url, r.purpose,
               r.contact_email, r.monitoring_hours, p.name AS responsible, r.listed_at,
               cm.mode->>'notice' AS crisis_notice, cm.declared_at AS crisis_since,
               m.crisis_policy->>'website' AS crisis_website,
               m.crisis_policy->>'phone' AS crisis_phone, m.records_plan
        FROM public_register r
        JOIN municipalities m ON m.id = r.municipality_id
        LEFT JOIN units u ON u.municipality_id = r.municipality_id AND u.id = r.unit_id
        LEFT JOIN people p ON p.municipality_id = u.municipality_id AND p.id = u.manager
        LEFT JOIN crisis_modes cm ON cm.municipality_id = r.municipality_id
             AND cm.ended_at IS NULL
             AND (cardinality(cm.units) = 0 OR r.unit_id = ANY(cm.units))
        WHERE ($1::text IS NULL OR r.municipality_id = $1)
          AND ($2::uuid IS NULL OR r.account_id = $2::uuid)
        ORDER BY m.name, u.name, r.platform, r.account_name
        """,
        municipality_id, account_id,
    )
    return [_with_disposal(_with_crisis(_row(r))) for r in rows]


def _with_disposal(entry: dict[str, Any]) -> dict[str, Any]:
    plan = RecordsPlan.model_validate(entry.pop("records_plan") or {})
    entry["disposal"] = plan.channels.model_dump(mode="json")
    return entry


def _with_crisis(entry: dict[str, Any]) -> dict[str, Any]:
    notice, since = entry.pop("crisis_notice"), entry.pop("crisis_since")
    website, phone = entry.pop("crisis_website"), entry.pop("crisis_phone")
    entry["crisis"] = None if notice is None else {
        "notice": notice, "website": website, "phone": phone, "since": since}
    return entry


async def account(pool: asyncpg.Pool, account_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM accounts WHERE account_id = $1::uuid", account_id)
    return _row(row) if row else None


class AccountRecord(NamedTuple):
    """An account's row in the accounts read model (JSON-ready, as the API
    answers it) with its folded state, typed."""

    row: dict[str, Any]
    state: acc.AccountState


def account_record_of(row: dict[str, Any]) -> AccountRecord:
    """The row (from `account` or `readviews.people.live_accounts`) with its
    state read into `domain.account.AccountState`."""
    return AccountRecord(row, acc.AccountState.model_validate(row["state"]))


async def account_record(pool: asyncpg.Pool, account_id: str) -> AccountRecord | None:
    row = await account(pool, account_id)
    return None if row is None else account_record_of(row)


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


async def timeline(pool: asyncpg.Pool, account_id: str, *, before: int | None = None,
                   limit: int | None = None, since: datetime | None = None
                   ) -> list[dict[str, Any]]:
    """The account's events with who and when, oldest first: every one, or
    the `limit` newest before version `before`, or those since `since`. An
    account's stream numbers its events 1, 2, 3... (the version), so a page
    is a range of versions."""
    rows = await pool.fetch(
        """
        SELECT * FROM (
            SELECT version, event_type, actor, occurred_at, data
            FROM events
            WHERE stream_id = 'account-' || $1 AND ($2::bigint IS NULL OR version < $2)
              AND ($4::timestamptz IS NULL OR occurred_at >= $4)
            ORDER BY version DESC LIMIT $3
        ) newest ORDER BY version
        """,
        account_id, before, limit, since,
    )
    return [_row(r) for r in rows]


async def timeline_length(pool: asyncpg.Pool, account_id: str) -> int:
    """How many events the account has (its stream's version)."""
    count: int | None = await pool.fetchval(
        "SELECT max(version) FROM events WHERE stream_id = 'account-' || $1", account_id)
    return count or 0


async def register_entry(pool: asyncpg.Pool, account_id: str) -> dict[str, Any] | None:
    """One account's entry in the public register, as published (R-07)."""
    entries = await public_register(pool, account_id=account_id)
    return entries[0] if entries else None
