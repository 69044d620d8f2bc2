"""The append-only event store on PostgreSQL (migrations/0001_event_store.sql).

- Optimistic concurrency: the caller says which version it decided on; a
  stale version, or a concurrent writer caught by PRIMARY KEY (stream_id,
  version), is a ConcurrencyConflict and nothing is written.
- Idempotency: every append carries a key; a retried activity gets the first
  attempt's result back (duplicate=True) and writes nothing.
- Projections (read models) are updated in the append's own transaction, so
  a read model never shows a state the record does not hold, and can be
  rebuilt from the events at any time (`rebuild`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict

_COLUMNS = """global_position, stream_id, version, event_id, event_type, schema_version,
    data, actor, causation_id, correlation_id, idempotency_key, occurred_at, recorded_at"""

_INSERT = f"""
INSERT INTO events (stream_id, version, event_id, event_type, schema_version, data,
                    actor, causation_id, correlation_id, idempotency_key, batch_index,
                    occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING {_COLUMNS}
"""

# A read-model table name as a projection declares it: `name` or `schema.name`.
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

_REBUILD_BATCH = 1000
# Issue 13: a rebuild re-creates the notifications, never their delivery: the
# outbox trigger (migrations/0019_outbox.sql) writes nothing while it is set.
REBUILDING = "SET LOCAL kanalvakt.rebuilding = 'on'"

_EVENTS_UNIQUE = ("events_pkey", "events_event_id_key", "events_idempotency_key")


class NewEvent(BaseModel):
    """An event a workflow decided, not yet recorded. Time and id come from
    the workflow (`workflow.now()`, `workflow.uuid4()`), so a replay decides
    the same event."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    event_type: str
    data: dict[str, Any]
    occurred_at: AwareDatetime
    actor: str | None = None
    causation_id: str | None = None
    correlation_id: str | None = None
    schema_version: int = 1


class RecordedEvent(NewEvent):
    """An event as the record holds it."""

    stream_id: str
    version: int
    global_position: int
    idempotency_key: str
    recorded_at: datetime


class AppendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_id: str
    first_version: int
    last_version: int
    duplicate: bool


class ConcurrencyConflict(Exception):
    """The stream moved on since the caller read it: decide again on fresh state."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(stream_id, expected, actual)
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual

    def __str__(self) -> str:
        return (
            f"stream {self.stream_id!r} is at version {self.actual}, "
            f"the append expected {self.expected}"
        )


class UnrecordableEvent(Exception):
    """PostgreSQL cannot hold the event as it is (a NUL or invalid Unicode in
    its data, a value out of range, more than MAX_EVENT_BYTES): a retry would
    fail the same way, so the caller must not retry (issue 9)."""

    def __init__(self, stream_id: str, reason: str) -> None:
        super().__init__(stream_id, reason)
        self.stream_id = stream_id
        self.reason = reason

    def __str__(self) -> str:
        return f"an event for {self.stream_id!r} cannot be recorded: {self.reason}"


# Far above any decision's text (8,000 characters) and below Temporal's
# 2 MB payload limit, which the same events cross on their way here.
MAX_EVENT_BYTES = 1_000_000


def _unrecordable(events: Sequence[NewEvent]) -> str | None:
    """Why one of `events` cannot be written, found before the transaction."""
    for event in events:
        try:
            size = len(json.dumps(event.data, default=str, ensure_ascii=False).encode("utf-8"))
        except (UnicodeEncodeError, TypeError, ValueError) as error:
            return f"{event.event_type}: {type(error).__name__}"
        if size > MAX_EVENT_BYTES:
            return f"{event.event_type}: {size} bytes, more than {MAX_EVENT_BYTES}"
        for value in (event.event_type, event.actor, event.causation_id, event.correlation_id):
            if value is not None and ("\x00" in value or _SURROGATE.search(value)):
                return f"{event.event_type}: a NUL or lone surrogate in its metadata"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


class Projection(Protocol):
    """A read model kept up to date from the events.

    `apply` runs inside the append's transaction (and inside `rebuild`'s), on
    the connection it is given; it must only write its own `tables`, which
    `rebuild` empties before replaying every event."""

    @property
    def tables(self) -> tuple[str, ...]: ...

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None: ...


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    fields = dict(row)
    # asyncpg's own UUID subclass, made a plain uuid.UUID like everywhere else.
    fields["event_id"] = UUID(bytes=row["event_id"].bytes)
    return RecordedEvent.model_validate(fields)


class EventStore:
    def __init__(self, pool: asyncpg.Pool, projections: Sequence[Projection] = ()) -> None:
        self._pool = pool
        self._projections = tuple(projections)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        idempotency_key: str,
    ) -> AppendResult:
        """Record `events` as versions expected_version+1.. of the stream, once.

        `expected_version` is the version the decision was made on (0 for a
        new stream). Raises ConcurrencyConflict if the stream is elsewhere."""
        if not events:
            raise ValueError("append needs at least one event")
        if expected_version < 0:
            raise ValueError("expected_version must be 0 or more")
        reason = _unrecordable(events)
        if reason is not None:
            raise UnrecordableEvent(stream_id, reason)
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    earlier = await self._earlier_result(conn, stream_id, idempotency_key)
                    if earlier is not None:
                        return earlier
                    current = await self._version(conn, stream_id)
                    if current != expected_version:
                        # The same append, retried concurrently, may have
                        # committed between the key check and this read.
                        earlier = await self._earlier_result(conn, stream_id, idempotency_key)
                        if earlier is not None:
                            return earlier
                        raise ConcurrencyConflict(stream_id, expected_version, current)
                    recorded: list[RecordedEvent] = []
                    for index, event in enumerate(events):
                        row = await conn.fetchrow(
                            _INSERT,
                            stream_id,
                            expected_version + 1 + index,
                            event.event_id,
                            event.event_type,
                            event.schema_version,
                            event.data,
                            event.actor,
                            event.causation_id,
                            event.correlation_id,
                            idempotency_key,
                            index,
                            event.occurred_at,
                        )
                        recorded.append(_recorded(row))
                    for recorded_event in recorded:
                        await self._project(conn, recorded_event)
                    return AppendResult(
                        stream_id=stream_id,
                        first_version=recorded[0].version,
                        last_version=recorded[-1].version,
                        duplicate=False,
                    )
            except (asyncpg.DataError, asyncpg.ProgramLimitExceededError) as exc:
                # A NUL ("unsupported Unicode escape sequence") or another
                # value PostgreSQL refuses, in the events or a projection.
                raise UnrecordableEvent(stream_id, f"{type(exc).__name__}: {exc}") from exc
            except asyncpg.UniqueViolationError as exc:
                # A concurrent writer committed first; our transaction is rolled
                # back. If it was the same append retried (same key), its result
                # is ours. The key is checked before the stream because the
                # primary key index can report the clash first.
                if exc.constraint_name not in _EVENTS_UNIQUE:
                    raise
                earlier = await self._earlier_result(conn, stream_id, idempotency_key)
                if earlier is not None:
                    return earlier
                if exc.constraint_name == "events_pkey":
                    actual = await self._version(conn, stream_id)
                    raise ConcurrencyConflict(stream_id, expected_version, actual) from exc
                raise

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """The stream's events after `after_version`, oldest first."""
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM events
                WHERE stream_id = $1 AND version > $2 ORDER BY version""",
            stream_id,
            after_version,
        )
        return [_recorded(r) for r in rows]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's last version; 0 if it has no events."""
        async with self._pool.acquire() as conn:
            return await self._version(conn, stream_id)

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events after `after_position` in global order, safe for a follower
        that remembers the last position it saw.

        Positions are handed out when a row is inserted, not when its
        transaction commits: a transaction holding position 7 can commit after
        one holding 8. A follower that read 8 and moved its checkpoint past 7
        would skip 7 for ever. So only events of transactions older than every
        transaction still running are returned: `tx_id <
        pg_snapshot_xmin(pg_current_snapshot())`. Every such transaction has
        ended, so no event with a smaller position can still appear, and the
        result is a gap-free prefix. The price is latency, never loss: a
        long-running transaction anywhere on the server holds followers back
        until it ends. (Projections updated inside the append don't need
        this; it is for readers that follow the log afterwards.)"""
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM events
                WHERE global_position > $1
                  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY global_position
                LIMIT $2""",
            after_position,
            limit,
        )
        return [_recorded(r) for r in rows]

    async def rebuild(self) -> int:
        """Empty every projection's tables and replay all events through them;
        return how many events were replayed.

        One transaction: readers see the old read models until it commits, and
        the SHARE lock on events holds appends back meanwhile, so no event is
        projected twice or missed."""
        tables = list(dict.fromkeys(t for p in self._projections for t in p.tables))
        for table in tables:
            if not _TABLE_NAME.match(table):
                raise ValueError(f"not a table name: {table!r}")
        count = 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE events IN SHARE MODE")
            await conn.execute(REBUILDING)
            if tables:
                await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
            position = 0
            while True:
                # Batches by position (keyset), so memory stays flat however
                # long the record grows.
                rows = await conn.fetch(
                    f"""SELECT {_COLUMNS} FROM events WHERE global_position > $1
                        ORDER BY global_position LIMIT $2""",
                    position,
                    _REBUILD_BATCH,
                )
                if not rows:
                    break
                for row in rows:
                    await self._project(conn, _recorded(row))
                count += len(rows)
                position = rows[-1]["global_position"]
        return count

    async def _project(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        for projection in self._projections:
            await projection.apply(conn, event)

    @staticmethod
    async def _version(conn: asyncpg.Connection, stream_id: str) -> int:
        version = await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(version)

    @staticmethod
    async def _earlier_result(
        conn: asyncpg.Connection, stream_id: str, idempotency_key: str
    ) -> AppendResult | None:
        row = await conn.fetchrow(
            """SELECT stream_id, min(version) AS first_version, max(version) AS last_version
               FROM events WHERE idempotency_key = $1 GROUP BY stream_id""",
            idempotency_key,
        )
        if row is None:
            return None
        if row["stream_id"] != stream_id:
            # Returning the other stream's result would silently drop this append.
            raise ValueError(
                f"idempotency key {idempotency_key!r} was used for stream "
                f"{row['stream_id']!r}, not {stream_id!r}"
            )
        return AppendResult(
            stream_id=stream_id,
            first_version=row["first_version"],
            last_version=row["last_version"],
            duplicate=True,
        )
