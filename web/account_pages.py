"""The account lifecycle's pages: request a new account (R-02), my tasks, the
account page with its timeline and the actions allowed to me.

    GET  /accounts/new                      the request form
    POST /accounts/new                      start the case (web.accounts_api.start_account_request)
    GET  /tasks                             what waits for me
    GET  /accounts/{id}                     stage, admins, settings, timeline, my actions
    POST /accounts/{id}/act/{action}        approve, reject, risk, sign_off, activate,
                                            add_admin, remove_admin, two_factor,
                                            message_settings, closure, profile_change
                                            (R-37: a change of the public face),
                                            appoint_publisher, remove_publisher (R-52)
    GET  /accounts/{id}/amend, POST ...     amend a sent-back request
    POST /accounts/{id}/monitoring/{action} check_in, post, keep, watch, resolve
                                            (R-15..R-20; web.monitoring_api.send_monitoring)
    POST /accounts/{id}/snapshots           take one on demand or after a major change (R-37)
    POST /accounts/{id}/snapshot-uploads    a screenshot for a manual platform (multipart)

The page also shows the account's monitoring (web.monitoring_api's status:
check-ins today, the last ones, what falls due next, posts this week,
inactivity, open watch items) to those who may read it, its crisis notice
(R-39) and storm flag (R-40), and its snapshots (R-37, R-38) to those
web.snapshots_api lets list them. State for these panels comes from the
workflow's `state` query (a crisis reaches the account by signal, without an
event in the read model), the read model's if the case does not answer.

Authorisation: a page of an account is for the people of its municipality;
the page shows only the forms my role and my relation to the account allow
(domain.account.available_actions, available_monitoring_actions), and a
posted form's command is first put to the domain's own `decide` (pure, no
I/O): one it refuses as NotAuthorised is a 403 page before anything is
sent. The workflow's Update validator then checks the same rule again, with
nothing recorded on refusal.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain import account as acc
from domain import monitoring as mon
from domain import readers
from domain import snapshot as snap
from domain.account import actions as acc_actions
from domain.country import DEFAULT_TIMEZONE
from domain.crisis import CrisisPolicy
from domain.message_policy import AnswerRule, MessagePolicy, SignatureRule
from domain.policy import LifecyclePolicy
from domain.screening import FlagKind
from readviews import accounts as account_views
from readviews import people as people_views
from readviews.snapshots import screenshot_requests_of, snapshots_of
from store import record_uploads
from web import i18n, rule_texts
from web.accounts_api import start_account_request
from web.deps import send_update
from web.identity import Actor, Signed, Viewer
from web.monitoring_api import (
    may_read_monitoring,
    monitoring_view,
    send_monitoring,
    works_in_unit,
)
from web.page_texts import Refused, invalid_text
from web.rendering import language_of, render
from web.rule_texts import detail_text, error_text, refusal_text
from web.snapshots_api import (
    SnapshotRequest,
    package_record_only,
    say_screenshots_done,
    store_screenshot,
    take_snapshot,
)
from web.uploads14 import (
    CONSENT_FIELD,
    consent_of_form,
    consents_of,
    forget_unless_recorded,
    may_read_consents,
    upload_error,
)
from workflows.account import AccountLifecycleWorkflow

log = structlog.get_logger("kanalvakt.web.accounts")

REQUEST_FIELDS = ("unit_id", "platform", "account_name", "purpose", "target_audience", "goals",
                  "message", "dialogue_wanted", "resources", "hours_per_week",
                  "channel_rationale", "contact_email", "opens", "closes")
ADMIN_SLOTS = 4
CHECKLIST_FLAGS = ("profile_names_municipality", "profile_states_purpose_and_rules",
                   "provider_identity_and_visibility_shown", "unit_web_page_updated",
                   "municipality_has_login_access", "communication_plan_checked",
                   "routines_checked")  # R-03, R-51 (issue 16)
ROUTINES = tuple(r.value for r in acc.Routine)  # named in the request
ACTIONS = acc_actions.ACTIONS
MONITORING_ACTIONS = acc_actions.MONITORING_ACTIONS
# Events on one page of the account's timeline (an active account gathers
# several a working day: check-ins, reminders, posts); older ones page by page.
TIMELINE_PAGE = 100
# Platforms Kanalvakt reads through an API (adapters.connectors.meta_graph);
# the others are captured from uploaded screenshots.
READ_PLATFORMS = frozenset({"facebook", "instagram"})

Errors = dict[str, str]


# --------------------------------------------------------------------------- rules


def stage_deadline(state: acc.AccountState) -> tuple[datetime | None, bool]:
    """The date the current step escalates or lapses (working days of the
    municipality's country), and whether it has passed unanswered."""
    plan = acc.deadline_plan(state)
    firm = [s for s in plan if s.kind in ("escalate", "lapse")]
    due = min((s.due for s in firm), default=None) or acc.next_deadline(state)
    return due, due is not None and due < datetime.now(UTC)


# --------------------------------------------------------------------------- reading


async def _account(request: Request, account_id: uuid.UUID, viewer: Viewer
                   ) -> account_views.AccountRecord:
    record = await account_views.account_record(request.app.state.ctx.pool, str(account_id))
    if record is None:
        raise HTTPException(404)
    if record.row["municipality_id"] != viewer.municipality_id:
        raise Refused(403, "other_municipality", "the account belongs to another municipality")
    return record


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "request", "policy", "checklist")]
    if not parts:
        return "form"
    if parts[0] == "proposed_admins":
        return f"admin_{int(parts[1]) + 1}" if len(parts) > 1 else "admin_2"
    if parts[0] == "monitoring_hours":
        return "opens"
    if parts[0] == "office_hours":
        return "opens"
    return str(parts[0])


def _errors_from(error: ValidationError | list[dict[str, Any]], t: i18n.Translate) -> Errors:
    items = error.errors() if isinstance(error, ValidationError) else error
    out: Errors = {}
    for item in items:
        field = _field_of(item.get("loc", ()))
        kind = str(item.get("type", ""))
        if kind in {"missing", "string_too_short"}:
            message = t("err.required")
        elif kind == "string_too_long":
            message = t("err.too_long")
        elif kind in {"float_parsing", "int_parsing", "greater_than", "less_than_equal",
                      "float_type"}:
            message = t("err.number")
        elif field == "contact_email":
            message = t("err.email")
        elif field.startswith("admin_") and kind in {"too_short", "list_too_short"}:
            message = t("err.two_admins")
        elif kind == "unknown":
            message = t("err.unknown_person", who=str(item.get("msg", "")).split(" ")[0])
        elif kind in {"date_from_datetime_parsing", "date_parsing", "date_type"}:
            message = t("err.date")
        elif rule_texts.has_text(kind):  # a rule of the request's, named by its key
            message = t(f"rule.{kind}")
        elif kind == "string_pattern_mismatch" and field in {"url"}:
            message = t("err.https")
        else:
            message = invalid_text(t, item)
        out.setdefault(field, message)
    return out


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def request_values(form: FormData | None, viewer: Viewer,
                   base: acc.AccountRequest | None = None) -> dict[str, Any]:
    """The form's values: what was posted, else the request being amended,
    else defaults."""
    if form is not None:
        values: dict[str, Any] = {name: _str(form, name) for name in REQUEST_FIELDS}
        for i in range(1, ADMIN_SLOTS + 1):
            values[f"admin_{i}"] = _str(form, f"admin_{i}")
        for routine in ROUTINES:
            values[f"routine_{routine}"] = form.get(f"routine_{routine}") == "on"
        values["comment"] = _str(form, "comment")
        return values
    if base is not None:
        values = base.model_dump(mode="json")
        values["platform"] = base.platform.value
        values["dialogue_wanted"] = "yes" if base.dialogue_wanted else "no"
        values["hours_per_week"] = f"{base.hours_per_week:g}"
        values["opens"] = base.monitoring_hours.opens.strftime("%H:%M")
        values["closes"] = base.monitoring_hours.closes.strftime("%H:%M")
        for i in range(ADMIN_SLOTS):
            values[f"admin_{i + 1}"] = (base.proposed_admins[i]
                                        if i < len(base.proposed_admins) else "")
        for routine in ROUTINES:
            values[f"routine_{routine}"] = routine in base.routines
        return values
    values = {name: "" for name in REQUEST_FIELDS}
    values.update(unit_id=viewer.unit or "", opens="08:00", closes="16:30",
                  admin_1=viewer.person_id)
    return values


def request_from(values: dict[str, Any]) -> acc.AccountRequest:
    """The AccountRequest of the form's values; ValidationError with field
    locations otherwise."""
    dialogue = {"yes": True, "no": False}.get(values.get("dialogue_wanted", ""))
    data: dict[str, Any] = {k: values[k] for k in REQUEST_FIELDS
                            if k not in {"opens", "closes", "dialogue_wanted"} and values[k]}
    if dialogue is not None:
        data["dialogue_wanted"] = dialogue
    data["proposed_admins"] = [values[f"admin_{i}"] for i in range(1, ADMIN_SLOTS + 1)
                               if values.get(f"admin_{i}")]
    data["routines"] = [r for r in ROUTINES if values.get(f"routine_{r}")]
    data["monitoring_hours"] = {"opens": values.get("opens") or "08:00",
                                "closes": values.get("closes") or "16:30"}
    return acc.AccountRequest.model_validate(data)


# --------------------------------------------------------------------------- the router


def account_pages_router() -> APIRouter:
    """The account pages; the routes are registered in this order, so
    /accounts/new is matched before /accounts/{account_id}."""
    router = APIRouter(include_in_schema=False)
    _request_routes(router)
    _task_routes(router)
    _account_routes(router)
    _snapshot_routes(router)
    _snapshot_wait_routes(router)
    _amend_routes(router)
    return router


async def _request_form(request: Request, viewer: Viewer, values: dict[str, Any],
                        errors: Errors, *, status_code: int = 200,
                        amend: tuple[dict[str, Any], acc.AccountState] | None = None
                        ) -> Response:
    ctx = request.app.state.ctx
    t = i18n.translator(_lang(request, viewer))
    labels = {name: t(f"f.{name}") for name in REQUEST_FIELDS}
    labels.update({f"admin_{i}": t("f.admin", n=i) for i in range(1, ADMIN_SLOTS + 1)},
                  form="", opens=t("f.hours"), closes=t("f.hours"))
    units = await ctx.directory.units(viewer.municipality_id)
    people = await people_choices(ctx, viewer.municipality_id)
    return await render(request, "account_request.html", {
        "values": values, "errors": errors, "labels": labels, "units": units,
        "people": people,
        "platforms": [p.value for p in acc.Platform], "admin_slots": ADMIN_SLOTS,
        "routines": ROUTINES,
        "amend": amend[0] if amend else None}, status_code=status_code, viewer=viewer)


def _request_routes(router: APIRouter) -> None:
    """R-02: the request form and its submission."""
    @router.get("/accounts/new")
    async def new_account(request: Request, viewer: Signed) -> Response:
        return await _request_form(request, viewer, request_values(None, viewer), {})

    @router.post("/accounts/new")
    async def submit_account(request: Request, viewer: Signed) -> Response:
        """R-02: the same path as POST /api/accounts (web.accounts_api.start_account_request)."""
        form = await request.form()
        values = request_values(form, viewer)
        t = i18n.translator(_lang(request, viewer))
        try:
            account_request = request_from(values)
        except ValidationError as invalid:
            return await _request_form(request, viewer, values, _errors_from(invalid, t),
                                       status_code=422)
        actor = Actor(person_id=viewer.person_id, municipality_id=viewer.municipality_id,
                      via="session")
        try:
            created, _ = await start_account_request(request.app.state.ctx,
                                                     viewer.municipality_id, actor,
                                                     account_request)
        except HTTPException as refused:
            if refused.status_code == 422 and isinstance(refused.detail, list):
                return await _request_form(request, viewer, values,
                                           _errors_from(refused.detail, t), status_code=422)
            if refused.status_code == 409:
                return await _request_form(request, viewer, values,
                                           {"account_name": t("err.duplicate")},
                                           status_code=409)
            raise
        return RedirectResponse(f"/accounts/{created.account_id}?done=requested",
                                status_code=303)


def tasks_clock() -> datetime:
    """The time "my tasks" is shown as of (a test sets it to a working day)."""
    return datetime.now(UTC)


def _at(handle: str) -> str:
    return handle if handle.startswith("@") else f"@{handle}"


def check_in_task_for(state: acc.AccountState, person: str, now: datetime
                      ) -> mon.CheckInTask | None:
    """R-15, R-39 (issue 14): the day's check-ins `person` owes as one of an
    active account's admins, from the read model's state by the rule the
    account page's monitoring status shows (domain.monitoring.check_in_task)."""
    if state.stage is not acc.Stage.ACTIVE or person not in state.admins:
        return None
    return mon.check_in_task(state.monitoring, acc.monitoring_duty(state), now,
                             acc.crisis_check_ins(state))


def _task_routes(router: APIRouter) -> None:
    """The signed-in person's tasks across the municipality's accounts."""
    @router.get("/tasks")
    async def tasks(request: Request, viewer: Signed) -> Response:
        ctx = request.app.state.ctx
        now = tasks_clock()
        mine: list[dict[str, Any]] = []
        related: list[dict[str, Any]] = []
        check_ins: list[dict[str, Any]] = []
        for row, state in await people_views.live_accounts(ctx.pool, viewer.municipality_id):
            owed = check_in_task_for(state, viewer.person_id, now)
            if owed is not None:
                check_ins.append({"row": row, "state": state, "owed": owed,
                                  "handle": _at(state.handle or row["account_name"]),
                                  "overdue": owed.by < now})
            task = _task_for(state, viewer.person_id, now)
            due, overdue = stage_deadline(state)
            entry = {"row": row, "state": state, "task": task, "due": due,
                     "overdue": overdue}
            if task:
                mine.append(entry)
            elif _related(state, viewer):
                related.append(entry)
        messages = await people_views.message_tasks(ctx.pool, viewer.municipality_id,
                                                   viewer.person_id, data_keys=ctx.data_keys)
        for m in messages:
            m["overdue"] = bool(m["next_deadline"]) and \
                datetime.fromisoformat(m["next_deadline"]) < now
        # snapshots waiting for screenshots, for their admins and,
        # once escalated, the unit's manager and the communications unit.
        snapshots = await people_views.snapshot_tasks(ctx.pool, viewer.municipality_id,
                                                     viewer.person_id)
        for w in snapshots:
            # Late once the admins' days have passed (the reminder went out)
            # or a step is due; escalated once the manager or the unit was told.
            w["overdue"] = w["reminded_at"] is not None or (
                bool(w["next_deadline"]) and datetime.fromisoformat(w["next_deadline"]) < now)
            w["escalated"] = w["escalated_at"] is not None
        municipality = await ctx.directory.municipality(viewer.municipality_id)
        return await render(request, "tasks.html", {
            "tasks": mine, "related": related, "messages": messages, "snapshots": snapshots,
            "check_ins": check_ins, "now": now,
            "tz": municipality.timezone if municipality else DEFAULT_TIMEZONE},
            viewer=viewer)


def _account_routes(router: APIRouter) -> None:
    """The account's page, its lifecycle forms and its monitoring forms (R-15..R-20)."""
    @router.get("/accounts/{account_id}")
    async def account_page(account_id: uuid.UUID, request: Request, viewer: Signed) -> Response:
        row, state = await _account(request, account_id, viewer)
        return await _account_view(request, viewer, row, state)

    @router.post("/accounts/{account_id}/act/{action}")
    async def act(account_id: uuid.UUID, action: str, request: Request,
                  viewer: Signed) -> Response:
        if action not in ACTIONS or action == "amend":
            raise HTTPException(404)
        row, state = await _account(request, account_id, viewer)
        form = await request.form()
        t = i18n.translator(_lang(request, viewer))
        now = datetime.now(UTC)
        try:
            update, command = _command(action, form, state, viewer)
        except ValidationError as invalid:
            errors = _errors_from(invalid, t)
            if action == "message_settings":
                errors = _message_settings_texts(invalid, errors, t)
            return await _account_view(request, viewer, row, state, action=action,
                                       errors=errors, form=form, status_code=422)
        if isinstance(command, acc.ChangeMessageSettings):
            wrong = message_settings_errors(command.policy, t)
            if wrong:
                return await _account_view(request, viewer, row, state, action=action,
                                           errors=wrong, form=form, status_code=422)
        unknown = await _unknown_people(request, state, action, form, t)
        if unknown:
            return await _account_view(request, viewer, row, state, action=action,
                                       errors=unknown, form=form, status_code=422)
        return await _decide_and_send(request, viewer, row, state, action, update, command,
                                      form, now)

    @router.post("/accounts/{account_id}/monitoring/{action}")
    async def monitoring_act(account_id: uuid.UUID, action: str, request: Request,
                             viewer: Signed) -> Response:
        """R-41 (issue 14): a post's guardian's signed consent (a file) is
        kept first, and not kept when the post is not recorded."""
        if action not in MONITORING_ACTIONS:
            raise HTTPException(404)
        ctx = request.app.state.ctx
        consent = None
        if action == "post":
            row, state = await _account(request, account_id, viewer)
            form = await request.form()
            try:
                consent = await consent_of_form(ctx, row, form, viewer.person_id)
            except record_uploads.BadUpload as bad:
                t = i18n.translator(_lang(request, viewer))
                return await _account_view(
                    request, viewer, row, state, action="mon_post", form=form,
                    errors={CONSENT_FIELD: upload_error(t, bad, "guardian_consent")},
                    status_code=bad.status)
        response = None
        try:
            response = await _monitoring_act(account_id, action, request, viewer, consent)
        finally:
            await forget_unless_recorded(ctx, consent, response)
        return response

    async def _monitoring_act(account_id: uuid.UUID, action: str, request: Request,
                              viewer: Viewer, consent: dict[str, str] | None) -> Response:
        """R-15..R-20 on the page: the domain's decide first (a refusal is the
        403 page with nothing sent), then the Update as the JSON API sends it."""
        row, state = await _account(request, account_id, viewer)
        ctx = request.app.state.ctx
        form = await request.form()
        t = i18n.translator(_lang(request, viewer))
        now = datetime.now(UTC)
        failed = f"mon_{action}"
        in_unit = await works_in_unit(ctx, state, viewer.person_id)
        try:
            command = _monitoring_command(action, form, state, viewer, in_unit, t,
                                          consent=consent)
        except _FormErrors as invalid:
            return await _account_view(request, viewer, row, state, action=failed,
                                       errors=invalid.errors, form=form, status_code=422)
        refused_page = await _precheck(request, viewer, row, state, failed, command, form,
                                       now, t)
        if refused_page is not None:
            return refused_page
        try:
            await send_monitoring(ctx, row, command)
        except HTTPException as refused:
            message = detail_text(t, refused.detail)
            if refused.status_code == 422:
                return await _account_view(request, viewer, row, state, action=failed,
                                           errors={"form": message}, form=form,
                                           status_code=422)
            raise HTTPException(refused.status_code, detail=message) from None
        return RedirectResponse(f"/accounts/{account_id}?done={action}#monitoring-title",
                                status_code=303)


def _snapshot_routes(router: APIRouter) -> None:
    """R-37, R-38: snapshots taken, screenshots uploaded, waits ended."""
    @router.post("/accounts/{account_id}/snapshots")
    async def snapshot_take(account_id: uuid.UUID, request: Request,
                            viewer: Signed) -> Response:
        """R-37: on demand or after a major change on the record today, by
        those web.snapshots_api allows; refused before anything starts."""
        row, state = await _account(request, account_id, viewer)
        if not readers.may_take_snapshots(state, viewer.person_id):
            raise Refused(403, "snapshot_takers", "the account's admins, the unit's manager "
                          "and the communications unit take snapshots (R-37)")
        form = await request.form()
        change = _str(form, "change")
        body = SnapshotRequest(reason="major_change" if change else "on_demand",
                               change=change or None)
        try:
            await take_snapshot(request.app.state.ctx, account_views.AccountRecord(row, state),
                                viewer.person_id, body)
        except HTTPException as refused:
            if refused.status_code in (409, 422):
                t = i18n.translator(_lang(request, viewer))
                return await _account_view(request, viewer, row, state, action="snapshot",
                                           errors={"form": detail_text(t, refused.detail)},
                                           form=form, status_code=refused.status_code)
            raise
        return RedirectResponse(f"/accounts/{account_id}?done=snapshot#snapshots-title",
                                status_code=303)

    @router.post("/accounts/{account_id}/snapshot-uploads")
    async def snapshot_upload(account_id: uuid.UUID, request: Request,
                              viewer: Signed) -> Response:
        """R-37: a screenshot for a platform Kanalvakt cannot read (multipart,
        CSRF token in the form); nothing stored on refusal."""
        row, state = await _account(request, account_id, viewer)
        if not readers.may_take_snapshots(state, viewer.person_id):
            raise Refused(403, "snapshot_uploaders", "the account's admins, the unit's "
                          "manager and the communications unit upload screenshots (R-37)")
        t = i18n.translator(_lang(request, viewer))
        form = await request.form()
        upload = form.get("file")
        caption = _str(form, "caption") or None
        errors: Errors = {}
        if not isinstance(upload, StarletteUpload) or not upload.filename:
            errors["file"] = t("err.required")
        elif caption is not None and len(caption) > 500:
            errors["caption"] = t("err.too_long")
        else:
            try:
                await store_screenshot(request.app.state.ctx, str(account_id),
                                       viewer.person_id, upload, caption)
            except HTTPException as refused:
                if refused.status_code not in (413, 415):
                    raise
                errors["file"] = t(f"pan.err.upload_{refused.status_code}")
        if errors:
            return await _account_view(request, viewer, row, state, action="upload",
                                       errors=errors, form=form, status_code=422)
        return RedirectResponse(f"/accounts/{account_id}?done=upload#snapshots-title",
                                status_code=303)


def _snapshot_wait_routes(router: APIRouter) -> None:
    """R-37, R-38: a snapshot waiting for screenshots goes on, or is packaged without."""
    @router.post("/accounts/{account_id}/snapshot-requests/{snapshot_id}/{decision}")
    async def snapshot_wait_decision(account_id: uuid.UUID, snapshot_id: str, decision: str,
                                     request: Request, viewer: Signed) -> Response:
        """R-37, R-38: a snapshot waiting for screenshots goes on: "done" (the
        account's admins, the communications unit) or "record-only" with a
        reason (the communications unit); 403 before anything is sent."""
        if decision not in ("done", "record-only"):
            raise HTTPException(404)
        row, state = await _account(request, account_id, viewer)
        ctx = request.app.state.ctx
        form = await request.form()
        try:
            if decision == "done":
                await say_screenshots_done(ctx, account_views.AccountRecord(row, state),
                                           viewer.person_id, snapshot_id)
            else:
                await package_record_only(ctx, account_views.AccountRecord(row, state),
                                          viewer.person_id, snapshot_id,
                                          _str(form, "reason"))
        except HTTPException as refused:
            if refused.status_code in (409, 422):
                t = i18n.translator(_lang(request, viewer))
                field = "reason" if decision == "record-only" else "form"
                return await _account_view(request, viewer, row, state, action="snapwait",
                                           errors={field: detail_text(t, refused.detail)},
                                           form=form, status_code=refused.status_code)
            raise
        return RedirectResponse(f"/accounts/{account_id}?done=snapwait#snapwait-title",
                                status_code=303)


def _amend_routes(router: APIRouter) -> None:
    """R-01, R-03: a request sent back, amended by the requester or the manager."""
    @router.get("/accounts/{account_id}/amend")
    async def amend_page(account_id: uuid.UUID, request: Request, viewer: Signed) -> Response:
        row, state = await _account(request, account_id, viewer)
        if "amend" not in acc.available_actions(state, viewer.person_id, datetime.now(UTC)):
            raise HTTPException(403)
        return await _request_form(request, viewer, request_values(None, viewer, state.request),
                                   {}, amend=(row, state))

    @router.post("/accounts/{account_id}/amend")
    async def amend(account_id: uuid.UUID, request: Request, viewer: Signed) -> Response:
        row, state = await _account(request, account_id, viewer)
        now = datetime.now(UTC)
        if "amend" not in acc.available_actions(state, viewer.person_id, now):
            raise HTTPException(403)
        form = await request.form()
        values = request_values(form, viewer)
        t = i18n.translator(_lang(request, viewer))
        try:
            command = acc.AmendRequest(actor=viewer.person_id, request=request_from(values),
                                       comment=values.get("comment") or None)
        except ValidationError as invalid:
            return await _request_form(request, viewer, values, _errors_from(invalid, t),
                                       status_code=422, amend=(row, state))
        try:
            acc.decide(state, command, now=now)
            await _send_update(request, row, AccountLifecycleWorkflow.amend, command, t)
        except (acc.RuleViolation, _Refused) as refused:
            return await _request_form(request, viewer, values,
                                       {"form": _message_of(refused, t)}, status_code=422,
                                       amend=(row, state))
        except acc.NotAuthorised:
            raise HTTPException(403) from None
        except acc.WrongStage as wrong:
            raise HTTPException(409, detail=error_text(t, wrong)) from None
        return RedirectResponse(f"/accounts/{account_id}?done=amend", status_code=303)


PERSON_FIELDS = {"add_admin": ("person",), "risk": ("completed_by",),
                 "approve": ("terms_delegate",), "appoint_publisher": ("person",),
                 "sign_off": ("terms_read_by", "terms_accepted_by")}
PERSON_LABELS = {("add_admin", "person"): "act.add_admin.title",
                 ("appoint_publisher", "person"): "act.appoint_publisher.title"}


async def _unknown_people(request: Request, state: acc.AccountState, action: str,
                          form: FormData, t: i18n.Translate) -> Errors:
    """A person named in a form must be in the municipality's directory (the
    rules themselves cannot know the directory)."""
    errors: Errors = {}
    for field in PERSON_FIELDS.get(action, ()):
        for who in people_named(_str(form, field)):
            if await request.app.state.ctx.directory.person(state.municipality_id,
                                                            who) is None:
                # The field named, so the error summary says which (issue 14).
                label = t(PERSON_LABELS.get((action, field), f"f.{field}"))
                errors.setdefault(field, t("err.unknown_person_field", field=label, who=who))
    return errors


async def people_choices(ctx: Any, municipality_id: str) -> list[dict[str, str]]:
    """The directory's people for a picker (a <datalist> of person ids,
    each labelled with the name and unit, issue 14): typing a name or a unit
    finds the person; the field still takes the id without JavaScript."""
    units = {u.id: u.name for u in await ctx.directory.units(municipality_id)}
    return [{"id": p.id, "name": f"{p.name} ({units[p.unit]})" if p.unit in units else p.name}
            for p in await ctx.directory.people(municipality_id)]


def people_named(value: str) -> list[str]:
    """Person ids in a field, separated by commas or spaces, each once."""
    return list(dict.fromkeys(p for p in value.replace(",", " ").split() if p))


def terms_acceptors(state: acc.AccountState) -> list[str]:
    """R-05: who may accept the platform's terms, the first the field's
    default: the person the manager authorised at approval, the unit's
    manager and deputy, the communications unit."""
    a = state.authorities
    found = [state.terms_delegate, a.manager, a.deputy, *sorted(a.communications)]
    return list(dict.fromkeys(p for p in found if p))


def _message_settings_texts(invalid: ValidationError, errors: Errors,
                            t: i18n.Translate) -> Errors:
    """The settings form's own words for its fields' bounds (R-22)."""
    out = dict(errors)
    for item in invalid.errors():
        field = _field_of(item.get("loc", ()))
        if field == "chase_every_working_days":
            out[field] = t("ms.err.chase")
        elif field.startswith("screen_"):
            out[field] = t("ms.err.screening")
    return out


class _Refused(Exception):
    """The workflow refused with a rule's message (a 422 from web.deps.send_update)."""


class _FormErrors(Exception):
    """A posted form's field errors (field -> message)."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(errors)
        self.errors = errors


def _local_moment(form: FormData, name: str, timezone: str) -> datetime | None:
    """A datetime-local field (YYYY-MM-DDTHH:MM) in the account's time zone."""
    try:
        wall = datetime.fromisoformat(_str(form, name))
    except ValueError:
        return None
    return wall.replace(tzinfo=ZoneInfo(timezone)) if wall.tzinfo is None else wall


def _post_image(form: FormData, consent: dict[str, str] | None = None
                ) -> dict[str, Any] | None:
    """R-41: the post form's image fields (web/templates/_post_images.html),
    or None when none is filled in (a post without an image); `consent`: the
    guardian's signed consent uploaded with it (web.uploads14)."""
    image = {"rights": _str(form, "image_rights") or None,
             "shows_people": form.get("image_shows_people") is not None,
             "consent": _str(form, "image_consent") or None,
             "child_under_15": form.get("image_child_under_15") is not None,
             "guardian_consent": _str(form, "image_guardian_consent") or None,
             "guardian_consent_upload": consent}
    return image if any(image.values()) else None


def _monitoring_command(action: str, form: FormData, state: acc.AccountState, viewer: Viewer,
                        in_unit: bool, t: i18n.Translate,
                        consent: dict[str, str] | None = None) -> acc.Command:
    """The monitoring command a posted form asks for; _FormErrors for bad
    input, 404 for a watch item id that cannot be one."""
    me, errors = viewer.person_id, Errors()
    data: dict[str, Any] = {"actor": me}
    model: type[acc.Command]
    match action:
        case "check_in":
            return acc.RecordCheckIn(actor=me)
        case "post":
            model = acc.RecordPost
            data["post_id"] = _str(form, "post_id")
            data["published_at"] = _local_moment(form, "published_at", state.timezone)
            if data["published_at"] is None:
                errors["published_at"] = t("pan.err.datetime")
            if image := _post_image(form, consent):  # the image, its rights, consents
                data["images"] = (image,)
        case "keep":
            model, data["reason"] = acc.KeepAccount, _str(form, "reason")
        case "watch":
            model = acc.ReportWatchItem
            data.update(summary=_str(form, "summary"), link=_str(form, "link") or None,
                        seen_at=_local_moment(form, "seen_at", state.timezone),
                        in_unit=in_unit)
            if data["seen_at"] is None:
                errors["seen_at"] = t("pan.err.datetime")
        case "resolve":
            item = _str(form, "item_id")
            if state.monitoring.watch_item(item) is None:
                raise Refused(404, "no_watch_item", f"no watch item {item!r} on this account",
                              item=item)
            model = acc.ResolveWatchItem
            data.update(item_id=item, note=_str(form, f"note_{item}"))
        case _:
            raise HTTPException(404)
    try:
        command = model.model_validate(data)
    except ValidationError as invalid:
        found = _errors_from(invalid, t)
        if "link" in found:
            found["link"] = t("err.https")
        if action == "resolve" and "note" in found:
            found[f"note_{data['item_id']}"] = found.pop("note")
        raise _FormErrors({**found, **errors}) from None
    if errors:
        raise _FormErrors(errors)
    return command


def _message_of(error: Exception, t: i18n.Translate) -> str:
    """A refusal in the reader's language (web.rule_texts), else its English."""
    return error_text(t, error) if isinstance(error, acc.DomainError) else str(error)


async def _send_update(request: Request, row: dict[str, Any], update: Any,
                       command: BaseModel, t: i18n.Translate) -> None:
    """Send the Update; the workflow's refusal in the reader's language (`t`):
    a rule's as _Refused, 403/409 as the error page's detail."""

    handle = request.app.state.ctx.client.get_workflow_handle(row["workflow_id"])
    try:
        await send_update(handle, update, command)
    except HTTPException as refused:
        if refused.status_code == 422:
            raise _Refused(detail_text(t, refused.detail)) from None
        if refused.status_code in (403, 409) and isinstance(refused.detail, dict):
            raise HTTPException(refused.status_code,
                                detail=detail_text(t, refused.detail)) from None
        raise


async def _precheck(request: Request, viewer: Viewer, row: dict[str, Any],
                    state: acc.AccountState, action: str, command: acc.Command,
                    form: FormData, now: datetime, t: i18n.Translate) -> Response | None:
    """The rule the workflow's validator applies, asked first: a person
    without the right gets the 403 page (409 for the wrong stage) before
    anything is sent; a broken rule re-renders the form (422). None: go on."""
    try:
        acc.decide(state, command, now=now)
    except acc.NotAuthorised as refused:
        log.info("page action refused", action=action, person=viewer.person_id,
                 account_id=row["account_id"])
        raise HTTPException(403, detail=error_text(t, refused)) from None
    except acc.WrongStage as wrong:
        raise HTTPException(409, detail=error_text(t, wrong)) from None
    except acc.RuleViolation as violation:
        reasons = plain_reasons(t, violation)
        return await _account_view(request, viewer, row, state, action=action,
                                   errors={"form": t("acc.gaps") if reasons
                                           else error_text(t, violation)},
                                   form=form, status_code=422, reasons=reasons)
    return None


_RULE_PREFIX = re.compile(r"^(R-\d+):\s*(.+)$", re.DOTALL)
_RULE_SUFFIX = re.compile(r"^(.+?)\s*\((R-\d+)\)\.?$", re.DOTALL)


def plain_reasons(t: i18n.Translate, violation: acc.RuleViolation
                  ) -> list[tuple[str, str | None]]:
    """A refusal of several reasons (the sign-off checklist) as plain
    sentences, each with its rule id apart (shown behind "Varför?", issue
    14); empty for a refusal of one reason."""
    out: list[tuple[str, str | None]] = []
    for part in getattr(violation, "parts", ()):
        text = refusal_text(t, part.key, part.params, (), part.text)
        found, after = _RULE_PREFIX.match(text), _RULE_SUFFIX.match(text)
        rule, sentence = ((found.group(1), found.group(2)) if found else
                          (after.group(2), after.group(1)) if after else (None, text))
        sentence = sentence[:1].upper() + sentence[1:]
        out.append((sentence if sentence.endswith(".") else sentence + ".", rule))
    return out


async def _decide_and_send(request: Request, viewer: Viewer, row: dict[str, Any],
                           state: acc.AccountState, action: str, update: Any,
                           command: acc.Command, form: FormData, now: datetime) -> Response:
    t = i18n.translator(_lang(request, viewer))
    refused_page = await _precheck(request, viewer, row, state, action, command, form, now, t)
    if refused_page is not None:
        return refused_page
    if action == "closure" and form.get("confirm") != "on":
        # Irreversible (issue 14): the page asks for a confirmation that
        # names the consequence; nothing is sent without it.
        return await _account_view(request, viewer, row, state, action=action,
                                   errors={"confirm": t("act.closure.confirm_needed")},
                                   form=form, status_code=422)
    try:
        await _send_update(request, row, update, command, t)
    except _Refused as refused:
        return await _account_view(request, viewer, row, state, action=action,
                                   errors={"form": str(refused)}, form=form, status_code=422)
    log.info("page action", action=action, person=viewer.person_id,
             account_id=row["account_id"])
    return RedirectResponse(f"/accounts/{row['account_id']}?done={action}", status_code=303)


def _command(action: str, form: FormData, state: acc.AccountState, viewer: Viewer
             ) -> tuple[Any, acc.Command]:
    """The Update and command a posted form asks for; ValidationError for
    bad input (with field locations)."""
    w, me = AccountLifecycleWorkflow, viewer.person_id
    comment = _str(form, "comment") or None
    match action:
        case "approve":
            return w.approve, acc.ApproveRequest(
                actor=me, comment=comment,
                admins_equipped=form.get("admins_equipped") == "on",
                terms_delegate=_str(form, "terms_delegate") or None)
        case "reject":
            return w.reject, acc.RejectRequest.model_validate(
                {"actor": me, "reason": _str(form, "reason")})
        case "risk":
            return w.record_risk_assessment, acc.RecordRiskAssessment.model_validate({
                "actor": me, "kind": _str(form, "kind"),
                "document_ref": _str(form, "document_ref"),
                "completed_on": _str(form, "completed_on") or None,
                "completed_by": _str(form, "completed_by") or me})
        case "sign_off":
            links = [line.strip() for line in _str(form, "profile_links").splitlines()
                     if line.strip()]
            checklist: dict[str, Any] = {flag: form.get(flag) == "on" for flag in CHECKLIST_FLAGS}
            checklist.update(
                profile_text=_str(form, "profile_text") or None, profile_links=links,
                # who read the terms and who accepted them, apart.
                terms_read_by=people_named(_str(form, "terms_read_by")),
                terms_accepted_by=_str(form, "terms_accepted_by") or None,
                public_channel=form.get("private_channel") != "on",
                private_channel_reason=_str(form, "private_channel_reason") or None)
            return w.sign_off, acc.SignOff.model_validate({
                "actor": me, "decision": _str(form, "decision"), "checklist": checklist,
                "comment": comment})
        case "activate":
            admins = [{"person": p, "two_factor": form.get(f"tfa_{p}") == "on"}
                      for p in state.request.proposed_admins if form.get(f"admin_{p}") == "on"]
            return w.activate, acc.ActivateAccount.model_validate({
                "actor": me, "handle": _str(form, "handle"), "url": _str(form, "url"),
                "platform_account_id": _str(form, "platform_account_id") or None,
                "admins": admins})
        case "add_admin":
            return w.add_admin, acc.AddAdmin.model_validate({
                "actor": me, "person": _str(form, "person"),
                "two_factor": form.get("two_factor") == "on"})
        case "remove_admin":
            return w.remove_admin, acc.RemoveAdmin.model_validate({
                "actor": me, "person": _str(form, "person"),
                "reason": _str(form, "reason") or None})
        case "two_factor":
            return w.confirm_two_factor, acc.ConfirmTwoFactor.model_validate({
                "actor": me, "person": _str(form, "person")})
        case "message_settings":
            policy = MessagePolicy.model_validate(message_settings_from(form, state))
            return w.change_message_settings, acc.ChangeMessageSettings(actor=me, policy=policy)
        case "appoint_publisher":
            return w.appoint_publisher, acc.AppointPublisher.model_validate({
                "actor": me, "person": _str(form, "person")})
        case "remove_publisher":
            return w.remove_publisher, acc.RemovePublisher.model_validate({
                "actor": me, "person": _str(form, "person")})
        case "closure":
            return w.request_closure, acc.RequestClosure.model_validate(
                {"actor": me, "reason": _str(form, "reason")})
        case "profile_change":  # only what was filled in changed
            return w.record_profile_change, acc.RecordProfileChange.model_validate({
                "actor": me, **{name: _str(form, name) or None for name in (
                    "name", "handle", "url", "about", "platform_account_id", "note")},
                "picture_changed": form.get("picture_changed") == "on"})
    raise HTTPException(404)


# The message settings of issue 16 on the page (R-22, R-26, R-43, R-45, R-46,
# a field the form did not send keeps the account's value.
MESSAGE_SETTING_FIELDS = ("chase_every_working_days", "minor_records_decision",
                          "advertising_disposal_decision")
MESSAGE_SETTING_SWITCHES = ("watched_allowed", "copy_before_every_deletion")
SCREENING_CHOICES = ("hide", "review", "none")  # per kind of flag


def message_settings_from(form: FormData, state: acc.AccountState) -> dict[str, Any]:
    """The MessagePolicy a posted settings form asks for, over the account's
    current one. A checkbox comes with a hidden "off" before it, so an
    unticked box is told apart from a form that does not carry it."""
    current = state.message_policy or MessagePolicy()
    data: dict[str, Any] = current.model_dump()
    data.update({
        "office_hours": {"opens": _str(form, "opens"), "closes": _str(form, "closes")},
        "answer_rule": _str(form, "answer_rule"),
        "answer_office_hours": _str(form, "answer_office_hours") or None,
        "signature": _str(form, "signature")})
    for name in MESSAGE_SETTING_FIELDS:
        if form.get(name) is not None:
            data[name] = _str(form, name) or None
    for name in MESSAGE_SETTING_SWITCHES:
        sent = form.getlist(name)
        if sent:
            data[name] = "on" in sent
    kinds = [k for k in FlagKind if form.get(f"screen_{k.value}") is not None]
    if kinds:
        chosen = {k: _str(form, f"screen_{k.value}") for k in kinds}
        hide = {k for k in current.screening.auto_hide if k not in chosen}
        review = {k for k in current.screening.review if k not in chosen}
        for kind, choice in chosen.items():
            if choice not in SCREENING_CHOICES:
                raise ValidationError.from_exception_data("MessagePolicy", [{
                    "type": "enum", "loc": (f"screen_{kind.value}",), "input": choice,
                    "ctx": {"expected": ", ".join(SCREENING_CHOICES)}}])
            if choice == "hide":
                hide.add(kind)
            if choice in ("hide", "review"):
                review.add(kind)
        data["screening"] = {**current.screening.model_dump(), "auto_hide": hide,
                             "review": review}
    return data


def message_settings_errors(policy: MessagePolicy, t: i18n.Translate) -> Errors:
    """What the model itself cannot see: a disposal decision named must be one
    of the account's (R-33, R-50)."""
    ids = {d.id for d in policy.disposal_decisions}
    return {name: t("ms.err.decision", value=getattr(policy, name), ids=", ".join(sorted(ids)))
            for name in ("minor_records_decision", "advertising_disposal_decision")
            if getattr(policy, name) not in ids}


def _lang(request: Request, viewer: Viewer | None) -> str:
    return language_of(request, viewer)


def _related(state: acc.AccountState, viewer: Viewer) -> bool:
    me = viewer.person_id
    return (me == state.requester or me in state.admins or me in state.request.proposed_admins
            or state.authorities.is_manager(me))


def _task_for(state: acc.AccountState, person: str, now: datetime) -> str | None:
    """The step of the account that waits for `person`, as a text key."""
    allowed = acc.available_actions(state, person, now)
    primary = {
        acc.Stage.AWAITING_MANAGER: ("approve", "task.approve"),
        acc.Stage.RISK_ASSESSMENT: ("risk", "task.risk"),
        acc.Stage.AWAITING_SIGNOFF: ("sign_off", "task.sign_off"),
        acc.Stage.AMENDING: ("amend", "task.amend"),
        acc.Stage.AWAITING_ACTIVATION: ("activate", "task.activate"),
    }.get(state.stage)
    if primary and primary[0] in allowed:
        return primary[1]
    if state.stage is acc.Stage.ACTIVE:
        # every admin away (escalated to the manager); covering for one.
        if state.all_away_since is not None and state.authorities.is_manager(person):
            return "task.all_away"
        if acc.covering_for(state, person, now):
            return "task.cover"
        if state.coverage_lost_at is not None and "add_admin" in allowed:
            return "task.coverage"
        admin = state.admins.get(person)
        if admin is not None and not admin.two_factor:
            return "task.two_factor"
    return None


async def _account_view(request: Request, viewer: Viewer, row: dict[str, Any],
                        state: acc.AccountState, *, action: str | None = None,
                        errors: Errors | None = None, form: FormData | None = None,
                        status_code: int = 200,
                        reasons: list[tuple[str, str | None]] | None = None) -> Response:
    ctx = request.app.state.ctx
    now = datetime.now(UTC)
    allowed = acc.available_actions(state, viewer.person_id, now)
    names = await people_views.person_names(ctx.pool, state.municipality_id)
    # The newest page of the timeline, or the page before ?events_before=N.
    before = _event_number(request.query_params.get("events_before"))
    timeline = await account_views.timeline(ctx.pool, state.account_id, before=before,
                                      limit=TIMELINE_PAGE)
    events = await account_views.timeline_length(ctx.pool, state.account_id)
    municipality = await ctx.directory.municipality(state.municipality_id)
    unit = next((u for u in await ctx.directory.units(state.municipality_id)
                 if u.id == state.request.unit_id), None)
    policy = state.message_policy or (municipality.messages if municipality else
                                      MessagePolicy())
    due, overdue = stage_deadline(state)
    today = now.astimezone(ZoneInfo(state.timezone)).date().isoformat()
    posted = {k: v for k, v in form.items() if isinstance(v, str)} if form else {}
    panels = await _panels(request, viewer, row, state, now)
    return await render(request, "account.html", {
        **panels,
        "row": row, "s": state, "allowed": allowed, "names": names,
        "timeline": list(reversed(timeline)), "unit": unit, "policy": policy,
        "events": events, "events_paged": before is not None,
        "older_than": timeline[0]["version"] if timeline and timeline[0]["version"] > 1
        else None,
        "due": due, "overdue": overdue, "today": today,
        "next_people": acc.who_acts_next(state),  # who the step waits for (issue 14)
        "confirmable": acc.two_factor_confirmable(state, viewer.person_id),
        "failed_action": action, "errors": errors or {}, "posted": posted,
        "reasons": reasons or [],
        "done": request.query_params.get("done"),
        "answer_rules": [r.value for r in AnswerRule],
        "signature_rules": [r.value for r in SignatureRule],
        "people": await people_choices(ctx, state.municipality_id),
        "checklist_flags": CHECKLIST_FLAGS,
        "acceptors": terms_acceptors(state),
        **_settings_view(state, municipality),
        "missing_kinds": [k.value for k in acc.RiskAssessmentKind
                          if k not in state.risk_assessments],
    }, status_code=status_code, viewer=viewer)


def _settings_view(state: acc.AccountState, municipality: Any) -> dict[str, Any]:
    """R-43 on the page: each message setting as the account has it, as the
    municipality sets it and the stricter default; and the municipality-wide
    settings of issue 16 (directory YAML) beside them."""
    strict = MessagePolicy()
    mine = state.message_policy
    town = municipality.messages if municipality else strict
    kinds = [k.value for k in FlagKind]
    lifecycle = municipality.lifecycle if municipality else None
    crisis = municipality.crisis if municipality else None
    return {
        "marks_now": policy_marks(mine or town, strict),
        "marks_town": {**policy_marks(town, strict), **town_marks(lifecycle, crisis)},
        "screening_now": {k: screening_choice(mine or town, k) for k in kinds},
        "screening_town": {k: screening_choice(town, k) for k in kinds},
        "screening_strict": {k: screening_choice(strict, k) for k in kinds},
        "strict_policy": strict, "town_policy": town, "own_policy": mine is not None,
        "lifecycle": lifecycle,
        "strict_lifecycle": LifecyclePolicy(),
        "crisis_policy": crisis,
        "strict_crisis": CrisisPolicy(),
        "flag_kinds": kinds,
        "screening_choices": SCREENING_CHOICES,
    }


_SIGNATURE_RANK = {SignatureRule.REQUIRED: 2, SignatureRule.OPTIONAL: 1, SignatureRule.OFF: 0}


def _mark(value: Any, default: Any, milder: Any = None) -> str | None:
    """R-43: how a value stands to the stricter default: None (the default),
    "milder", "stricter", or "other" where the two do not compare."""
    if value == default:
        return None
    if milder is None:
        return "other"
    return "milder" if milder(value, default) else "stricter"


def policy_marks(policy: MessagePolicy, strict: MessagePolicy) -> dict[str, str | None]:
    """Each message setting of `policy` against the stricter default."""
    return {
        "office_hours": _mark(policy.office_hours, strict.office_hours),
        "answer_rule": _mark((policy.answer_rule, policy.answer_office_hours),
                             (strict.answer_rule, strict.answer_office_hours)),
        "signature": _mark(policy.signature, strict.signature,
                           lambda v, d: _SIGNATURE_RANK[v] < _SIGNATURE_RANK[d]),
        "chase": _mark(policy.chase_every_working_days, strict.chase_every_working_days,
                       lambda v, d: v > d),
        "watched": _mark(policy.watched_allowed, strict.watched_allowed, lambda v, d: v),
        "minor": _mark(policy.minor_records_decision, strict.minor_records_decision),
        "copy": _mark(policy.copy_before_every_deletion, strict.copy_before_every_deletion,
                      lambda v, d: not v),
        "advertising": _mark(policy.advertising_disposal_decision,
                             strict.advertising_disposal_decision),
        # Milder when a kind the default hides is no longer hidden at once.
        "hidden": _mark(policy.screening.auto_hide, strict.screening.auto_hide,
                        lambda v, d: not v >= d),
    }


def town_marks(lifecycle: LifecyclePolicy | None, crisis: CrisisPolicy | None
               ) -> dict[str, str | None]:
    """The municipality-wide settings of issue 16 against their defaults."""
    out: dict[str, str | None] = {}
    if lifecycle is not None:
        strict = LifecyclePolicy()
        out["lifecycle_chase"] = _mark(lifecycle.chase_every_days, strict.chase_every_days,
                                       lambda v, d: v > d)
        out["new_page"] = _mark(lifecycle.new_page, strict.new_page,
                                lambda v, d: v == "inform")
    if crisis is not None:
        default = CrisisPolicy()
        out["crisis_publishes"] = _mark(crisis.communications_publishes,
                                        default.communications_publishes, lambda v, d: not v)
        out["crisis_through"] = _mark(crisis.communication_through_crisis_management,
                                      default.communication_through_crisis_management,
                                      lambda v, d: not v)
    return out


def screening_choice(policy: MessagePolicy, kind: str) -> str:
    """R-31, R-43: what screening does with a kind of flag under `policy`."""
    flag = FlagKind(kind)
    if flag in policy.screening.auto_hide:
        return "hide"
    return "review" if flag in policy.screening.review else "none"


async def _live_state(request: Request, row: dict[str, Any],
                      state: acc.AccountState) -> acc.AccountState:
    """The account case's own state (its `state` query): a crisis reaches the
    account by signal, not as an event in the read model. The read model's
    state if the case has ended or does not answer in time."""
    if state.stage not in (acc.Stage.ACTIVE, acc.Stage.CLOSING):
        return state
    handle = request.app.state.ctx.client.get_workflow_handle(row["workflow_id"])
    try:
        live = await asyncio.wait_for(handle.query("state"), timeout=5)
    except (TimeoutError, RPCError, WorkflowQueryFailedError) as failed:
        log.warning("account state query failed; read model shown", error=str(failed),
                    account_id=state.account_id)
        return state
    return acc.AccountState.model_validate(live)


def _event_number(value: str | None) -> int | None:
    """A timeline page's bound from the address: a positive event number, or
    None (the newest page) for anything else."""
    if value is None or not value.isdigit() or int(value) < 1:
        return None
    return int(value)


async def _panels(request: Request, viewer: Viewer, row: dict[str, Any],
                  state: acc.AccountState, now: datetime) -> dict[str, Any]:
    """The monitoring, crisis and snapshot panels: what `viewer` may see of
    them and the forms decide (or web.snapshots_api) lets them use."""
    ctx = request.app.state.ctx
    me = viewer.person_id
    live = await _live_state(request, row, state)
    crisis = live.crisis.mode if live.crisis and live.crisis.mode and \
        live.crisis.mode.covers(live.request.unit_id) else None
    out: dict[str, Any] = {"crisis": crisis, "storm": live.crisis.storm if live.crisis else None,
                           "mon": None, "mon_allowed": set(), "snapshots": None,
                           "changes_today": [], "uploads_wanted": False, "pending_uploads": 0,
                           "snap_waiting": [], "may_say_done": False, "may_record_only": False,
                           "now_local": now.astimezone(ZoneInfo(live.timezone)).strftime(
                               "%Y-%m-%dT%H:%M")}
    if live.monitoring.since is not None and await may_read_monitoring(ctx, live, me):
        out["mon"] = status = monitoring_view(live, now).status
        # Every check-in made today (local), also those that count only for
        # R-16 (outside office hours, or not a working day).
        zone = ZoneInfo(live.timezone)
        out["made_today"] = sum(1 for c in live.monitoring.check_ins
                                if c.checked_at.astimezone(zone).date() == status.today)
        out["mon_allowed"] = acc.available_monitoring_actions(
            live, me, now, in_unit=await works_in_unit(ctx, live, me))
        # the manager records criticism for the record, not "to the manager".
        out["watch_by_manager"] = live.authorities.is_manager(me)
    # R-41 (issue 14): the guardians' signed consents, for those who may read them.
    # Withdrawn or disposed of ones are shown as such (their files destroyed).
    out["consents"] = (await consents_of(ctx, live) if out["mon"] is not None
                       and await may_read_consents(ctx, account_views.AccountRecord(row, live),
                                                   viewer) else [])
    out["may_withdraw_consent"] = acc.may_withdraw_consent(live, me)
    if readers.may_take_snapshots(state, me):
        out["snapshots"] = list(reversed(await snapshots_of(ctx.pool, live.account_id)))
        # snapshots waiting for screenshots (the closure's too).
        out["snap_waiting"] = [r for r in await screenshot_requests_of(ctx.pool, live.account_id)
                               if r["outcome"] is None]
        out["may_say_done"] = readers.may_end_wait(state, me)
        out["may_record_only"] = readers.may_package_without_screenshots(live, me)
        if out["snap_waiting"]:
            out["uploads_wanted"] = True
            out["pending_uploads"] = await ctx.pool.fetchval(
                "SELECT count(*) FROM snapshot_uploads WHERE account_id = $1::uuid "
                "AND used_by IS NULL", live.account_id)
        if live.stage is acc.Stage.ACTIVE:
            day = snap.local_date(now, live.timezone)
            today = await account_views.timeline(ctx.pool, live.account_id,
                                           since=snap.day_start(day, live.timezone))
            changes = [e["event_type"] for e in today
                       if snap.major_change_reason(e["event_type"])
                       and snap.local_date(datetime.fromisoformat(e["occurred_at"]),
                                           live.timezone) == day]
            out["changes_today"] = [c for c in dict.fromkeys(changes)
                                    if not await _snapshot_started(request, live, day, c)]
            # A snapshot waiting for screenshots wants them whatever the
            # platform (an Instagram account without a Page token waits at
            # activation, issue 14): its upload form stays.
            out["uploads_wanted"] = (bool(out["snap_waiting"])
                                     or live.request.platform.value not in READ_PLATFORMS
                                     or not live.platform_account_id)
            out["pending_uploads"] = await ctx.pool.fetchval(
                "SELECT count(*) FROM snapshot_uploads WHERE account_id = $1::uuid "
                "AND used_by IS NULL", live.account_id)
    return out


async def _snapshot_started(request: Request, state: acc.AccountState, day: date,
                            change: str) -> bool:
    """Whether the snapshot after `change` today has been started (the
    account's case starts it itself after a major change): the form does not
    offer what would be refused as taken already."""
    key = snap.snapshot_key(snap.SnapshotReason.MAJOR_CHANGE, day,
                            label=snap.major_change_reason(change))
    handle = request.app.state.ctx.client.get_workflow_handle(
        snap.snapshot_id(state.municipality_id, state.slug, key))
    try:
        await handle.describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
