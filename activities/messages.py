"""The inbound-message workflow's side effects: the personal content apart
from the event log, platform actions through connectors, preserved copies
(R-30), diarium numbers (R-28) and disposal of content (R-35).

Every activity is idempotent: keyed by the case id, a retry writes once.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.signals import signal_each
from adapters.connectors.base import (
    ActionName,
    ActionResult,
    Capture,
    KnownContent,
    PlatformError,
    PlatformTarget,
    as_activity_error,
)
from adapters.connectors.registry import Connectors
from codec import DataKeys, open_record, seal_record
from domain import message as msg
from domain.cover import Absence
from domain.text import clean_strings
from store import record_uploads
from store.message_contents import StoreContentInput, open_contents, save_content
from store.payload_keys import destroy_data_key


class PlatformActionInput(BaseModel):
    target: PlatformTarget
    action: ActionName
    text: str | None = None
    idempotency_key: str | None = None


class PreserveCopyInput(BaseModel):
    case_id: str
    target: PlatformTarget
    now: AwareDatetime


class AllocateDiariumNumberInput(BaseModel):
    case_id: str
    municipality_id: str
    prefix: str
    year: int


class DisposeContentInput(BaseModel):
    case_id: str


class InformAdminsInput(BaseModel):
    """R-12, R-13: the account's admins after an AdminAdded or AdminRemoved."""

    account_id: str
    admins: list[str]


class InformAbsencesInput(BaseModel):
    """R-14: the account's absences and covers after one was recorded or ended."""

    account_id: str
    absences: list[Absence]


class InformAdminsResult(BaseModel):
    cases: int
    not_running: int


# A case is open while it has no outcome, or while a person still has to
# confirm by hand what was done on the platform (an admin confirms it), or
# while an answered case is still to be registered or disposed of
# (its admins are reminded; a case that ended at its answer is "not running").
_TERMINAL_CASE = [s.value for s in msg.Stage if s.terminal]
_OWED_RECORDS = """(stage = 'answered' AND state->>'diarium_number' IS NULL
                    AND state->>'dispose_on' IS NULL AND state->>'closed_reason' IS NULL)"""


class MessageActivities:
    def __init__(self, pool: asyncpg.Pool, connectors: Connectors,
                 data_keys: DataKeys | None = None) -> None:
        self._pool = pool
        self._connectors = connectors
        # With the per-workflow key store (codec.py), preserved copies are
        # sealed under their case's data key (issue 10), so disposal's
        # destruction of the key ends them in backups too.
        self._data_keys = data_keys

    @activity.defn(name="inform_message_admins")
    async def inform_admins(self, inp: InformAdminsInput) -> InformAdminsResult:
        """R-12, R-13, R-22: signal `admins_changed` with the account's full
        admin list to each of its open message cases, found in the
        message_cases read model (written with the cases' events, so a case
        whose receipt is on the record is found at once). Idempotent: a case
        told the same list twice records it once."""
        client = activity.client()
        sent = await signal_each(client, await self._open_cases(inp.account_id),
                                 "admins_changed", sorted(inp.admins))
        activity.logger.info("admins sent to open cases", extra={
            "account_id": inp.account_id, "cases": sent.told, "not_running": sent.not_running})
        return InformAdminsResult(cases=sent.told, not_running=sent.not_running)

    @activity.defn(name="inform_message_absences")
    async def inform_absences(self, inp: InformAbsencesInput) -> InformAdminsResult:
        """R-14: signal `absences_changed` with the account's absences and
        covers to each of its open message cases (as inform_admins).
        Idempotent: a case told the same list twice records it once."""
        sent = await signal_each(activity.client(), await self._open_cases(inp.account_id),
                                 "absences_changed", inp.absences)
        activity.logger.info("absences sent to open cases", extra={
            "account_id": inp.account_id, "cases": sent.told, "not_running": sent.not_running})
        return InformAdminsResult(cases=sent.told, not_running=sent.not_running)

    async def _open_cases(self, account_id: str) -> list[str]:
        rows = await self._pool.fetch(
            """SELECT case_id FROM message_cases
               WHERE account_id = $1::uuid AND NOT from_staff
                 AND (NOT (stage = ANY($2::text[])) OR state->>'pending_action' IS NOT NULL
                      OR """ + _OWED_RECORDS + """)
               ORDER BY case_id""", account_id, _TERMINAL_CASE)
        return [r["case_id"] for r in rows]

    @activity.defn(name="store_message_content")
    async def store_content(self, inp: StoreContentInput) -> None:
        await save_content(self._pool, inp, self._data_keys)

    @activity.defn(name="platform_action")
    async def platform_action(self, inp: PlatformActionInput) -> ActionResult:
        connector = self._connectors.for_target(inp.target)
        try:
            match inp.action:
                case "reply":
                    return await connector.reply(inp.target, inp.text or "",
                                                 idempotency_key=inp.idempotency_key)
                case "hide":
                    return await connector.hide(inp.target)
                case "unhide":
                    return await connector.unhide(inp.target)
                case "delete":
                    try:
                        return await connector.delete(inp.target)
                    except PlatformError as err:
                        # A retried delete whose first answer was lost finds the
                        # object gone: that is the delete having worked.
                        if err.object_missing and activity.info().attempt > 1:
                            return ActionResult(action="delete", status="done",
                                                detail="already deleted")
                        raise
        except PlatformError as err:
            raise as_activity_error(err) from err

    @activity.defn(name="preserve_copy")
    async def preserve_copy(self, inp: PreserveCopyInput) -> Capture:
        """R-30: a copy before unpublishing, kept once per case."""
        existing = await self._pool.fetchval(
            "SELECT capture FROM preserved_copies WHERE case_id = $1", inp.case_id)
        if existing is not None:
            opened = await open_record(self._data_keys, existing)
            if opened is not None:
                return Capture.model_validate(opened)
        content = await self._pool.fetchval(
            "SELECT content FROM message_contents WHERE case_id = $1", inp.case_id)
        [row] = await open_contents(self._data_keys, [content])
        known = None
        if row is not None:
            known = KnownContent(text=row["text"], author_id=inp.target.author_id,
                                 author_name=row["author_name"], created_time=inp.now)
        connector = self._connectors.for_target(inp.target)
        try:
            capture = await connector.capture(inp.target, now=inp.now, known=known)
        except PlatformError as err:
            raise as_activity_error(err) from err
        # Issue 9: the platform's own text may hold a NUL, which jsonb
        # refuses: it failed this activity on every retry, for ever. The copy
        # is kept as the rest of the record keeps text (domain.text).
        kept = clean_strings(capture.model_dump(mode="json"))
        stored: Any = kept
        if self._data_keys is not None:
            stored = await seal_record(self._data_keys, inp.case_id, kept)
        try:
            await self._pool.execute(
                "INSERT INTO preserved_copies (case_id, capture, captured_at) "
                "VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING",
                inp.case_id, stored, capture.captured_at,
            )
        except asyncpg.DataError as refused:
            raise ApplicationError(f"the copy cannot be kept: {type(refused).__name__}",
                                   type="UnrecordableCopy", non_retryable=True) from refused
        return Capture.model_validate(kept)

    @activity.defn(name="allocate_diarium_number")
    async def allocate_diarium_number(self, inp: AllocateDiariumNumberInput) -> str:
        """The next number of the municipality's series for the year, e.g.
        `KS 2026/00123`; the same case always gets the same number."""
        async with self._pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchval(
                "SELECT diarium_number FROM diarium_numbers WHERE case_id = $1", inp.case_id)
            if existing is not None:
                return str(existing)
            number = await conn.fetchval(
                """
                INSERT INTO diarium_series (municipality_id, year, last_number) VALUES ($1, $2, 1)
                ON CONFLICT (municipality_id, year)
                DO UPDATE SET last_number = diarium_series.last_number + 1
                RETURNING last_number
                """,
                inp.municipality_id, inp.year,
            )
            diarium_number = f"{inp.prefix} {inp.year}/{number:05d}"
            await conn.execute(
                "INSERT INTO diarium_numbers (case_id, diarium_number) VALUES ($1, $2)",
                inp.case_id, diarium_number,
            )
            return diarium_number

    @activity.defn(name="dispose_message_content")
    async def dispose_content(self, inp: DisposeContentInput) -> None:
        """R-33, R-35: the content goes; the disposal log (an event) stays.
        The case's data key is destroyed too (crypto-shredding, codec.py):
        every payload of its Temporal history becomes unreadable at once,
        without waiting for the namespace's retention."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM message_contents WHERE case_id = $1", inp.case_id)
            await conn.execute("DELETE FROM preserved_copies WHERE case_id = $1", inp.case_id)
            await record_uploads.dispose_of_case(conn, inp.case_id)  # R-30's screenshots
            await destroy_data_key(conn, inp.case_id, "disposed of (R-33, R-35)")

