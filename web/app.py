"""The web app: the JSON API behind the intranet, and the public register.

This module only assembles the app (issue 11): the lifespan that connects
to PostgreSQL and Temporal, the intranet (web/pages.py: session, CSRF and
security-header middleware, the page routers), the API routers, the health
check and the error handlers. What the routers share is in web/deps.py; the
account API is web/accounts_api.py.

Identity (web/identity.py): the signed-in person of the session, or, only
while the development sign-in is on, the person the `X-Kanalvakt-Actor`
header names; either is checked against the org directory. Authorisation of
every decision is the account workflow's own (Update validators), so a wrong
person is refused there, with nothing recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from temporalio.client import Client

import settings as app_settings
from deploy.logging_setup import configure_logging
from deploy.waiting import wait_for_postgres, wait_for_temporal
from domain.core import DomainError
from store.db import DATABASE_ERRORS, database_unavailable
from web.absences import absences_router
from web.accounts_api import accounts_router
from web.codec_api import codec_router
from web.crisis_api import crisis_router
from web.deps import STATUS_FOR, AppContext, Ctx
from web.messages_api import messages_router
from web.monitoring_api import monitoring_router
from web.observability import install_observability
from web.pages import install_intranet
from web.people_api import people_router
from web.snapshots_api import snapshots_router
from web.uploads14 import uploads14_api_router
from web.webhooks import meta_router

log = structlog.get_logger("kanalvakt.web")


def create_app(
    connect: Callable[[], Awaitable[tuple[asyncpg.Pool, Client]]] | None = None,
    task_queue: str | None = None,
    cfg: app_settings.Settings | None = None,
) -> FastAPI:
    """Build the app; tests pass their own connections (and settings).
    Refuses to build with settings unsafe for production (web.pages.check_settings)."""
    configure_logging()
    cfg = cfg or app_settings.load()

    async def default_connect() -> tuple[asyncpg.Pool, Client]:
        # Started before PostgreSQL or Temporal is up, the app waits for
        # them, bounded, before it listens (deploy/waiting.py).
        if not cfg.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        pool = await wait_for_postgres(cfg.database_url, cfg)
        try:
            return pool, await wait_for_temporal(cfg)
        except BaseException:
            await pool.close()
            raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool, client = await (connect or default_connect)()
        app.state.ctx = AppContext(pool, client, task_queue or cfg.task_queue)
        yield
        await pool.close()

    app = FastAPI(title="Kanalvakt", version="0.1.0", lifespan=lifespan)
    install_intranet(app, cfg)
    _health_and_errors(app)
    app.include_router(accounts_router())
    app.include_router(meta_router())
    app.include_router(messages_router())
    app.include_router(crisis_router())
    app.include_router(monitoring_router())
    app.include_router(snapshots_router())
    app.include_router(codec_router())
    app.include_router(absences_router())
    app.include_router(uploads14_api_router())  # R-30, R-45 (issue 14)
    app.include_router(people_router())  # the people picker (issue 14)
    install_observability(app, cfg)  # /metrics, /livez, /readyz, request ids (issue 12)
    return app


def _health_and_errors(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz(ctx: Ctx) -> dict[str, str]:
        await ctx.pool.fetchval("SELECT 1")
        return {"status": "ok"}

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": error.message, "code": error.code, "key": error.key},
                            status_code=STATUS_FOR.get(error.code, 400))

    # PostgreSQL away (restarting, refusing connections, out of them): 503
    # with Retry-After, so Meta and the pages try again, never a bare 500.
    for unavailable in DATABASE_ERRORS:
        app.add_exception_handler(unavailable, _database_unavailable)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    if not database_unavailable(error):
        raise error
    log.warning("database unavailable", path=request.url.path, reason=type(error).__name__)
    return JSONResponse({"detail": "the database is not available; try again shortly"},
                        status_code=503, headers={"Retry-After": "5"})


app = create_app()
