"""The account API: request an account, read it and its timeline, and send
the lifecycle's decisions (R-01..R-19, R-37, R-52) to its case; the public
register of official channels (R-07).

Authorisation of every decision is the account workflow's own (Update
validators): a wrong person is refused there, with nothing recorded. The
intranet's request form starts a case the same way (start_account_request).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain import account as acc
from domain.message_policy import MessagePolicy
from readviews import accounts as account_views
from web.deps import AppContext, Ctx, PersonInPath, field_error, send_update
from web.identity import Actor, ApiActor, known_actor
from web.page_texts import Refused
from workflows.account import AccountLifecycleWorkflow
from workflows.starter import start_account_case

log = structlog.get_logger("kanalvakt.web.accounts")


# --------------------------------------------------------------------------- request bodies


class AccountRequestBody(acc.AccountRequest):
    municipality_id: str = Field(min_length=1, max_length=64)


class ApproveBody(BaseModel):
    comment: str | None = Field(None, max_length=4000)
    # the appointed admins have working time, resources and knowledge.
    admins_equipped: bool = False
    # a person authorised to accept the platform's terms.
    terms_delegate: acc.PersonId | None = None


class RejectBody(BaseModel):
    reason: acc.Text


class RiskAssessmentBody(BaseModel):
    kind: acc.RiskAssessmentKind
    document_ref: acc.ShortText
    completed_on: acc.date
    completed_by: acc.PersonId


class SignOffBody(BaseModel):
    decision: acc.SignOffDecision
    checklist: acc.SignOffChecklist = acc.SignOffChecklist()
    comment: str | None = Field(None, max_length=4000)


class AmendBody(BaseModel):
    request: acc.AccountRequest
    comment: str | None = Field(None, max_length=4000)


class ActivateBody(BaseModel):
    handle: acc.ShortText
    url: acc.HttpsUrl
    admins: list[acc.Admin] = Field(min_length=2, max_length=20)
    # As acc.ActivateAccount's, so what the body takes the command takes (a
    # fuzzed id once made the command fail: 500).
    platform_account_id: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")


class AddAdminBody(BaseModel):
    person: acc.PersonId
    two_factor: bool = False


class PublisherBody(BaseModel):
    """R-52: a person who publishes beside the admins."""

    person: acc.PersonId


class RemoveAdminBody(BaseModel):
    reason: str | None = Field(None, max_length=4000)


class ClosureBody(BaseModel):
    reason: acc.Text


class ProfileChangeBody(BaseModel):
    """R-37: what changed of the account's public face (omit what did not)."""

    name: acc.ShortText | None = None
    handle: acc.ShortText | None = None
    url: acc.HttpsUrl | None = None
    picture_changed: bool = False
    about: str | None = Field(None, min_length=1, max_length=4000)
    platform_account_id: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    note: str | None = Field(None, max_length=4000)


class AccountCreated(BaseModel):
    account_id: str
    workflow_id: str
    stage: acc.Stage


class AccountView(BaseModel):
    account_id: str
    workflow_id: str
    stage: acc.Stage
    next_deadline: str | None
    escalated: bool
    version: int
    state: acc.AccountState


def _view(state: acc.AccountState) -> AccountView:
    due = acc.next_deadline(state)
    return AccountView(
        account_id=state.account_id,
        workflow_id=acc.workflow_id_for(state.municipality_id, state.slug),
        stage=state.stage, next_deadline=due.isoformat() if due else None,
        escalated=state.escalated, version=state.version, state=state,
    )


# --------------------------------------------------------------------------- routes


def accounts_router() -> APIRouter:
    router = APIRouter()
    _request_and_read_routes(router)
    _decision_routes(router)
    _people_routes(router)

    @router.get("/api/register")
    async def register_json(ctx: Ctx, municipality: str | None = Query(None)
                            ) -> list[dict[str, Any]]:
        """R-07: the public register of official channels; no sign-in."""
        return await account_views.public_register(ctx.pool, municipality_id=municipality)

    return router


def _request_and_read_routes(router: APIRouter) -> None:
    @router.post("/api/accounts", status_code=201, response_model=AccountCreated)
    async def request_account(body: AccountRequestBody, ctx: Ctx, response: Response,
                              actor: ApiActor) -> AccountCreated:
        """R-02: a unit requests an official account; the case starts at once."""
        request = acc.AccountRequest.model_validate(body.model_dump(exclude={"municipality_id"}))
        created, recorded = await start_account_request(ctx, body.municipality_id, actor,
                                                        request)
        # Answered once the request is on the record, so the next call finds
        # the account; if the worker is slow, Accepted rather than keep waiting.
        if not recorded:
            response.status_code = 202
        return created

    @router.get("/api/accounts")
    async def list_accounts(ctx: Ctx, actor: ApiActor, municipality: str | None = None,
                            stage: acc.Stage | None = None) -> list[dict[str, Any]]:
        """The accounts of the caller's own municipality (colleagues there may
        read them, as on the intranet's account pages)."""
        municipality = municipality or (actor.municipality_id if actor else None)
        if actor is not None and municipality is None:
            raise field_error(["query", "municipality"], "name the municipality", "missing")
        await known_actor(ctx, municipality or "", actor)
        return await account_views.accounts(ctx.pool, municipality_id=municipality,
                                            stage=stage.value if stage else None)

    @router.get("/api/accounts/{account_id}", response_model=AccountView)
    async def get_account(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor) -> AccountView:
        """The live state from the workflow, or the record once it has ended;
        for people of the account's municipality."""
        handle, record = await _handle(ctx, account_id)
        await known_actor(ctx, record.row["municipality_id"], actor)
        try:
            state = await handle.query(AccountLifecycleWorkflow.state)
        except RPCError:
            state = record.state
        return _view(state)

    @router.get("/api/accounts/{account_id}/timeline")
    async def account_timeline(
            account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
            before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description=(
                "only events numbered (version) below this"))] = None,
            limit: Annotated[int | None, Query(ge=1, le=1000, description=(
                "at most this many, the newest"))] = None) -> list[dict[str, Any]]:
        """The account's events, oldest first: all, or a page of the newest
        `limit` before `before` (the next page: `before` = the first's version)."""
        _, record = await _handle(ctx, account_id)
        await known_actor(ctx, record.row["municipality_id"], actor)
        return await account_views.timeline(ctx.pool, str(account_id), before=before, limit=limit)


async def _check_body(ctx: AppContext, municipality_id: str, body: BaseModel) -> None:
    """What the directory and the account's settings say of a decision's
    body before it is sent: a person appointed is in the directory; a
    message policy names disposal decisions it has (R-33, R-50)."""
    if isinstance(body, AddAdminBody | PublisherBody) and await ctx.directory.person(
            municipality_id, body.person) is None:
        raise field_error(["person"], f"{body.person} is not in the directory", "unknown")
    if isinstance(body, MessagePolicy):
        ids = {d.id for d in body.disposal_decisions}
        for name in ("minor_records_decision", "advertising_disposal_decision"):
            if getattr(body, name) not in ids:
                raise field_error([name], f"{getattr(body, name)} is not one of the "
                                  f"disposal decisions ({', '.join(sorted(ids))})",
                                  "unknown_decision")


def _decision(router: APIRouter, path: str, update: Any, build: Callable[..., acc.Command],
              body_type: type[BaseModel], summary: str) -> None:
    """POST /api/accounts/{account_id}/<path>: `build` the command from the
    body and send it to the account's case as `update`."""
    async def endpoint(account_id: uuid.UUID, body: body_type, ctx: Ctx,  # type: ignore
                       actor: ApiActor) -> AccountView:
        handle, record = await _handle(ctx, account_id)
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        await _check_body(ctx, record.row["municipality_id"], body)
        return _view(await send_update(handle, update, build(who, body)))

    # With postponed annotations the closure's `body_type` is only a name;
    # give FastAPI the class itself.
    endpoint.__annotations__["body"] = body_type
    endpoint.__name__ = path.strip("/").replace("-", "_").replace("/", "_")
    router.post(f"/api/accounts/{{account_id}}/{path}", response_model=AccountView,
                summary=summary)(endpoint)


def _decision_routes(router: APIRouter) -> None:
    w = AccountLifecycleWorkflow
    _decision(router, "approve", w.approve,
              lambda who, b: acc.ApproveRequest(actor=who, comment=b.comment,
                                                admins_equipped=b.admins_equipped,
                                                terms_delegate=b.terms_delegate),
              ApproveBody, "Manager approves the account (R-01, R-13)")
    _decision(router, "reject", w.reject,
              lambda who, b: acc.RejectRequest(actor=who, reason=b.reason),
              RejectBody, "Manager or communications unit rejects the request")
    _decision(router, "risk-assessments", w.record_risk_assessment,
              lambda who, b: acc.RecordRiskAssessment(actor=who, **b.model_dump()),
              RiskAssessmentBody, "Record a completed ROS or DPIA (R-04)")
    _decision(router, "sign-off", w.sign_off,
              lambda who, b: acc.SignOff(actor=who, decision=b.decision,
                                         checklist=b.checklist, comment=b.comment),
              SignOffBody, "Communications unit approves, sends back or rejects (R-03)")
    _decision(router, "amend", w.amend,
              lambda who, b: acc.AmendRequest(actor=who, request=b.request, comment=b.comment),
              AmendBody, "The requester amends a sent-back request and resubmits")
    _decision(router, "activate", w.activate,
              lambda who, b: acc.ActivateAccount(actor=who, handle=b.handle, url=b.url,
                                                 admins=b.admins,
                                                 platform_account_id=b.platform_account_id),
              ActivateBody, "Confirm handle and admins with 2FA; list publicly (R-07, R-12)")
    _decision(router, "admins", w.add_admin,
              lambda who, b: acc.AddAdmin(actor=who, person=b.person, two_factor=b.two_factor),
              AddAdminBody, "The manager appoints an admin (R-13)")
    _decision(router, "publishers", w.appoint_publisher,
              lambda who, b: acc.AppointPublisher(actor=who, person=b.person),
              PublisherBody, "The manager appoints a publisher beside the admins (R-52)")
    _decision(router, "message-settings", w.change_message_settings,
              lambda who, b: acc.ChangeMessageSettings(actor=who, policy=b),
              MessagePolicy, "How this account's messages are answered (R-23, R-26, R-43)")
    _decision(router, "profile-changes", w.record_profile_change,
              lambda who, b: acc.RecordProfileChange(actor=who, **b.model_dump()),
              ProfileChangeBody, "Record a change of the account's public face; a snapshot "
              "follows (R-37)")
    _decision(router, "closure", w.request_closure,
              lambda who, b: acc.RequestClosure(actor=who, reason=b.reason),
              ClosureBody, "Close the account with a final snapshot (R-19, R-38)")


def _people_routes(router: APIRouter) -> None:
    w = AccountLifecycleWorkflow

    @router.post("/api/accounts/{account_id}/admins/{person}/remove", response_model=AccountView)
    async def remove_admin(account_id: uuid.UUID, person: PersonInPath, body: RemoveAdminBody,
                           ctx: Ctx, actor: ApiActor) -> AccountView:
        handle, record = await _handle(ctx, account_id)
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        command = acc.RemoveAdmin(actor=who, person=person, reason=body.reason)
        return _view(await send_update(handle, w.remove_admin, command))

    @router.post("/api/accounts/{account_id}/publishers/{person}/remove",
                 response_model=AccountView, summary="The manager removes a publisher (R-52)")
    async def remove_publisher(account_id: uuid.UUID, person: PersonInPath, ctx: Ctx,
                               actor: ApiActor) -> AccountView:
        handle, record = await _handle(ctx, account_id)
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        command = acc.RemovePublisher(actor=who, person=person)
        return _view(await send_update(handle, w.remove_publisher, command))

    @router.post("/api/accounts/{account_id}/admins/{person}/two-factor",
                 response_model=AccountView)
    async def confirm_two_factor(account_id: uuid.UUID, person: PersonInPath, ctx: Ctx,
                                 actor: ApiActor) -> AccountView:
        handle, record = await _handle(ctx, account_id)
        who = await known_actor(ctx, record.row["municipality_id"], actor)
        command = acc.ConfirmTwoFactor(actor=who, person=person)
        return _view(await send_update(handle, w.confirm_two_factor, command))


async def start_account_request(ctx: AppContext, municipality_id: str, actor: Actor | None,
                                request: acc.AccountRequest) -> tuple[AccountCreated, bool]:
    """R-02: start an account's case for a request, as the JSON API and the
    intranet's form both do. Returns the new account and whether its request
    is on the record yet (waited for up to 10 s). Refusals are HTTPExceptions:
    401/403 for the person, 422 with field errors (FastAPI's shape, `loc`
    naming the field), 409 when the account was requested before."""
    municipality = await ctx.directory.municipality(municipality_id)
    if municipality is None:
        raise field_error(["municipality_id"], "no such municipality", "unknown")
    requester = await known_actor(ctx, municipality.id, actor)
    authorities = await ctx.directory.authorities(municipality.id, request.unit_id)
    if authorities is None:
        raise field_error(["unit_id"], f"no unit {request.unit_id!r} in {municipality.name}",
                          "unknown_unit")
    errors = []
    for i, person in enumerate(request.proposed_admins):
        if await ctx.directory.person(municipality.id, person) is None:
            errors.append({"loc": ["body", "proposed_admins", i],
                           "msg": f"{person} is not in the directory", "type": "unknown"})
    if errors:
        raise HTTPException(422, detail=errors)
    account_id = str(uuid.uuid4())
    slug = acc.account_slug(request.account_name, request.platform)
    workflow_id = acc.workflow_id_for(municipality.id, slug)
    command = acc.RequestAccount(
        actor=requester, account_id=account_id, municipality_id=municipality.id,
        country=municipality.country, timezone=municipality.timezone, request=request,
        authorities=authorities, policy=municipality.lifecycle,
    )
    try:
        await start_account_case(ctx.client, command, task_queue=ctx.task_queue)
    except WorkflowAlreadyStartedError:
        raise HTTPException(
            409, detail=f"an account named {request.account_name!r} on "
            f"{request.platform.value} has already been requested ({workflow_id})",
        ) from None
    log.info("account requested", account_id=account_id, workflow_id=workflow_id)
    created = AccountCreated(account_id=account_id, workflow_id=workflow_id,
                             stage=acc.Stage.AWAITING_MANAGER)
    return created, await _recorded_soon(ctx, account_id)


async def _recorded_soon(ctx: AppContext, account_id: str, seconds: float = 10) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await account_views.account(ctx.pool, account_id) is not None:
            return True
        await asyncio.sleep(0.05)
    return False


async def _handle(ctx: AppContext, account_id: uuid.UUID
                  ) -> tuple[WorkflowHandle[Any, Any], account_views.AccountRecord]:
    record = await account_views.account_record(ctx.pool, str(account_id))
    if record is None:
        raise Refused(404, "no_account", "no such account")
    return ctx.client.get_workflow_handle(record.row["workflow_id"]), record
