"""Snapshots and records exports in the JSON API (R-37, R-38).

    GET  /api/accounts/{id}/snapshots              the account's snapshots (read model)
    POST /api/accounts/{id}/snapshots              take one now: on demand, or after a
                                                   major change (body names the event)
    POST /api/accounts/{id}/snapshot-uploads       upload a screenshot (PNG, JPEG, WebP) for
                                                   a platform Kanalvakt cannot read
    POST /api/records-exports                      a registrar's records export: starts
                                                   RecordsExportWorkflow, 202 at once
    GET  /api/records-exports/{export_id}          its progress (the workflow's query)
    GET  /api/records-exports/{export_id}/package  the package (a zip of the bag) when done
    GET  /api/accounts/{id}/snapshot-requests      snapshots waiting for (or given)
                                                   screenshots (R-37, R-38)
    POST /api/accounts/{id}/snapshot-requests/{snapshot_id}/done
                                                   the screenshots are uploaded: take it
                                                   (the account's admins, communications)
    POST /api/accounts/{id}/snapshot-requests/{snapshot_id}/record-only
                                                   package without screenshots, body
                                                   {"reason": ...} (communications only)

Who: an account's admins, its unit's manager or deputy and the communications
unit take snapshots and upload; registrars and the communications unit
export records.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile as StarletteUploadFile
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

import settings
from activities.records_export import BuildRecordsExportInput
from domain import account as acc
from domain import readers
from domain import snapshot as snap
from domain.text import clean_text
from readviews import accounts as account_views
from readviews.accounts import AccountRecord
from readviews.records import RecordsExportInput, check_records_scope
from readviews.snapshots import screenshot_requests_of, snapshots_of
from store.records_exports import (
    fail_records_export,
    insert_records_export,
    records_export_package,
    records_export_row,
)
from store.snapshots import store_upload
from web.deps import AppContext, Ctx, send_update
from web.identity import ApiActor, known_actor
from web.page_texts import Refused
from workflows.records_export import RecordsExportWorkflow
from workflows.snapshot_starter import start_snapshot

MAX_UPLOAD = 20 * 1024 * 1024
_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff",
               "image/webp": b"RIFF"}


class SnapshotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["on_demand", "major_change"] = "on_demand"
    change: str | None = None  # the account event behind a major change, e.g. HandleChanged


class RecordOnlyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str


class RecordsExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality_id: str
    account_id: uuid.UUID | None = None
    start: date
    end: date


async def _account_and_actor(ctx: AppContext, account_id: uuid.UUID,
                             actor: Any) -> tuple[AccountRecord, str]:
    account = await account_views.account_record(ctx.pool, str(account_id))
    if account is None:
        raise Refused(404, "no_account", "no such account")
    who = await known_actor(ctx, account.row["municipality_id"], actor)
    if not readers.may_take_snapshots(account.state, who):
        raise Refused(403, "snapshot_takers", f"{who} may not take snapshots of this "
                      "account: its admins, the unit's manager and the communications unit may")
    return account, who


async def _account_who(ctx: AppContext, account_id: uuid.UUID,
                       actor: Any) -> tuple[AccountRecord, str]:
    account = await account_views.account_record(ctx.pool, str(account_id))
    if account is None:
        raise HTTPException(404, detail="no such account")
    return account, await known_actor(ctx, account.row["municipality_id"], actor)


async def take_snapshot(ctx: AppContext, account: AccountRecord, who: str,
                        body: SnapshotRequest) -> str:
    """Start a snapshot of the account now (R-37): on demand, or after a
    major change on its record today. HTTPException 409/422 otherwise,
    before anything starts. Returns the snapshot's id."""
    account_id, state = str(account.row["account_id"]), account.state
    if state.stage is not acc.Stage.ACTIVE:
        raise Refused(409, "snapshot_active_only", "only an active account is snapshotted; "
                      "a closed one has its final snapshot")
    now = datetime.now(UTC)
    day = snap.local_date(now, state.timezone)
    if body.reason == "major_change":
        label = snap.major_change_reason(body.change or "")
        if label is None:
            raise Refused(422, "snapshot_not_major", f"{body.change!r} is not a major change "
                          f"(R-37): one of {', '.join(sorted(snap.MAJOR_CHANGES))}",
                          change=body.change or "")
        # The snapshot's id is the change and its day, as the account's
        # case names the one it starts itself after the change: a claim
        # of a change not on the record would take that id first and
        # leave the real change without its snapshot.
        if not any(e["event_type"] == body.change and snap.local_date(
                datetime.fromisoformat(e["occurred_at"]), state.timezone) == day
                for e in await account_views.timeline(
                    ctx.pool, account_id, since=snap.day_start(day, state.timezone))):
            raise Refused(422, "snapshot_no_change_today", f"the account has no "
                          f"{body.change} on its record today ({day}); a snapshot after a "
                          "major change follows the change (R-37): take one on demand "
                          "instead", day=day.isoformat())
        reason = snap.SnapshotReason.MAJOR_CHANGE
    else:
        label = now.astimezone(ZoneInfo(state.timezone)).strftime("%H%M%S")  # local, as `day`
        reason = snap.SnapshotReason.ON_DEMAND
    try:
        handle = await start_snapshot(
            ctx.client, account_id=account_id, municipality_id=state.municipality_id,
            slug=state.slug, reason=reason, day=day, task_queue=ctx.task_queue,
            requested_by=who, label=label, change=body.change)
    except WorkflowAlreadyStartedError:
        raise Refused(409, "snapshot_taken", "that snapshot has been taken already") from None
    return str(handle.id)


async def waiting_request(ctx: AppContext, account: AccountRecord, snapshot_id: str
                          ) -> dict[str, Any]:
    """The account's snapshot `snapshot_id` while it waits for screenshots;
    404 for another account's or an unknown one, 409 once it has ended."""
    row = await ctx.pool.fetchrow(
        "SELECT * FROM snapshot_screenshot_requests WHERE snapshot_id = $1 "
        "AND account_id = $2::uuid", snapshot_id, account.state.account_id)
    if row is None:
        raise HTTPException(404, detail="no such snapshot waiting for screenshots")
    if row["outcome"] is not None:
        raise HTTPException(409, detail={"code": "WrongStage", "key": "snapshot.not_waiting",
                                         "message": "this snapshot is not waiting for "
                                         "screenshots"})
    return dict(row)


async def say_screenshots_done(ctx: AppContext, account: AccountRecord, who: str,
                               snapshot_id: str) -> dict[str, Any]:
    """R-37, R-38: the waiting snapshot takes the uploaded screenshots. 403
    before anything is sent for anyone but the account's admins and the
    communications unit; the workflow refuses (422) while nothing is uploaded."""
    await waiting_request(ctx, account, snapshot_id)
    if not readers.may_end_wait(account.state, who):
        raise HTTPException(403, detail={
            "code": "NotAuthorised", "key": "snapshot.done_not_authorised",
            "message": f"{who} may not say the screenshots are uploaded: the account's "
                       "admins and the communications unit may"})
    handle = ctx.client.get_workflow_handle(snapshot_id)
    result: dict[str, Any] = await send_update(handle, "screenshots_done",
                                               snap.ScreenshotsDone(actor=who))
    return result


async def package_record_only(ctx: AppContext, account: AccountRecord, who: str,
                              snapshot_id: str, reason: str) -> dict[str, Any]:
    """R-37, R-38: the communications unit packages the snapshot without
    screenshots, with its reason on the record; 403 for anyone else before
    anything is sent, 422 from the rule for a reason under ten characters."""
    await waiting_request(ctx, account, snapshot_id)
    if not readers.may_package_without_screenshots(account.state, who):
        raise HTTPException(403, detail={
            "code": "NotAuthorised", "key": "snapshot.record_only_not_authorised",
            "message": f"{who} may not package without screenshots: only the "
                       "communications unit may"})
    # A reason too short is refused by the rule (domain.snapshot.decide_record_only).
    command = snap.PackageWithoutScreenshots(actor=who, reason=reason.strip()[:2000])
    handle = ctx.client.get_workflow_handle(snapshot_id)
    result: dict[str, Any] = await send_update(handle, "package_without_screenshots", command)
    return result


async def store_screenshot(ctx: AppContext, account_id: str, who: str,
                           file: StarletteUploadFile, caption: str | None) -> dict[str, Any]:
    """Keep an uploaded screenshot (PNG, JPEG, WebP, at most 20 MB) for the
    account's next snapshot; 413/415 with nothing stored otherwise, 409 for
    an account that will not be snapshotted again (rejected, lapsed, closed)."""
    account = await account_views.account(ctx.pool, account_id)
    if account is not None and acc.Stage(account["stage"]).terminal:
        raise Refused(409, "snapshot_never", f"the account is {account['stage']}: no "
                      "snapshot of it will be taken, so the screenshot would never be used")
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise Refused(413, "upload_too_big", "a screenshot may be at most 20 MB")
    kind = next((k for k, sig in _SIGNATURES.items() if content.startswith(sig)), None)
    if kind is None or (kind == "image/webp" and content[8:12] != b"WEBP"):
        raise Refused(415, "upload_kind", "upload a PNG, JPEG or WebP screenshot")
    # A multipart form's text is not looked into at the door (web/boundary.py
    # reads JSON and url-encoded bodies only): normalised here, so a NUL in
    # a file name or caption cannot make the row unwritable (a 500).
    return await store_upload(ctx.pool, account_id=account_id,
                              file_name=clean_text(file.filename or "skarmbild")[:200] or
                              "skarmbild", mime_type=kind, content=content,
                              caption=clean_text(caption) if caption else None, uploaded_by=who,
                              uploaded_at=datetime.now(UTC))


async def _may_export(ctx: AppContext, municipality_id: str, who: str) -> None:
    if not readers.may_read_records(await ctx.directory.roles_of(municipality_id, who)):
        raise HTTPException(403, detail=f"{who} is neither a registrar nor in the "
                            f"communications unit of {municipality_id}")


async def _export_row(ctx: AppContext, export_id: uuid.UUID, actor: Any) -> dict[str, Any]:
    row = await records_export_row(ctx.pool, str(export_id))
    if row is None:
        raise HTTPException(404, detail="no such records export")
    who = await known_actor(ctx, row["municipality_id"], actor)
    await _may_export(ctx, row["municipality_id"], who)
    return row


async def start_records_export(ctx: AppContext, inp: RecordsExportInput) -> dict[str, Any]:
    """Write the export's row and start its workflow (R-38); the worker
    builds and stores the package. Returns where to follow it."""
    export_id = str(uuid.uuid4())
    workflow_id = f"records-export-{export_id}"
    await insert_records_export(
        ctx.pool, export_id, workflow_id, municipality_id=inp.municipality_id,
        account_id=inp.account_id, start=inp.start, end=inp.end,
        requested_by=inp.requested_by, requested_at=inp.now)
    try:
        await ctx.client.start_workflow(
            RecordsExportWorkflow.run, BuildRecordsExportInput(
                export_id=export_id, export=inp,
                keep=timedelta(days=settings.load().records_export_keep_days)),
            id=workflow_id, task_queue=ctx.task_queue)
    except Exception as err:
        # Temporal unreachable: the row must not stay "running" for ever.
        await fail_records_export(ctx.pool, export_id, f"not started: {type(err).__name__}")
        raise
    return {"export_id": export_id, "workflow_id": workflow_id, "status": "queued",
            "progress_url": f"/api/records-exports/{export_id}",
            "package_url": f"/api/records-exports/{export_id}/package"}


async def records_export_status(ctx: AppContext, row: dict[str, Any]) -> dict[str, Any]:
    """The export as stored, with the running workflow's progress (its query)
    while it is not done."""
    out = {k: v for k, v in row.items() if k != "workflow_id"}
    if row["status"] == "running":
        try:
            progress = await ctx.client.get_workflow_handle(row["workflow_id"]).query(
                RecordsExportWorkflow.progress)
            out.update(progress.model_dump(mode="json", exclude_none=True))
        except RPCError:
            pass  # not (yet) answerable: the row says running
    out["package_url"] = (f"/api/records-exports/{row['export_id']}/package"
                          if out.get("status") == "done" else None)
    return out


def snapshots_router() -> APIRouter:
    router = APIRouter(tags=["snapshots"])

    @router.get("/api/accounts/{account_id}/snapshots")
    async def list_snapshots(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor
                             ) -> list[dict[str, Any]]:
        await _account_and_actor(ctx, account_id, actor)
        return await snapshots_of(ctx.pool, str(account_id))

    @router.post("/api/accounts/{account_id}/snapshots", status_code=202)
    async def take(account_id: uuid.UUID, body: SnapshotRequest, ctx: Ctx,
                   actor: ApiActor) -> dict[str, Any]:
        account, who = await _account_and_actor(ctx, account_id, actor)
        return {"snapshot_id": await take_snapshot(ctx, account, who, body)}

    @router.post("/api/accounts/{account_id}/snapshot-uploads", status_code=201)
    async def upload(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
                     file: Annotated[UploadFile, File()],
                     caption: Annotated[str | None, Form(max_length=500)] = None
                     ) -> dict[str, Any]:
        _, who = await _account_and_actor(ctx, account_id, actor)
        return await store_screenshot(ctx, str(account_id), who, file, caption)

    @router.get("/api/accounts/{account_id}/snapshot-requests")
    async def list_requests(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor
                            ) -> list[dict[str, Any]]:
        await _account_and_actor(ctx, account_id, actor)
        return await screenshot_requests_of(ctx.pool, str(account_id))

    @router.post("/api/accounts/{account_id}/snapshot-requests/{snapshot_id}/done")
    async def done(account_id: uuid.UUID, snapshot_id: str, ctx: Ctx, actor: ApiActor
                   ) -> dict[str, Any]:
        account, who = await _account_who(ctx, account_id, actor)
        return await say_screenshots_done(ctx, account, who, snapshot_id)

    @router.post("/api/accounts/{account_id}/snapshot-requests/{snapshot_id}/record-only")
    async def record_only(account_id: uuid.UUID, snapshot_id: str, body: RecordOnlyRequest,
                          ctx: Ctx, actor: ApiActor) -> dict[str, Any]:
        account, who = await _account_who(ctx, account_id, actor)
        return await package_record_only(ctx, account, who, snapshot_id, body.reason)

    @router.post("/api/records-exports", status_code=202)
    async def records_export(body: RecordsExportRequest, ctx: Ctx, actor: ApiActor
                             ) -> dict[str, Any]:
        """R-38: starts the export on a worker and returns at once (issue 12)."""
        who = await known_actor(ctx, body.municipality_id, actor)
        await _may_export(ctx, body.municipality_id, who)
        try:
            inp = RecordsExportInput(
                municipality_id=body.municipality_id,
                account_id=str(body.account_id) if body.account_id else None,
                start=body.start, end=body.end, requested_by=who, now=datetime.now(UTC))
            await check_records_scope(ctx.pool, inp)
        except LookupError as missing:
            raise HTTPException(404, detail=str(missing)) from None
        except ValueError as bad:
            raise HTTPException(422, detail=str(bad)) from None
        return await start_records_export(ctx, inp)

    @router.get("/api/records-exports/{export_id}")
    async def records_export_progress(export_id: uuid.UUID, ctx: Ctx, actor: ApiActor
                                      ) -> dict[str, Any]:
        row = await _export_row(ctx, export_id, actor)
        return await records_export_status(ctx, row)

    @router.get("/api/records-exports/{export_id}/package")
    async def records_export_download(export_id: uuid.UUID, ctx: Ctx, actor: ApiActor
                                      ) -> Response:
        row = await _export_row(ctx, export_id, actor)
        if row["status"] == "expired":
            raise HTTPException(410, detail="the export has expired: export the period again")
        package = await records_export_package(ctx.pool, str(export_id))
        if package is None:
            raise HTTPException(409, detail=f"the export is {row['status']}, not done yet")
        return Response(package, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{row["package_id"]}.zip"'})

    return router
