"""The outbox (issue 13): what is to be delivered to people and chat
channels, written by a trigger in the transaction of the notification that
causes it (migrations/0019_outbox.sql), and taken by the sender
(outbox_sender.py).

The sender's cycle, each step its own short transaction, so no lock is held
while a mail is on its way:
1. `plan`: new rows get `send_after` from the person's preference (at once,
   or their digest hour on a working day);
2. `claim`: the ready rows of a few recipients are leased (FOR UPDATE SKIP
   LOCKED, so several senders share the work) and grouped into batches, one
   per recipient and channel; a batch keeps its number once given, so a mail
   sent again after a crash has the same Message-ID;
3. `mark_sent` / `mark_failed` after the attempt. A sender that dies between
   the SMTP server's acceptance and `mark_sent` leaves the lease to expire:
   the batch is sent again (at-least-once), recognisable by its Message-ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel

from domain.country import Country
from domain.notify import DeliveryMode, NotificationPreference, send_after


class OutboxRow(BaseModel):
    id: int
    event_id: str
    recipient: str
    channel: str
    municipality_id: str | None
    account_id: str | None
    case_id: str | None
    kind: str
    step: str
    stage: str
    due: datetime | None
    created_at: datetime
    status: str
    send_after: datetime | None
    batch: int | None
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    account_name: str | None = None


@dataclass(frozen=True)
class Batch:
    """Rows delivered together: one mail to one person, or one chat post."""

    number: int
    recipient: str
    channel: str
    municipality_id: str | None
    rows: list[OutboxRow]

    @property
    def attempts(self) -> int:
        return max(r.attempts for r in self.rows)


_COLUMNS = """o.id, o.event_id::text AS event_id, o.recipient, o.channel, o.municipality_id,
    o.account_id::text AS account_id, o.case_id, o.kind, o.step, o.stage, o.due, o.created_at,
    o.status, o.send_after, o.batch, o.attempts, o.last_error, o.sent_at,
    a.account_name"""


def _row(record: asyncpg.Record) -> OutboxRow:
    return OutboxRow.model_validate(dict(record))


class OutboxRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def plan(self, now: datetime, limit: int = 500) -> int:
        """Give new rows their `send_after`; return how many were planned."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT o.id, o.kind, o.channel, o.recipient, o.municipality_id,
                          m.country, m.timezone, p.mode, p.digest_hour
                   FROM outbox o
                   LEFT JOIN municipalities m ON m.id = o.municipality_id
                   LEFT JOIN notification_preferences p
                          ON p.municipality_id = o.municipality_id AND p.person_id = o.recipient
                   WHERE o.status = 'pending' AND o.send_after IS NULL
                   ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED""", limit)
            planned = []
            for r in rows:
                when = now
                if r["channel"] == "email" and r["mode"] is not None and r["country"]:
                    preference = NotificationPreference(mode=DeliveryMode(r["mode"]),
                                                        digest_hour=r["digest_hour"])
                    when = send_after(r["kind"], preference, now, Country(r["country"]),
                                      r["timezone"])
                planned.append((r["id"], when))
            await conn.executemany("UPDATE outbox SET send_after = $2 WHERE id = $1", planned)
        return len(planned)

    async def claim(self, now: datetime, lease: timedelta, recipients: int = 20) -> list[Batch]:
        """Lease the ready rows of up to `recipients` recipients and group
        them into batches (one per recipient and channel: a person's
        catch-up of many steps is one mail)."""
        async with self._pool.acquire() as conn, conn.transaction():
            heads = await conn.fetch(
                """SELECT DISTINCT recipient, channel FROM (
                       SELECT recipient, channel FROM outbox
                       WHERE status = 'pending' AND send_after <= $1
                         AND (leased_until IS NULL OR leased_until < $1)
                       ORDER BY send_after, id LIMIT $2 * 20) ready""", now, recipients)
            heads = heads[:recipients]
            if not heads:
                return []
            ids = await conn.fetch(
                """SELECT id FROM outbox
                   WHERE status = 'pending' AND send_after <= $1
                     AND (leased_until IS NULL OR leased_until < $1)
                     AND (recipient, channel) IN (
                         SELECT * FROM unnest($2::text[], $3::text[]))
                   ORDER BY id FOR UPDATE SKIP LOCKED""",
                now, [h["recipient"] for h in heads], [h["channel"] for h in heads])
            if not ids:
                return []
            taken = [r["id"] for r in ids]
            # A row keeps the batch it was first sent in (its Message-ID);
            # rows new to a recipient join the lowest-numbered new batch.
            await conn.execute(
                """WITH fresh AS (
                       SELECT id, min(id) OVER (PARTITION BY recipient, channel) AS head
                       FROM outbox WHERE id = ANY($1::bigint[]) AND batch IS NULL)
                   UPDATE outbox o SET batch = fresh.head FROM fresh WHERE o.id = fresh.id""",
                taken)
            await conn.execute(
                "UPDATE outbox SET leased_until = $2 WHERE id = ANY($1::bigint[])",
                taken, now + lease)
            records = await conn.fetch(
                f"""SELECT {_COLUMNS} FROM outbox o
                    LEFT JOIN accounts a ON a.account_id = o.account_id
                    WHERE o.id = ANY($1::bigint[]) ORDER BY o.batch, o.id""", taken)
        batches: dict[int, list[OutboxRow]] = {}
        for record in records:
            row = _row(record)
            assert row.batch is not None
            batches.setdefault(row.batch, []).append(row)
        return [Batch(number, rows[0].recipient, rows[0].channel, rows[0].municipality_id, rows)
                for number, rows in batches.items()]

    async def mark_sent(self, batch: Batch, now: datetime) -> None:
        await self._pool.execute(
            """UPDATE outbox SET status = 'sent', sent_at = $2, leased_until = NULL,
                   attempts = attempts + 1, last_error = NULL
               WHERE id = ANY($1::bigint[]) AND status = 'pending'""",
            [r.id for r in batch.rows], now)

    async def mark_failed(self, batch: Batch, error: str, retry_at: datetime | None) -> None:
        """One failed attempt: tried again at `retry_at`, or (None) failed
        for good, an operator's turn."""
        await self._pool.execute(
            """UPDATE outbox SET attempts = attempts + 1, last_error = $2, leased_until = NULL,
                   status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE status END,
                   send_after = coalesce($3, send_after)
               WHERE id = ANY($1::bigint[]) AND status = 'pending'""",
            [r.id for r in batch.rows], error[:500], retry_at)

    async def failed(self, limit: int = 200) -> list[OutboxRow]:
        return [_row(r) for r in await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM outbox o
                LEFT JOIN accounts a ON a.account_id = o.account_id
                WHERE o.status = 'failed' ORDER BY o.id LIMIT $1""", limit)]

    async def listing(self, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
        return [_row(r) for r in await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM outbox o
                LEFT JOIN accounts a ON a.account_id = o.account_id
                WHERE $1::text IS NULL OR o.status = $1
                ORDER BY o.id DESC LIMIT $2""", status, limit)]

    async def retry(self, ids: Sequence[int], now: datetime) -> int:
        """Send failed rows again (by hand): fresh attempts, at once; the
        batch (and so the Message-ID) is kept."""
        result = await self._pool.execute(
            """UPDATE outbox SET status = 'pending', attempts = 0, send_after = $2,
                   leased_until = NULL
               WHERE id = ANY($1::bigint[]) AND status = 'failed'""", list(ids), now)
        return int(result.split()[-1])

    async def counts(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def enqueue_notice(self, *, event_id: str, recipients: Sequence[str],
                             municipality_id: str, kind: str, step: str, now: datetime) -> None:
        """A notice of the system's own (not from the record), e.g. to the
        communications unit that a notification could not be delivered."""
        await self._pool.executemany(
            """INSERT INTO outbox (event_id, recipient, channel, municipality_id, kind, step,
                   stage, created_at)
               VALUES ($1::uuid, $2, 'email', $3, $4, $5, 'outbox', $6)
               ON CONFLICT DO NOTHING""",
            [(event_id, who, municipality_id, kind, step, now) for who in recipients])


# ---- who a recipient is (the directory, their preference)


@dataclass(frozen=True)
class Recipient:
    person_id: str
    municipality_id: str
    name: str
    email: str
    language: str | None
    country: Country
    timezone: str


async def recipient(pool: asyncpg.Pool, municipality_id: str | None,
                    person_id: str) -> Recipient | None:
    row = await pool.fetchrow(
        """SELECT p.id, p.municipality_id, p.name, p.email, m.country, m.timezone,
                  n.language
           FROM people p JOIN municipalities m ON m.id = p.municipality_id
           LEFT JOIN notification_preferences n
                  ON n.municipality_id = p.municipality_id AND n.person_id = p.id
           WHERE p.id = $2 AND ($1::text IS NULL OR p.municipality_id = $1)
           ORDER BY p.active DESC LIMIT 1""", municipality_id, person_id)
    if row is None:
        return None
    return Recipient(row["id"], row["municipality_id"], row["name"], row["email"] or "",
                     row["language"], Country(row["country"]), row["timezone"])


async def municipality_zone(pool: asyncpg.Pool, municipality_id: str | None
                            ) -> tuple[Country, str]:
    row = await pool.fetchrow("SELECT country, timezone FROM municipalities WHERE id = $1",
                              municipality_id)
    return (Country(row["country"]), row["timezone"]) if row else (Country.SE,
                                                                  "Europe/Stockholm")


async def communications_unit(pool: asyncpg.Pool, municipality_id: str) -> list[str]:
    """The communications unit's people (its members and the role holders)."""
    rows = await pool.fetch(
        """SELECT p.id FROM people p JOIN municipalities m ON m.id = p.municipality_id
           WHERE p.municipality_id = $1 AND p.active AND p.unit = m.communications_unit
           UNION
           SELECT person_id FROM roles WHERE municipality_id = $1 AND role = 'communications'
           ORDER BY 1""", municipality_id)
    return [r["id"] for r in rows]


async def preference(pool: asyncpg.Pool, municipality_id: str,
                     person_id: str) -> NotificationPreference:
    row = await pool.fetchrow(
        """SELECT mode, digest_hour, language FROM notification_preferences
           WHERE municipality_id = $1 AND person_id = $2""", municipality_id, person_id)
    if row is None:
        return NotificationPreference()
    return NotificationPreference(mode=DeliveryMode(row["mode"]),
                                  digest_hour=row["digest_hour"], language=row["language"])


async def save_preference(pool: asyncpg.Pool, municipality_id: str, person_id: str,
                          choice: NotificationPreference, now: datetime) -> None:
    await pool.execute(
        """INSERT INTO notification_preferences (municipality_id, person_id, mode, digest_hour,
               language, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (municipality_id, person_id) DO UPDATE SET mode = EXCLUDED.mode,
               digest_hour = EXCLUDED.digest_hour, language = EXCLUDED.language,
               updated_at = EXCLUDED.updated_at""",
        municipality_id, person_id, choice.mode.value, choice.digest_hour, choice.language, now)
    # What waits for the person and was never tried is planned again by the
    # new choice (a digest given up goes at once; a new hour moves it).
    await pool.execute(
        """UPDATE outbox SET send_after = NULL
           WHERE status = 'pending' AND channel = 'email' AND attempts = 0
             AND municipality_id = $1 AND recipient = $2
             AND (leased_until IS NULL OR leased_until < $3)""",
        municipality_id, person_id, now)


@dataclass(frozen=True)
class ChatWebhook:
    municipality_id: str
    unit_id: str
    url: str
    format: str


async def chat_webhook(pool: asyncpg.Pool, scope: str) -> ChatWebhook | None:
    """The webhook of an outbox chat recipient ('<municipality>[/<unit>]')."""
    municipality_id, _, unit_id = scope.partition("/")
    row = await pool.fetchrow(
        "SELECT * FROM chat_webhooks WHERE municipality_id = $1 AND unit_id = $2",
        municipality_id, unit_id)
    return None if row is None else ChatWebhook(row["municipality_id"], row["unit_id"],
                                                row["url"], row["format"])


async def set_chat_webhook(pool: asyncpg.Pool, municipality_id: str, unit_id: str, url: str,
                           fmt: str, now: datetime) -> None:
    await pool.execute(
        """INSERT INTO chat_webhooks (municipality_id, unit_id, url, format, updated_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (municipality_id, unit_id) DO UPDATE SET url = EXCLUDED.url,
               format = EXCLUDED.format, updated_at = EXCLUDED.updated_at""",
        municipality_id, unit_id, url, fmt, now)


async def remove_chat_webhook(pool: asyncpg.Pool, municipality_id: str, unit_id: str) -> bool:
    result = await pool.execute(
        "DELETE FROM chat_webhooks WHERE municipality_id = $1 AND unit_id = $2",
        municipality_id, unit_id)
    return result.endswith(" 1")


def as_dicts(rows: Sequence[OutboxRow]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rows]
