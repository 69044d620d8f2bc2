"""The table of wrapped payload data keys (migration 0015, codec.py): one
row per scope (a workflow id). Only wrapped keys are stored here; wrapping
and unwrapping happen in codec.py with the key-encryption keys from
KANALVAKT_PAYLOAD_KEYS, which never reach the database.

The codec is built before the worker's pool (worker.connect), so the table
opens its own small pool on first use from the database URL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from store.db import connect_options


@dataclass(frozen=True)
class StoredKey:
    scope: str
    municipality_id: str | None
    kek_id: str | None  # None once destroyed
    wrapped: bytes | None  # None once destroyed
    destroyed_at: datetime | None = None


def _row(r: asyncpg.Record) -> StoredKey:
    return StoredKey(scope=r["scope"], municipality_id=r["municipality_id"],
                     kek_id=r["kek_id"], wrapped=None if r["wrapped"] is None else bytes(
                         r["wrapped"]), destroyed_at=r["destroyed_at"])


async def destroy_data_key(conn: asyncpg.Connection, scope: str, reason: str) -> None:
    """Crypto-shredding: the wrapped key is gone; the row records when and
    why. Also for a scope that never had a key, so none can be made for it
    afterwards. On the caller's connection (the disposal's transaction)."""
    await conn.execute(
        """INSERT INTO payload_data_keys (scope, destroyed_at, destroyed_reason)
           VALUES ($1, now(), $2)
           ON CONFLICT (scope) DO UPDATE
             SET wrapped = NULL, kek_id = NULL,
                 destroyed_at = coalesce(payload_data_keys.destroyed_at, now()),
                 destroyed_reason = coalesce(payload_data_keys.destroyed_reason, $2)
        """, scope, reason)


class PayloadKeyTable:
    """asyncpg access to payload_data_keys; `pool` (or one connection, in
    its transaction: a migration) or a DSN to open one lazily."""

    def __init__(self, pool: asyncpg.Pool | asyncpg.Connection | None = None, *,
                 dsn: str | None = None) -> None:
        if pool is None and not dsn:
            raise ValueError("PayloadKeyTable needs a pool or a database URL")
        self._pool = pool
        self._dsn = dsn
        self._opening = asyncio.Lock()

    async def _db(self) -> asyncpg.Pool | asyncpg.Connection:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self._dsn, min_size=0, max_size=4,
                                                            **connect_options(pool=False))
        assert self._pool is not None
        return self._pool

    async def get(self, scopes: Sequence[str]) -> dict[str, StoredKey]:
        rows = await (await self._db()).fetch(
            "SELECT * FROM payload_data_keys WHERE scope = ANY($1::text[])", list(scopes))
        return {r["scope"]: _row(r) for r in rows}

    async def insert(self, scope: str, municipality_id: str | None, kek_id: str,
                     wrapped: bytes) -> StoredKey:
        """The scope's row: this one, or the one another process wrote first."""
        db = await self._db()
        row = await db.fetchrow(
            """INSERT INTO payload_data_keys (scope, municipality_id, kek_id, wrapped)
               VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO NOTHING RETURNING *""",
            scope, municipality_id, kek_id, wrapped)
        if row is None:
            row = await db.fetchrow("SELECT * FROM payload_data_keys WHERE scope = $1", scope)
        assert row is not None
        return _row(row)

    async def destroy(self, scope: str, reason: str) -> None:
        db = await self._db()
        if isinstance(db, asyncpg.Connection):
            await destroy_data_key(db, scope, reason)
            return
        async with db.acquire() as conn:
            await destroy_data_key(conn, scope, reason)

    async def rewrap(self, scope: str, old_kek_id: str, kek_id: str, wrapped: bytes) -> bool:
        result = await (await self._db()).execute(
            """UPDATE payload_data_keys SET kek_id = $3, wrapped = $4
               WHERE scope = $1 AND kek_id = $2 AND wrapped IS NOT NULL""",
            scope, old_kek_id, kek_id, wrapped)
        return result.endswith(" 1")

    async def live(self) -> list[StoredKey]:
        rows = await (await self._db()).fetch(
            "SELECT * FROM payload_data_keys WHERE wrapped IS NOT NULL ORDER BY scope")
        return [_row(r) for r in rows]

    async def close(self) -> None:
        if self._pool is not None and self._dsn:
            await self._pool.close()
            self._pool = None
