"""The worker process: the composition root that builds the pool, the event
store with its projections and the activity objects, and runs the workflows.

    python -m worker        (the local stack starts it; run more to scale out)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import settings as app_settings
from activities.account import AccountActivities
from activities.crisis import CrisisActivities
from activities.messages import MessageActivities
from activities.records import RecordActivities
from activities.records_export import RecordsExportActivities
from activities.snapshot import SnapshotActivities, archive_delivery_from_env
from activities.snapshot_admins import SnapshotAdminActivities
from adapters.connectors.registry import Connectors
from adapters.snapshot_delivery import Delivery
from codec import DataKeys, data_keys_of
from deploy.logging_setup import ActivityLogContext, configure_logging
from deploy.waiting import DependencyUnavailable, wait_for_postgres, wait_for_temporal
from deploy.worker_health import (
    ACTIVITIES_RUNNING,
    Health,
    HealthServer,
    telemetry_runtime,
    watch,
)
from feeder import IntakeFeeder
from outbox_sender import OutboxSender, mail_settings, sender_policy
from store.directory import DirectoryRepository
from store.eventstore import EventStore
from store.intake import RetryPolicy
from store.projections import all_projections
from store.snapshots import policies
from workflows.account import AccountLifecycleWorkflow
from workflows.crisis import CrisisWorkflow
from workflows.message import InboundMessageWorkflow
from workflows.records_export import RecordsExportWorkflow
from workflows.snapshot import SnapshotFanOutWorkflow, SnapshotWorkflow
from workflows.snapshot_starter import sync_snapshot_schedule

WORKFLOWS: Sequence[type] = (AccountLifecycleWorkflow, InboundMessageWorkflow, CrisisWorkflow,
                             SnapshotWorkflow, SnapshotFanOutWorkflow, RecordsExportWorkflow)

log = structlog.get_logger("kanalvakt.worker")


def sandbox_runner() -> SandboxedWorkflowRunner:
    # domain/ is pure and deterministic, workflows.models only pydantic
    # classes: passing them (and pydantic) through keeps zoneinfo usable and
    # spares rebuilding them for every workflow instance. The workflow modules
    # themselves stay sandboxed, so a clock or random read there is caught.
    # The workflows import activity classes and their inputs (activities) and
    # the connectors' payload models (adapters.connectors.base); the modules
    # those import below them (store, adapters) pass through with them.
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "domain", "pydantic", "pydantic_core", "annotated_types", "activities",
            "adapters", "store", "readviews",
            "workflows.models", "workflows.search_attributes", "workflows.snapshot_models",
            "workflows.crisis_models",
        )
    )


@dataclass(frozen=True)
class Activities:
    """Every activity object, built from the pool and settings."""

    records: RecordActivities
    account: AccountActivities
    messages: MessageActivities
    crisis: CrisisActivities
    snapshots: SnapshotActivities
    snapshot_admins: SnapshotAdminActivities
    records_exports: RecordsExportActivities

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.records.record_events,
            self.account.load_authorities,
            self.account.build_final_snapshot,
            self.messages.store_content,
            self.messages.platform_action,
            self.messages.preserve_copy,
            self.messages.allocate_diarium_number,
            self.messages.dispose_content,
            self.messages.inform_admins,
            self.messages.inform_absences,
            self.crisis.inform,
            self.crisis.compile_digest,
            self.crisis.covering_mode,
            self.snapshots.load_account,
            self.snapshots.plan,
            self.snapshots.capture,
            self.snapshots.count_uploads,
            self.snapshots.render,
            self.snapshots.package,
            self.snapshots.deliver,
            self.snapshot_admins.inform,
            self.records_exports.build,
            self.records_exports.finish,
        ]


def build_activities(pool: asyncpg.Pool, archive_dir: Path,
                     connectors: Connectors | None = None,
                     delivery: Delivery | None = None,
                     data_keys: DataKeys | None = None) -> Activities:
    store = EventStore(pool, all_projections())
    connectors = connectors or Connectors()
    return Activities(
        records=RecordActivities(store),
        account=AccountActivities(pool, store, DirectoryRepository(pool), archive_dir),
        crisis=CrisisActivities(pool),
        messages=MessageActivities(pool, connectors, data_keys),
        snapshots=SnapshotActivities(pool, store, connectors, archive_dir,
                                     delivery or archive_delivery_from_env(archive_dir)),
        snapshot_admins=SnapshotAdminActivities(pool),
        records_exports=RecordsExportActivities(pool, data_keys),
    )


def create_worker(client: Client, activities: Activities, task_queue: str,
                  **options: object) -> Worker:
    """The one place where workflows and activities are registered; tests use it too.
    Activities log with their workflow id and activity bound (ActivityLogContext)."""
    options.setdefault("interceptors", [ActivityLogContext(ACTIVITIES_RUNNING)])
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities.all(),
        workflow_runner=sandbox_runner(),
        **options,  # type: ignore[arg-type]
    )


async def main(argv: Sequence[str] = ()) -> None:
    """`python -m worker` runs the Temporal worker, the intake feeder and
    the outbox sender; `--no-feeder` leaves the feeder out, `--feeder-only`
    runs only the feeder, `--no-outbox` leaves the sender out. Feeders
    claim rows safely side by side (store/intake.py), so more feeder
    processes let the intake use more cores when one is not enough; the
    same holds for senders (store/outbox.py)."""
    parser = argparse.ArgumentParser(prog="python -m worker")
    roles = parser.add_mutually_exclusive_group()
    roles.add_argument("--no-feeder", action="store_true", help="run no intake feeder")
    roles.add_argument("--feeder-only", action="store_true",
                       help="run only the intake feeder, no Temporal worker")
    parser.add_argument("--no-outbox", action="store_true",
                        help="run no outbox sender (notification mails and chat posts)")
    args = parser.parse_args(list(argv))
    cfg = app_settings.load()  # a bad setting stops here, naming it
    configure_logging(cfg.log_level)
    if not cfg.database_url:
        raise SystemExit("DATABASE_URL is not set")
    cfg.archive_dir.mkdir(parents=True, exist_ok=True)
    # The metrics and health port answers from the start: live while the
    # loop runs, ready once polling (deploy/worker_health.py).
    health = Health()
    server: HealthServer | None = None
    runtime = None
    if cfg.worker_health_port:
        runtime, sdk_metrics = telemetry_runtime()
        try:
            server = HealthServer(health, cfg.worker_health_host, cfg.worker_health_port,
                                  sdk_metrics).start()
        except OSError as exc:
            # Another worker on this machine has it (a second local worker):
            # this one runs without, and says so. In a pod the port is free.
            log.error("metrics and health port not served", port=cfg.worker_health_port,
                      reason=str(exc), setting="KANALVAKT_WORKER_HEALTH_PORT")
    beating = asyncio.create_task(watch(health))
    try:
        await _run(args, cfg, health, runtime)
    finally:
        beating.cancel()
        if server is not None:
            server.close()


async def _run(args: argparse.Namespace, cfg: app_settings.Settings, health: Health,
               runtime: Runtime | None) -> None:
    # Started before PostgreSQL or Temporal is up (a reboot, a restart by the
    # supervisor), the worker waits for them, bounded (deploy/waiting.py).
    try:
        pool = await wait_for_postgres(cfg.database_url, cfg)
        client = await wait_for_temporal(cfg, runtime)
    except DependencyUnavailable as exc:
        raise SystemExit(f"worker: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    feeder = None if args.no_feeder else IntakeFeeder(
        pool, client, cfg.task_queue, retry=RetryPolicy(
            max_attempts=cfg.intake_max_attempts,
            base=timedelta(seconds=cfg.intake_retry_base_seconds),
            cap=timedelta(seconds=cfg.intake_retry_cap_seconds)),
        lease_seconds=cfg.intake_lease_seconds)
    if args.feeder_only:
        assert feeder is not None
        log.info("feeder started", task_queue=cfg.task_queue, temporal=cfg.temporal_address)
        watching = asyncio.create_task(watch(health, client, lambda: not stop.is_set()))
        await feeder.run(stop)
        watching.cancel()
        log.info("feeder stopped")
        await pool.close()
        return
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    activities = build_activities(pool, cfg.archive_dir, Connectors.from_env(http),
                                  data_keys=data_keys_of(client.data_converter.payload_codec))
    # SIGTERM: the worker stops polling and lets running activities finish
    # within KANALVAKT_WORKER_SHUTDOWN_SECONDS before cancelling them.
    worker = create_worker(client, activities, cfg.task_queue, graceful_shutdown_timeout=timedelta(
        seconds=cfg.worker_shutdown_seconds))
    await _sync_snapshot_schedules(client, pool, cfg.task_queue)
    log.info("worker started", task_queue=cfg.task_queue, temporal=cfg.temporal_address,
             feeder=feeder is not None)
    # Issue 13: the outbox sender is a client loop like the feeder
    # (docs/decisions.md, "Notifications: an outbox").
    sender = None if args.no_outbox else OutboxSender(
        pool, mail_settings(cfg), http, sender_policy(cfg))
    async with worker:
        watching = asyncio.create_task(
            watch(health, client, lambda: worker.is_running and not stop.is_set()))
        feeding = None if feeder is None else asyncio.create_task(feeder.run(stop))
        sending = None if sender is None else asyncio.create_task(sender.run(stop))
        await stop.wait()
        health.set_ready(False, "shutting down")
        log.info("worker stopping", graceful_shutdown_seconds=cfg.worker_shutdown_seconds)
        if feeding is not None:
            await feeding
        if sending is not None:
            await sending
    watching.cancel()
    log.info("worker stopped")
    await http.aclose()
    await pool.close()


async def _sync_snapshot_schedules(client: Client, pool: asyncpg.Pool, task_queue: str) -> None:
    """R-37: one Temporal Schedule per municipality, as its policy says
    (idempotent: created, updated when the policy changed, else left)."""
    for municipality_id, (policy, timezone) in (await policies(pool)).items():
        outcome = await sync_snapshot_schedule(client, municipality_id, policy, timezone,
                                               task_queue=task_queue)
        log.info("snapshot schedule", municipality=municipality_id, outcome=outcome)


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
