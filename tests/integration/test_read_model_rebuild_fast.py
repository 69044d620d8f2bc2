"""The fast rebuild (store/projections/rebuild.py: batches, projections applied in
memory, COPY) gives back exactly the read models the live projections wrote
event by event (issue 15), over a record of every kind the generator of
bench/rebuild.py decides through the domain: accounts taken to active,
check-ins, posts, watch items, reminders, escalations and closure
proposals (R-15..R-20), message cases received, screened, acknowledged,
answered, forwarded and drafted, registered, hidden, removed, watched,
closed, reminded, escalated and chased (R-21..R-24, R-28, R-30, R-46), and
the storm counts (R-40). Small batches and a small case cache make the
rebuild cross batch boundaries and read cases back from the table."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import pytest

from bench.rebuild import generate
from cli import rebuild_read_models
from store.directory import DirectoryRepository, parse_directory_yaml
from store.projections import all_projections, rebuild
from tests.support import EXEMPELBY


def _sets_sorted(value: Any) -> Any:
    """A JSON value with its arrays of strings sorted: the domain's sets
    (frozenset) are written as arrays in their iteration order, which
    depends on how the set was built (from the event, or from the state read
    back from jsonb after every event) and on the process's string hashes.
    Every other value, and the order of every other array, is compared as
    it is."""
    if isinstance(value, dict):
        return {k: _sets_sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sets_sorted(v) for v in value]
        return sorted(items) if items and all(isinstance(v, str) for v in items) else items
    return value


async def read_model_tables(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Every read-model table, its rows as sorted reprs (row order is no part
    of a table), every column as stored (sets in JSON sorted)."""
    out: dict[str, list[str]] = {}
    for table in rebuild.TABLES:
        rows = await pool.fetch(f"SELECT * FROM {table}")
        out[table] = sorted(repr(sorted((k, _sets_sorted(v)) for k, v in r.items()))
                            for r in rows)
    return out


def test_the_fast_rebuild_covers_every_projection_of_the_app() -> None:
    """A projection added to the app without the fast rebuild knowing it
    would be left out: `covers` refuses, and the rebuild replays event by
    event instead."""
    assert rebuild.covers(all_projections())
    assert not rebuild.covers(all_projections()[:-1])


async def test_r15_r20_r21_r24_r28_r40_rebuild_in_batches_equals_the_live_read_models(
        pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    batch, cache = 97, 50
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    count = await generate(pool, directory, 2_500, seed=97, accounts=3, live=True)
    kinds = {r["event_type"] for r in await pool.fetch("SELECT DISTINCT event_type FROM events")}
    for kind in ("MessageReceived", "StaffPostRecorded", "MessageAnswered",
                 "AcknowledgementSent", "MessageForwarded", "DraftSubmitted",
                 "MessageRegistered", "MessageRedacted", "MessageHidden", "CaseClosed",
                 "MessageReminderSent", "MessageEscalated", "CheckInRecorded", "PostRecorded",
                 "WatchItemReported", "WatchItemResolved", "ListedInRegister"):
        assert kind in kinds, f"the record has no {kind}: the comparison would prove less"
    live = await read_model_tables(pool)
    for table in ("accounts", "public_register", "notifications", "message_cases", "diarium",
                  "check_ins", "published_posts", "watch_items", "storm_counts"):
        assert live[table], f"{table} is empty: the comparison would prove nothing"

    monkeypatch.setattr(rebuild, "CASE_CACHE", cache)
    out = io.StringIO()
    replayed = await rebuild_read_models(database_url, progress=out, batch=batch)
    assert replayed == count == await pool.fetchval("SELECT count(*) FROM events")
    rebuilt = await read_model_tables(pool)
    for table in rebuild.TABLES:
        assert rebuilt[table] == live[table], table
    assert out.getvalue().splitlines()[-1].startswith(f"rebuild-read-models: {count:,}/")
