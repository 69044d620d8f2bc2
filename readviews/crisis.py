"""Crisis mode (R-39) and storm flags (R-40): the reads the feeder, the
crisis activities and the web app need, from the crisis read models and the
crisis stream."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from codec import DataKeys
from domain import crisis as cr
from domain.crisis_mode import CrisisMode
from domain.screening import StormPolicy, WindowCounts, counted_minutes
from store.message_contents import with_contents


async def crisis_settings(pool: asyncpg.Pool, municipality_id: str) -> cr.CrisisSettings | None:
    """The municipality's crisis settings and roles as the directory holds them."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT crisis_policy, country, social_media_policy_url FROM municipalities "
            "WHERE id = $1", municipality_id)
        if row is None:
            return None
        roles = await conn.fetch(
            """SELECT r.role, r.person_id FROM roles r
               JOIN people p ON p.municipality_id = r.municipality_id AND p.id = r.person_id
               WHERE r.municipality_id = $1 AND p.active""", municipality_id)
        units = await conn.fetch("SELECT id FROM units WHERE municipality_id = $1 AND active",
                                 municipality_id)
    return cr.CrisisSettings(
        municipality_id=municipality_id,
        policy=cr.CrisisPolicy.model_validate(row["crisis_policy"] or {}),
        crisis_management=frozenset(r["person_id"] for r in roles
                                    if r["role"] == "crisis_management"),
        communications=frozenset(r["person_id"] for r in roles if r["role"] == "communications"),
        units=frozenset(u["id"] for u in units),
        country=row["country"], home_page=_home_page(row["social_media_policy_url"]))


def _home_page(policy_url: str | None) -> str | None:
    """R-39: the municipality's own website, the origin of its policy page."""
    if not policy_url:
        return None
    parts = urlsplit(policy_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme == "https" else None


async def crisis_record(pool: asyncpg.Pool, municipality_id: str) -> cr.CrisisState | None:
    """The crisis stream folded: what a (re)started crisis workflow carries on."""
    rows = await pool.fetch("SELECT data FROM events WHERE stream_id = $1 ORDER BY version",
                            cr.workflow_id_for(municipality_id))
    if not rows:
        return None
    return cr.fold([cr.parse_event(r["data"]) for r in rows])


async def current_crisis(pool: asyncpg.Pool, municipality_id: str) -> CrisisMode | None:
    mode = await pool.fetchval(
        "SELECT mode FROM crisis_modes WHERE municipality_id = $1 AND ended_at IS NULL",
        municipality_id)
    return None if mode is None else CrisisMode.model_validate(mode)


async def covering_crisis(pool: asyncpg.Pool, municipality_id: str, unit_id: str
                          ) -> CrisisMode | None:
    """R-39: the crisis in force for a unit's accounts, if any."""
    mode = await current_crisis(pool, municipality_id)
    return mode if mode is not None and mode.covers(unit_id) else None


async def storm_cooldown_until(pool: asyncpg.Pool, account_id: str) -> datetime | None:
    until: datetime | None = await pool.fetchval(
        """SELECT max(cooldown_until) FROM crisis_storms
           WHERE account_id = $1::uuid AND cooled_down_at IS NULL""", account_id)
    return until


async def window_counts(pool: asyncpg.Pool, account_id: str, now: datetime,
                        policy: StormPolicy) -> WindowCounts:
    """R-40: the account's citizen messages in the storm window ending at
    `now`, from the per-minute counts (at most a window's minutes read)."""
    first, last = counted_minutes(now, policy)
    row = await pool.fetchrow(
        """SELECT coalesce(sum(messages), 0) AS messages, coalesce(sum(critical), 0) AS critical
           FROM storm_counts WHERE account_id = $1::uuid AND minute BETWEEN $2 AND $3""",
        account_id, first, last)
    assert row is not None
    return WindowCounts(window_start=now - policy.window, window_end=now,
                        messages=row["messages"], critical=row["critical"])


async def digests(pool: asyncpg.Pool, municipality_id: str, *, crisis_id: str | None = None,
                  texts: bool = False, data_keys: DataKeys | None = None
                  ) -> list[dict[str, Any]]:
    """R-39: the digests, newest first; with `texts`, the questions' texts from
    the content store, opened with `data_keys` (None once disposed), for
    crisis management's page."""
    rows = await pool.fetch(
        """SELECT digest FROM crisis_digests WHERE municipality_id = $1
             AND ($2::text IS NULL OR crisis_id = $2) ORDER BY period_end DESC""",
        municipality_id, crisis_id)
    out = [dict(r["digest"]) for r in rows]
    if texts:
        ids = sorted({i for d in out for i in d["question_case_ids"]})
        rows = await pool.fetch(
            "SELECT case_id, content FROM message_contents WHERE case_id = ANY($1::text[])", ids)
        found = {r["case_id"]: r["text"]
                 for r in await with_contents(data_keys, [dict(r) for r in rows])}
        for d in out:
            d["questions_text"] = [{"case_id": i, "text": found.get(i)}
                                   for i in d["question_case_ids"]]
    return out


async def crises(pool: asyncpg.Pool, municipality_id: str | None = None, *,
                 current: bool = False) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT crisis_id, municipality_id, units, mode, reason, declared_by, declared_at,
                  ended_by, ended_at, end_reason FROM crisis_modes
           WHERE ($1::text IS NULL OR municipality_id = $1) AND (NOT $2 OR ended_at IS NULL)
           ORDER BY declared_at DESC""", municipality_id, current)
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in rows]


async def storms(pool: asyncpg.Pool, municipality_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT s.*, a.account_name FROM crisis_storms s
           LEFT JOIN accounts a ON a.account_id = s.account_id
           WHERE s.municipality_id = $1 ORDER BY flagged_at DESC""", municipality_id)
    return [{k: (v.isoformat() if isinstance(v, datetime) else str(v)
                 if isinstance(v, uuid.UUID) else v) for k, v in r.items()} for r in rows]
