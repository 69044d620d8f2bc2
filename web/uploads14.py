"""Files kept with the record (issue 14, C8): the helpers of the pages
(web/upload_pages.py has their routes) and the JSON API's route

POST /api/messages/{case_id}/screenshot-uploads   R-30, R-45: the screenshot a
                                                  deletion by hand asks for
                                                  (multipart, field `file`)
POST /api/accounts/{id}/consent-uploads           R-41: a guardian's signed consent
                                                  (multipart, field `file`), named by
                                                  a post (`guardian_consent_upload`)
POST /api/accounts/{id}/consents/{upload}/withdraw  R-41: the consent withdrawn or
                                                  disposed of: recorded, its file
                                                  destroyed, the admins told

`attach_screenshot` keeps a case's screenshot and records it
(ScreenshotAttached), for the page and the API alike; the post form's
guardian's consent (R-41) is kept before the post is recorded and forgotten
again when it is not (`consent_of_form`, `forget_unless_recorded`). The
files and their checks: store/record_uploads.py. A bad file is refused
before anything is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload

from domain import account as acc
from domain import message as msg
from domain import readers
from domain.text import clean_text
from readviews import accounts as account_views
from readviews import messages as mq
from store import record_uploads
from web.deps import AppContext, Ctx, send_update
from web.identity import ApiActor, Viewer, known_actor
from web.messages_api import may_read_case
from web.page_texts import Refused
from workflows.account import AccountLifecycleWorkflow
from workflows.message import InboundMessageWorkflow as W

# A consent uploaded over the JSON API that no post names after this long
# is not kept (destroyed at the account's next consent upload).
UNNAMED_CONSENT_KEPT = timedelta(days=1)

# The post form's field for the guardian's signed consent (web/templates/_post_images.html).
CONSENT_FIELD = "image_guardian_consent_file"


def upload_error(t: Any, error: record_uploads.BadUpload, purpose: record_uploads.Purpose
                 ) -> str:
    """A refused file in the reader's language: what was wrong and what to do."""
    return t(f"upload14.err.{error.reason}.{purpose}",
             mb=str(record_uploads.MAX_BYTES[purpose] // record_uploads.MiB))


def file_name(upload: StarletteUpload, default: str) -> str:
    # A multipart form's text is not looked into at the door (web/boundary.py):
    # normalised here, as web.snapshots_api.store_screenshot does.
    return clean_text(upload.filename or default)[:200] or default


async def read_file(upload: StarletteUpload, purpose: record_uploads.Purpose) -> bytes:
    # One byte more than allowed is enough to know it is too big.
    return await upload.read(record_uploads.MAX_BYTES[purpose] + 1)


async def require_consent_reader(ctx: AppContext, record: account_views.AccountRecord,
                                 viewer: Viewer) -> None:
    roles = await ctx.directory.roles_of(record.row["municipality_id"], viewer.person_id)
    if not readers.may_read_consent(record.state, viewer.person_id, roles):
        raise Refused(403, "consent_readers", "a guardian's consent is read by the account's "
                      "admins, the unit's manager and deputy, the communications unit and the "
                      "registrars (R-41)")


async def may_read_consents(ctx: AppContext, record: account_views.AccountRecord,
                            viewer: Viewer) -> bool:
    roles = await ctx.directory.roles_of(record.row["municipality_id"], viewer.person_id)
    return readers.may_read_consent(record.state, viewer.person_id, roles)


async def upload_row(ctx: AppContext, upload_id: str) -> dict[str, Any] | None:
    try:
        return await record_uploads.row(ctx.pool, str(_uuid(upload_id)))
    except ValueError:
        return None


def _uuid(value: str) -> str:
    return str(uuid.UUID(value))


async def download(ctx: AppContext, row: dict[str, Any]) -> Response:
    content = await record_uploads.content(ctx.pool, ctx.data_keys, row["upload_id"])
    if content is None:  # disposed of: its key destroyed
        raise Refused(410, "upload_disposed", "the file was disposed of")
    name = quote(row["file_name"])
    return Response(content, media_type=row["mime_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


# --------------------------------------------------------------------------- a case's screenshot


def require_screenshot_uploader(case: dict[str, Any], who: str) -> None:
    """403 for anyone but the account's admins, or when no screenshot is asked for."""
    if not msg.may_attach_screenshot(mq.case_state_of(case), who):
        raise Refused(403, "screenshot_uploaders", "only the account's admins upload the "
                      "screenshot of a comment they delete by hand, while it is asked for")


async def attach_screenshot(ctx: AppContext, case: dict[str, Any], who: str,
                            upload: StarletteUpload) -> dict[str, Any]:
    """R-30, R-45: keep the screenshot and record it on the case (update
    attach_screenshot). BadUpload (nothing kept) for a bad file; 403 before
    anything is kept for someone who may not; the case's refusal as
    web.deps.send_update raises it, the file deleted again."""
    require_screenshot_uploader(case, who)
    stored = await record_uploads.store(
        ctx.pool, ctx.data_keys, purpose="removal_screenshot",
        municipality_id=case["municipality_id"], account_id=str(case["account_id"]),
        case_id=case["case_id"], file_name=file_name(upload, "skarmbild"),
        content=await read_file(upload, "removal_screenshot"), uploaded_by=who,
        uploaded_at=datetime.now(UTC))
    command = msg.AttachScreenshot(actor=who, upload_id=stored.upload_id, sha256=stored.sha256,
                                   file_name=stored.file_name)
    try:
        result = await send_update(ctx.client.get_workflow_handle(case["case_id"]),
                                   W.attach_screenshot, command)
    except BaseException:
        await record_uploads.forget(ctx.pool, stored.upload_id)
        raise
    return {"upload_id": stored.upload_id, "sha256": stored.sha256,
            "file_name": stored.file_name, "mime_type": stored.mime_type, "size": stored.size,
            "state": result.state.model_dump(mode="json")}


def uploads14_api_router() -> APIRouter:
    """POST /api/messages/{case_id}/screenshot-uploads: the JSON API's way to
    the same (multipart, field `file`; X-Kanalvakt-Actor or a session)."""
    router = APIRouter(tags=["messages"])

    @router.post("/api/messages/{case_id}/screenshot-uploads", status_code=201)
    async def screenshot_upload(case_id: str, ctx: Ctx, actor: ApiActor,
                                file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """R-30, R-45: the screenshot a deletion by hand asks for (PNG, JPEG,
        WebP, at most 10 MB): 413/415/422 with nothing kept for a bad file,
        403 for anyone but the account's admins, 409 when none is asked for."""
        case = await mq.case(ctx.pool, case_id, ctx.data_keys)
        if case is None:
            raise Refused(404, "no_message", "no such message")
        who = await known_actor(ctx, case["municipality_id"], actor)
        await may_read_case(ctx, case, who)
        try:
            return await attach_screenshot(ctx, case, who, file)
        except record_uploads.BadUpload as bad:
            raise HTTPException(bad.status, detail={"code": "BadUpload", "reason": bad.reason,
                                                    "message": str(bad)}) from None

    _consent_routes(router)
    return router


class WithdrawBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: acc.Text = Field(description="Why: the guardian's withdrawal as received, or the "
                             "disposal decision")
    end: Literal["withdrawn", "disposed"] = Field(
        "withdrawn", description="`withdrawn`: the guardian withdrew the consent; `disposed`: "
        "it is disposed of under the records-management plan")


def _consent_routes(router: APIRouter) -> None:
    @router.post("/api/accounts/{account_id}/consent-uploads", status_code=201,
                 tags=["monitoring"])
    async def consent_upload(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
                             file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """R-41: a guardian's signed consent (PDF, PNG or JPEG, at most 10 MB),
        kept sealed under a key of its own; a post then names it in an
        image's `guardian_consent_upload` (the `upload_id`, `sha256` and
        `file_name` returned here). 413/415/422 with nothing kept for a bad
        file; 403 for anyone who may not record the account's posts."""
        record = await account_views.account_record(ctx.pool, str(account_id))
        if record is None:
            raise Refused(404, "no_account", "no such account")
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        if not acc.may_record_post(record.state, who):
            raise Refused(403, "consent_uploaders", "a guardian's consent is uploaded by those "
                          "who record the account's posts (R-18, R-41)")
        # Uploads of a day ago that no post named are not kept.
        named = {c.upload_id for c in record.state.consents} | {
            i.guardian_consent_upload.upload_id for h in record.state.held_posts
            for i in h.images if i.guardian_consent_upload is not None}
        await record_uploads.forget_unnamed_consents(
            ctx.pool, str(account_id), named, datetime.now(UTC) - UNNAMED_CONSENT_KEPT)
        try:
            stored = await record_uploads.store(
                ctx.pool, ctx.data_keys, purpose="guardian_consent",
                municipality_id=record.row["municipality_id"], account_id=str(account_id),
                case_id=None, file_name=file_name(file, "samtycke"),
                content=await read_file(file, "guardian_consent"), uploaded_by=who,
                uploaded_at=datetime.now(UTC))
        except record_uploads.BadUpload as bad:
            raise HTTPException(bad.status, detail={"code": "BadUpload", "reason": bad.reason,
                                                    "message": str(bad)}) from None
        return {"upload_id": stored.upload_id, "sha256": stored.sha256,
                "file_name": stored.file_name, "mime_type": stored.mime_type,
                "size": stored.size}

    @router.post("/api/accounts/{account_id}/consents/{upload_id}/withdraw",
                 tags=["monitoring"])
    async def withdraw(account_id: uuid.UUID, upload_id: uuid.UUID, body: WithdrawBody,
                       ctx: Ctx, actor: ApiActor) -> dict[str, Any]:
        """R-41: a guardian's consent withdrawn (or disposed of): recorded on
        the account (ConsentWithdrawn: the upload, who, when, why), its file
        destroyed (its data key and its row), the admins told to take the
        post's image down. 403 for anyone but the account's admins and the
        communications unit; 422 for a consent the account does not know."""
        record = await account_views.account_record(ctx.pool, str(account_id))
        if record is None:
            raise Refused(404, "no_account", "no such account")
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        state = await withdraw_consent(ctx, record.row, who, str(upload_id), body.reason,
                                       body.end)
        return {"consents": [c.model_dump(mode="json") for c in state.consents]}


async def withdraw_consent(ctx: AppContext, row: dict[str, Any], who: str, upload_id: str,
                           reason: str, end: acc.ConsentEnd) -> acc.AccountState:
    """R-41: record the end first (the account's refusal raises, nothing
    destroyed), then destroy the file: a retry after a failure in between
    records nothing new and finishes the destruction."""
    command = acc.WithdrawConsent(actor=who, upload_id=upload_id, reason=reason, end=end)
    state: acc.AccountState = await send_update(
        ctx.client.get_workflow_handle(row["workflow_id"]),
        AccountLifecycleWorkflow.withdraw_consent, command)
    await record_uploads.destroy_consent(ctx.pool, upload_id, f"consent {end}")
    return state


# --------------------------------------------------------------------------- the post form


async def consent_of_form(ctx: AppContext, row: dict[str, Any], form: FormData,
                          who: str) -> dict[str, str] | None:
    """R-41: the guardian's signed consent the post form carries, kept (as
    `guardian_consent_upload` of the post's image), or None without one;
    BadUpload (nothing kept) for a bad file."""
    upload = form.get(CONSENT_FIELD)
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        return None
    stored = await record_uploads.store(
        ctx.pool, ctx.data_keys, purpose="guardian_consent",
        municipality_id=row["municipality_id"], account_id=str(row["account_id"]),
        case_id=None, file_name=file_name(upload, "samtycke"),
        content=await read_file(upload, "guardian_consent"), uploaded_by=who,
        uploaded_at=datetime.now(UTC))
    return {"upload_id": stored.upload_id, "sha256": stored.sha256,
            "file_name": stored.file_name}


async def forget_unless_recorded(ctx: AppContext, consent: dict[str, str] | None,
                                 response: Response | None) -> None:
    """A consent kept for a post that was not recorded (refused, or an
    error) is not kept: the person chooses the file again."""
    if consent is not None and (response is None or response.status_code >= 400):
        await record_uploads.forget(ctx.pool, consent["upload_id"])


async def consents_of(ctx: AppContext, state: acc.AccountState) -> list[dict[str, Any]]:
    """R-41: the account's recorded consents, newest first: as the record
    knows them (withdrawn or disposed of ones too, issue 14), with who
    uploaded each while its file is kept."""
    rows = await ctx.pool.fetch(
        "SELECT upload_id::text, uploaded_by FROM record_uploads "
        "WHERE account_id = $1::uuid AND purpose = 'guardian_consent'", state.account_id)
    by = {r["upload_id"]: r["uploaded_by"] for r in rows}
    return [{**c.model_dump(), "uploaded_by": by.get(c.upload_id, "")}
            for c in sorted(state.consents, key=lambda c: c.recorded_at, reverse=True)]
