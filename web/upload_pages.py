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

A bad file is refused before anything is stored, with the reason on the
case page; a file the case refuses is not kept. Helpers and the post form's
consent: web/uploads14.py; the files: store/record_uploads.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from readviews import accounts as account_views
from readviews import messages as mq
from store import record_uploads
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

    return router



async def _case(ctx: AppContext, case_id: str) -> dict[str, Any]:
    case = await mq.case(ctx.pool, case_id, ctx.data_keys)
    if case is None:
        raise Refused(404, "no_message", "no such message")
    return case


