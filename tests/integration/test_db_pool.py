"""The pool's release (store/db.py): no reset round trip, but never a
transaction carried over to the next user of the connection (issue 15)."""

from __future__ import annotations

import asyncpg

from store.db import create_pool


async def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await pool.execute("CREATE TABLE pool_probe (n int)")
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO pool_probe VALUES (1)")
        assert conn.is_in_transaction()
        await pool.release(conn)
        async with pool.acquire() as again:  # the same, only connection
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM pool_probe") == 0
    finally:
        await pool.close()


async def test_a_release_sends_no_statement(database_url: str) -> None:
    sent: list[str] = []
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda q: sent.append(q.query))
            await conn.fetchval("SELECT 1")
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 2")
        assert sent == ["SELECT 1", "SELECT 2"], sent
    finally:
        await pool.close()


async def test_asyncpgs_own_reset_would_send_one(database_url: str) -> None:
    """The contrast that makes the test above mean something."""
    sent: list[str] = []
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda q: sent.append(q.query))
            await conn.fetchval("SELECT 1")
        assert len(sent) == 2 and "RESET ALL" in sent[1], sent
    finally:
        await pool.close()
