"""The intake table: where a webhook's messages are written before it is
acknowledged, and from which the feeder starts their cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from domain.inbound import InboundMessage


class IntakeReceipt(BaseModel):
    accepted: int
    duplicates: int


class PendingMessage(BaseModel):
    message: InboundMessage
    received_at: datetime
    attempts: int


class IntakeRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def accept(self, messages: Sequence[InboundMessage], *, received_at: datetime
                     ) -> IntakeReceipt:
        """Durably record a delivery's messages, once each: a redelivered
        message is counted as a duplicate and changes nothing."""
        if not messages:
            return IntakeReceipt(accepted=0, duplicates=0)
        rows = [(m.platform.value, m.external_id, m.account_ref, m.model_dump(mode="json"),
                 received_at) for m in messages]
        async with self._pool.acquire() as conn:
            inserted = await conn.fetch(
                """
                INSERT INTO intake (platform, external_id, account_ref, message, received_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[],
                                     $5::timestamptz[])
                ON CONFLICT (platform, external_id) DO NOTHING
                RETURNING external_id
                """,
                *map(list, zip(*rows, strict=True)),
            )
        return IntakeReceipt(accepted=len(inserted), duplicates=len(messages) - len(inserted))

    async def claim(self, limit: int, *, lease_seconds: float = 60) -> list[PendingMessage]:
        """Pending messages, oldest first, leased to this feeder for a while
        (several feeders share the work; a feeder that dies lets its lease
        run out and another takes the rows over)."""
        rows = await self._pool.fetch(
            """
            UPDATE intake SET attempts = attempts + 1,
                              claimed_until = clock_timestamp() + make_interval(secs => $2)
            WHERE (platform, external_id) IN (
                SELECT platform, external_id FROM intake
                WHERE started_at IS NULL
                  AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
                ORDER BY received_at
                LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING message, received_at, attempts
            """,
            limit, lease_seconds,
        )
        return [PendingMessage(message=InboundMessage.model_validate(r["message"]),
                               received_at=r["received_at"], attempts=r["attempts"])
                for r in rows]

    async def mark_started(self, messages: Sequence[InboundMessage], *, at: datetime) -> None:
        await self._pool.executemany(
            "UPDATE intake SET started_at = $3, last_error = NULL "
            "WHERE platform = $1 AND external_id = $2",
            [(m.platform.value, m.external_id, at) for m in messages],
        )

    async def mark_failed(self, message: InboundMessage, error: str) -> None:
        await self._pool.execute(
            "UPDATE intake SET last_error = $3, claimed_until = NULL "
            "WHERE platform = $1 AND external_id = $2",
            message.platform.value, message.external_id, error[:2000],
        )

    async def pending_count(self) -> int:
        return int(await self._pool.fetchval(
            "SELECT count(*) FROM intake WHERE started_at IS NULL"))
