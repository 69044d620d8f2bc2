"""The worker's metrics and health port (issue 12; deploy/README.md,
"Metrics and health").

One small `http.server` in a thread (nothing to install, and it answers
even while the event loop is busy, which is what a liveness probe needs to
tell apart from a dead one):

- `/metrics`: Kanalvakt's own worker metrics (the feeder's lag, activities
  in flight) and, after them, the Temporal SDK's runtime telemetry
  (`temporalio.runtime.Runtime` with a `PrometheusConfig`: task slots,
  poll and schedule-to-start latencies, activity and workflow task
  durations, sticky cache), which the SDK serves on a loopback port of its
  own that this one passes through, so Prometheus scrapes one port.
- `/livez`: 200 while the event loop runs: `Health.beat()` is called by a
  task of the loop every second; no beat for `stale_after` seconds is 503.
- `/readyz`: 200 once the Temporal worker runs (polling its task queue)
  and the last check of the Temporal connection answered; 503 before, on
  shutdown and while Temporal is away.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as render_metrics
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = structlog.get_logger("kanalvakt.worker.health")

# Kanalvakt's own metrics of the worker process (its feeder's and
# activities'); the web app has its own registry (web/observability.py).
REGISTRY = CollectorRegistry(auto_describe=True)
FEEDER_LAG = Histogram(
    "kanalvakt_feeder_lag_seconds",
    "From a message's arrival at the webhook to its case's start by the feeder",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY)
FEEDER_STARTED = Counter("kanalvakt_feeder_started_total",
                         "Intake rows whose case the feeder started", registry=REGISTRY)
ACTIVITIES_RUNNING = Gauge("kanalvakt_worker_activities_running",
                           "Activities this worker runs now", registry=REGISTRY)
READY = Gauge("kanalvakt_worker_ready", "1 when the worker polls Temporal", registry=REGISTRY)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def telemetry_runtime() -> tuple[Runtime, str]:
    """A Temporal Runtime whose SDK metrics are served in Prometheus' format
    on a loopback port (passed through by the health port's /metrics)."""
    address = f"127.0.0.1:{free_loopback_port()}"
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    return runtime, address


class Health:
    """What the probes read: written by the loop, read by the server's thread."""

    def __init__(self, stale_after: float = 10.0) -> None:
        self.stale_after = stale_after
        self._beat = time.monotonic()
        self.ready = False
        self.reason = "starting"

    def beat(self) -> None:
        self._beat = time.monotonic()

    @property
    def live(self) -> bool:
        return time.monotonic() - self._beat < self.stale_after

    def set_ready(self, ready: bool, reason: str) -> None:
        if ready != self.ready:
            log.info("worker ready" if ready else "worker not ready", reason=reason)
        self.ready, self.reason = ready, reason
        READY.set(1 if ready else 0)


class HealthServer:
    """The port's server in a daemon thread; `close()` stops it."""

    def __init__(self, health: Health, host: str, port: int, sdk_metrics: str | None) -> None:
        self.health = health
        self.sdk_metrics = sdk_metrics
        handler = _handler(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="kanalvakt-health", daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("metrics and health port", port=self.port)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def metrics(self) -> bytes:
        ours = render_metrics(REGISTRY)
        if not self.sdk_metrics:
            return ours
        try:
            with urllib.request.urlopen(f"http://{self.sdk_metrics}/metrics", timeout=2) as r:
                theirs = r.read()
        except OSError as exc:
            log.warning("Temporal SDK metrics not available", reason=str(exc))
            theirs = b""
        return ours + theirs


def _handler(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, server.metrics(), CONTENT_TYPE_LATEST)
            elif path == "/livez":
                live = server.health.live
                self._answer(200 if live else 503, b"live\n" if live else b"event loop stuck\n")
            elif path == "/readyz":
                ready = server.health.ready
                self._answer(200 if ready else 503,
                             f"{'ready' if ready else 'not ready'}: {server.health.reason}\n"
                             .encode())
            else:
                self._answer(404, b"not found\n")

        def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # probes every few seconds are not news

    return Handler


async def watch(health: Health, client: Client | None = None,
                running: Callable[[], bool] = lambda: False,
                every: float = 1.0, check_every: float = 5.0) -> None:
    """The loop's side of the probes: a beat every `every` seconds, and
    (given a client) every `check_every` seconds whether the worker runs
    and Temporal answers (GetSystemInfo, 3 s)."""
    last_check = -check_every
    while True:
        health.beat()
        now = time.monotonic()
        if client is not None and now - last_check >= check_every:
            last_check = now
            if not running():
                health.set_ready(False, "worker not polling")
            else:
                try:
                    await client.workflow_service.get_system_info(
                        GetSystemInfoRequest(), timeout=timedelta(seconds=3))
                    health.set_ready(True, "polling")
                except Exception as exc:  # noqa: BLE001 - any failure is "not ready"
                    health.set_ready(False, f"Temporal: {type(exc).__name__}")
        await asyncio.sleep(every)

