"""What per-workflow data keys (codec.py ScopedCodec, issue 10) cost against
the single key. A script, not a test:

    .venv/bin/python -m bench.payload_keys            # a throwaway PostgreSQL (pgserver)
    .venv/bin/python -m bench.payload_keys --database-url postgresql://...  # a migrated one

Per operation, median and p95 in microseconds, with a 1,487-byte payload (a
message case's input): encode and decode with the single key; with a
workflow's data key once it is cached; `with_context` (the SDK calls it for
every payload operation); the first encode of a new scope (the key made,
wrapped and inserted); the codec endpoint's fresh read of a key.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from codec import EncryptionCodec, ScopedCodec, codec_from_settings, new_key_spec
from store.db import migrate

PAYLOAD = Payload(metadata={"encoding": b"json/plain"}, data=b"x" * 1487)


async def timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> tuple[float, float]:
    for _ in range(min(20, rounds)):
        await fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def _context(workflow_id: str) -> WorkflowSerializationContext:
    return WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)


async def run(database_url: str, rounds: int) -> None:
    await migrate(database_url)
    spec = f"{new_key_spec('exempelby/e1')},{new_key_spec('k1')}"
    single = EncryptionCodec.from_spec(spec)
    scoped = codec_from_settings(spec, production=False, database_url=database_url)
    assert isinstance(scoped, ScopedCodec)
    bound = scoped.with_context(_context("account:exempelby:bench"))
    [sealed_single] = await single.encode([PAYLOAD])
    [sealed] = await bound.encode([PAYLOAD])
    numbers = itertools.count()

    async def new_scope() -> None:
        await scoped.with_context(_context(f"account:exempelby:b{next(numbers)}")).encode(
            [PAYLOAD])

    async def bind() -> None:
        scoped.with_context(_context("account:exempelby:bench"))

    rows = {
        "single key: encode": await timed(lambda: single.encode([PAYLOAD]), rounds),
        "single key: decode": await timed(lambda: single.decode([sealed_single]), rounds),
        "data key, cached: encode": await timed(lambda: bound.encode([PAYLOAD]), rounds),
        "data key, cached: decode": await timed(lambda: bound.decode([sealed]), rounds),
        "with_context": await timed(bind, rounds),
        "first encode of a new scope (key made, inserted)": await timed(
            new_scope, max(50, rounds // 10)),
        "endpoint's fresh read of one key": await timed(
            lambda: scoped.data_keys.for_decoding(["account:exempelby:bench"], fresh=True),
            max(50, rounds // 4)),
    }
    for name, (median, p95) in rows.items():
        print(f"{name:50} median {median:9.1f} us   p95 {p95:9.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=2000)
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
