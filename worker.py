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
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import settings as app_settings
from activities.account import AccountActivities
from activities.crisis import CrisisActivities
from activities.messages import MessageActivities
from activities.records import RecordActivities
from activities.snapshot import SnapshotActivities, archive_delivery_from_env
from activities.snapshot_admins import SnapshotAdminActivities
from adapters.connectors.registry import Connectors
from adapters.snapshot_delivery import Delivery
from codec import DataKeys, data_keys_of
from deploy.logging_setup import configure_logging
from deploy.waiting import DependencyUnavailable, wait_for_postgres, wait_for_temporal
from feeder import IntakeFeeder
from store.directory import DirectoryRepository
from store.eventstore import EventStore
from store.intake import RetryPolicy
from store.projections import all_projections
from store.snapshots import policies
from workflows.account import AccountLifecycleWorkflow
from workflows.crisis import CrisisWorkflow
from workflows.message import InboundMessageWorkflow
from workflows.snapshot import SnapshotFanOutWorkflow, SnapshotWorkflow
from workflows.snapshot_starter import sync_snapshot_schedule

WORKFLOWS: Sequence[type] = (AccountLifecycleWorkflow, InboundMessageWorkflow, CrisisWorkflow,
                             SnapshotWorkflow, SnapshotFanOutWorkflow)

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
    )


def create_worker(client: Client, activities: Activities, task_queue: str,
                  **options: object) -> Worker:
    """The one place where workflows and activities are registered; tests use it too."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities.all(),
        workflow_runner=sandbox_runner(),
        **options,  # type: ignore[arg-type]
    )


async def main(argv: Sequence[str] = ()) -> None:
    """`python -m worker` runs the Temporal worker and the intake feeder;
    `--no-feeder` only the worker, `--feeder-only` only the feeder. Feeders
    claim rows safely side by side (store/intake.py), so more feeder
    processes let the intake use more cores when one is not enough."""
    parser = argparse.ArgumentParser(prog="python -m worker")
    roles = parser.add_mutually_exclusive_group()
    roles.add_argument("--no-feeder", action="store_true", help="run no intake feeder")
    roles.add_argument("--feeder-only", action="store_true",
                       help="run only the intake feeder, no Temporal worker")
    args = parser.parse_args(list(argv))
    configure_logging()
    cfg = app_settings.load()
    if not cfg.database_url:
        raise SystemExit("DATABASE_URL is not set")
    cfg.archive_dir.mkdir(parents=True, exist_ok=True)
    # Started before PostgreSQL or Temporal is up (a reboot, a restart by the
    # supervisor), the worker waits for them, bounded (deploy/waiting.py).
    try:
        pool = await wait_for_postgres(cfg.database_url, cfg)
        client = await wait_for_temporal(cfg)
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
            cap=timedelta(seconds=cfg.intake_retry_cap_seconds)))
    if args.feeder_only:
        assert feeder is not None
        log.info("feeder started", task_queue=cfg.task_queue, temporal=cfg.temporal_address)
        await feeder.run(stop)
        log.info("feeder stopped")
        await pool.close()
        return
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    activities = build_activities(pool, cfg.archive_dir, Connectors.from_env(http),
                                  data_keys=data_keys_of(client.data_converter.payload_codec))
    worker = create_worker(client, activities, cfg.task_queue)
    await _sync_snapshot_schedules(client, pool, cfg.task_queue)
    log.info("worker started", task_queue=cfg.task_queue, temporal=cfg.temporal_address,
             feeder=feeder is not None)
    async with worker:
        feeding = None if feeder is None else asyncio.create_task(feeder.run(stop))
        await stop.wait()
        log.info("worker stopping")
        if feeding is not None:
            await feeding
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
