"""The intake table: where a webhook's messages are written before it is
acknowledged, and from which the feeder starts their cases.

A row that fails never holds the others up (issue 9): it backs off on its own
(`RetryPolicy`: exponential, capped) and is parked after a number of attempts,
or at once when it can never succeed (an impossible date, a row that does not
parse). Parked rows are listed and sent back by hand with `kanalvakt intake`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from domain.inbound import InboundMessage

# What of an InboundMessage is personal data, removed from the row once its
# case has it (the model's defaults stand in: "" and None).
_PERSONAL = "- 'text' - 'author_name' - 'author_id' - 'permalink'"


class IntakeReceipt(BaseModel):
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing row is tried again: after `base`, then twice as
    long each time up to `cap`; parked after `max_attempts` attempts
    (the defaults: about an hour of trying)."""

    max_attempts: int = 10
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=15)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1, 2, ...)."""
        exponent = max(0, min(attempts - 1, 30))
        return min(self.cap, self.base * (2 ** exponent))


@dataclass(frozen=True)
class RowKey:
    platform: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class PendingMessage(BaseModel):
    message: InboundMessage
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class Unreadable:
    """A claimed row whose stored message does not parse (written by an
    older version, or damaged): it can never become a case as it is."""

    key: RowKey
    attempts: int
    reason: str


class ParkedRow(BaseModel):
    platform: str
    external_id: str
    account_ref: str
    received_at: datetime
    attempts: int
    parked_at: datetime
    last_error: str | None


class IntakeStatus(BaseModel):
    pending: int
    waiting_to_retry: int
    parked: int
    oldest_pending: datetime | None


def describe(error: BaseException) -> str:
    """The reason for the log and the row: the error's kind and message,
    never the input (a pydantic error would otherwise quote the text)."""
    if isinstance(error, ValidationError):
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                            for e in error.errors(include_input=False, include_url=False))
        return f"{type(error).__name__}: {details}"[:2000]
    return f"{type(error).__name__}: {error}"[:2000]


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

    async def claim(self, limit: int, *, lease_seconds: float = 60
                    ) -> tuple[list[PendingMessage], list[Unreadable]]:
        """Pending messages whose next attempt is due, oldest first, leased to
        this feeder for a while (several feeders share the work; a feeder that
        dies lets its lease run out and another takes the rows over). Rows
        that no longer parse are returned apart, for the caller to park."""
        rows = await self._pool.fetch(
            """
            UPDATE intake SET attempts = attempts + 1,
                              claimed_until = clock_timestamp() + make_interval(secs => $2)
            WHERE (platform, external_id) IN (
                SELECT platform, external_id FROM intake
                WHERE started_at IS NULL AND parked_at IS NULL
                  AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
                  AND (next_attempt_at IS NULL OR next_attempt_at <= clock_timestamp())
                ORDER BY received_at
                LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING platform, external_id, message, received_at, attempts
            """,
            limit, lease_seconds,
        )
        pending: list[PendingMessage] = []
        unreadable: list[Unreadable] = []
        for r in sorted(rows, key=lambda r: r["received_at"]):
            try:
                message = InboundMessage.model_validate(r["message"])
            except ValidationError as error:
                unreadable.append(Unreadable(RowKey(r["platform"], r["external_id"]),
                                             r["attempts"], describe(error)))
                continue
            pending.append(PendingMessage(message=message, received_at=r["received_at"],
                                          attempts=r["attempts"]))
        return pending, unreadable

    async def mark_started(self, messages: Sequence[InboundMessage], *, at: datetime) -> None:
        """The rows' cases have their receipts: the citizen's text, name and
        platform user id are in the case's own storage now, so the intake row
        keeps only the keys that recognise a redelivery (issue 10: personal
        data is not kept twice, nor for ever)."""
        await self._pool.executemany(
            f"UPDATE intake SET started_at = $3, last_error = NULL, next_attempt_at = NULL, "
            f"message = message {_PERSONAL} WHERE platform = $1 AND external_id = $2",
            [(m.platform.value, m.external_id, at) for m in messages],
        )

    async def mark_failed(self, key: RowKey, error: str, *, attempts: int,
                          policy: RetryPolicy, permanent: bool = False) -> bool:
        """Record a failed attempt: the row waits its turn (backoff), or is
        parked when it can never succeed or has had its attempts. Returns
        whether it was parked."""
        parked = permanent or attempts >= policy.max_attempts
        await self._pool.execute(
            """
            UPDATE intake SET last_error = $3, claimed_until = NULL,
                              failed_at = clock_timestamp(),
                              next_attempt_at = clock_timestamp() + $4::interval,
                              parked_at = CASE WHEN $5 THEN clock_timestamp() END
            WHERE platform = $1 AND external_id = $2 AND started_at IS NULL
            """,
            key.platform, key.external_id, error[:2000], policy.delay(attempts), parked,
        )
        return parked

    async def hand_back(self, keys: Sequence[RowKey]) -> None:
        """Return claimed rows untried (an outage, not their fault): the
        attempt does not count and the lease ends now."""
        await self._pool.execute(
            """
            UPDATE intake SET attempts = greatest(attempts - 1, 0), claimed_until = NULL
            WHERE started_at IS NULL
              AND (platform, external_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """, [k.platform for k in keys], [k.external_id for k in keys])

    async def parked(self, limit: int = 100) -> list[ParkedRow]:
        rows = await self._pool.fetch(
            """
            SELECT platform, external_id, account_ref, received_at, attempts, parked_at,
                   last_error
            FROM intake WHERE parked_at IS NOT NULL AND started_at IS NULL
            ORDER BY parked_at, received_at LIMIT $1
            """, limit)
        return [ParkedRow.model_validate(dict(r)) for r in rows]

    async def retry(self, keys: Sequence[RowKey] | None = None) -> int:
        """Send parked rows back to the feeder (all of them when `keys` is
        None), with a fresh count of attempts; returns how many. The last
        error stays on the row until it starts."""
        where = "parked_at IS NOT NULL AND started_at IS NULL"
        args: list[Any] = []
        if keys is not None:
            where += (" AND (platform, external_id) IN "
                      "(SELECT * FROM unnest($1::text[], $2::text[]))")
            args = [[k.platform for k in keys], [k.external_id for k in keys]]
        result = await self._pool.execute(
            f"UPDATE intake SET parked_at = NULL, attempts = 0, next_attempt_at = NULL, "
            f"claimed_until = NULL WHERE {where}", *args)
        return int(result.split()[-1])

    async def status(self) -> IntakeStatus:
        row = await self._pool.fetchrow(
            """
            SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
                   count(*) FILTER (WHERE parked_at IS NULL
                                    AND next_attempt_at > clock_timestamp()) AS waiting,
                   count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
                   min(received_at) FILTER (WHERE parked_at IS NULL) AS oldest
            FROM intake WHERE started_at IS NULL
            """)
        assert row is not None
        return IntakeStatus(pending=row["pending"], waiting_to_retry=row["waiting"],
                            parked=row["parked"], oldest_pending=row["oldest"])

    async def pending_count(self) -> int:
        return int(await self._pool.fetchval(
            "SELECT count(*) FROM intake WHERE started_at IS NULL AND parked_at IS NULL"))
