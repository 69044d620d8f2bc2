"""The read models rebuilt while events are appended (issue 12 part 6,
store/projections/rebuild.py): built beside the live tables from a snapshot
of the log, caught up, then swapped in under a short lock.

Appends made while the rebuild is building are not held back (the rebuild
is paused inside its build phase while they run, and they complete before
it goes on: with the old SHARE lock for the whole rebuild they would wait
until the end and the test would time out), their live projections keep
writing the live tables, and the swapped-in tables equal those live tables
row for row: the rebuild caught up the events appended meanwhile, to new
streams and to streams it had already folded. The check-ins, cases,
notifications and storm counts are R-15, R-21..R-24, R-28 and R-40's read
models; the register R-07."""

from __future__ import annotations

import asyncio
import io
import random

import asyncpg
import pytest

import cli
from bench.rebuild import _do, _new, _Sink, _Stream, generate
from cli import rebuild_read_models
from domain import account as acc
from domain.monitoring import CheckInSource
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import _INSERT, EventStore, RecordedEvent
from store.projections import all_projections, rebuild
from tests.integration.test_read_model_rebuild_fast import read_model_tables
from tests.support import EXEMPELBY

_OUTSIDE = ("events", "message_contents", "payload_data_keys", "municipalities", "people",
            "intake")


async def _indexes(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT tablename, indexname FROM pg_indexes "
                            "WHERE schemaname = current_schema() AND tablename = ANY($1)",
                            list(rebuild.TABLES))
    return sorted((r["tablename"], r["indexname"]) for r in rows)


async def _outside(pool: asyncpg.Pool) -> dict[str, tuple[int, int]]:
    """The tables the rebuild must leave alone: their identity, and the rows
    of those the appends do not add to."""
    return {t: (await pool.fetchval("SELECT $1::regclass::oid", t),
                0 if t == "events" else await pool.fetchval(f"SELECT count(*) FROM {t}"))
            for t in _OUTSIDE}


async def _account(pool: asyncpg.Pool, stream_id: str) -> acc.AccountState:
    state = None
    for event in await EventStore(pool).read_stream(stream_id):
        state = acc.evolve(state, acc.parse_event(event.data))
    assert state is not None
    return state


async def _check_ins_on_existing_accounts(pool: asyncpg.Pool) -> int:
    """A check-in on every account already on the record (streams the
    rebuild has folded before they move on)."""
    store = EventStore(pool)
    sink = _Sink(pool, live=True)
    rng = random.Random(7)
    streams = [r["stream_id"] for r in await pool.fetch(
        "SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE 'account-%' "
        "ORDER BY stream_id")]
    for stream_id in streams:
        state = None
        for event in await store.read_stream(stream_id):
            state = acc.evolve(state, acc.parse_event(event.data))
        assert state is not None
        stream = _Stream(stream_id, state)
        at = state.monitoring.last_check_in or state.requested_at
        assert await _do(sink, stream, acc.decide, acc.evolve, acc.RecordCheckIn(
            actor=sorted(state.admins)[0], source=CheckInSource.MANUAL, checked_at=at),
            at, rng)
    return sink.count


async def test_r07_r15_r28_r40_rebuild_beside_lets_appends_through_and_catches_them_up(
        pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    before = await generate(pool, directory, 800, seed=12, accounts=2, live=True)
    indexes = await _indexes(pool)

    # The rebuild stops after its first batch, inside the build phase, until
    # the test lets it go on.
    building, go_on = asyncio.Event(), asyncio.Event()
    fold = rebuild._Run.fold

    async def fold_then_wait(self: rebuild._Run, events: list[rebuild._Event]) -> None:
        await fold(self, events)
        if not building.is_set():
            building.set()
            await go_on.wait()

    monkeypatch.setattr(rebuild._Run, "fold", fold_then_wait)
    out = io.StringIO()
    rebuilding = asyncio.ensure_future(rebuild_read_models(database_url, progress=out, batch=64))
    try:
        await asyncio.wait_for(building.wait(), timeout=60)
        # Appends while the rebuild builds: a new record beside the old one
        # (other accounts, their cases) and a check-in on each old account.
        added = await asyncio.wait_for(
            generate(pool, directory, 300, seed=13, accounts=1, live=True, first_account=5),
            timeout=120)
        added += await asyncio.wait_for(_check_ins_on_existing_accounts(pool), timeout=60)
        assert not rebuilding.done(), "the rebuild ended before the appends were made"
        live = await read_model_tables(pool)  # what the live projections wrote
        outside = await _outside(pool)
    finally:
        go_on.set()
    replayed = await asyncio.wait_for(rebuilding, timeout=300)

    total = await pool.fetchval("SELECT count(*) FROM events")
    assert added > 0 and replayed == before + added == total
    rebuilt = await read_model_tables(pool)
    for table in rebuild.TABLES:
        assert rebuilt[table] == live[table], table
    assert await _indexes(pool) == indexes  # the live tables' index names kept
    assert await _outside(pool) == outside  # the log, contents, keys, directory untouched
    assert not await pool.fetchval(
        "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_rebuild'")
    lines = out.getvalue().splitlines()
    assert any("catching up" in line for line in lines), lines
    assert any(line.startswith("rebuild-read-models: swapped in") for line in lines), lines
    assert lines[-1].startswith(f"rebuild-read-models: {total:,}/{total:,} events (100 %)")

    # The pool's connections go on appending into the swapped-in tables.
    more = await generate(pool, directory, 60, seed=14, accounts=1, live=True, first_account=7)
    assert more and await pool.fetchval(
        "SELECT count(*) FROM accounts WHERE account_name = 'Kulturhuset 7'") == 1


async def test_a_second_rebuild_at_the_same_time_is_refused(
        pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The shadow tables are one rebuild's: a second one stops at once."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    await generate(pool, directory, 100, seed=3, accounts=1, live=True)
    building, go_on = asyncio.Event(), asyncio.Event()
    fold = rebuild._Run.fold

    async def fold_then_wait(self: rebuild._Run, events: list[rebuild._Event]) -> None:
        await fold(self, events)
        building.set()
        await go_on.wait()

    monkeypatch.setattr(rebuild._Run, "fold", fold_then_wait)
    first = asyncio.ensure_future(rebuild_read_models(database_url, batch=1000))
    try:
        await asyncio.wait_for(building.wait(), timeout=60)
        with pytest.raises(rebuild.RebuildRunning):
            await rebuild_read_models(database_url)
        # The operator's command says so and fails, changing nothing.
        code = await asyncio.to_thread(cli.main, ["--database-url", database_url,
                                                  "rebuild-read-models"])
        assert code == cli.EXIT_FAILED
        assert "another rebuild of the read models is running" in capsys.readouterr().err
    finally:
        go_on.set()
    assert await asyncio.wait_for(first, timeout=120) == await pool.fetchval(
        "SELECT count(*) FROM events")


async def test_r15_an_append_committed_after_the_snapshot_below_its_last_position_is_caught_up(
        pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Positions are taken at insert and committed in any order: a check-in
    whose transaction took its position before another append's, and
    commits after the rebuild's snapshot, lies in a gap below the last
    position the snapshot showed. The catch-up reads the gaps too."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    await generate(pool, directory, 300, seed=21, accounts=2, live=True)
    late_stream, other_stream = [r["stream_id"] for r in await pool.fetch(
        "SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE 'account-%' "
        "ORDER BY stream_id")]

    # The late check-in: inserted and projected, not committed.
    state = await _account(pool, late_stream)
    at = state.monitoring.last_check_in or state.requested_at
    events = acc.decide(state, acc.RecordCheckIn(actor=sorted(state.admins)[0],
                                                  checked_at=at), now=at)
    [new] = _new(events, random.Random(5))
    building, go_on = asyncio.Event(), asyncio.Event()
    fold = rebuild._Run.fold

    async def fold_then_wait(self: rebuild._Run, batch: list[rebuild._Event]) -> None:
        await fold(self, batch)
        building.set()
        await go_on.wait()

    monkeypatch.setattr(rebuild._Run, "fold", fold_then_wait)
    conn = await pool.acquire()
    late = conn.transaction()
    await late.start()
    committed = False
    try:
        row = await conn.fetchrow(_INSERT, late_stream, state.version + 1, new.event_id,
                                  new.event_type, new.schema_version, new.data, new.actor, None,
                                  None, "late-check-in", 0, new.occurred_at)
        recorded = RecordedEvent.model_validate(dict(row))
        for projection in all_projections():
            await projection.apply(conn, recorded)
        # Another append takes a later position and commits first.
        other = _Stream(other_stream, await _account(pool, other_stream))
        at = other.state.monitoring.last_check_in or other.state.requested_at
        assert await _do(_Sink(pool, live=True), other, acc.decide, acc.evolve,
                         acc.RecordCheckIn(actor=sorted(other.state.admins)[0], checked_at=at),
                         at, random.Random(6))
        assert await pool.fetchval("SELECT max(global_position) FROM events") > \
            recorded.global_position

        rebuilding = asyncio.ensure_future(rebuild_read_models(database_url, batch=1000))
        await asyncio.wait_for(building.wait(), timeout=60)
        await late.commit()  # after the snapshot, below its last position
        committed = True
    finally:
        if not committed:
            await late.rollback()
        await pool.release(conn)
    try:
        live = await read_model_tables(pool)
    finally:
        go_on.set()
    replayed = await asyncio.wait_for(rebuilding, timeout=120)

    assert replayed == await pool.fetchval("SELECT count(*) FROM events")
    rebuilt = await read_model_tables(pool)
    assert await pool.fetchval("SELECT count(*) FROM check_ins WHERE event_id = $1",
                               new.event_id) == 1
    for table in rebuild.TABLES:
        assert rebuilt[table] == live[table], table


async def test_r22_the_outbox_trigger_survives_the_swap_and_the_rebuild_sends_nothing(
        pool: asyncpg.Pool, database_url: str) -> None:
    """Issue 13 x issue 12: `notifications` is swapped for its shadow, which
    CREATE TABLE ... LIKE makes without the live table's trigger. The swap
    makes the trigger again, so a reminder projected after a rebuild still
    reaches the outbox (R-22's reminders reach people); the rebuild itself,
    writing the shadow table, puts nothing in the outbox."""
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    await generate(pool, directory, 2000, seed=5, accounts=1, live=True)
    assert await pool.fetchval("SELECT count(*) FROM notifications") > 0
    outbox_before = await pool.fetchval("SELECT count(*) FROM outbox")

    await rebuild_read_models(database_url, batch=500)

    assert await pool.fetchval("SELECT count(*) FROM outbox") == outbox_before
    assert await pool.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'notifications'::regclass "
        "AND NOT tgisinternal") == [("notifications_to_outbox",)]
    account_id = await pool.fetchval("SELECT account_id FROM accounts LIMIT 1")
    await pool.execute(
        """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage, due,
                                      created_at)
           VALUES (gen_random_uuid(), 'elin.strand', $1, 'reminder', 'after-rebuild',
                   'active', now(), now())""", account_id)
    assert await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE step = 'after-rebuild' AND channel = 'email'") == 1
