"""Issue 14's rules on pages: saved replies (R-27) and the register of
channels as a record with its disposal decision (R-36).

GET  /saved-replies                             the municipality's saved replies;
POST /saved-replies, /saved-replies/{id}/remove   kept by the communications unit
GET  /accounts/{account_id}/saved-replies       an account's saved replies;
POST /accounts/{account_id}/saved-replies[/{id}/remove]   kept by its admins
GET  /api/accounts/{account_id}/saved-replies   what the case page offers (JSON)
GET  /records/register                          R-36: the register with each entry's
GET  /records/register.csv, .json               history and the disposal decision
                                                (registrars, communications unit)
GET  /register/{account_id}                     R-36: an entry's history in the public
                                                register with the decision; no sign-in
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from domain.core import NotAuthorised
from domain.country import DEFAULT_TIMEZONE
from domain.records_plan import RegisterDisposal
from domain.saved_replies import (
    NewSavedReply,
    SavedReply,
    Scope,
    official_recommendation,
    require_may_keep,
)
from readviews import accounts as account_views
from readviews.people import person_names
from readviews.register_records import account_municipality, register_records
from store import saved_replies as store
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed, Viewer
from web.message_pages import offered_replies, reply_language
from web.messages_api import may_read_messages, require_records_reader
from web.page_texts import Refused
from web.rendering import language_of, render

# --------------------------------------------------------------------------- saved replies


def _may_keep(viewer: Viewer, scope: Scope, admins: frozenset[str] = frozenset()) -> bool:
    try:
        require_may_keep(scope, viewer.person_id,
                         communications=frozenset({viewer.person_id})
                         if viewer.is_communications else frozenset(), admins=admins)
    except NotAuthorised:
        return False
    return True


async def _account(ctx: AppContext, viewer: Viewer, account_id: str
                   ) -> account_views.AccountRecord:
    try:
        uuid.UUID(account_id)
    except ValueError:
        raise Refused(404, "no_account", "no such account") from None
    record = await account_views.account_record(ctx.pool, account_id)
    if record is None or record.row["municipality_id"] != viewer.municipality_id:
        raise Refused(404, "no_account", "no such account")
    await may_read_messages(ctx, record.row, viewer.municipality_id, viewer.person_id)
    return record


async def _saved_page(request: Request, viewer: Viewer, account: dict[str, Any] | None,
                      may_keep: bool, *, errors: dict[str, str] | None = None,
                      values: dict[str, str] | None = None, status_code: int = 200
                      ) -> Response:
    ctx: AppContext = request.app.state.ctx
    account_id = account["account_id"] if account else None
    replies = await store.saved_replies(ctx.pool, viewer.municipality_id, account_id)
    language = reply_language(viewer.country)
    return await render(request, "saved_replies.html", {
        "account": account, "replies": replies, "may_keep": may_keep,
        "official": official_recommendation(viewer.municipality_id, language),
        "errors": errors or {}, "values": values or {"language": language},
        "action": f"/accounts/{account_id}/saved-replies" if account else "/saved-replies",
    }, viewer=viewer, status_code=status_code)


async def _add(request: Request, viewer: Viewer, account: dict[str, Any] | None,
               may_keep: bool) -> Response:
    ctx: AppContext = request.app.state.ctx
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("language", "title", "text")}
    try:
        reply = NewSavedReply.model_validate(values)
    except ValidationError as invalid:
        t = translator(language_of(request, viewer))
        errors = {str(e["loc"][0]): t("form.err.required") if e["type"] in (
            "missing", "string_too_short") else t("form.err.choose") if e["type"] in (
            "literal_error",) else t("form.err.too_long") for e in invalid.errors()}
        return await _saved_page(request, viewer, account, may_keep, errors=errors,
                                 values=values, status_code=422)
    await store.add_saved_reply(ctx.pool, viewer.municipality_id,
                                account["account_id"] if account else None, reply,
                                viewer.person_id)
    where = f"/accounts/{account['account_id']}/saved-replies" if account else "/saved-replies"
    return RedirectResponse(f"{where}?done=added", status_code=303)


async def _remove(request: Request, viewer: Viewer, account: dict[str, Any] | None,
                  reply_id: str) -> Response:
    ctx: AppContext = request.app.state.ctx
    reply = await store.saved_reply(ctx.pool, reply_id)
    account_id = account["account_id"] if account else None
    if (reply is None or reply.municipality_id != viewer.municipality_id
            or reply.account_id != account_id):
        raise Refused(404, "no_saved_reply", "no such saved reply")
    await store.remove_saved_reply(ctx.pool, reply_id, viewer.person_id)
    where = f"/accounts/{account_id}/saved-replies" if account else "/saved-replies"
    return RedirectResponse(f"{where}?done=removed", status_code=303)


def _refuse_keep(viewer: Viewer, scope: Scope) -> Refused:
    return Refused(403, f"saved_reply_who_{scope}",
                   f"{viewer.name} may not change these saved replies", name=viewer.name)


def _saved_routes(router: APIRouter) -> None:
    @router.get("/saved-replies")
    async def municipality_replies(request: Request, viewer: Signed) -> Response:
        """R-27: the municipality's saved replies; the communications unit keeps them."""
        return await _saved_page(request, viewer, None, _may_keep(viewer, "municipality"))

    @router.post("/saved-replies")
    async def add_municipality_reply(request: Request, viewer: Signed) -> Response:
        if not _may_keep(viewer, "municipality"):
            raise _refuse_keep(viewer, "municipality")
        return await _add(request, viewer, None, True)

    @router.post("/saved-replies/{reply_id}/remove")
    async def remove_municipality_reply(reply_id: str, request: Request,
                                        viewer: Signed) -> Response:
        if not _may_keep(viewer, "municipality"):
            raise _refuse_keep(viewer, "municipality")
        return await _remove(request, viewer, None, reply_id)

    @router.get("/accounts/{account_id}/saved-replies")
    async def account_replies(account_id: str, request: Request, viewer: Signed) -> Response:
        """R-27: an account's saved replies; its admins keep them."""
        record = await _account(request.app.state.ctx, viewer, account_id)
        return await _saved_page(request, viewer, record.row, _may_keep(
            viewer, "account", frozenset(record.state.admins)))

    @router.post("/accounts/{account_id}/saved-replies")
    async def add_account_reply(account_id: str, request: Request, viewer: Signed) -> Response:
        record = await _account(request.app.state.ctx, viewer, account_id)
        if not _may_keep(viewer, "account", frozenset(record.state.admins)):
            raise _refuse_keep(viewer, "account")
        return await _add(request, viewer, record.row, True)

    @router.post("/accounts/{account_id}/saved-replies/{reply_id}/remove")
    async def remove_account_reply(account_id: str, reply_id: str, request: Request,
                                   viewer: Signed) -> Response:
        record = await _account(request.app.state.ctx, viewer, account_id)
        if not _may_keep(viewer, "account", frozenset(record.state.admins)):
            raise _refuse_keep(viewer, "account")
        return await _remove(request, viewer, record.row, reply_id)

    @router.get("/api/accounts/{account_id}/saved-replies", include_in_schema=True,
                response_model=list[SavedReply],
                summary="The saved replies offered for the account's cases (R-27)")
    async def offered_api(account_id: str, request: Request, viewer: Signed
                          ) -> list[SavedReply]:
        ctx: AppContext = request.app.state.ctx
        await _account(ctx, viewer, account_id)
        return await offered_replies(ctx, viewer.municipality_id, account_id,
                                     viewer.country)


# ---------------------------------------------------------------------------


async def _register(request: Request, viewer: Viewer) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    await require_records_reader(ctx, viewer.municipality_id, viewer.person_id)
    municipality = await ctx.directory.municipality(viewer.municipality_id)
    disposal = municipality.records.channels if municipality else RegisterDisposal()
    return await register_records(ctx.pool, viewer.municipality_id, disposal)


CSV_COLUMNS = ("account_id", "unit", "platform", "account_name", "handle", "url", "listed",
               "event", "at", "by", "changes", "plan_line", "record_class", "action",
               "dispose_after_years", "decision", "dispose_from")


def register_csv(register: dict[str, Any]) -> str:
    """One row per history entry of each channel, each with the disposal decision."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for entry in register["entries"]:
        d = entry["disposal"]
        for h in entry["history"]:
            writer.writerow({
                **{k: entry[k] for k in ("account_id", "unit", "platform", "account_name",
                                         "handle", "url", "listed")},
                "event": h["event"], "at": h["at"], "by": h["by"] or "",
                "changes": json.dumps(h["changes"], ensure_ascii=False) if h["changes"] else "",
                **{k: d.get(k) if d.get(k) is not None else "" for k in (
                    "plan_line", "record_class", "action", "dispose_after_years", "decision",
                    "dispose_from")}})
    return out.getvalue()


def _register_routes(router: APIRouter) -> None:
    @router.get("/records/register")
    async def register_page(request: Request, viewer: Signed) -> Response:
        """R-36: the register as a record, for the registrars."""
        register = await _register(request, viewer)
        municipality = await request.app.state.ctx.directory.municipality(
            viewer.municipality_id)
        return await render(request, "register_records.html", {
            "register": register,
            # Who listed or changed an entry, by name (the exports keep the id).
            "names": await person_names(request.app.state.ctx.pool, viewer.municipality_id),
            "tz": municipality.timezone if municipality else DEFAULT_TIMEZONE},
            viewer=viewer)

    @router.get("/records/register.json")
    async def register_json(request: Request, viewer: Signed) -> Response:
        register = await _register(request, viewer)
        return Response(json.dumps(register, ensure_ascii=False, indent=1),
                        media_type="application/json", headers={
                            "Content-Disposition":
                                f'attachment; filename="register-{viewer.municipality_id}.json"'})

    @router.get("/records/register.csv")
    async def register_csv_export(request: Request, viewer: Signed) -> Response:
        register = await _register(request, viewer)
        return Response(register_csv(register), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="register-{viewer.municipality_id}.csv"'})


async def public_register_entry(request: Request, account_id: str) -> dict[str, Any]:
    """R-36, no sign-in: one channel's history in the public register (listed,
    changed, removed) and the records plan's decision that applies to it, as
    the registrar's page shows it; who made each change is left out (the
    public register names no one but the responsible manager)."""
    ctx: AppContext = request.app.state.ctx
    try:
        uuid.UUID(account_id)
    except ValueError:
        raise Refused(404, "no_account", "no such account") from None
    municipality_id = await account_municipality(ctx.pool, account_id)
    municipality = await ctx.directory.municipality(municipality_id) \
        if municipality_id else None
    if municipality is None:
        raise Refused(404, "no_account", "no such account")
    register = await register_records(ctx.pool, municipality.id, municipality.records.channels,
                                      account_id=account_id)
    if not register["entries"]:
        raise Refused(404, "no_account", "no such account")  # never listed: not public
    [entry] = register["entries"]
    entry["history"] = [{k: v for k, v in h.items() if k != "by"} for h in entry["history"]]
    return {"municipality": municipality.name, "tz": municipality.timezone, "entry": entry}


def _public_routes(router: APIRouter) -> None:
    @router.get("/register/{account_id}")
    async def register_entry_page(account_id: str, request: Request) -> Response:
        """R-36: an entry of the public register, its history and disposal decision."""
        return await render(request, "register_entry.html",
                            await public_register_entry(request, account_id))


def rules14_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    _saved_routes(router)
    _register_routes(router)
    _public_routes(router)
    return router
