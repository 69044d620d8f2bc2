"""A records export (issue 5): an account's or a whole municipality's
diarium entries, messages, decisions and disposal log for a period, as a
BagIt package with the same METS / package.json metadata as a snapshot, for
the registrar to take into an e-archive.

    data/METS.xml, data/metadata/package.json
    data/content/diarium.json          diarium entries registered in the period (R-28)
    data/content/messages.jsonl        message cases received in the period, with the
                                       text and author where not disposed of (R-21, R-35)
    data/content/decisions.jsonl       every decision on those cases (events, who, when)
    data/content/disposal-log.json     disposals in the period (R-35: decision, date, who)
    data/content/snapshots.json        snapshots taken in the period (R-37)
    data/metadata/account-events.jsonl the account's own events (account exports)

Used by `kanalvakt records export` and `POST /api/records-exports`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import AwareDatetime, BaseModel, model_validator

from adapters.archive import BagFile, write_bag
from adapters.snapshot_package import bag_info, json_bytes, json_lines, with_metadata
from codec import DataKeys
from domain import account as acc
from domain import snapshot as snap
from store.message_contents import with_contents

DECISION_EVENTS = (
    "MessageHidden", "AcknowledgementSent", "MessageAnswered", "MessageForwarded",
    "DraftSubmitted", "MessageRegistered", "MessageRedacted", "DisposalScheduled",
    "MessageDisposed", "ManualActionConfirmed",
)


class RecordsExportInput(BaseModel):
    municipality_id: str
    account_id: str | None = None
    start: date
    end: date
    requested_by: str
    now: AwareDatetime

    @model_validator(mode="after")
    def _period(self) -> RecordsExportInput:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, uuid.UUID | date):
            value = str(value)
        elif isinstance(value, str) and key == "state":
            value = json.loads(value)
        out[key] = value
    return out


async def export_records(pool: asyncpg.Pool, archive_dir: Path, inp: RecordsExportInput,
                         data_keys: DataKeys | None = None) -> acc.ArchivePackageRef:
    """R-38: the registrar's records export; the messages' texts opened with
    `data_keys` (sealed at rest, issue 10; null once disposed of)."""
    m = await pool.fetchrow("SELECT id, name, timezone FROM municipalities WHERE id = $1",
                            inp.municipality_id)
    if m is None:
        raise LookupError(f"no municipality {inp.municipality_id!r}")
    zone = ZoneInfo(m["timezone"])
    since = datetime.combine(inp.start, time(0), tzinfo=zone)
    until = datetime.combine(inp.end + timedelta(days=1), time(0), tzinfo=zone)
    account = None
    if inp.account_id is not None:
        account = await pool.fetchrow(
            "SELECT a.*, u.name AS unit_name FROM accounts a LEFT JOIN units u ON "
            "u.municipality_id = a.municipality_id AND u.id = a.unit_id "
            "WHERE a.account_id = $1::uuid AND a.municipality_id = $2",
            inp.account_id, inp.municipality_id)
        if account is None:
            raise LookupError(f"no account {inp.account_id} in {inp.municipality_id}")
    scope = (inp.municipality_id, inp.account_id, since, until)
    where = "municipality_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)"
    diarium = await pool.fetch(
        f"SELECT * FROM diarium WHERE {where} AND registered_at >= $3 AND registered_at < $4 "
        "ORDER BY registered_at, diarium_number", *scope)
    cases = await pool.fetch(
        f"""SELECT mc.case_id, mc.account_id, mc.platform, mc.kind, mc.from_staff, mc.stage,
                   mc.received_at, mc.diarium_number, mc.closed_at, mc.state,
                   c.content
            FROM message_cases mc LEFT JOIN message_contents c ON c.case_id = mc.case_id
            WHERE mc.{where.replace('account_id', 'mc.account_id')} AND mc.received_at >= $3
              AND mc.received_at < $4 ORDER BY mc.received_at, mc.case_id""", *scope)
    decisions = await pool.fetch(
        """SELECT stream_id AS case_id, version, event_type, actor, occurred_at, data
           FROM events WHERE stream_id = ANY($1::text[]) AND event_type = ANY($2::text[])
           ORDER BY stream_id, version""",
        [c["case_id"] for c in cases], list(DECISION_EVENTS))
    disposals = await pool.fetch(
        f"SELECT * FROM disposal_log WHERE {where} AND disposed_at >= $3 AND disposed_at < $4 "
        "ORDER BY disposed_at, case_id", *scope)
    snapshots = await pool.fetch(
        f"SELECT * FROM snapshots WHERE {where} AND taken_at >= $3 AND taken_at < $4 "
        "ORDER BY taken_at, snapshot_id", *scope)
    files = [
        BagFile(path="content/diarium.json", content=json_bytes([_plain(r) for r in diarium])),
        BagFile(path="content/messages.jsonl", content=json_lines(await with_contents(
                    data_keys, [_plain(r) for r in cases]))),
        BagFile(path="content/decisions.jsonl",
                content=json_lines([_plain(r) for r in decisions])),
        BagFile(path="content/disposal-log.json",
                content=json_bytes([_plain(r) for r in disposals])),
        BagFile(path="content/snapshots.json", content=json_bytes([_plain(r) for r in snapshots])),
    ]
    if account is not None:
        events = await pool.fetch(
            "SELECT version, event_type, actor, occurred_at, data FROM events "
            "WHERE stream_id = $1 ORDER BY version", f"account-{inp.account_id}")
        files.append(BagFile(path="metadata/account-events.jsonl",
                             content=json_lines([_plain(e) for e in events])))
    scope_name = "all"
    if account is not None:
        state = account["state"]
        scope_name = (json.loads(state) if isinstance(state, str) else state)["slug"]
    # To the millisecond: two registrars exporting the same period in the same
    # second get two packages, not a clash.
    made = inp.now.astimezone(UTC)
    package_id = (f"{inp.municipality_id}-records-{scope_name}-{inp.start:%Y%m%d}-"
                  f"{inp.end:%Y%m%d}-{made:%Y%m%dT%H%M%S}{made.microsecond // 1000:03d}Z")
    meta = snap.PackageMetadata(
        package_id=package_id, kind=snap.PackageKind.RECORDS_EXPORT, created_at=inp.now,
        producer=m["name"], producer_id=m["id"],
        archival_creator=(account["unit_name"] or account["unit_id"]) if account else m["name"],
        archival_creator_id=account["unit_id"] if account else m["id"],
        record_class="Allmänna handlingar i sociala medier", start_date=inp.start,
        end_date=inp.end, account_id=inp.account_id,
        account_name=account["account_name"] if account else None,
        platform=account["platform"] if account else None,
        handle=account["handle"] if account else None, url=account["url"] if account else None)
    payload, meta = with_metadata(files, meta)
    info = bag_info(meta) | {"Kanalvakt-Requested-By": inp.requested_by,
                             "Kanalvakt-Counts": f"diarium {len(diarium)}, messages {len(cases)}, "
                                                 f"decisions {len(decisions)}, disposals "
                                                 f"{len(disposals)}, snapshots {len(snapshots)}"}
    target = archive_dir / inp.municipality_id / "records" / package_id
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    bag = await asyncio.to_thread(write_bag, target, payload, info)
    return acc.ArchivePackageRef(package_id=package_id, path=bag.path,
                                 manifest_sha256=bag.manifest_sha256,
                                 payload_oxum=bag.payload_oxum)
