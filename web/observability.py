"""The web app's metrics, probes and request ids (issue 12; deploy/README.md,
"Metrics and health").

- `RequestMiddleware` (outermost): a request id for every request, taken
  from `X-Request-ID` when it is a plausible one (at most 128 of
  `A-Za-z0-9._-`), otherwise made; bound to the log context
  (`request_id`) for the request's lines (uvicorn's access line included)
  and returned in the answer's `X-Request-ID`. It times every request into
  `kanalvakt_http_request_duration_seconds` by method, route template
  (`/api/accounts/{account_id}`, never the raw path: bounded labels, and no
  person's or case's id in the metrics) and status class, and Meta's
  webhook deliveries also into `kanalvakt_webhook_ack_seconds`.
- `/metrics`: those, and the database figures (intake backlog and its
  oldest, cases open by stage, deadlines due and overdue, escalations
  recorded; readviews/operations.py), asked at scrape time and reused for
  KANALVAKT_METRICS_CACHE_SECONDS. Every web process answers the same
  database figures: aggregate them with max(), not sum().
- `/livez`: 200 while the event loop answers (no dependency checked: a
  database outage must not get the web restarted).
- `/readyz`: 200 when PostgreSQL answers `SELECT 1` and Temporal
  `GetSystemInfo`, each within 2 s; 503 naming what failed otherwise (and
  before start-up has connected).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
)
from prometheus_client import generate_latest as render_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

import settings as app_settings
from readviews.operations import Figures, escalations_after, figures

log = structlog.get_logger("kanalvakt.web.observability")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
WEBHOOK_ROUTES = frozenset({"/webhooks/meta"})
UNMATCHED = "<unmatched>"


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID when it is a plausible id, else a new one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class WebMetrics:
    """The app's own registry (one per app, so tests may build many)."""

    def __init__(self, cfg: app_settings.Settings) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.http = Histogram(
            "kanalvakt_http_request_duration_seconds",
            "HTTP requests by method, route template and status class",
            ["method", "route", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.webhook_ack = Histogram(
            "kanalvakt_webhook_ack_seconds",
            "From a webhook delivery's arrival to its acknowledgement (the answer's start)",
            ["platform", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20))
        self.database = DatabaseFigures(cfg.metrics_cache_seconds)
        self.registry.register(self.database)


class DatabaseFigures(Collector):
    """The database gauges, as last read. `refresh` (awaited by /metrics)
    reads them again when they are older than `max_age` seconds; `collect`
    (prometheus_client's, synchronous) only reports them."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self.figures: Figures | None = None
        self.read_at = float("-inf")
        self.escalations_settled: dict[str, int] = {}
        self.escalations_recent: dict[str, int] = {}
        self.position = 0
        self._lock = asyncio.Lock()

    async def refresh(self, pool: Any) -> None:
        async with self._lock:
            if time.monotonic() - self.read_at < self.max_age:
                return
            self.figures = await figures(pool)
            count = await escalations_after(pool, self.position)
            for kind, n in count.settled.items():
                self.escalations_settled[kind] = self.escalations_settled.get(kind, 0) + n
            self.escalations_recent = count.recent
            self.position = count.position
            self.read_at = time.monotonic()

    def collect(self) -> Any:
        f = self.figures
        if f is None:
            return
        intake = GaugeMetricFamily("kanalvakt_intake_backlog",
                                   "Intake rows whose case has not started", labels=["state"])
        intake.add_metric(["pending"], f.intake_pending)
        intake.add_metric(["waiting_to_retry"], f.intake_waiting_to_retry)
        intake.add_metric(["parked"], f.intake_parked)
        yield intake
        yield GaugeMetricFamily("kanalvakt_intake_oldest_age_seconds",
                                "Age of the oldest pending (not parked) intake row",
                                value=f.intake_oldest_age_seconds)
        cases = GaugeMetricFamily("kanalvakt_cases_open", "Cases not ended, by kind and stage",
                                  labels=["kind", "stage"])
        for (kind, stage), n in sorted(f.open_cases.items()):
            cases.add_metric([kind, stage], n)
        yield cases
        deadlines = GaugeMetricFamily(
            "kanalvakt_deadlines", "Cases' next deadlines: due within the hour, or "
            "overdue (passed 5 minutes ago without the case moving)", labels=["kind", "state"])
        for (kind, state), n in sorted(f.deadlines.items()):
            deadlines.add_metric([kind, state], n)
        yield deadlines
        outbox = GaugeMetricFamily("kanalvakt_outbox_depth",
                                   "Notifications not yet delivered: ready now, held (a "
                                   "digest hour or a retry's pause), failed", labels=["state"])
        outbox.add_metric(["ready"], f.outbox_ready)
        outbox.add_metric(["held"], f.outbox_held)
        outbox.add_metric(["failed"], f.outbox_failed)
        yield outbox
        yield GaugeMetricFamily("kanalvakt_outbox_oldest_ready_age_seconds",
                                "Age of the oldest notification ready to deliver",
                                value=f.outbox_oldest_ready_age_seconds)
        escalations = CounterMetricFamily("kanalvakt_escalations",
                                          "Escalations recorded, by event type", labels=["type"])
        for kind in sorted({*self.escalations_settled, *self.escalations_recent}):
            escalations.add_metric([kind], self.escalations_settled.get(kind, 0)
                                   + self.escalations_recent.get(kind, 0))
        yield escalations
        yield GaugeMetricFamily("kanalvakt_database_figures_age_seconds",
                                "How old the database figures are",
                                value=max(0.0, time.monotonic() - self.read_at))


def route_template(app: Any, scope: Scope) -> str:
    """The matched route's path template; the router's own match when a
    middleware hid it."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED))
    return UNMATCHED


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: WebMetrics, router: Any) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        rid = request_id(scope.get("headers", []))
        status = 500
        answered: float | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answered = time.perf_counter()
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=rid):
                await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(self.router, scope)
            elapsed = time.perf_counter() - began
            self.metrics.http.labels(scope.get("method", "?"), route,
                                     f"{status // 100}xx").observe(elapsed)
            if route in WEBHOOK_ROUTES and scope.get("method") == "POST":
                acked = (answered or time.perf_counter()) - began
                self.metrics.webhook_ack.labels(route.rsplit("/", 1)[-1],
                                                str(status)).observe(acked)


def observability_router(metrics: WebMetrics) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def prometheus_metrics(request: Request) -> Response:
        ctx = getattr(request.app.state, "ctx", None)
        if ctx is not None:
            try:
                await asyncio.wait_for(metrics.database.refresh(ctx.pool), timeout=10)
            except Exception as exc:  # noqa: BLE001 - the other metrics still answer
                log.warning("database figures not read", reason=type(exc).__name__)
        return Response(render_metrics(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/livez")
    async def livez() -> PlainTextResponse:
        return PlainTextResponse("live\n")

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        ctx = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(ctx.pool.fetchval("SELECT 1"), timeout=2)
            checks["postgresql"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure is "not ready"
            checks["postgresql"] = type(exc).__name__
        try:
            await ctx.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=2))
            checks["temporal"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["temporal"] = type(exc).__name__
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", **checks},
                            status_code=200 if ready else 503)

    return router


def install_observability(app: FastAPI, cfg: app_settings.Settings) -> WebMetrics:
    """/metrics, /livez, /readyz and the request middleware (added last, so
    outermost: it times and ids everything, refusals of the inner
    middlewares included)."""
    metrics = WebMetrics(cfg)
    app.include_router(observability_router(metrics))
    app.add_middleware(RequestMiddleware, metrics=metrics, router=app.router)
    app.state.metrics = metrics
    return metrics
