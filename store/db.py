"""PostgreSQL plumbing: the connection pool and the migration runner.

Migrations are plain SQL files in `migrations/`, applied in filename order,
each once and each in its own transaction. The app applies them itself (the
CLI, the local stack, the test template database), so there is no separate
migration tool to install or forget.

A migration that needs what SQL cannot do (sealing rows under keys that
never reach the database, issue 10) is a Python file instead: its
`async def apply(conn, payload_keys)` runs in the same kind of transaction,
with the payload keys (KANALVAKT_PAYLOAD_KEYS) of the process migrating.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

import migrations
import settings as app_settings

# Installed with the code (the `migrations` package), found the same way in
# the source tree and in a wheel.
MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent

# Any fixed 64-bit number, the same in every process: whoever holds this
# advisory lock is the one migrating; the others wait, then find nothing to do.
_MIGRATION_LOCK_KEY = 0x6B616E616C76_01  # "kanalv" + 1


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Dicts in, dicts out: asyncpg hands json/jsonb over as strings otherwise."""
    for type_name in ("jsonb", "json"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class RawJson(str):
    """A JSON text already encoded (pydantic's model_dump_json), sent as it is."""


def _jsonb_binary(value: Any) -> bytes:
    text = value if isinstance(value, RawJson) else json.dumps(value)
    return b"\x01" + text.encode("utf-8")


def _jsonb_from_binary(data: bytes) -> Any:
    return json.loads(data[1:])


@contextlib.asynccontextmanager
async def binary_jsonb(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """jsonb in binary on `conn` for a while (COPY sends rows in binary:
    version 1, then the text), then back to store.db's text codec."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="binary",
                              encoder=_jsonb_binary, decoder=_jsonb_from_binary)
    try:
        yield
    finally:
        await conn.set_type_codec("jsonb", schema="pg_catalog",
                                  encoder=json.dumps, decoder=json.loads)


# The roots of every error `database_unavailable` may say yes to: a handler
# registered for these sees each of them and asks it (web/app.py).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def database_unavailable(error: BaseException) -> bool:
    """PostgreSQL cannot be reached, is restarting, refuses connections for
    now or has none to spare: the request may be tried again later (503),
    it is nobody's bad input."""
    if isinstance(error, asyncpg.ObjectNotInPrerequisiteStateError):
        return "not currently accepting connections" in str(error)
    # InternalClientError: a pooled connection whose server side was cut
    # ("cannot switch to state ...; another operation is in progress"), seen
    # when a request came in right after PostgreSQL ended its backends.
    return isinstance(error, (OSError, TimeoutError, asyncpg.PostgresConnectionError,
                              asyncpg.InterfaceError, asyncpg.InternalClientError,
                              asyncpg.CannotConnectNowError,
                              asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
                              asyncpg.InsufficientResourcesError))


async def _end_open_transaction(conn: asyncpg.Connection) -> None:
    """What a released connection needs before its next use: no transaction
    left open. asyncpg's default reset also sends "SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL" on every
    release, a round trip as costly as the query before it (a fed message
    sent 26 statements, 10 of them resets; issue 15). Kanalvakt's pooled
    connections take no advisory locks (migrations use their own
    connection), LISTEN to nothing, SET nothing and keep no cursors past a
    transaction, so there is nothing else to reset."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def tls_option(sslmode: str | None, rootcert: Path | None) -> ssl.SSLContext | str | None:
    """asyncpg's `ssl` argument from KANALVAKT_DB_SSLMODE and
    KANALVAKT_DB_SSLROOTCERT (issue 12). None leaves it to the URL's own
    `sslmode`/`sslrootcert` (and libpq's PG* variables). With a root
    certificate, verify-full checks the chain and the host name, verify-ca
    the chain only; without one, the mode is passed on as it is (asyncpg
    then reads ~/.postgresql/root.crt for the verifying modes)."""
    if sslmode is None and rootcert is None:
        return None
    mode = sslmode or "verify-full"
    if rootcert is None or mode in {"disable", "allow", "prefer", "require"}:
        return mode
    context = ssl.create_default_context(cafile=str(rootcert))
    context.check_hostname = mode == "verify-full"
    return context


def connect_options(cfg: app_settings.Settings | None = None, *,
                    pool: bool = True) -> dict[str, Any]:
    """asyncpg's keyword arguments from the settings: TLS, and for a pool
    its sizes (KANALVAKT_DB_POOL_MIN_SIZE, KANALVAKT_DB_POOL_MAX_SIZE)."""
    cfg = cfg or app_settings.load()
    options: dict[str, Any] = {}
    tls = tls_option(cfg.db_sslmode, cfg.db_sslrootcert)
    if tls is not None:
        options["ssl"] = tls
    if pool:
        options["min_size"] = min(cfg.db_pool_min_size, cfg.db_pool_max_size)
        options["max_size"] = cfg.db_pool_max_size
    return options


async def create_pool(dsn: str, **kw: Any) -> asyncpg.Pool:
    """A pool whose connections encode and decode json/jsonb as Python objects,
    sized and secured by the settings (`connect_options`) unless `kw` says
    otherwise.

    An `init` passed in `kw` runs after the codecs are registered."""
    extra_init = kw.pop("init", None)
    kw.setdefault("reset", _end_open_transaction)
    for key, value in connect_options(pool=True).items():
        kw.setdefault(key, value)
    kw["min_size"] = min(kw["min_size"], kw["max_size"])

    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        if extra_init is not None:
            await extra_init(conn)

    return await asyncpg.create_pool(dsn, init=init, **kw)


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migrations in the order they are applied (by filename)."""
    return sorted([*directory.glob("*.sql"), *directory.glob("[0-9]*.py")],
                  key=lambda p: p.name)


async def _apply(conn: asyncpg.Connection, path: Path, payload_keys: str) -> None:
    if path.suffix == ".sql":
        await conn.execute(await asyncio.to_thread(path.read_text, encoding="utf-8"))
        return
    spec = importlib.util.spec_from_file_location(f"kanalvakt_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.apply(conn, payload_keys)


async def migrate(dsn: str, *, payload_keys: str | None = None,
                  before: str | None = None) -> list[str]:
    """Apply the migrations not yet applied; return the names applied now.
    `payload_keys` (default: KANALVAKT_PAYLOAD_KEYS) for the migrations
    that seal rows; `before` stops at the first migration whose name is not
    before it (a test of a migration on rows of the schema before it).

    Runs under a session advisory lock, so two workers starting at once do
    not race: the second waits and then finds everything applied."""
    cfg = app_settings.load()
    if payload_keys is None:
        payload_keys = cfg.payload_keys
    conn = await asyncpg.connect(dsn, **connect_options(cfg, pool=False))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name       text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            applied: list[str] = []
            for path in migration_files():
                if before is not None and path.name >= before:
                    break
                if path.name in done:
                    continue
                async with conn.transaction():
                    await _apply(conn, path, payload_keys)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name) VALUES ($1)", path.name
                    )
                applied.append(path.name)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    finally:
        await conn.close()
