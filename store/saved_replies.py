"""R-27: the saved replies of a municipality and of its accounts
(migrations/0023). Who may keep them is domain.saved_replies's rule, checked
by the web app before it writes here."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from domain.saved_replies import NewSavedReply, SavedReply

_COLUMNS = "id, municipality_id, account_id, language, title, text, created_by, created_at"


def _reply(row: asyncpg.Record) -> SavedReply:
    values: dict[str, Any] = dict(row)
    values["id"] = str(values["id"])
    values["account_id"] = str(values["account_id"]) if values["account_id"] else None
    return SavedReply.model_validate(values)


async def saved_replies(pool: asyncpg.Pool, municipality_id: str,
                        account_id: str | None = None) -> list[SavedReply]:
    """The municipality's saved replies (account_id None) or the account's, in use."""
    rows = await pool.fetch(
        f"""
        SELECT {_COLUMNS} FROM saved_replies
        WHERE municipality_id = $1 AND removed_at IS NULL
          AND account_id IS NOT DISTINCT FROM $2::uuid
        ORDER BY language, title, created_at
        """, municipality_id, account_id)
    return [_reply(r) for r in rows]


async def saved_reply(pool: asyncpg.Pool, reply_id: str) -> SavedReply | None:
    try:
        uuid.UUID(reply_id)
    except ValueError:
        return None
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM saved_replies WHERE id = $1 AND removed_at IS NULL",
        uuid.UUID(reply_id))
    return _reply(row) if row else None


async def add_saved_reply(pool: asyncpg.Pool, municipality_id: str, account_id: str | None,
                          reply: NewSavedReply, created_by: str) -> SavedReply:
    row = await pool.fetchrow(
        f"""
        INSERT INTO saved_replies (id, municipality_id, account_id, language, title, text,
                                   created_by)
        VALUES ($1, $2, $3::uuid, $4, $5, $6, $7)
        RETURNING {_COLUMNS}
        """, uuid.uuid4(), municipality_id, account_id, reply.language, reply.title,
        reply.text, created_by)
    assert row is not None
    return _reply(row)


async def remove_saved_reply(pool: asyncpg.Pool, reply_id: str, removed_by: str) -> bool:
    """Out of use, kept with who removed it and when."""
    done = await pool.execute(
        "UPDATE saved_replies SET removed_by = $2, removed_at = now() "
        "WHERE id = $1 AND removed_at IS NULL", uuid.UUID(reply_id), removed_by)
    return bool(done != "UPDATE 0")
