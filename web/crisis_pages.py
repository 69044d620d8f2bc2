"""The crisis mode page (R-39, R-40) for crisis management.

GET  /crisis           the crisis in force (scope, reason, who, the notice the
                       accounts point to), the switch, the digests of questions
                       and moods, storm flags and earlier crises
POST /crisis/declare   crisis management declares, for the whole municipality
                       or chosen units, with a reason
POST /crisis/end       crisis management ends it, with a reason

Who: the page is for crisis management and the communications unit (the
JSON API's readers of digests: the questions' texts are personal data);
switching is for crisis management only, checked before the workflow is
touched (web.crisis_api.switch_handle, the API's own path) and again by the
CrisisWorkflow's validator. The account page's crisis notice is the account
pages' (web/account_pages.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from domain import crisis as cr
from domain import readers
from domain.country import DEFAULT_TIMEZONE
from readviews import crisis as crisis_reads
from readviews import messages as mq
from readviews import people as people_views
from web.crisis_api import switch_handle
from web.deps import AppContext, send_update
from web.i18n import translator
from web.identity import Signed, Viewer
from web.page_texts import Refused
from web.rendering import language_of, render
from web.rule_texts import detail_text
from workflows.crisis import CrisisWorkflow


async def _require_reader(ctx: AppContext, viewer: Viewer) -> set[str]:
    roles = await ctx.directory.roles_of(viewer.municipality_id, viewer.person_id)
    if not readers.may_read_crisis(roles):
        raise Refused(403, "crisis_readers", f"{viewer.name} is neither in crisis management "
                      "nor in the communications unit", name=viewer.name)
    return roles


async def _page(request: Request, viewer: Viewer, *, errors: dict[str, str] | None = None,
                values: dict[str, Any] | None = None, failed: str | None = None,
                status_code: int = 200) -> Response:
    ctx: AppContext = request.app.state.ctx
    roles = await _require_reader(ctx, viewer)
    m = viewer.municipality_id
    history = await crisis_reads.crises(ctx.pool, m)
    active = next((c for c in history if c["ended_at"] is None), None)
    municipality = await ctx.directory.municipality(m)
    units = await ctx.directory.units(m)
    digests = await crisis_reads.digests(ctx.pool, m, crisis_id=active["crisis_id"]
                                         if active else None, texts=True,
                                         data_keys=ctx.data_keys)
    return await render(request, "crisis.html", {
        "active": active, "history": [c for c in history if c is not active][:10],
        "digests": digests[:12], "storms": (await crisis_reads.storms(ctx.pool, m))[:20],
        "units": [(u.id, u.name) for u in units], "unit_names": {u.id: u.name for u in units},
        "may_switch": "crisis_management" in roles,
        # declared without a configured website or phone, the notice
        # points to the municipality's own; the page says so.
        "defaults_used": municipality is not None and not (
            municipality.crisis.website and municipality.crisis.phone),
        # R-39 (Kristiansand): the replies waiting for this person's approval.
        "awaiting": await mq.awaiting_approval(ctx.pool, m, viewer.person_id),
        "names": await people_views.person_names(ctx.pool, m),
        "tz": municipality.timezone if municipality else DEFAULT_TIMEZONE,
        "errors": errors or {}, "values": values or {}, "failed": failed,
        "done": request.query_params.get("done"),
    }, viewer=viewer, status_code=status_code)


def crisis_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/crisis")
    async def crisis_page(request: Request, viewer: Signed) -> Response:
        return await _page(request, viewer)

    async def _switch(request: Request, viewer: Viewer, kind: str) -> Response:

        ctx: AppContext = request.app.state.ctx
        await _require_reader(ctx, viewer)
        form = await request.form()
        t = translator(language_of(request, viewer))
        reason = str(form.get("reason") or "").strip()
        units = [str(u) for u in form.getlist("units")]
        values = {"reason": reason, "units": units}
        errors: dict[str, str] = {}
        if not reason:
            errors["reason"] = t("form.err.required")
        elif len(reason) > 2000:
            errors["reason"] = t("form.err.too_long")
        known = {u.id for u in await ctx.directory.units(viewer.municipality_id)}
        if any(u not in known for u in units):
            errors["units"] = t("form.err.choose")
        try:
            handle = await switch_handle(ctx, viewer.municipality_id, viewer.person_id) \
                if not errors else None  # 403 for anyone not in crisis management
        except HTTPException as refused:
            if isinstance(refused.detail, dict):  # the rule's, in the reader's language
                raise HTTPException(refused.status_code,
                                    detail=detail_text(t, refused.detail)) from None
            raise
        if handle is None:
            return await _page(request, viewer, errors=errors, values=values, failed=kind,
                               status_code=422)
        command: Any
        if kind == "declare":
            update: Any = CrisisWorkflow.declare_crisis
            command = cr.DeclareCrisis(actor=viewer.person_id, reason=reason,
                                       units=frozenset(units))
        else:
            update = CrisisWorkflow.end_crisis
            command = cr.EndCrisis(actor=viewer.person_id, reason=reason)
        try:
            await send_update(handle, update, command)
        except HTTPException as refused:
            if refused.status_code in (401, 403, 404):
                if isinstance(refused.detail, dict):  # the rule's, in the reader's language
                    raise HTTPException(refused.status_code,
                                        detail=detail_text(t, refused.detail)) from None
                raise
            message = detail_text(t, refused.detail)  # web.rule_texts, else the English
            return await _page(request, viewer, errors={"reason": message}, values=values,
                               failed=kind, status_code=refused.status_code)
        return RedirectResponse(f"/crisis?done={kind}#result", status_code=303)

    @router.post("/crisis/declare")
    async def declare(request: Request, viewer: Signed) -> Response:
        """R-39: crisis management switches the municipality (or units) into crisis mode."""
        return await _switch(request, viewer, "declare")

    @router.post("/crisis/end")
    async def end(request: Request, viewer: Signed) -> Response:
        return await _switch(request, viewer, "end")

    return router
