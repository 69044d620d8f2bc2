"""The account workflow's side effects: the directory's authorities and the
final snapshot as an archive package for the registrar (its events go
through activities.records).

Every activity is idempotent: a retry writes nothing twice.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.archive import BagFile, write_bag
from domain import account as acc
from domain.directory import Authorities
from readviews.accounts import register_entry

if TYPE_CHECKING:
    import asyncpg

    from store.directory import DirectoryRepository
    from store.eventstore import EventStore


class LoadAuthoritiesInput(BaseModel):
    municipality_id: str
    unit_id: str


class FinalSnapshotInput(BaseModel):
    stream_id: str
    account_id: str
    municipality_id: str
    workflow_id: str
    taken_at: datetime


class AccountActivities:
    """Activities of AccountLifecycleWorkflow (with activities.records for
    its events); built once by worker.py."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore, directory: DirectoryRepository,
                 archive_dir: Path) -> None:
        self._pool = pool
        self._store = store
        self._directory = directory
        self._archive_dir = archive_dir

    @activity.defn(name="load_account_authorities")
    async def load_authorities(self, inp: LoadAuthoritiesInput) -> Authorities | None:
        return await self._directory.authorities(inp.municipality_id, inp.unit_id)

    @activity.defn(name="build_final_snapshot")
    async def build_final_snapshot(self, inp: FinalSnapshotInput) -> acc.ArchivePackageRef:
        """R-38: the account's whole event history and its register entry as a
        BagIt package in the registrar's archive location. Content capture
        from the platform is added by the snapshot pipeline later."""

        recorded = await self._store.read_stream(inp.stream_id)
        if not recorded:
            raise ApplicationError(f"no events in {inp.stream_id}", non_retryable=True)
        history = [
            {
                "version": e.version, "event_id": str(e.event_id), "type": e.event_type,
                "occurred_at": e.occurred_at.isoformat(), "actor": e.actor, "data": e.data,
            }
            for e in recorded
        ]
        state = acc.fold([acc.parse_event(e.data) for e in recorded])
        entry = await register_entry(self._pool, inp.account_id)
        package_id = f"{inp.municipality_id}-{state.slug}-final-{inp.taken_at:%Y%m%d}"
        files = [
            BagFile(path="events.json", content=_json(history)),
            BagFile(path="account.json", content=_json(state.model_dump(mode="json"))),
            BagFile(path="register-entry.json", content=_json(entry)),
        ]
        info = {
            "Source-Organization": inp.municipality_id,
            "External-Identifier": package_id,
            "External-Description": (
                f"Final snapshot of the official account {state.request.account_name} "
                f"({state.request.platform.value}) before closure"
            ),
            "Bagging-Date": inp.taken_at.date().isoformat(),
            "Kanalvakt-Account-Id": inp.account_id,
            "Kanalvakt-Workflow-Id": inp.workflow_id,
            "Kanalvakt-Event-Count": str(len(history)),
        }
        target = self._archive_dir / inp.municipality_id / package_id
        target.parent.mkdir(parents=True, exist_ok=True)
        # Blocking file I/O with fsyncs: keep it off the worker's event loop.
        bag = await asyncio.to_thread(write_bag, target, files, info)
        activity.logger.info("final snapshot %s (%s)", package_id, bag.payload_oxum)
        return acc.ArchivePackageRef(package_id=package_id, path=bag.path,
                                     manifest_sha256=bag.manifest_sha256,
                                     payload_oxum=bag.payload_oxum)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"

