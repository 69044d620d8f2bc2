"""The registrars' pages (R-28, R-31, R-35): the diarium search, the
moderation log and the disposal log of the viewer's municipality.

GET /diarium          number or words of the text, registration dates, account, class;
                      a confidential registration shows neither text nor author
                      and is not found by them (R-31)
GET /moderation-log   every decision on messages, removals with category and law (R-29)
GET /disposal-log     what was disposed of, under which decision, when, by whom (R-35)
GET /records-exports  the records exports (R-38): start one (POST, an account or all,
                      a period); each one's progress while a worker builds it, and
                      the package to download when done (issue 12)

Who: the municipality's registrars and the communications unit
(web.messages_api.require_records_reader, the JSON API's rule); anyone else
gets 403. The searches are GET forms (nothing changes); a bad date is shown
beside its field with what was typed kept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

import settings
from domain.core import platform_name
from domain.country import DEFAULT_TIMEZONE
from domain.redaction import RemovalCategory
from readviews import accounts as account_views
from readviews import messages as mq
from readviews import moderation as modq
from readviews import people as people_views
from readviews.records import RecordsExportInput
from store.records_exports import records_exports_of
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed, Viewer
from web.messages_api import require_records_reader
from web.rendering import language_of, render
from web.snapshots_api import records_export_status, start_records_export


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _period(values: dict[str, str], errors: dict[str, str], t: Any, tz: str,
            start: str, end: str) -> tuple[datetime | None, datetime | None]:
    """Dates of the form as moments in the municipality's zone: from the
    start of the first day to the end of the last (inclusive)."""
    zone = ZoneInfo(tz)
    found: dict[str, date] = {}
    for name in (start, end):
        raw = values.get(name, "")
        if raw:
            try:
                found[name] = _day(raw)
            except ValueError:
                errors[name] = t("form.err.date")
    if start in found and end in found and found[end] < found[start]:
        errors[end] = t("form.err.date_order")
    lo = datetime.combine(found[start], time(0), zone) if start in found else None
    hi = (datetime.combine(found[end] + timedelta(days=1), time(0), zone)
          if end in found else None)
    return lo, hi


async def _records_page(request: Request, viewer: Viewer) -> tuple[AppContext, Any, str]:
    ctx: AppContext = request.app.state.ctx
    await require_records_reader(ctx, viewer.municipality_id, viewer.person_id)
    municipality = await ctx.directory.municipality(viewer.municipality_id)
    tz = municipality.timezone if municipality else DEFAULT_TIMEZONE
    return ctx, translator(language_of(request, viewer)), tz


async def _accounts(ctx: AppContext, viewer: Viewer, t: Any
                    ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    rows = await account_views.accounts(ctx.pool, municipality_id=viewer.municipality_id)
    options = [("", t("reg.all"))] + [
        (r["account_id"], f"{r['account_name']} ({platform_name(r['platform'])})") for r in rows]
    return options, {r["account_id"]: r["account_name"] for r in rows}


def _account_filter(values: dict[str, str], names: dict[str, str],
                    errors: dict[str, str], t: Any) -> str | None:
    chosen = values.get("account_id") or None
    if chosen is not None and chosen not in names:
        errors["account_id"] = t("form.err.choose")
        return None
    return chosen


def registrar_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/diarium")
    async def diarium(request: Request, viewer: Signed) -> Response:
        """R-28, R-31: the registrars' search."""
        ctx, t, tz = await _records_page(request, viewer)
        values = {k: request.query_params.get(k, "").strip()
                  for k in ("q", "from", "to", "account_id", "record_class")}
        errors: dict[str, str] = {}
        accounts, names = await _accounts(ctx, viewer, t)
        account_id = _account_filter(values, names, errors, t)
        lo, hi = _period(values, errors, t, tz, "from", "to")
        if len(values["q"]) > 200:
            errors["q"] = t("form.err.too_long")
        classes = await modq.record_classes(ctx.pool, viewer.municipality_id)
        rows = [] if errors else await mq.diarium(
            ctx.pool, viewer.municipality_id, q=values["q"] or None, account_id=account_id,
            registered_from=lo, registered_to=hi, record_class=values["record_class"] or None,
            data_keys=ctx.data_keys)
        return await render(request, "diarium.html", {
            "rows": rows, "values": values, "errors": errors, "accounts": accounts,
            "names": names, "tz": tz, "people": await _people(ctx, viewer),
            "classes": [("", t("reg.all"))] + [(c, c) for c in classes],
            "searched": bool(request.query_params)},
            viewer=viewer, status_code=422 if errors else 200)

    @router.get("/moderation-log")
    async def moderation_log(request: Request, viewer: Signed) -> Response:
        ctx, t, tz = await _records_page(request, viewer)
        values = {k: request.query_params.get(k, "").strip()
                  for k in ("from", "to", "account_id")}
        errors: dict[str, str] = {}
        accounts, names = await _accounts(ctx, viewer, t)
        account_id = _account_filter(values, names, errors, t)
        lo, hi = _period(values, errors, t, tz, "from", "to")
        rows = [] if errors else await mq.moderation_log(
            ctx.pool, viewer.municipality_id, account_id=account_id, occurred_from=lo,
            occurred_to=hi)
        rows.reverse()  # newest first
        lang = language_of(request, viewer)
        return await render(request, "moderation_log.html", {
            "rows": rows, "values": values, "errors": errors, "accounts": accounts,
            "names": names, "tz": tz, "people": await _people(ctx, viewer),
            "category_label": lambda c: _label(c, lang)},
            viewer=viewer, status_code=422 if errors else 200)

    @router.get("/disposal-log")
    async def disposal_log(request: Request, viewer: Signed) -> Response:
        ctx, t, tz = await _records_page(request, viewer)
        values = {"account_id": request.query_params.get("account_id", "").strip()}
        errors: dict[str, str] = {}
        accounts, names = await _accounts(ctx, viewer, t)
        account_id = _account_filter(values, names, errors, t)
        rows = [] if errors else await mq.disposal_log(ctx.pool, viewer.municipality_id,
                                                       account_id=account_id)
        return await render(request, "disposal_log.html", {
            "rows": rows, "values": values, "errors": errors, "accounts": accounts,
            "names": names, "tz": tz, "people": await _people(ctx, viewer)},
            viewer=viewer, status_code=422 if errors else 200)

    @router.get("/records-exports")
    async def records_exports(request: Request, viewer: Signed) -> Response:
        """R-38: the form and the exports with their progress."""
        ctx, t, tz = await _records_page(request, viewer)
        return await _exports_page(request, viewer, ctx, t, tz, {}, {})

    @router.post("/records-exports")
    async def start_export(request: Request, viewer: Signed) -> Response:
        """R-38: start an export (a workflow on a worker); back to the list at once."""
        ctx, t, tz = await _records_page(request, viewer)
        form = await request.form()
        values = {k: str(form.get(k) or "").strip() for k in ("account_id", "from", "to")}
        errors: dict[str, str] = {}
        _, names = await _accounts(ctx, viewer, t)
        account_id = _account_filter(values, names, errors, t)
        for name in ("from", "to"):
            if not values[name]:
                errors[name] = t("err.required")
        _period(values, errors, t, tz, "from", "to")
        if errors:
            return await _exports_page(request, viewer, ctx, t, tz, values, errors)
        started = await start_records_export(ctx, RecordsExportInput(
            municipality_id=viewer.municipality_id, account_id=account_id,
            start=_day(values["from"]), end=_day(values["to"]),
            requested_by=viewer.person_id, now=datetime.now(UTC)))
        return RedirectResponse(f"/records-exports?started={started['export_id']}#exports",
                                status_code=303)

    return router


async def _exports_page(request: Request, viewer: Viewer, ctx: AppContext, t: Any, tz: str,
                        values: dict[str, str], errors: dict[str, str]) -> Response:
    accounts, names = await _accounts(ctx, viewer, t)
    rows = [await records_export_status(ctx, row)
            for row in await records_exports_of(ctx.pool, viewer.municipality_id)]
    return await render(request, "records_exports.html", {
        "rows": rows, "values": values, "errors": errors, "accounts": accounts,
        "names": names, "tz": tz, "people": await _people(ctx, viewer),
        "started": request.query_params.get("started"),
        "keep_days": settings.load().records_export_keep_days},
        viewer=viewer, status_code=422 if errors else 200)


def _label(category: str | None, lang: str) -> str:
    if not category:
        return ""
    return translator(lang)(f"removal.{RemovalCategory(category).value}")


async def _people(ctx: AppContext, viewer: Viewer) -> dict[str, str]:
    names = await people_views.person_names(ctx.pool, viewer.municipality_id)
    names["kanalvakt"] = "Kanalvakt"
    return names
