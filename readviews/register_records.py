"""R-36: the register of official channels as a record: every channel that
was ever listed, current or removed, with its history in the register (when
it was listed, renamed or moved, and removed) from the accounts' event
streams, and the disposal decision of the municipality's records-management
plan that applies (domain.records_plan, from the directory YAML)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain.records_plan import RegisterDisposal

REGISTER_EVENTS = ("ListedInRegister", "ProfileChanged", "RemovedFromRegister")
_CHANGED = ("name", "handle", "url", "platform_account_id")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _history_entry(row: asyncpg.Record) -> dict[str, Any]:
    data = row["data"] or {}
    changes = {k: data[k] for k in _CHANGED if data.get(k) is not None}
    return {"event": row["event_type"], "at": _iso(row["occurred_at"]), "by": row["actor"],
            "changes": changes}


async def register_records(pool: asyncpg.Pool, municipality_id: str,
                           disposal: RegisterDisposal, *, account_id: str | None = None
                           ) -> dict[str, Any]:
    """The register of `municipality_id` (or only the entry of `account_id`)
    with each entry's history and the disposal decision on the register and
    on each entry (with, for a decision to dispose, the earliest date an
    entry's history may go)."""
    accounts = await pool.fetch(
        """
        SELECT a.account_id, a.stream_id, a.unit_id, u.name AS unit, a.platform,
               a.account_name, a.handle, a.url, a.stage,
               (r.account_id IS NOT NULL) AS listed
        FROM accounts a
        LEFT JOIN units u ON u.municipality_id = a.municipality_id AND u.id = a.unit_id
        LEFT JOIN public_register r ON r.account_id = a.account_id
        WHERE a.municipality_id = $1 AND ($2::uuid IS NULL OR a.account_id = $2::uuid)
          AND EXISTS (SELECT 1 FROM events e WHERE e.stream_id = a.stream_id
                      AND e.event_type = 'ListedInRegister')
        ORDER BY u.name, a.platform, a.account_name
        """, municipality_id, account_id)
    events = await pool.fetch(
        """
        SELECT stream_id, event_type, actor, occurred_at, data FROM events
        WHERE stream_id = ANY($1::text[]) AND event_type = ANY($2::text[])
        ORDER BY stream_id, version
        """, [a["stream_id"] for a in accounts], list(REGISTER_EVENTS))
    history: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        history.setdefault(e["stream_id"], []).append(_history_entry(e))
    decision = disposal.model_dump(mode="json")
    entries = []
    for a in accounts:
        h = history.get(a["stream_id"], [])
        removed = next((x["at"] for x in reversed(h) if x["event"] == "RemovedFromRegister"),
                       None) if not a["listed"] else None
        gone = disposal.dispose_from(datetime.fromisoformat(removed).date()
                                     if removed is not None else None)
        dispose_from = gone.isoformat() if gone is not None else None
        entries.append({
            "account_id": str(a["account_id"]), "unit": a["unit"] or a["unit_id"],
            "platform": a["platform"], "account_name": a["account_name"],
            "handle": a["handle"], "url": a["url"], "listed": a["listed"],
            "listed_at": next((x["at"] for x in h if x["event"] == "ListedInRegister"), None),
            "removed_at": removed, "history": h,
            "disposal": {**decision, "dispose_from": dispose_from},
        })
    return {"municipality_id": municipality_id, "disposal": decision, "entries": entries}


async def account_municipality(pool: asyncpg.Pool, account_id: str) -> str | None:
    """The municipality of an account, or None for no such account."""
    value = await pool.fetchval(
        "SELECT municipality_id FROM accounts WHERE account_id = $1::uuid", account_id)
    return str(value) if value is not None else None
