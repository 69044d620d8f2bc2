"""The JSON API for the monitoring duties of an active account (R-15..R-20).

POST /api/accounts/{id}/check-ins                     an admin checked the account (R-15, R-16)
POST /api/accounts/{id}/posts                         a published staff post (R-18)
POST /api/accounts/{id}/keep                          the communications unit keeps an
                                                      account proposed for closure (R-19)
POST /api/accounts/{id}/watch-items                   criticism or an error for the manager (R-20)
POST /api/accounts/{id}/watch-items/{item}/resolve    the manager resolves it with a note
POST /api/accounts/{id}/monitoring-settings           the account's own settings (R-43)
GET  /api/accounts/{id}/monitoring                    status: check-ins today, last ones,
                                                      what falls due next, posts this week,
                                                      inactivity, open watch items
GET  /api/accounts/{id}/watch-items                   every watch item, open and resolved
GET  /api/watch-items?municipality=&unit=             open watch items, for managers

Identity as web.messages_api: the signed-in person (or, with the development
sign-in on, the `X-Kanalvakt-Actor` header), checked against the account's
municipality's directory. Who may *decide* is the account workflow's rule
(its Update validators: a refusal records nothing). Who may *read* is
checked here: the account's admins, the unit's manager and deputy and its
staff, the communications unit. A watch item may be raised by the unit's
staff: the directory's word that the person works in the unit goes to the
workflow with the report (`in_unit`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain import account as acc
from domain import monitoring as mon
from domain import readers
from readviews import accounts as account_views
from store import record_uploads
from web.deps import AppContext, Ctx, send_update
from web.identity import ApiActor, known_actor
from web.page_texts import Refused
from workflows.account import AccountLifecycleWorkflow

log = structlog.get_logger("kanalvakt.web.monitoring")

W = AccountLifecycleWorkflow


class _Body(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class CheckInBody(_Body):
    """Nothing to say but that the account was checked now (R-15)."""


class PostBody(_Body):
    post_id: acc.PostId = Field(description="The platform's id of the post")
    published_at: AwareDatetime
    text: str | None = Field(None, min_length=1, max_length=8000, description=(
        "The post's text: screened before it counts as published; an identity number or a "
        "confidential marker holds it for the manager, deputy or communications unit (R-44). "
        "Not kept."))
    images: list[acc.PostImage] = Field([], max_length=50, description=(
        "R-41: each image's rights holder and consents; a child under 15 needs a guardian's "
        "written consent: a reference (`guardian_consent`) or the signed consent uploaded "
        "first with `POST /api/accounts/{id}/consent-uploads`, named here by its `upload_id`, "
        "`sha256` and `file_name` (`guardian_consent_upload`). Refused (422) without them, or "
        "for an upload not made to this account."))


class SendBackPostBody(_Body):
    comment: acc.Text


class KeepBody(_Body):
    reason: acc.Text


class WatchItemBody(_Body):
    summary: str = Field(min_length=1, max_length=2000,
                         description="What was said or what is wrong, for the manager")
    link: str | None = Field(None, pattern=r"^https://\S+$", max_length=500)
    seen_at: AwareDatetime


class ResolveBody(_Body):
    note: acc.Text


class MonitoringView(BaseModel):
    account_id: str
    stage: acc.Stage
    escalated: bool
    status: mon.MonitoringStatus
    held_posts: list[acc.HeldPost] = []  # posts waiting for confirmation


def monitoring_view(state: acc.AccountState, now: datetime | None = None) -> MonitoringView:
    """The account's monitoring status as of `now` (the API's GET and the
    account page show the same)."""
    # The web app may read the clock; the domain is given the time.
    status = mon.status(state.monitoring, acc.monitoring_duty(state), now or datetime.now(UTC))
    return MonitoringView(account_id=state.account_id, stage=state.stage,
                          escalated=acc.is_escalated(state), status=status,
                          held_posts=state.held_posts)


async def _account(ctx: AppContext, account_id: uuid.UUID) -> account_views.AccountRecord:
    record = await account_views.account_record(ctx.pool, str(account_id))
    if record is None:
        raise Refused(404, "no_account", "no such account")
    return record


async def works_in_unit(ctx: AppContext, state: acc.AccountState, person: str) -> bool:
    """The directory's word that `person` works in the account's unit (R-20)."""
    found = await ctx.directory.person(state.municipality_id, person)
    return found is not None and found.unit == state.request.unit_id


async def may_read_monitoring(ctx: AppContext, state: acc.AccountState, who: str) -> bool:
    """domain.readers.may_read_monitoring, with the directory's word on the
    person's unit (asked only when the rule needs it)."""
    return (readers.may_read_monitoring(state, who, works_in_unit=False)
            or readers.may_read_monitoring(state, who,
                                           works_in_unit=await works_in_unit(ctx, state, who)))


async def _may_read(ctx: AppContext, state: acc.AccountState, who: str) -> None:
    if await may_read_monitoring(ctx, state, who):
        return
    raise Refused(403, "monitoring_readers", f"{who} may not read this account's "
                  "monitoring: its admins, the unit and the communications unit may")


# The Update of each monitoring command: the API and the account page send
# them the same way (send_monitoring).
UPDATES: dict[type[acc.Command], Any] = {
    acc.RecordCheckIn: W.record_check_in,
    acc.RecordPost: W.record_post,
    acc.ConfirmPost: W.confirm_post,
    acc.SendBackPost: W.send_back_post,
    acc.KeepAccount: W.keep_account,
    acc.ReportWatchItem: W.report_watch_item,
    acc.ResolveWatchItem: W.resolve_watch_item,
    acc.ChangeMonitoringSettings: W.change_monitoring_settings,
}


async def send_monitoring(ctx: AppContext, row: dict[str, Any],
                          command: acc.Command) -> acc.AccountState:
    """Send a monitoring command to the account's case as its Update; the
    workflow's validator refuses (nothing recorded) with 403/409/422 through
    web.deps.send_update. Returns the state after it."""
    handle = ctx.client.get_workflow_handle(row["workflow_id"])
    after: acc.AccountState = await send_update(handle, UPDATES[type(command)], command)
    log.info("monitoring decision", account_id=str(row["account_id"]),
             command=type(command).__name__, actor=command.actor)
    return after


async def _decide(account_id: uuid.UUID, ctx: AppContext, actor: Any,
                  build: Any) -> MonitoringView:
    """Build the person's command against the account's state and send it."""
    row, state = await _account(ctx, account_id)
    who = await known_actor(ctx, row["municipality_id"], actor)
    command = await build(who, state)
    return monitoring_view(await send_monitoring(ctx, row, command))


async def _require_consent_uploads(ctx: AppContext, account_id: str,
                                   images: list[acc.PostImage]) -> None:
    """R-41 (issue 14): an image's `guardian_consent_upload` names a consent
    uploaded to this account (`POST /api/accounts/{id}/consent-uploads`)
    with its digest; 422 otherwise, nothing recorded."""
    for n, image in enumerate(images, start=1):
        signed = image.guardian_consent_upload
        if signed is not None and not await record_uploads.consent_matches(
                ctx.pool, account_id, signed.upload_id, signed.sha256):
            raise Refused(422, "consent_upload_unknown",
                          f"image {n}: no consent with this upload id and SHA-256 was uploaded "
                          "to this account (POST /api/accounts/{id}/consent-uploads) (R-41)")


def monitoring_router() -> APIRouter:
    router = APIRouter(tags=["monitoring"])
    _check_in_and_post_routes(router)
    _decision_routes(router)
    _reading_routes(router)
    return router


def _check_in_and_post_routes(router: APIRouter) -> None:
    """R-15, R-18, R-44: check-ins and posts, held posts confirmed or sent back."""
    @router.post("/api/accounts/{account_id}/check-ins", response_model=MonitoringView,
                 summary="An admin checked the account (R-15, R-16)")
    async def check_in(account_id: uuid.UUID, body: CheckInBody, ctx: Ctx,
                       actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            return acc.RecordCheckIn(actor=who)
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/posts", response_model=MonitoringView,
                 summary="A published staff post (R-18)")
    async def record_post(account_id: uuid.UUID, body: PostBody, ctx: Ctx,
                          actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            await _require_consent_uploads(ctx, str(account_id), body.images)
            return acc.RecordPost(actor=who, post_id=body.post_id,
                                  published_at=body.published_at, text=body.text,
                                  images=tuple(body.images))
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/posts/{post_id}/confirm",
                 response_model=MonitoringView,
                 summary="Confirm a post held for confidential information (R-44)")
    async def confirm_post(account_id: uuid.UUID, post_id: acc.PostId, ctx: Ctx,
                           actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            return acc.ConfirmPost(actor=who, post_id=post_id)
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/posts/{post_id}/send-back",
                 response_model=MonitoringView,
                 summary="Send a held post back to its writer, saying why (R-44)")
    async def send_back_post(account_id: uuid.UUID, post_id: acc.PostId,
                             body: SendBackPostBody, ctx: Ctx,
                             actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            return acc.SendBackPost(actor=who, post_id=post_id, comment=body.comment)
        return await _decide(account_id, ctx, actor, build)


def _decision_routes(router: APIRouter) -> None:
    """R-19, R-20, R-43: keeping an account, watch items, the monitoring settings."""
    @router.post("/api/accounts/{account_id}/keep", response_model=MonitoringView,
                 summary="Keep an account proposed for closure, with a reason (R-19)")
    async def keep(account_id: uuid.UUID, body: KeepBody, ctx: Ctx,
                   actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            return acc.KeepAccount(actor=who, reason=body.reason)
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/watch-items", response_model=MonitoringView,
                 status_code=201, summary="Raise criticism or an error with the manager (R-20)")
    async def report_watch_item(account_id: uuid.UUID, body: WatchItemBody, ctx: Ctx,
                                actor: ApiActor) -> MonitoringView:
        async def build(who: str, state: acc.AccountState) -> acc.Command:
            return acc.ReportWatchItem(actor=who, summary=body.summary, link=body.link,
                                       seen_at=body.seen_at,
                                       in_unit=await works_in_unit(ctx, state, who))
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/watch-items/{item_id}/resolve",
                 response_model=MonitoringView, summary="The manager resolves a watch item")
    async def resolve_watch_item(account_id: uuid.UUID, item_id: str, body: ResolveBody,
                                 ctx: Ctx, actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            try:
                return acc.ResolveWatchItem(actor=who, item_id=item_id, note=body.note)
            except ValueError:
                raise Refused(404, "no_watch_item", f"no watch item {item_id!r}",
                              item=item_id) from None
        return await _decide(account_id, ctx, actor, build)

    @router.post("/api/accounts/{account_id}/monitoring-settings", response_model=MonitoringView,
                 summary="The account's own monitoring settings (R-15..R-20, R-43)")
    async def monitoring_settings(account_id: uuid.UUID, body: mon.MonitoringPolicy, ctx: Ctx,
                                  actor: ApiActor) -> MonitoringView:
        async def build(who: str, _: acc.AccountState) -> acc.Command:
            return acc.ChangeMonitoringSettings(actor=who, policy=body)
        return await _decide(account_id, ctx, actor, build)


def _reading_routes(router: APIRouter) -> None:
    """The monitoring status and the watch items, for those who may read them."""
    @router.get("/api/accounts/{account_id}/monitoring", response_model=MonitoringView,
                summary="Check-ins, posts, inactivity and watch items of the account")
    async def monitoring_status(account_id: uuid.UUID, ctx: Ctx,
                                actor: ApiActor) -> MonitoringView:
        row, state = await _account(ctx, account_id)
        who = await known_actor(ctx, row["municipality_id"], actor)
        await _may_read(ctx, state, who)
        return monitoring_view(state)

    @router.get("/api/accounts/{account_id}/watch-items")
    async def account_watch_items(account_id: uuid.UUID, ctx: Ctx,
                                  actor: ApiActor) -> list[dict[str, Any]]:
        row, state = await _account(ctx, account_id)
        who = await known_actor(ctx, row["municipality_id"], actor)
        await _may_read(ctx, state, who)
        rows = await ctx.pool.fetch(
            "SELECT * FROM watch_items WHERE account_id = $1::uuid ORDER BY reported_at",
            str(account_id))
        return [_plain(r) for r in rows]

    @router.get("/api/watch-items")
    async def open_watch_items(ctx: Ctx, actor: ApiActor,
                               municipality: str = Query(..., max_length=64),
                               unit: str | None = Query(None, max_length=64)
                               ) -> list[dict[str, Any]]:
        """R-20: open watch items of the units the person manages (all of the
        municipality's for the communications unit)."""
        who = await known_actor(ctx, municipality, actor)
        rows = await ctx.pool.fetch(
            """
            SELECT w.* FROM watch_items w
            JOIN units u ON u.municipality_id = w.municipality_id AND u.id = w.unit_id
            WHERE w.municipality_id = $1 AND w.status = 'open'
              AND ($2::text IS NULL OR w.unit_id = $2)
              AND (u.manager = $3 OR u.deputy = $3 OR EXISTS (
                    SELECT 1 FROM roles r WHERE r.municipality_id = $1 AND r.person_id = $3
                      AND r.role = 'communications'))
            ORDER BY w.reported_at
            """, municipality, unit, who)
        return [_plain(r) for r in rows]


def _plain(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else (
            str(value) if isinstance(value, uuid.UUID) else value)
    return out
