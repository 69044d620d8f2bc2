"""Shared fixtures: a real PostgreSQL for the whole session, and a fresh,
migrated database for every test that asks for one.

The server is an embedded PostgreSQL (pgserver) unless
KANALVAKT_TEST_DATABASE_URL names one (a URL whose user may create
databases). Migrations run once, into a template database at session start;
each test then gets `CREATE DATABASE ... TEMPLATE kv_template`, a file copy
that takes a tenth of a second, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from store.db import create_pool, migrate

TEMPLATE_DATABASE = "kv_template"


def database_url_for(server_url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database (`postgres`)."""
    external = os.environ.get("KANALVAKT_TEST_DATABASE_URL")
    if external:
        yield external
        return
    import pgserver

    # Not under pytest's basetemp: a concurrent pytest session prunes old
    # numbered basetemps, which would pull the data directory from under us.
    server = pgserver.get_server(tempfile.mkdtemp(prefix="kanalvakt-pg-"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def template_database(pg_server: str) -> str:
    """A database with every migration applied, for tests to copy.

    Built afresh each session, so migrations added since the last run are in."""
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {TEMPLATE_DATABASE}")
    finally:
        await admin.close()
    url = database_url_for(pg_server, TEMPLATE_DATABASE)
    await migrate(url)
    return url


@pytest_asyncio.fixture(loop_scope="session")
async def database_url(pg_server: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own; dropped afterwards."""
    name = f"kv_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    finally:
        await admin.close()
    yield database_url_for(pg_server, name)
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh database with no migration applied (a test of a migration
    migrates it up to the one it tests, writes rows, then the rest)."""
    name = f"kv_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    yield database_url_for(pg_server, name)
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool on this test's database (json/jsonb as dicts)."""
    p = await create_pool(database_url, min_size=1, max_size=5)
    try:
        yield p
    finally:
        # A failed test can leave a task holding a connection; don't let
        # teardown wait for it for ever.
        try:
            await asyncio.wait_for(p.close(), timeout=10)
        except TimeoutError:
            p.terminate()
