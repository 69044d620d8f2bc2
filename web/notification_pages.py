"""The notification pages (issue 13).

GET  /notifications          my delivery choice (at once, or a digest at an
                             hour on working days; the mails' language) and
                             my latest notifications with their status
POST /notifications          change it
GET  /outbox                 the communications unit: the municipality's
                             failed deliveries, with their reasons
POST /outbox/{id}/retry      send a failed one again (fresh attempts)

Who: everyone signed in sees and changes their own choice; /outbox is for
the communications unit of the municipality (403 otherwise). The outbox
table itself is store/outbox.py; delivery is outbox_sender.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from adapters.mail_texts import kind_text
from domain.notify import LANGUAGES, DeliveryMode, NotificationPreference
from store import outbox as ob
from web import i18n
from web.deps import AppContext, context_of
from web.i18n import translator
from web.identity import Signed, Viewer
from web.page_texts import Refused
from web.rendering import language_of, render


def _ctx(request: Request) -> AppContext:
    return context_of(request)


async def _my_page(request: Request, viewer: Viewer, *, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    ctx = _ctx(request)
    t = translator(language_of(request, viewer))
    choice = await ob.preference(ctx.pool, viewer.municipality_id, viewer.person_id)
    rows = await ctx.pool.fetch(
        """SELECT o.created_at, o.kind, o.status, a.account_name FROM outbox o
           LEFT JOIN accounts a ON a.account_id = o.account_id
           WHERE o.channel = 'email' AND o.recipient = $1
             AND (o.municipality_id = $2 OR o.municipality_id IS NULL)
           ORDER BY o.id DESC LIMIT 20""", viewer.person_id, viewer.municipality_id)
    municipality = await ctx.directory.municipality(viewer.municipality_id)
    return await render(request, "notifications.html", {
        "values": values or {"mode": choice.mode.value, "digest_hour": str(choice.digest_hour),
                             "language": choice.language or ""},
        "errors": errors or {},
        "modes": [(m.value, t(f"notif.mode.{m.value}")) for m in DeliveryMode],
        "hours": [(str(h), f"{h:02d}:00") for h in range(24)],
        "mail_languages": [("", t("notif.language.default"))]
        + [(code, i18n.LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "rows": [dict(r) for r in rows],
        "kind_label": _kind_label(request, viewer),
        "tz": municipality.timezone if municipality else "Europe/Stockholm",
        "saved": request.query_params.get("saved") is not None,
    }, viewer=viewer, status_code=status_code)


def _kind_label(request: Request, viewer: Viewer) -> Callable[[str], str]:
    lang = language_of(request, viewer)
    return lambda kind: kind_text(lang, kind)


async def _require_communications(request: Request, viewer: Viewer) -> None:
    roles = await _ctx(request).directory.roles_of(viewer.municipality_id, viewer.person_id)
    if "communications" not in roles:
        raise Refused(403, "outbox_readers",
                      f"{viewer.name} is not in the communications unit", name=viewer.name)


def notification_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/notifications")
    async def my_notifications(request: Request, viewer: Signed) -> Response:
        return await _my_page(request, viewer)

    @router.post("/notifications")
    async def change(request: Request, viewer: Signed) -> Response:
        form = await request.form()
        t = translator(language_of(request, viewer))
        values = {k: str(form.get(k) or "").strip() for k in ("mode", "digest_hour",
                                                               "language")}
        errors: dict[str, str] = {}
        if values["mode"] not in {m.value for m in DeliveryMode}:
            errors["mode"] = t("form.err.choose")
        if values["digest_hour"] not in {str(h) for h in range(24)}:
            errors["digest_hour"] = t("form.err.choose")
        if values["language"] not in ("", *LANGUAGES):
            errors["language"] = t("form.err.choose")
        if errors:
            return await _my_page(request, viewer, errors=errors, values=values,
                                  status_code=422)
        choice = NotificationPreference(mode=DeliveryMode(values["mode"]),
                                        digest_hour=int(values["digest_hour"]),
                                        language=values["language"] or None)
        await ob.save_preference(_ctx(request).pool, viewer.municipality_id, viewer.person_id,
                                 choice, datetime.now(UTC))
        return RedirectResponse("/notifications?saved=1#result", status_code=303)

    @router.get("/outbox")
    async def outbox(request: Request, viewer: Signed) -> Response:
        await _require_communications(request, viewer)
        ctx = _ctx(request)
        failed = await ctx.pool.fetch(
            """SELECT o.id, o.recipient, o.channel, o.kind, o.created_at, o.attempts,
                      o.last_error, a.account_name, p.name AS recipient_name
               FROM outbox o LEFT JOIN accounts a ON a.account_id = o.account_id
               LEFT JOIN people p ON p.municipality_id = o.municipality_id
                                 AND p.id = o.recipient
               WHERE o.status = 'failed' AND o.municipality_id = $1
               ORDER BY o.id DESC LIMIT 500""", viewer.municipality_id)
        counts = {r["status"]: r["n"] for r in await ctx.pool.fetch(
            """SELECT status, count(*) AS n FROM outbox WHERE municipality_id = $1
               GROUP BY status""", viewer.municipality_id)}
        municipality = await ctx.directory.municipality(viewer.municipality_id)
        return await render(request, "outbox.html", {
            "rows": [dict(r) for r in failed],
            "kind_label": _kind_label(request, viewer),
            "counts": {k: counts.get(k, 0) for k in ("pending", "failed", "sent")},
            "tz": municipality.timezone if municipality else "Europe/Stockholm",
            "retried": request.query_params.get("retried") is not None,
        }, viewer=viewer)

    @router.post("/outbox/{row_id}/retry")
    async def retry(request: Request, row_id: int, viewer: Signed) -> Response:
        await _require_communications(request, viewer)
        ctx = _ctx(request)
        owner = await ctx.pool.fetchval("SELECT municipality_id FROM outbox WHERE id = $1",
                                        row_id)
        if owner != viewer.municipality_id:
            raise Refused(404, "no_outbox_row", "no such failed notification")
        await ob.OutboxRepository(ctx.pool).retry([row_id], datetime.now(UTC))
        return RedirectResponse("/outbox?retried=1#result", status_code=303)

    return router
