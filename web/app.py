"""The web app: the JSON API behind the intranet, and the public register.

Identity (web/identity.py): the signed-in person of the session, or, only
while the development sign-in is on, the person the `X-Kanalvakt-Actor`
header names; either is checked against the org directory. Authorisation of
every decision is the account workflow's own (Update validators), so a wrong
person is refused there, with nothing recorded. The intranet's pages
(web/pages.py and the page modules) share this app, its session and its
CSRF and security-header middleware.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import asyncpg
import structlog
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

import settings as app_settings
from codec import DataKeys, data_keys_of
from deploy.waiting import wait_for_postgres, wait_for_temporal
from domain import account as acc
from domain.message_policy import MessagePolicy
from readviews import accounts as account_views
from store.db import database_unavailable
from store.directory import DirectoryRepository
from web.absences import absences_router
from web.codec_api import codec_router
from web.crisis_api import crisis_router
from web.identity import Actor, ApiActor, known_actor
from web.messages_api import messages_router
from web.monitoring_api import monitoring_router
from web.observability import install_observability
from web.page_texts import Refused
from web.pages import install_intranet
from web.snapshots_api import snapshots_router
from web.webhooks import meta_router
from workflows.account import AccountLifecycleWorkflow
from workflows.starter import start_account_case

log = structlog.get_logger("kanalvakt.web")

_STATUS_FOR = {"NotAuthorised": 403, "WrongStage": 409, "RuleViolation": 422,
               "PlatformPermanentError": 502, "PlatformTransientError": 502}

C = TypeVar("C", bound=acc.Command)


class AppContext:
    def __init__(self, pool: asyncpg.Pool, client: Client, task_queue: str) -> None:
        self.pool = pool
        self.client = client
        self.task_queue = task_queue
        self.directory = DirectoryRepository(pool)

    @property
    def data_keys(self) -> DataKeys | None:
        """The per-case data keys behind the client's codec, which open what
        is sealed at rest (message contents, preserved copies; issue 10)."""
        return data_keys_of(self.client.data_converter.payload_codec)


def create_app(
    connect: Callable[[], Awaitable[tuple[asyncpg.Pool, Client]]] | None = None,
    task_queue: str | None = None,
    cfg: app_settings.Settings | None = None,
) -> FastAPI:
    """Build the app; tests pass their own connections (and settings).
    Refuses to build with settings unsafe for production (web.pages.check_settings)."""
    from deploy.logging_setup import configure_logging

    configure_logging()
    cfg = cfg or app_settings.load()

    async def default_connect() -> tuple[asyncpg.Pool, Client]:
        # Started before PostgreSQL or Temporal is up, the app waits for
        # them, bounded, before it listens (deploy/waiting.py).
        if not cfg.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        pool = await wait_for_postgres(cfg.database_url, cfg)
        try:
            return pool, await wait_for_temporal(cfg)
        except BaseException:
            await pool.close()
            raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool, client = await (connect or default_connect)()
        app.state.ctx = AppContext(pool, client, task_queue or cfg.task_queue)
        yield
        await pool.close()

    app = FastAPI(title="Kanalvakt", version="0.1.0", lifespan=lifespan)
    install_intranet(app, cfg)
    _routes(app)
    app.include_router(meta_router())
    app.include_router(messages_router())
    app.include_router(crisis_router())
    app.include_router(monitoring_router())
    app.include_router(snapshots_router())
    app.include_router(codec_router())
    app.include_router(absences_router())
    install_observability(app, cfg)  # /metrics, /livez, /readyz, request ids (issue 12)
    return app


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(_ctx)]
# A person named in the address, checked as the commands check acc.PersonId.
PersonInPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]


def _field_error(field: list[str | int], message: str, kind: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so a form can show
    it beside the field."""
    return HTTPException(422, detail=[{"loc": ["body", *field], "msg": message, "type": kind}])


async def _known_actor(ctx: AppContext, municipality_id: str, actor: Actor | None) -> str:
    return await known_actor(ctx, municipality_id, actor)


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


def _routes(app: FastAPI) -> None:  # noqa: C901 - one flat list of endpoints reads best
    @app.get("/healthz")
    async def healthz(ctx: Ctx) -> dict[str, str]:
        await ctx.pool.fetchval("SELECT 1")
        return {"status": "ok"}

    @app.post("/api/accounts", status_code=201, response_model=AccountCreated)
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

    @app.get("/api/accounts")
    async def list_accounts(ctx: Ctx, actor: ApiActor, municipality: str | None = None,
                            stage: acc.Stage | None = None) -> list[dict[str, Any]]:
        """The accounts of the caller's own municipality (colleagues there may
        read them, as on the intranet's account pages)."""
        municipality = municipality or (actor.municipality_id if actor else None)
        if actor is not None and municipality is None:
            raise _field_error(["query", "municipality"], "name the municipality", "missing")
        await _known_actor(ctx, municipality or "", actor)
        return await account_views.accounts(ctx.pool, municipality_id=municipality,
                                      stage=stage.value if stage else None)

    @app.get("/api/accounts/{account_id}", response_model=AccountView)
    async def get_account(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor) -> AccountView:
        """The live state from the workflow, or the record once it has ended;
        for people of the account's municipality."""
        handle, row = await _handle(ctx, account_id)
        await _known_actor(ctx, row["municipality_id"], actor)
        try:
            state = await handle.query(AccountLifecycleWorkflow.state)
        except RPCError:
            state = acc.AccountState.model_validate(row["state"])
        return _view(state)

    @app.get("/api/accounts/{account_id}/timeline")
    async def account_timeline(
            account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
            before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description=(
                "only events numbered (version) below this"))] = None,
            limit: Annotated[int | None, Query(ge=1, le=1000, description=(
                "at most this many, the newest"))] = None) -> list[dict[str, Any]]:
        """The account's events, oldest first: all, or a page of the newest
        `limit` before `before` (the next page: `before` = the first's version)."""
        _, row = await _handle(ctx, account_id)
        await _known_actor(ctx, row["municipality_id"], actor)
        return await account_views.timeline(ctx.pool, str(account_id), before=before, limit=limit)

    def decision(path: str, update: Any, build: Callable[..., acc.Command],
                 body_type: type[BaseModel], summary: str) -> None:
        async def endpoint(account_id: uuid.UUID, body: body_type, ctx: Ctx,  # type: ignore
                           actor: ApiActor) -> AccountView:
            handle, row = await _handle(ctx, account_id)
            who = await _known_actor(ctx, row["municipality_id"], actor)
            added: AddAdminBody | PublisherBody | None = (
                body if isinstance(body, AddAdminBody | PublisherBody) else None)
            if added and await ctx.directory.person(row["municipality_id"], added.person) is None:
                raise _field_error(["person"], f"{added.person} is not in the directory",
                                   "unknown")
            policy: Any = body
            if isinstance(policy, MessagePolicy):  # a decision the account has
                ids = {d.id for d in policy.disposal_decisions}
                for name in ("minor_records_decision", "advertising_disposal_decision"):
                    if getattr(policy, name) not in ids:
                        raise _field_error([name], f"{getattr(policy, name)} is not one of the "
                                           f"disposal decisions ({', '.join(sorted(ids))})",
                                           "unknown_decision")
            command = build(who, body)
            return _view(await _send(handle, update, command))

        # With postponed annotations the closure's `body_type` is only a name;
        # give FastAPI the class itself.
        endpoint.__annotations__["body"] = body_type
        endpoint.__name__ = path.strip("/").replace("-", "_").replace("/", "_")
        app.post(f"/api/accounts/{{account_id}}/{path}", response_model=AccountView,
                 summary=summary)(endpoint)

    decision("approve", AccountLifecycleWorkflow.approve,
             lambda who, b: acc.ApproveRequest(actor=who, comment=b.comment,
                                               admins_equipped=b.admins_equipped,
                                               terms_delegate=b.terms_delegate),
             ApproveBody, "Manager approves the account (R-01, R-13)")
    decision("reject", AccountLifecycleWorkflow.reject,
             lambda who, b: acc.RejectRequest(actor=who, reason=b.reason),
             RejectBody, "Manager or communications unit rejects the request")
    decision("risk-assessments", AccountLifecycleWorkflow.record_risk_assessment,
             lambda who, b: acc.RecordRiskAssessment(actor=who, **b.model_dump()),
             RiskAssessmentBody, "Record a completed ROS or DPIA (R-04)")
    decision("sign-off", AccountLifecycleWorkflow.sign_off,
             lambda who, b: acc.SignOff(actor=who, decision=b.decision,
                                        checklist=b.checklist, comment=b.comment),
             SignOffBody, "Communications unit approves, sends back or rejects (R-03)")
    decision("amend", AccountLifecycleWorkflow.amend,
             lambda who, b: acc.AmendRequest(actor=who, request=b.request, comment=b.comment),
             AmendBody, "The requester amends a sent-back request and resubmits")
    decision("activate", AccountLifecycleWorkflow.activate,
             lambda who, b: acc.ActivateAccount(actor=who, handle=b.handle, url=b.url,
                                                admins=b.admins,
                                                platform_account_id=b.platform_account_id),
             ActivateBody, "Confirm handle and admins with 2FA; list publicly (R-07, R-12)")
    decision("admins", AccountLifecycleWorkflow.add_admin,
             lambda who, b: acc.AddAdmin(actor=who, person=b.person, two_factor=b.two_factor),
             AddAdminBody, "The manager appoints an admin (R-13)")
    decision("publishers", AccountLifecycleWorkflow.appoint_publisher,
             lambda who, b: acc.AppointPublisher(actor=who, person=b.person),
             PublisherBody, "The manager appoints a publisher beside the admins (R-52)")
    decision("message-settings", AccountLifecycleWorkflow.change_message_settings,
             lambda who, b: acc.ChangeMessageSettings(actor=who, policy=b),
             MessagePolicy, "How this account's messages are answered (R-23, R-26, R-43)")
    decision("profile-changes", AccountLifecycleWorkflow.record_profile_change,
             lambda who, b: acc.RecordProfileChange(actor=who, **b.model_dump()),
             ProfileChangeBody, "Record a change of the account's public face; a snapshot "
             "follows (R-37)")
    decision("closure", AccountLifecycleWorkflow.request_closure,
             lambda who, b: acc.RequestClosure(actor=who, reason=b.reason),
             ClosureBody, "Close the account with a final snapshot (R-19, R-38)")

    @app.post("/api/accounts/{account_id}/admins/{person}/remove", response_model=AccountView)
    async def remove_admin(account_id: uuid.UUID, person: PersonInPath, body: RemoveAdminBody,
                           ctx: Ctx, actor: ApiActor) -> AccountView:
        handle, row = await _handle(ctx, account_id)
        who = await _known_actor(ctx, row["municipality_id"], actor)
        command = acc.RemoveAdmin(actor=who, person=person, reason=body.reason)
        return _view(await _send(handle, AccountLifecycleWorkflow.remove_admin, command))

    @app.post("/api/accounts/{account_id}/publishers/{person}/remove",
              response_model=AccountView, summary="The manager removes a publisher (R-52)")
    async def remove_publisher(account_id: uuid.UUID, person: PersonInPath, ctx: Ctx,
                               actor: ApiActor) -> AccountView:
        handle, row = await _handle(ctx, account_id)
        who = await _known_actor(ctx, row["municipality_id"], actor)
        command = acc.RemovePublisher(actor=who, person=person)
        return _view(await _send(handle, AccountLifecycleWorkflow.remove_publisher, command))

    @app.post("/api/accounts/{account_id}/admins/{person}/two-factor",
              response_model=AccountView)
    async def confirm_two_factor(account_id: uuid.UUID, person: PersonInPath, ctx: Ctx,
                                 actor: ApiActor) -> AccountView:
        handle, row = await _handle(ctx, account_id)
        who = await _known_actor(ctx, row["municipality_id"], actor)
        command = acc.ConfirmTwoFactor(actor=who, person=person)
        return _view(await _send(handle, AccountLifecycleWorkflow.confirm_two_factor, command))

    @app.get("/api/register")
    async def register_json(ctx: Ctx, municipality: str | None = Query(None)
                            ) -> list[dict[str, Any]]:
        """R-07: the public register of official channels; no sign-in."""
        return await account_views.public_register(ctx.pool, municipality_id=municipality)

    @app.exception_handler(acc.DomainError)
    async def domain_error(_: Request, error: acc.DomainError) -> JSONResponse:
        return JSONResponse({"detail": error.message, "code": error.code, "key": error.key},
                            status_code=_STATUS_FOR.get(error.code, 400))

    # PostgreSQL away (restarting, refusing connections, out of them): 503
    # with Retry-After, so Meta and the pages try again, never a bare 500.
    for unavailable in (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(unavailable, _database_unavailable)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    if not database_unavailable(error):
        raise error
    log.warning("database unavailable", path=request.url.path, reason=type(error).__name__)
    return JSONResponse({"detail": "the database is not available; try again shortly"},
                        status_code=503, headers={"Retry-After": "5"})


async def start_account_request(ctx: AppContext, municipality_id: str, actor: Actor | None,
                                request: acc.AccountRequest) -> tuple[AccountCreated, bool]:
    """R-02: start an account's case for a request, as the JSON API and the
    intranet's form both do. Returns the new account and whether its request
    is on the record yet (waited for up to 10 s). Refusals are HTTPExceptions:
    401/403 for the person, 422 with field errors (FastAPI's shape, `loc`
    naming the field), 409 when the account was requested before."""
    municipality = await ctx.directory.municipality(municipality_id)
    if municipality is None:
        raise _field_error(["municipality_id"], "no such municipality", "unknown")
    requester = await _known_actor(ctx, municipality.id, actor)
    authorities = await ctx.directory.authorities(municipality.id, request.unit_id)
    if authorities is None:
        raise _field_error(["unit_id"], f"no unit {request.unit_id!r} in {municipality.name}",
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
                  ) -> tuple[WorkflowHandle[Any, Any], dict[str, Any]]:
    row = await account_views.account(ctx.pool, str(account_id))
    if row is None:
        raise Refused(404, "no_account", "no such account")
    return ctx.client.get_workflow_handle(row["workflow_id"]), row


def _refusal_key(cause: ApplicationError) -> dict[str, Any]:
    """The refusal's stable key, params and keyed parts from the workflow's
    ApplicationError details (domain.account.DomainError.details); pages
    show web.rule_texts' text for them, the JSON API carries the key beside
    the English message. Nothing when the error carries no key."""
    first = cause.details[0] if cause.details else None
    if not isinstance(first, dict) or not isinstance(first.get("key"), str):
        return {}
    return {"key": first["key"], "params": dict(first.get("params") or {}),
            "parts": list(first.get("parts") or [])}


async def _send(handle: WorkflowHandle[Any, Any], update: Any, command: BaseModel) -> Any:
    """Send a decision; a refusal by the workflow becomes 403/409/422 with its
    reason, a platform's refusal (from an activity) 502 with the platform's."""
    try:
        return await handle.execute_update(update, command)
    except WorkflowUpdateFailedError as failed:
        cause: BaseException | None = failed.cause
        if isinstance(cause, ActivityError):
            cause = cause.cause
        if isinstance(cause, ApplicationError):
            raise HTTPException(_STATUS_FOR.get(cause.type or "", 400),
                                detail={"code": cause.type, "message": cause.message,
                                        **_refusal_key(cause)}) from None
        raise
    except RPCError as error:
        if "already completed" in str(error):
            raise HTTPException(409, detail={"code": "WrongStage", "message": "the case has ended",
                                             "key": "case.ended"}) from None
        if "Workflow Task in failed state" in str(error):
            # The case's workflow is failing a task (a bug, not the caller's
            # input): say so and when to try again, instead of a bare 500.
            log.error("decision refused: the case's workflow task is failing",
                      workflow_id=handle.id)
            raise HTTPException(503, detail={
                "code": "CaseNotReady", "key": "case.not_ready",
                "message": "the case cannot take decisions now: its workflow is failing; "
                           "operators see it in the Temporal UI"},
                headers={"Retry-After": "60"}) from None
        raise


app = create_app()
