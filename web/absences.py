"""R-14, holiday cover: the admins' absences, on the API and the account page.

POST /api/accounts/{id}/absences                       an admin will be away, with a cover
POST /api/accounts/{id}/absences/{absence_id}/cancel   called off, or ended now
GET  /api/accounts/{id}/absences                       the absences now and to come
POST /accounts/{id}/absences                           the account page's form
POST /accounts/{id}/absences/{absence_id}/cancel       ... and its "back early" button

Who may record is the account workflow's rule (domain.account.absences,
checked again by its Update validator: a refusal records nothing): an admin
their own absence, the unit's manager or deputy anyone's. The cover is one
of the account's admins or a person of the municipality's directory, which
only the web app can look up (`cover_in_directory`). Who may read: the
account's admins, the unit and the communications unit (as its monitoring).
The form is web/templates/_account_absences.html, included by account.html.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain import account as acc
from readviews import accounts as account_views
from web import account_pages as pages
from web import i18n
from web.deps import AppContext, Ctx, send_update
from web.identity import ApiActor, Signed, Viewer, known_actor
from web.monitoring_api import may_read_monitoring
from web.page_texts import Refused
from web.rule_texts import detail_text, error_text
from workflows.account import AccountLifecycleWorkflow

log = structlog.get_logger("kanalvakt.web.absences")

W = AccountLifecycleWorkflow


class AbsenceBody(BaseModel):
    """An admin's absence: both days included, the account's local dates."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    person: acc.PersonId = Field(description="The admin who will be away")
    starts_on: date
    ends_on: date
    cover: acc.PersonId = Field(description="Who takes their reminders and escalations: "
                                            "another admin or a colleague in the directory")


class AbsencesView(BaseModel):
    account_id: str
    absences: list[acc.Absence]
    all_away_since: datetime | None = None  # escalated to the manager since
    escalated: bool


def absences_view(state: acc.AccountState, now: datetime | None = None) -> AbsencesView:
    """The absences not over by `now`, and whether every admin is away."""
    moment = now or datetime.now(UTC)
    return AbsencesView(account_id=state.account_id,
                        absences=[a for a in state.absences if a.ends_at > moment],
                        all_away_since=state.all_away_since,
                        escalated=acc.is_escalated(state))


async def _account(ctx: AppContext, account_id: uuid.UUID) -> account_views.AccountRecord:
    record = await account_views.account_record(ctx.pool, str(account_id))
    if record is None:
        raise Refused(404, "no_account", "no such account")
    return record


async def absence_command(ctx: AppContext, state: acc.AccountState, actor: str,
                          body: AbsenceBody) -> acc.RecordAbsence:
    """The command, with the directory's word on the cover (R-14)."""
    found = await ctx.directory.person(state.municipality_id, body.cover)
    return acc.RecordAbsence(actor=actor, person=body.person, starts_on=body.starts_on,
                             ends_on=body.ends_on, cover=body.cover,
                             cover_in_directory=found is not None)


async def send_absence(ctx: AppContext, row: dict[str, Any],
                       command: acc.RecordAbsence | acc.CancelAbsence) -> acc.AccountState:
    """The command as the account case's Update; the workflow's validator
    refuses (nothing recorded) with 403/409/422 through web.deps.send_update."""
    handle = ctx.client.get_workflow_handle(row["workflow_id"])
    update = W.record_absence if isinstance(command, acc.RecordAbsence) else W.cancel_absence
    after: acc.AccountState = await send_update(handle, update, command)
    log.info("absence decision", account_id=str(row["account_id"]),
             command=type(command).__name__, actor=command.actor)
    return after


def absences_router() -> APIRouter:
    """The API (in the schema) and the account page's forms (not)."""
    router = APIRouter()

    @router.post("/api/accounts/{account_id}/absences", response_model=AbsencesView,
                 status_code=201, tags=["absences"],
                 summary="An admin will be away; their cover is told meanwhile (R-14)")
    async def record(account_id: uuid.UUID, body: AbsenceBody, ctx: Ctx,
                     actor: ApiActor) -> AbsencesView:
        row, state = await _account(ctx, account_id)
        who = await known_actor(ctx, row["municipality_id"], actor)
        command = await absence_command(ctx, state, who, body)
        return absences_view(await send_absence(ctx, row, command))

    @router.post("/api/accounts/{account_id}/absences/{absence_id}/cancel",
                 response_model=AbsencesView, tags=["absences"],
                 summary="An absence called off, or ended now (R-14)")
    async def cancel(account_id: uuid.UUID, absence_id: str, ctx: Ctx,
                     actor: ApiActor) -> AbsencesView:
        row, state = await _account(ctx, account_id)
        who = await known_actor(ctx, row["municipality_id"], actor)
        try:
            command = acc.CancelAbsence(actor=who, absence_id=absence_id)
        except ValidationError:
            raise Refused(404, "no_absence", f"no absence {absence_id!r}",
                          absence=absence_id) from None
        return absences_view(await send_absence(ctx, row, command))

    @router.get("/api/accounts/{account_id}/absences", response_model=AbsencesView,
                tags=["absences"], summary="The admins' absences now and to come (R-14)")
    async def read(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor) -> AbsencesView:
        row, state = await _account(ctx, account_id)
        who = await known_actor(ctx, row["municipality_id"], actor)
        if not await may_read_monitoring(ctx, state, who):
            raise Refused(403, "monitoring_readers", f"{who} may not read this account's "
                          "absences: its admins, the unit and the communications unit may")
        return absences_view(state)

    @router.post("/accounts/{account_id}/absences", include_in_schema=False)
    async def record_page(account_id: uuid.UUID, request: Request,
                          viewer: Signed) -> Response:
        form = await request.form()
        values = {name: _str(form.get(name)) for name in ("person", "starts_on", "ends_on",
                                                          "cover")}
        return await _page_decision(request, account_id, viewer, form, values)

    @router.post("/accounts/{account_id}/absences/{absence_id}/cancel",
                 include_in_schema=False)
    async def cancel_page(account_id: uuid.UUID, absence_id: str, request: Request,
                          viewer: Signed) -> Response:
        form = await request.form()
        return await _page_decision(request, account_id, viewer, form, None,
                                    absence_id=absence_id)

    return router


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


async def _page_decision(request: Request, account_id: uuid.UUID, viewer: Viewer, form: Any,
                         values: dict[str, str] | None, *, absence_id: str = "") -> Response:
    """The form's command, put to the domain's decide first (403/409 pages,
    a broken rule shown at the form), then sent as the Update."""
    ctx = request.app.state.ctx
    record = await _account(ctx, account_id)
    row, state = record
    if row["municipality_id"] != viewer.municipality_id:
        raise Refused(403, "other_municipality", "the account belongs to another municipality")
    t = i18n.translator(pages._lang(request, viewer))
    command: acc.RecordAbsence | acc.CancelAbsence
    try:
        if values is None:
            command = acc.CancelAbsence(actor=viewer.person_id, absence_id=absence_id)
        else:
            body = AbsenceBody.model_validate({k: v or None for k, v in values.items()})
            command = await absence_command(ctx, state, viewer.person_id, body)
    except ValidationError as invalid:
        if values is None:
            raise Refused(404, "no_absence", f"no absence {absence_id!r}",
                          absence=absence_id) from None
        errors = {k if k in values else "form": v
                  for k, v in pages._errors_from(invalid, t).items()}
        return await pages._account_view(request, viewer, row, state, action="absence",
                                         errors=errors, form=form, status_code=422)
    now = datetime.now(UTC)
    try:
        acc.decide(state, command, now=now)
    except acc.NotAuthorised as refused:
        raise HTTPException(403, detail=error_text(t, refused)) from None
    except acc.WrongStage as wrong:
        raise HTTPException(409, detail=error_text(t, wrong)) from None
    except acc.RuleViolation as violation:
        return await pages._account_view(request, viewer, row, state, action="absence",
                                         errors={"form": error_text(t, violation)}, form=form,
                                         status_code=422)
    try:
        await send_absence(ctx, row, command)
    except HTTPException as refused:
        if refused.status_code == 422:
            return await pages._account_view(
                request, viewer, row, state, action="absence",
                errors={"form": detail_text(t, refused.detail)}, form=form, status_code=422)
        raise HTTPException(refused.status_code,
                            detail=detail_text(t, refused.detail)) from None
    done = "absence" if values is not None else "absence_cancelled"
    return RedirectResponse(f"/accounts/{account_id}?done={done}#absences-title",
                            status_code=303)
