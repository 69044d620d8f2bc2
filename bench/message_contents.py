"""What sealing message contents at rest (issue 10, migration 0018) costs the
reads that open them. A script, not a test:

    .venv/bin/python -m bench.message_contents            # a throwaway PostgreSQL (pgserver)
    .venv/bin/python -m bench.message_contents --database-url postgresql://...  # an empty one

Seeds two municipalities alike, one with contents sealed under per-case data
keys, one with contents kept plain (as without payload keys), each with an
account of 50 open cases and 5,000 registered cases, then times, median and
p95 in milliseconds: an inbox page of 50 (readviews.messages.inbox)
and the registrars' diarium search over the 5,000 (a word that 1 in 100
texts holds; the search opens every candidate before matching).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from codec import DataKeys, KeyRing, new_key_spec, parse_keys
from readviews import messages as mq
from store.db import create_pool, migrate
from store.message_contents import seal_content
from store.payload_keys import PayloadKeyTable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEXT = ("Hej! Jag undrar när biblioteket på Storgatan öppnar igen efter renoveringen, "
        "och om man kan låna e-böcker under tiden. Mvh Karin")


async def timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> tuple[float, float]:
    for _ in range(min(3, rounds)):
        await fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


async def seed(pool: asyncpg.Pool, data_keys: DataKeys | None, municipality: str,
               account: str, *, inbox: int, registered: int) -> None:
    cases, contents, diarium = [], [], []
    for n in range(inbox + registered):
        case_id = f"message:facebook:{municipality}_{n}"
        text = TEXT + (" Ängsbadet?" if n % 100 == 7 else "")
        if data_keys is not None:
            await data_keys.claim(case_id, municipality)
        sealed = await seal_content(data_keys, case_id, text=text, author_name="Karin Svensson",
                                    author_id=f"1000777{n:06d}", municipality_id=municipality)
        stage = "open" if n < inbox else "registered"
        cases.append((case_id, account, municipality, stage, T0 + timedelta(minutes=n)))
        contents.append((case_id, json.dumps(sealed), T0 + timedelta(minutes=n)))
        if n >= inbox:
            diarium.append((f"{municipality.upper()} 2026/{n:05d}", case_id, municipality,
                            account, T0 + timedelta(minutes=n)))
    await pool.executemany(
        """INSERT INTO message_cases (case_id, account_id, municipality_id, platform, kind,
               from_staff, stage, received_at, next_deadline, version, state)
           VALUES ($1, $2::uuid, $3, 'facebook', 'comment', false, $4, $5, $5, 1, '{}')""",
        cases)
    await pool.executemany(
        """INSERT INTO message_contents (case_id, content, is_question, stored_at)
           VALUES ($1, $2::text::jsonb, true, $3)""", contents)
    await pool.executemany(
        """INSERT INTO diarium (diarium_number, case_id, municipality_id, account_id,
               record_class, confidential, registered_by, registered_at)
           VALUES ($1, $2, $3, $4::uuid, 'synpunkt', false, 'ali.karimi', $5)""", diarium)


async def run(database_url: str, rounds: int) -> None:
    await migrate(database_url, payload_keys="")
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        spec = f"{new_key_spec('sealed/s1')},{new_key_spec('k1')}"
        data_keys = DataKeys(KeyRing(parse_keys(spec)), PayloadKeyTable(pool))
        accounts = {"sealed": str(uuid.uuid4()), "plain": str(uuid.uuid4())}
        started = time.perf_counter()
        await seed(pool, data_keys, "sealed", accounts["sealed"], inbox=50, registered=5000)
        await seed(pool, None, "plain", accounts["plain"], inbox=50, registered=5000)
        print(f"seeded 2 x 5,050 cases in {time.perf_counter() - started:.1f} s")
        # a page is opened with keys read fresh, as every request does
        found = await mq.diarium(pool, "sealed", q="ängsbadet", data_keys=data_keys)
        assert len(found) == 50 and all(r["text"] for r in found), len(found)
        assert len(await mq.diarium(pool, "plain", q="ängsbadet")) == 50
        rows = {
            "inbox page of 50: plain": await timed(
                lambda: mq.inbox(pool, accounts["plain"]), rounds),
            "inbox page of 50: sealed": await timed(
                lambda: mq.inbox(pool, accounts["sealed"], data_keys=data_keys), rounds),
            "diarium search, 5,000 registered: plain": await timed(
                lambda: mq.diarium(pool, "plain", q="ängsbadet"), max(10, rounds // 10)),
            "diarium search, 5,000 registered: sealed": await timed(
                lambda: mq.diarium(pool, "sealed", q="ängsbadet", data_keys=data_keys),
                max(10, rounds // 10)),
        }
        for name, (median, p95) in rows.items():
            print(f"{name:45} median {median:8.1f} ms   p95 {p95:8.1f} ms")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.database_url, args.rounds))
        return
    import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="kanalvakt-bench-pg-"),
                                 cleanup_mode="delete")
    try:
        asyncio.run(run(server.get_uri(), args.rounds))
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
