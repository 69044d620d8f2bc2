"""Files kept with the record, on the pages (issue 14, C8):

POST /messages/{case_id}/screenshot-uploads     R-30, R-45: the screenshot a deletion
                                                by hand asks for (multipart, CSRF
                                                token in the form); the case records
                                                it (ScreenshotAttached), then "Klar"
                                                is accepted
GET  /messages/{case_id}/uploads/{upload_id}    the screenshot, for those who may read
                                                the case
GET  /accounts/{account_id}/consents/{upload_id}  R-41: a guardian's signed consent, for
                                                those who may read it (domain.readers.
                                                may_read_consent)
POST /accounts/{account_id}/consents/{upload_id}/withdraw  R-41: the consent withdrawn
                                                or disposed of, after a confirmation
                                                naming the consequence (the file is
                                                destroyed, the image is taken down)

A bad file is refused before anything is stored, with the reason on the
case page; a file the case refuses is not kept. Helpers and the post form's
consent: web/uploads14.py; the files: store/record_uploads.py.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from domain import account as acc
from readviews import accounts as account_views
from readviews import messages as mq
from store import record_uploads
from web.account_pages import _account as account_page_record
from web.account_pages import _account_view as account_view
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed
from web.message_pages import _case_page, require_municipality
from web.messages_api import may_read_case
from web.page_texts import Refused
from web.rendering import language_of
from web.rule_texts import detail_text
from web.uploads14 import (
    attach_screenshot,
    download,
    require_consent_reader,
    require_screenshot_uploader,
    upload_error,
    upload_row,
    withdraw_consent,
)


def upload_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/messages/{case_id}/screenshot-uploads")
    async def screenshot_upload(case_id: str, request: Request, viewer: Signed) -> Response:
        """R-30, R-45: keep the screenshot, record it on the case; a bad
        file or a refusal is the case page with the reason, nothing kept."""
        ctx: AppContext = request.app.state.ctx
        case = await _case(ctx, case_id)
        require_municipality(viewer, case["municipality_id"])
        account = await may_read_case(ctx, case, viewer.person_id)
        require_screenshot_uploader(case, viewer.person_id)
        t = translator(language_of(request, viewer))
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, StarletteUpload) or not upload.filename:
            return await _case_page(request, viewer, case, account, failed="screenshot",
                                    errors={"file": t("upload14.err.none.removal_screenshot")},
                                    values={}, status_code=422)
        try:
            await attach_screenshot(ctx, case, viewer.person_id, upload)
        except record_uploads.BadUpload as bad:
            return await _case_page(request, viewer, case, account, failed="screenshot",
                                    errors={"file": upload_error(t, bad, "removal_screenshot")},
                                    values={}, status_code=bad.status)
        except HTTPException as refused:
            if refused.status_code in (403, 409, 422) and not isinstance(refused, Refused):
                return await _case_page(request, viewer, await _case(ctx, case_id), account,
                                        failed="screenshot",
                                        errors={"file": detail_text(t, refused.detail)},
                                        values={}, status_code=refused.status_code)
            raise
        return RedirectResponse(f"/messages/{quote(case_id, safe='')}?done=screenshot"
                                "#d-confirm", status_code=303)

    @router.get("/messages/{case_id}/uploads/{upload_id}")
    async def case_upload(case_id: str, upload_id: str, request: Request,
                          viewer: Signed) -> Response:
        """A case's screenshot, for those who may read the case (R-21)."""
        ctx: AppContext = request.app.state.ctx
        case = await _case(ctx, case_id)
        require_municipality(viewer, case["municipality_id"])
        await may_read_case(ctx, case, viewer.person_id)
        row = await upload_row(ctx, upload_id)
        if row is None or row["case_id"] != case_id:
            raise Refused(404, "no_upload", "no such file")
        return await download(ctx, row)

    @router.get("/accounts/{account_id}/consents/{upload_id}")
    async def consent(account_id: str, upload_id: str, request: Request,
                      viewer: Signed) -> Response:
        """R-41: a guardian's signed consent, for domain.readers.may_read_consent."""
        ctx: AppContext = request.app.state.ctx
        record = await account_views.account_record(ctx.pool, account_id)
        row = await upload_row(ctx, upload_id)
        if (record is None or row is None or row["purpose"] != "guardian_consent"
                or row["account_id"] != account_id):
            raise Refused(404, "no_upload", "no such file")
        require_municipality(viewer, record.row["municipality_id"])
        await require_consent_reader(ctx, record, viewer)
        return await download(ctx, row)

    @router.post("/accounts/{account_id}/consents/{upload_id}/withdraw")
    async def withdraw(account_id: uuid.UUID, upload_id: uuid.UUID, request: Request,
                       viewer: Signed) -> Response:
        """R-41 (issue 14): irreversible, so nothing is sent without the
        confirmation; a refusal is the account page with the reason."""
        record = await account_page_record(request, account_id, viewer)
        t = translator(language_of(request, viewer))
        form = await request.form()
        reason = str(form.get("reason") or "").strip()
        end: acc.ConsentEnd = "disposed" if form.get("end") == "disposed" else "withdrawn"
        errors: dict[str, str] = {}
        if not reason:
            errors["reason"] = t("pan.consents.withdraw.reason_needed")
        if form.get("confirm") != "on":
            errors["confirm"] = t("pan.consents.withdraw.confirm_needed")
        if not errors:
            try:
                await withdraw_consent(request.app.state.ctx, record.row, viewer.person_id,
                                       str(upload_id), reason, end)
            except HTTPException as refused:
                if refused.status_code not in (403, 422) or isinstance(refused, Refused):
                    raise
                errors["form"] = detail_text(t, refused.detail)
        if errors:
            after = await account_views.account_record(request.app.state.ctx.pool,
                                                       str(account_id))
            assert after is not None
            return await account_view(request, viewer, after.row, after.state,
                                      action="consent_withdraw", errors=errors, form=form,
                                      status_code=422)
        return RedirectResponse(f"/accounts/{account_id}?done=consent_withdrawn"
                                f"#consent-{upload_id}", status_code=303)

    return router



async def _case(ctx: AppContext, case_id: str) -> dict[str, Any]:
    case = await mq.case(ctx.pool, case_id, ctx.data_keys)
    if case is None:
        raise Refused(404, "no_message", "no such message")
    return case


