"""The event store against a real PostgreSQL: versions, conflicts,
idempotency, append-only, gap-free reading and rebuilding read models."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from store.db import create_pool, migrate, migration_files
from store.eventstore import (
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from tests.conftest import database_url_for

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def event(event_type: str = "AccountRequested", **data: object) -> NewEvent:
    return NewEvent(
        event_id=uuid4(),
        event_type=event_type,
        data=dict(data),
        occurred_at=T0,
        actor="anna.lind",
        correlation_id="account:exempelby:biblioteket",
    )


async def count_events(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM events")


async def wait_until_blocked(pool: asyncpg.Pool) -> None:
    """Until some session of this database waits for a lock."""
    for _ in range(500):
        waiting = await pool.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock'"""
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no session ever waited for a lock")


# --- migrations -------------------------------------------------------------


async def test_migrations_are_recorded_and_applied_once(database_url: str) -> None:
    assert await migrate(database_url) == []  # the template already has them all
    conn = await asyncpg.connect(database_url)
    try:
        recorded = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
    finally:
        await conn.close()
    assert sorted(recorded) == [p.name for p in migration_files()]


async def test_two_processes_migrating_at_once_apply_each_migration_once(pg_server: str) -> None:
    name = f"kv_{uuid4().hex}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        url = database_url_for(pg_server, name)
        first, second = await asyncio.gather(migrate(url), migrate(url))
        assert sorted(first + second) == [p.name for p in migration_files()]
        assert not (first and second)  # the advisory lock let one do all the work
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


# --- append and read --------------------------------------------------------


async def test_append_and_read_back_round_trip(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    requested = event("AccountRequested", platform="facebook", purpose="Bibliotekets nyheter")
    approved = NewEvent(
        event_id=uuid4(),
        event_type="AccountApproved",
        data={"by": "anna.lind", "nested": {"list": [1, 2, 3], "å": "ö"}},
        occurred_at=T0 + timedelta(hours=1),
        actor="anna.lind",
        causation_id="update:approve:1",
        correlation_id="account:exempelby:biblioteket",
        schema_version=2,
    )

    result = await store.append("account:exempelby:biblioteket", 0, [requested, approved], "k1")

    assert (result.first_version, result.last_version, result.duplicate) == (1, 2, False)
    got = await store.read_stream("account:exempelby:biblioteket")
    assert [e.version for e in got] == [1, 2]
    assert all(isinstance(e, RecordedEvent) for e in got)
    # Everything given comes back unchanged, JSON data as dicts.
    for sent, recorded in zip([requested, approved], got, strict=True):
        assert recorded.model_dump(include=set(NewEvent.model_fields)) == sent.model_dump()
        assert recorded.idempotency_key == "k1"
        assert recorded.stream_id == "account:exempelby:biblioteket"
        assert recorded.recorded_at.tzinfo is not None
    assert got[1].data["nested"] == {"list": [1, 2, 3], "å": "ö"}
    assert got[0].global_position < got[1].global_position
    assert await store.stream_version("account:exempelby:biblioteket") == 2
    assert await store.stream_version("no-such-stream") == 0
    assert [e.version for e in await store.read_stream("account:exempelby:biblioteket", 1)] == [2]

    more = await store.append("account:exempelby:biblioteket", 2, [event("AccountSignedOff")], "k2")
    assert (more.first_version, more.last_version) == (3, 3)


async def test_an_empty_append_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError):
        await EventStore(pool).append("s", 0, [], "k")


async def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError):
        NewEvent(event_id=uuid4(), event_type="X", data={}, occurred_at=datetime(2025, 1, 1))


# --- optimistic concurrency -------------------------------------------------


async def test_a_stale_expected_version_conflicts_and_writes_nothing(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("s", 0, [event(), event()], "first")

    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append("s", 1, [event("Late")], "stale")

    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("s", 1, 2)
    assert await count_events(pool) == 2
    with pytest.raises(ConcurrencyConflict):
        await store.append("s", 5, [event("Ahead")], "ahead")
    assert await count_events(pool) == 2


async def test_two_concurrent_appends_at_the_same_version_exactly_one_wins(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    await store.append("s", 0, [event()], "start")

    for round_ in range(10):
        version = await store.stream_version("s")
        outcomes = await asyncio.gather(
            store.append("s", version, [event("A")], f"a{round_}"),
            store.append("s", version, [event("B")], f"b{round_}"),
            return_exceptions=True,
        )
        conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(wins) == 1 and len(conflicts) == 1, outcomes
        assert wins[0].first_version == version + 1
        assert conflicts[0].actual == version + 1
    assert await store.stream_version("s") == 11
    assert await count_events(pool) == 11


async def test_the_conflict_caught_by_the_primary_key(pool: asyncpg.Pool) -> None:
    """The version check passes in both transactions; the second insert waits
    on the first's row and then hits PRIMARY KEY (stream_id, version)."""
    async with Gate() as gate:
        slow = EventStore(pool, [gate])
        fast = EventStore(pool)
        first = asyncio.create_task(slow.append("s", 0, [event("Slow")], "slow"))
        await gate.entered.wait()  # slow has inserted version 1, not yet committed
        second = asyncio.create_task(fast.append("s", 0, [event("Fast")], "fast"))
        await wait_until_blocked(pool)  # fast saw version 0 and waits on slow's row
        gate.release.set()

    assert (await first).last_version == 1
    with pytest.raises(ConcurrencyConflict) as caught:
        await second
    assert caught.value.actual == 1
    assert [e.event_type for e in await fast.read_stream("s")] == ["Slow"]


# --- idempotency ------------------------------------------------------------


async def test_a_retried_append_writes_once(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    batch = [event("MessageReceived"), event("MessageRegistered")]

    first = await store.append("message:facebook:1", 0, batch, "activity-7")
    retry = await store.append("message:facebook:1", 0, batch, "activity-7")

    assert (first.first_version, first.last_version, first.duplicate) == (1, 2, False)
    assert (retry.first_version, retry.last_version, retry.duplicate) == (1, 2, True)
    assert await count_events(pool) == 2
    # Even after the stream moved on, the retry still gets its own result.
    await store.append("message:facebook:1", 2, [event("MessageAnswered")], "activity-8")
    late = await store.append("message:facebook:1", 0, batch, "activity-7")
    assert (late.first_version, late.last_version, late.duplicate) == (1, 2, True)


async def test_concurrent_identical_retries_write_once(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    batch = [event("MessageReceived")]
    results = await asyncio.gather(
        *(store.append("message:facebook:2", 0, batch, "activity-9") for _ in range(4))
    )
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert {(r.first_version, r.last_version) for r in results} == {(1, 1)}
    assert await count_events(pool) == 1


async def test_an_idempotency_key_reused_for_another_stream_is_an_error(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    await store.append("a", 0, [event()], "same-key")
    with pytest.raises(ValueError, match="same-key"):
        await store.append("b", 0, [event()], "same-key")
    assert await store.stream_version("b") == 0


# --- append-only ------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{\"edited\": true}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_recorded_events_cannot_be_changed_or_removed(
    pool: asyncpg.Pool, statement: str
) -> None:
    store = EventStore(pool)
    await store.append("s", 0, [event(text="original")], "k")

    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await pool.execute(statement)

    [kept] = await store.read_stream("s")
    assert kept.data == {"text": "original"}


# --- reading the whole log --------------------------------------------------


async def test_read_all_returns_every_stream_in_global_order(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append("a", 0, [event("A1"), event("A2")], "k1")
    await store.append("b", 0, [event("B1")], "k2")
    await store.append("a", 2, [event("A3")], "k3")

    everything = await store.read_all()
    assert [e.event_type for e in everything] == ["A1", "A2", "B1", "A3"]
    positions = [e.global_position for e in everything]
    assert positions == sorted(positions)

    page = await store.read_all(after_position=positions[0], limit=2)
    assert [e.event_type for e in page] == ["A2", "B1"]
    assert await store.read_all(after_position=positions[-1]) == []


async def test_read_all_never_skips_an_event_committed_late(pool: asyncpg.Pool) -> None:
    """Position A < B, but B commits first. A follower must not see B before A
    (it would checkpoint past A and never see it); read_all holds B back
    until A's transaction has ended."""
    async with Gate() as gate:
        slow = EventStore(pool, [gate])
        fast = EventStore(pool)
        a = asyncio.create_task(slow.append("a", 0, [event("A")], "ka"))
        await gate.entered.wait()  # A is inserted (position taken), its transaction open
        await fast.append("b", 0, [event("B")], "kb")  # another connection: B committed

        committed = await pool.fetch("SELECT event_type FROM events")
        assert [r["event_type"] for r in committed] == ["B"]  # a naive reader sees B ...
        assert await fast.read_all() == []  # ... the follower sees nothing yet
        gate.release.set()
        await a

    after = await fast.read_all()
    assert [e.event_type for e in after] == ["A", "B"]
    assert after[0].global_position < after[1].global_position


# --- projections and rebuild ------------------------------------------------


class Gate:
    """A projection that stops inside the append's transaction until released.

    Use as `async with Gate() as gate:` so a failing test still opens it and
    the blocked transaction ends."""

    tables: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        self.entered.set()
        await asyncio.wait_for(self.release.wait(), timeout=30)

    async def __aenter__(self) -> Gate:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()


class EventsPerStream:
    """A tiny read model: how many events each stream has, and the last type."""

    tables = ("test_events_per_stream",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        await conn.execute(
            """INSERT INTO test_events_per_stream (stream_id, events, last_type)
               VALUES ($1, 1, $2)
               ON CONFLICT (stream_id) DO UPDATE
               SET events = test_events_per_stream.events + 1, last_type = excluded.last_type""",
            event.stream_id,
            event.event_type,
        )


async def create_read_model(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """CREATE TABLE test_events_per_stream (
               stream_id text PRIMARY KEY, events int NOT NULL, last_type text NOT NULL)"""
    )


async def read_model(pool: asyncpg.Pool) -> list[tuple[str, int, str]]:
    rows = await pool.fetch("SELECT * FROM test_events_per_stream ORDER BY stream_id")
    return [(r["stream_id"], r["events"], r["last_type"]) for r in rows]


async def test_projections_update_in_the_append_transaction(pool: asyncpg.Pool) -> None:
    await create_read_model(pool)
    store = EventStore(pool, [EventsPerStream()])
    await store.append("a", 0, [event("A1"), event("A2")], "k1")
    assert await read_model(pool) == [("a", 2, "A2")]

    class Failing:
        tables = ()

        async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
            raise RuntimeError("read model broke")

    broken = EventStore(pool, [EventsPerStream(), Failing()])
    with pytest.raises(RuntimeError):
        await broken.append("a", 2, [event("A3")], "k2")
    # The event and the read model stand or fall together.
    assert await store.stream_version("a") == 2
    assert await read_model(pool) == [("a", 2, "A2")]


async def test_rebuild_reproduces_the_live_read_model(pool: asyncpg.Pool) -> None:
    await create_read_model(pool)
    store = EventStore(pool, [EventsPerStream()])
    total = 0
    for n, stream in enumerate(["a", "b", "c", "a", "b", "a"]):
        version = await store.stream_version(stream)
        batch = [event(f"{stream.upper()}{version + i + 1}") for i in range(n % 3 + 1)]
        await store.append(stream, version, batch, f"k{n}")
        total += len(batch)
    # Events appended without the projection (written before it existed).
    await EventStore(pool).append("d", 0, [event("D1")], "no-projection")
    live = await read_model(pool)
    await pool.execute("UPDATE test_events_per_stream SET events = -1")  # drifted

    replayed = await store.rebuild()

    assert replayed == total + 1
    assert await read_model(pool) == sorted([*live, ("d", 1, "D1")])


async def test_rebuild_replays_in_batches_larger_than_one(pool: asyncpg.Pool) -> None:
    """More events than one rebuild batch (1000), to cross a batch boundary."""
    await create_read_model(pool)
    plain = EventStore(pool)
    for i in range(26):
        await plain.append(f"s{i}", 0, [event(f"E{j}") for j in range(50)], f"k{i}")

    replayed = await EventStore(pool, [EventsPerStream()]).rebuild()

    assert replayed == 1300
    model = await read_model(pool)
    assert len(model) == 26 and {events for _, events, _ in model} == {50}


async def test_rebuild_holds_appends_back_until_it_commits(pool: asyncpg.Pool) -> None:
    await create_read_model(pool)
    store = EventStore(pool, [EventsPerStream()])
    await store.append("a", 0, [event("A1")], "k1")

    async with Gate() as gate:
        rebuilding = asyncio.create_task(EventStore(pool, [gate, EventsPerStream()]).rebuild())
        await gate.entered.wait()  # inside the rebuild's transaction, events locked
        appending = asyncio.create_task(store.append("a", 1, [event("A2")], "k2"))
        await wait_until_blocked(pool)  # the append waits for the lock
        assert not appending.done()

    assert await rebuilding == 1
    await appending
    assert await read_model(pool) == [("a", 2, "A2")]


async def test_the_pool_decodes_json_as_python_objects(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        assert await pool.fetchval("SELECT '{\"a\": [1, null]}'::jsonb") == {"a": [1, None]}
        assert await pool.fetchval("SELECT $1::json", {"ö": 1}) == {"ö": 1}
    finally:
        await pool.close()
