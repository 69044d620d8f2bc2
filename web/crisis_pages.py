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
from web import moderation_texts
from web.crisis_api import switch_handle
from web.deps import AppContext, send_update
from web.i18n import translator
from web.identity import Signed, Viewer
from web.page_texts import Refused
from web.rendering import language_of, render
from web.rule_texts import detail_text
from workflows.crisis import CrisisWorkflow

moderation_texts.register({
    "crisis.title": ("Krisläge", "Krisemodus", "Crisis mode"),
    "crisis.intro": (
        "I krisläge besvaras frågor inom kortare tid dygnet runt, kontona bevakas oftare och "
        "hänvisar till webbplatsen och telefon, och frågor och stämningar sammanställs för "
        "krisledningen (R-39).",
        "I krisemodus besvares spørsmål raskere døgnet rundt, kontoene følges oftere og "
        "henviser til nettstedet og telefon, og spørsmål og stemninger samles for "
        "kriseledelsen (R-39).",
        "In crisis mode questions are answered sooner, around the clock, the accounts are "
        "checked more often and point to the website and phone, and questions and moods are "
        "compiled for crisis management (R-39)."),
    "crisis.active": ("Krisläge gäller", "Krisemodus gjelder", "Crisis mode is on"),
    "crisis.inactive": ("Inget krisläge gäller.", "Ingen krisemodus gjelder.",
                        "Crisis mode is off."),
    "crisis.since": ("Sedan", "Siden", "Since"),
    "crisis.scope": ("Omfattar", "Omfatter", "Covers"),
    "crisis.whole": ("Hela kommunen", "Hele kommunen", "The whole municipality"),
    "crisis.reason": ("Skäl", "Grunn", "Reason"),
    "crisis.declared_by": ("Beslutat av", "Besluttet av", "Declared by"),
    "crisis.notice": ("Hänvisning på kontona", "Henvisning på kontoene",
                      "Notice on the accounts"),
    "crisis.answer_within": ("Svar inom", "Svar innen", "Answer within"),
    "crisis.declare": ("Gå över till krisläge", "Gå over til krisemodus",
                       "Switch to crisis mode"),
    "crisis.end": ("Avsluta krisläget", "Avslutt krisemodus", "End crisis mode"),
    "crisis.f.reason": ("Skäl", "Grunn", "Reason"),
    "crisis.f.end_reason": ("Skäl att avsluta", "Grunn til å avslutte", "Reason for ending"),
    "crisis.f.units": ("Verksamheter som omfattas", "Enheter som omfattes", "Units covered"),
    "crisis.f.units.hint": ("Välj ingen för hela kommunen.", "Velg ingen for hele kommunen.",
                            "Choose none for the whole municipality."),
    "crisis.b.declare": ("Gå över till krisläge", "Gå over til krisemodus",
                         "Switch to crisis mode"),
    "crisis.b.end": ("Avsluta krisläget", "Avslutt krisemodus", "End crisis mode"),
    "crisis.only_management": (
        "Bara krisledningen kan gå över till eller avsluta krisläge (R-39).",
        "Bare kriseledelsen kan slå krisemodus av eller på (R-39).",
        "Only crisis management switches crisis mode (R-39)."),
    "crisis.done.declare": ("Krisläget gäller nu. Konton och öppna ärenden har fått besked.",
                            "Krisemodus gjelder nå. Kontoer og åpne saker har fått beskjed.",
                            "Crisis mode is on. Accounts and open cases have been told."),
    "crisis.done.end": ("Krisläget är avslutat; de vanliga reglerna gäller igen.",
                        "Krisemodus er avsluttet; de vanlige reglene gjelder igjen.",
                        "Crisis mode has ended; the normal rules apply again."),
    "crisis.digests": ("Sammanställningar av frågor och stämningar",
                       "Sammenstillinger av spørsmål og stemninger",
                       "Digests of questions and moods"),
    "crisis.digests.none": ("Inga sammanställningar ännu.", "Ingen sammenstillinger ennå.",
                            "No digests yet."),
    "crisis.period": ("Period", "Periode", "Period"),
    "crisis.messages": ("Meddelanden", "Meldinger", "Messages"),
    "crisis.questions": ("Frågor", "Spørsmål", "Questions"),
    "crisis.critical": ("Kritiska", "Kritiske", "Critical"),
    "crisis.open": ("Obesvarade", "Ubesvarte", "Unanswered"),
    "crisis.question_texts": ("Frågorna", "Spørsmålene", "The questions"),
    "crisis.storms": ("Stormflaggor (R-40)", "Stormflagg (R-40)", "Storm flags (R-40)"),
    "crisis.storms.none": ("Inga stormar flaggade.", "Ingen stormer flagget.",
                           "No storms flagged."),
    "crisis.storm.window": ("{n} meddelanden, varav {c} kritiska",
                            "{n} meldinger, hvorav {c} kritiske",
                            "{n} messages, {c} of them critical"),
    "crisis.storm.cooling": ("Flaggad till {at}", "Flagget til {at}", "Flagged until {at}"),
    "crisis.storm.cooled": ("Avklingad", "Avtatt", "Cooled down"),
    "crisis.history": ("Tidigare krislägen", "Tidligere krisemodus", "Earlier crises"),
    "crisis.awaiting": ("Väntar på ditt godkännande",
                        "Venter på din godkjenning",
                        "Waiting for your approval"),
    "crisis.awaiting.reply": ("Svar av {who}", "Svar fra {who}", "Reply by {who}"),
    # Issue 16: a removal or a forward waits too, said as what it is.
    "crisis.awaiting.removal": ("Borttagning av {who}", "Fjerning fra {who}",
                                "Removal by {who}"),
    "crisis.awaiting.hide": ("Döljning av {who}", "Skjuling fra {who}", "Hide by {who}"),
    "crisis.awaiting.forward": ("Vidarebefordran av {who}", "Videresending fra {who}",
                                "Forward by {who}"),
    "crisis.awaiting.open": ("Granska", "Gå gjennom", "Review"),
    "crisis.through": ("Kommunikation", "Kommunikasjon", "Communication"),
    "crisis.through.yes": ("All kommunikation går via krisledningen: svar publiceras när "
                           "krisledningen har godkänt dem (R-39)",
                           "All kommunikasjon går via kriseledelsen: svar publiseres når "
                           "kriseledelsen har godkjent dem (R-39)",
                           "All communication goes through crisis management: replies are "
                           "posted once crisis management has approved them (R-39)"),
    "crisis.defaults": ("Webbplats och telefon för kris är inte inställda: meddelandet "
                        "hänvisar till kommunens egen webbplats och växel (R-39)",
                        "Nettsted og telefon for krise er ikke satt opp: meldingen viser til "
                        "kommunens eget nettsted og sentralbord (R-39)",
                        "The crisis website and phone are not configured: the notice points "
                        "to the municipality's own website and switchboard (R-39)"),
    "crisis.publish": ("Publicering", "Publisering", "Publishing"),
    "crisis.publish.comms": ("Kommunikationsenheten publicerar under krisen (R-47)",
                             "Kommunikasjonsenheten publiserer under krisen (R-47)",
                             "The communications unit publishes during the crisis (R-47)"),
    "crisis.ended": ("Avslutat {at} av {who}", "Avsluttet {at} av {who}", "Ended {at} by {who}"),
})

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
