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
    data/content/screenshots.json      the screenshots of comments deleted by hand (R-30,
                                       R-45; issue 14): case, file, digest, who, when;
    data/content/screenshots/<sha256>.<ext>  each file (not once disposed of)
    data/metadata/account-events.jsonl the account's own events (account exports)

Used by `kanalvakt records export` and, through RecordsExportWorkflow
(activities/records_export.py), by `POST /api/records-exports`.
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

from adapters.records_package import RecordsContent, write_records_package
from codec import DataKeys
from domain import account as acc
from store import record_uploads
from store.message_contents import with_contents

DECISION_EVENTS = (
    "MessageHidden", "AcknowledgementSent", "MessageAnswered", "MessageForwarded",
    "DraftSubmitted", "MessageRegistered", "MessageRedacted", "DisposalScheduled",
    "MessageDisposed", "ManualActionConfirmed", "ScreenshotAttached",
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


async def check_records_scope(pool: asyncpg.Pool, inp: RecordsExportInput) -> None:
    """LookupError for an unknown municipality, or an account not of it: the
    web refuses such an export before it starts one."""
    if await pool.fetchval("SELECT 1 FROM municipalities WHERE id = $1",
                           inp.municipality_id) is None:
        raise LookupError(f"no municipality {inp.municipality_id!r}")
    if inp.account_id is not None and await pool.fetchval(
            "SELECT 1 FROM accounts WHERE account_id = $1::uuid AND municipality_id = $2",
            inp.account_id, inp.municipality_id) is None:
        raise LookupError(f"no account {inp.account_id} in {inp.municipality_id}")


async def export_records(pool: asyncpg.Pool, archive_dir: Path, inp: RecordsExportInput,
                         data_keys: DataKeys | None = None) -> acc.ArchivePackageRef:
    """R-38: the registrar's records export; the messages' texts opened with
    `data_keys` (sealed at rest, issue 10; null once disposed of). The rows
    are read here, the package written by adapters/records_package.py."""
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
    screenshots = []
    for shot in await record_uploads.of_cases(pool, [c["case_id"] for c in cases]):
        # the preserved copy taken by hand goes with its case.
        shot["content"] = await record_uploads.content(pool, data_keys, shot["upload_id"])
        screenshots.append(shot)
    content = RecordsContent(
        municipality_id=m["id"], municipality_name=m["name"],
        account=_plain(account) if account is not None else None,
        diarium=[_plain(r) for r in diarium],
        messages=await with_contents(data_keys, [_plain(r) for r in cases]),
        decisions=[_plain(r) for r in decisions],
        disposals=[_plain(r) for r in disposals],
        snapshots=[_plain(r) for r in snapshots],
        screenshots=screenshots)
    if account is not None:
        events = await pool.fetch(
            "SELECT version, event_type, actor, occurred_at, data FROM events "
            "WHERE stream_id = $1 ORDER BY version", f"account-{inp.account_id}")
        content.account_events = [_plain(e) for e in events]
    return await asyncio.to_thread(
        write_records_package, archive_dir, content, start=inp.start, end=inp.end,
        account_id=inp.account_id, requested_by=inp.requested_by, now=inp.now)
