"""Reads for the intranet's pages (web/): who signs in, what waits for whom.

Rows come out JSON-ready (times as ISO strings, ids as strings), like
activities/queries.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg


def _json(record: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, str) and key == "state":
            value = json.loads(value)
        out[key] = value
    return out


async def people_matching(pool: asyncpg.Pool, who: str, *,
                          municipality_id: str | None = None) -> list[tuple[str, str]]:
    """(municipality, person) of the active people whose e-mail address is
    `who` (case-insensitive), or else whose person id is `who`: how an
    OpenID Connect claim names a person of the directory."""
    rows = await pool.fetch(
        """SELECT municipality_id, id FROM people
           WHERE active AND lower(email) = lower($1)
             AND ($2::text IS NULL OR municipality_id = $2)
           ORDER BY municipality_id, id""",
        who, municipality_id)
    if not rows:
        rows = await pool.fetch(
            """SELECT municipality_id, id FROM people
               WHERE active AND id = lower($1) AND ($2::text IS NULL OR municipality_id = $2)
               ORDER BY municipality_id, id""",
            who, municipality_id)
    return [(r["municipality_id"], r["id"]) for r in rows]


async def people_for_signin(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Every active person with municipality and unit names, for the
    development sign-in's list."""
    rows = await pool.fetch(
        """SELECT p.municipality_id, m.name AS municipality, p.id, p.name,
                  p.unit, u.name AS unit_name
           FROM people p
           JOIN municipalities m ON m.id = p.municipality_id
           LEFT JOIN units u ON u.municipality_id = p.municipality_id AND u.id = p.unit
           WHERE p.active
           ORDER BY m.name, u.name NULLS LAST, p.name""")
    return [_json(r) for r in rows]
