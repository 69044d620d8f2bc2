"""Waiting for PostgreSQL and Temporal at start-up (issue 9, item 8).

The worker and the web app start whenever their supervisor (the local
stack, systemd, Kubernetes) starts them, which may be before the database or
the Temporal server is up: after a reboot, a database restart, or when the
stack restarts a crashed child while PostgreSQL is being restarted. They wait
instead of exiting: each attempt that fails is one log line,

    waiting for PostgreSQL at /tmp/pg:5432 (attempt 3/30): ConnectionRefusedError ...

with an exponential pause (0.5 s, doubling, capped at
`settings.startup_max_delay`), and after `settings.startup_attempts`
attempts a `DependencyUnavailable` with the last reason. Only errors that
mean "not there yet" are retried; a wrong password, a missing database or a
malformed payload key stops at once, since waiting cannot mend them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

import settings as app_settings
from deploy.temporal import connect, connect_config, describe
from store.db import create_pool

log = structlog.get_logger("kanalvakt.startup")

T = TypeVar("T")

FIRST_DELAY = 0.5


class DependencyUnavailable(RuntimeError):
    """PostgreSQL or Temporal did not answer within the bound."""


def postgres_where(dsn: str) -> str:
    """host:port of a database URL for the log (never the credentials); a
    Unix socket directory given as ?host=/dir counts as the host."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
        return f"{host}:{parts.port or 5432}"
    except ValueError:
        return "<unparseable DATABASE_URL>"


def _pg_not_yet(exc: BaseException) -> bool:
    # Refused, no socket file yet, timed out, "the database system is
    # starting up" / "shutting down" (a restart), or connections exhausted.
    return isinstance(exc, OSError | asyncio.TimeoutError | asyncpg.CannotConnectNowError
                      | asyncpg.TooManyConnectionsError | asyncpg.ConnectionDoesNotExistError)


def _temporal_not_yet(exc: BaseException) -> bool:
    # Client.connect wraps a refused or unreachable server in a RuntimeError
    # ("Failed client connect: ..."); a server still starting answers UNAVAILABLE.
    if isinstance(exc, RPCError):
        return exc.status in {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}
    return (isinstance(exc, RuntimeError) and "connect" in str(exc).lower()) or isinstance(
        exc, OSError | asyncio.TimeoutError)


async def wait_for(
    what: str,
    where: str,
    attempt: Callable[[], Awaitable[T]],
    retryable: Callable[[BaseException], bool],
    *,
    attempts: int,
    max_delay: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`attempt()` until it succeeds, at most `attempts` times."""
    attempts = max(1, attempts)
    delay = FIRST_DELAY
    for n in range(1, attempts + 1):
        try:
            result = await attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if n == attempts:
                log.error(f"{what} at {where} did not answer after {attempts} attempts; giving up",
                          dependency=what, where=where, attempts=attempts, reason=reason)
                raise DependencyUnavailable(
                    f"{what} at {where} did not answer after {attempts} attempts "
                    f"(last: {reason})") from exc
            log.warning(f"waiting for {what} at {where} (attempt {n}/{attempts}): {reason}",
                        dependency=what, where=where, attempt=n, attempts=attempts,
                        retry_in_s=delay)
            await sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if n > 1:
            log.info(f"{what} at {where} answered (attempt {n}/{attempts})",
                     dependency=what, where=where, attempt=n)
        return result
    raise AssertionError("unreachable")


async def wait_for_postgres(dsn: str, cfg: app_settings.Settings | None = None) -> asyncpg.Pool:
    """The application's pool, once PostgreSQL accepts a connection."""
    cfg = cfg or app_settings.load()

    async def attempt() -> asyncpg.Pool:
        # create_pool opens its first connection at once, so a pool is proof.
        return await asyncio.wait_for(create_pool(dsn), timeout=10.0)

    return await wait_for("PostgreSQL", postgres_where(dsn), attempt, _pg_not_yet,
                          attempts=cfg.startup_attempts, max_delay=cfg.startup_max_delay)


async def wait_for_temporal(cfg: app_settings.Settings | None = None,
                            runtime: Runtime | None = None) -> Client:
    """The application's Temporal client (deploy.temporal.connect: the
    cluster from Temporal's environment configuration, the payload codec
    included), once the server accepts the connection."""
    cfg = cfg or app_settings.load()

    async def attempt() -> Client:
        return await asyncio.wait_for(connect(runtime=runtime), timeout=10.0)

    return await wait_for("Temporal", describe(connect_config()), attempt, _temporal_not_yet,
                          attempts=cfg.startup_attempts, max_delay=cfg.startup_max_delay)
