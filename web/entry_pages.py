"""A message entered by hand in the browser (R-21, issue 14): for a platform
Kanalvakt cannot read (TikTok, LinkedIn, X, YouTube) or a message an admin
saw elsewhere. The page posts to the same intake as the JSON API
(`POST /api/accounts/{id}/messages`, web.messages_api.enter_by_hand): the
same rules (the account's admins, an active account, no date in the future),
and the case starts from the intake like a webhook's.

GET  /accounts/{account_id}/messages/new   the form (the account's admins)
POST /accounts/{account_id}/messages/new   enter it; on to the account's inbox
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from domain.inbound import MessageKind
from readviews import accounts as account_views
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed, Viewer
from web.messages_api import ManualEntryBody, enter_by_hand, may_enter_by_hand
from web.page_texts import Refused, invalid_text
from web.rendering import language_of, render

FIELDS = ("kind", "author_name", "text", "published_at", "permalink")


async def _account(request: Request, account_id: str, viewer: Viewer) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    row = await account_views.account(ctx.pool, account_id)
    if row is None or row["municipality_id"] != viewer.municipality_id:
        raise Refused(404, "no_account", "no such account")
    may_enter_by_hand(row, viewer.person_id)
    return row


async def _form(request: Request, viewer: Viewer, account: dict[str, Any],
                values: dict[str, str], errors: dict[str, str], status_code: int = 200
                ) -> Response:
    t = translator(language_of(request, viewer))
    kinds = [(k.value, t("mkind." + k.value)) for k in (MessageKind.COMMENT,
                                                       MessageKind.PRIVATE_MESSAGE)]
    return await render(request, "message_entry.html", {
        "account": account, "values": values, "errors": errors, "kinds": kinds,
        "labels": {name: t("entry.f." + name) for name in FIELDS}},
        viewer=viewer, status_code=status_code)


def _published_at(value: str, timezone: str) -> datetime | None:
    """A `datetime-local` value in the municipality's time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def entry_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/accounts/{account_id}/messages/new")
    async def entry_form(account_id: str, request: Request, viewer: Signed) -> Response:
        account = await _account(request, account_id, viewer)
        zone = ZoneInfo(account_views.account_record_of(account).state.timezone)
        now = datetime.now(zone).strftime("%Y-%m-%dT%H:%M")
        return await _form(request, viewer, account,
                           {"kind": "comment", "published_at": now}, {})

    @router.post("/accounts/{account_id}/messages/new")
    async def enter(account_id: str, request: Request, viewer: Signed) -> Response:
        ctx: AppContext = request.app.state.ctx
        account = await _account(request, account_id, viewer)
        t = translator(language_of(request, viewer))
        form = await request.form()
        values = {name: str(form.get(name) or "").strip() for name in FIELDS}
        errors: dict[str, str] = {}
        timezone = account_views.account_record_of(account).state.timezone
        published = _published_at(values["published_at"], timezone)
        if not values["text"]:
            errors["text"] = t("entry.err.text")
        if published is None:
            errors["published_at"] = t("entry.err.when")
        if errors:
            return await _form(request, viewer, account, values, errors, 422)
        try:
            body = ManualEntryBody(kind=values["kind"], text=values["text"],
                                   author_name=values["author_name"] or None,
                                   published_at=published, permalink=values["permalink"] or None)
        except ValidationError as invalid:
            for error in invalid.errors():
                name = str(error["loc"][0]) if error.get("loc") else "text"
                errors.setdefault(name if name in FIELDS else "text", invalid_text(t, error))
            return await _form(request, viewer, account, values, errors, 422)
        try:
            receipt = await enter_by_hand(ctx, account, viewer.person_id, body)
        except HTTPException as refused:
            if refused.status_code != 422:
                raise
            errors["published_at"] = t("entry.err.when")
            return await _form(request, viewer, account, values, errors, 422)
        done = "entered" if receipt.accepted else "entered_before"
        return RedirectResponse(f"/accounts/{account_id}/inbox?done={done}", status_code=303)

    return router
