"""The JSON API for inbound messages.

POST /api/accounts/{account_id}/messages         manual entry (R-21), 202
GET  /api/accounts/{account_id}/inbox            the moderation inbox (R-22, R-23)
GET  /api/accounts/{account_id}/response-times   R-42, in office hours
GET  /api/messages/{case_id}                     one case, its content and timeline
POST /api/messages/{case_id}/{decision}          acknowledge, respond, forward, draft,
                                                 register, redact, dispose, confirm,
                                                 approve, send-back (R-39, R-44),
                                                 watch (R-46), close (R-22)
GET  /api/diarium                                the registrars' search (R-28, R-31)
GET  /api/disposal-log                           R-35
GET  /api/moderation-log                         every decision on messages

Identity is the signed-in person, or the `X-Kanalvakt-Actor` header while
the development sign-in is on (web.identity.api_actor, shared with web.app),
checked against the directory of the account's municipality. Who may *decide* is the message
workflow's own rule (its Update validators, so a refusal records nothing);
who may *read* is checked here, because messages hold personal data:

  inbox, response times   the account's admins, the unit's manager and deputy,
                          the communications unit
  one case                the same, plus the case's officer and the registrars
  manual entry            the account's admins, on an active account
  decisions               as the workflow rules: the admins; the case officer
                          drafts; admins or registrars register; on a platform
                          without an API an admin confirms what was done by hand;
                          where communication goes through crisis management in a
                          crisis (R-39), crisis management approves or sends back
                          a waiting reply (and may read that case meanwhile)
  diarium, disposal log,  the registrars and the communications unit of the
  moderation log          municipality

A manual entry takes the webhooks' path: it is written to the intake table
and the feeder starts its case, so a typed-in message and a delivered one
are the same kind of case (DESIGN.md, "Intake under load").
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from codec import data_keys_of
from domain import account as acc
from domain import message as msg
from domain import readers
from domain.inbound import (
    InboundMessage,
    MessageKind,
    Source,
    impossible_date,
    message_workflow_id,
)
from domain.office_time import response_statistics
from domain.redaction import RemovalCategory
from readviews import accounts as account_views
from readviews import messages as mq
from store.intake import IntakeRepository
from web.deps import AppContext, Ctx, field_error, send_update
from web.identity import Actor, ApiActor, known_actor
from web.page_texts import KeyedText, Refused
from workflows.message import (
    AcknowledgeRequest,
    DecisionResult,
    InboundMessageWorkflow,
    RedactRequest,
    RegisterRequest,
    RespondRequest,
)

log = structlog.get_logger("kanalvakt.web.messages")

W = InboundMessageWorkflow

From = Annotated[AwareDatetime | None, Query(alias="from")]
To = Annotated[AwareDatetime | None, Query(alias="to")]

_EXTERNAL_ID = r"^[A-Za-z0-9_.:$=-]+$"  # as domain.inbound.InboundMessage


# --------------------------------------------------------------------------- bodies


class _Body(BaseModel):
    # " " is no answer: stripped, it fails min_length with a field error.
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class ManualEntryBody(_Body):
    """A message seen on a platform without an API (TikTok, LinkedIn, X,
    YouTube) or typed in for any platform (R-21)."""

    kind: MessageKind
    text: str = Field(min_length=1, max_length=20_000)
    author_name: str | None = Field(None, max_length=300)
    published_at: AwareDatetime = Field(
        description="When it was published on the platform: a citizen's message is received "
        "then (R-21)")
    permalink: str | None = Field(None, max_length=1000)
    thread_id: str | None = Field(None, max_length=200,
                                  description="The post a comment is on, or the conversation")
    from_staff: bool = False
    external_id: str | None = Field(None, min_length=1, max_length=300, pattern=_EXTERNAL_ID,
                                    description="The platform's id, if the moderator has it")


class ManualEntryReceipt(BaseModel):
    case_id: str
    accepted: bool = Field(description="False: the same platform id was entered before")


class AcknowledgeBody(_Body):
    text: msg.Text


class RespondBody(_Body):
    text: msg.Text
    signed: bool = False
    signature: str | None = Field(None, max_length=300)
    # the answer corrects a factual error: what was wrong and the source
    # of the right fact (both, or neither).
    corrects: str | None = Field(None, max_length=1000, description=(
        "R-27: the factual error this answer corrects"))
    correction_source: str | None = Field(None, max_length=1000, validate_default=True,
                                          description=(
        "R-27: where the right fact comes from (a link, a decision, a document)"))

    @field_validator("correction_source")
    @classmethod
    def _both_or_neither(cls, source: str | None, info: ValidationInfo) -> str | None:
        corrects = info.data.get("corrects")
        if corrects and not source:
            raise PydanticCustomError("correction.source_needed",
                                      "R-27: a correction names the source of the right fact")
        if source and not corrects:
            raise PydanticCustomError("correction.error_needed",
                                      "R-27: say which factual error the answer corrects")
        return source or None

    def correction(self) -> msg.Correction | None:
        if not self.corrects or not self.correction_source:
            return None
        return msg.Correction(error=self.corrects, source=self.correction_source)


class ForwardBody(_Body):
    officer: str = Field(min_length=1, max_length=64)
    note: msg.Text


class HideBody(_Body):
    reason: msg.Text = Field(description="Why it is hidden pending a decision")
    confidential: bool = Field(False, description=(
        "R-31: it holds confidential data; in a crisis it then does not wait for crisis "
        "management (R-39)"))


class DraftBody(_Body):
    text: msg.Text


class RegisterBody(_Body):
    record_class: str = Field(min_length=1, max_length=100)
    confidential: bool = False


class RedactBody(_Body):
    category: RemovalCategory
    reason: msg.Text
    decision_id: str | None = Field(
        None, max_length=100,
        description="R-33: the disposal decision advertising is deleted under (default: the "
                    "account's policy names it)")
    keep: bool = Field(False, description="R-50: the content is to be kept: registered "
                                          "first and filed with its case")


class WatchBody(_Body):
    reason: msg.Text = Field(description="R-46: why watching is enough")


class CloseBody(_Body):
    reason: msg.Text = Field(description="R-22: why the case ends without an answer")


class DisposeBody(_Body):
    decision_id: str = Field(min_length=1, max_length=50)


class ConfirmBody(_Body):
    platform_object_id: str | None = Field(
        None, max_length=300, description="The reply's id or link on the platform, if any")


class ApproveBody(_Body):
    """R-39: crisis management approves the waiting reply as written."""


class SendBackBody(_Body):
    comment: msg.Text = Field(description="Why, for the admins who wrote the reply")


class ResponseTimes(BaseModel):
    """R-42 for one account's citizen messages (staff posts need no answer).

    A response is the first of: an answer, an acknowledgement (R-23 allows
    one first), a removal or a disposal decision. Times are office hours of
    the account (R-17, R-23), from receipt (publication, R-21) to the first
    response; "within deadline" is against the first answer deadline of the
    account's policy (R-23)."""

    account_id: str
    received: int
    responded: int
    answered: int = Field(description="Cases that reached an answer (R-22)")
    awaiting_response: int
    overdue: int = Field(description="Awaiting a response past their deadline")
    median_office_hours: float | None
    p90_office_hours: float | None
    within_deadline: int
    within_deadline_share: float | None = Field(description="within_deadline / responded")


# --------------------------------------------------------------------------- rights


def _admins(account: dict[str, Any]) -> set[str]:
    return {a["person"] for a in account["admins"]}


async def _account(ctx: AppContext, account_id: uuid.UUID | str) -> dict[str, Any]:
    row = await account_views.account(ctx.pool, str(account_id))
    if row is None:
        raise Refused(404, "no_account", "no such account")
    return row


async def _name(ctx: AppContext, municipality_id: str, who: str) -> str:
    """The person's name for a page's text, else their id."""
    person = await ctx.directory.person(municipality_id, who)
    return person.name if person is not None else who


def _refuse_reading(who: str) -> Refused:
    return Refused(403, "message_readers", f"{who} may not read these messages: they hold "
                   "personal data, read only by those who handle them")


async def may_read_messages(ctx: AppContext, account: dict[str, Any], municipality_id: str,
                            who: str) -> None:
    """domain.readers.may_read_messages for the account's row; 403 for
    anyone else. Shared by the API and the intranet's pages."""
    state = account_views.account_record_of(account).state
    if readers.may_read_messages(state, who, await ctx.directory.roles_of(municipality_id, who)):
        return
    raise _refuse_reading(who)


async def may_read_case(ctx: AppContext, case: dict[str, Any], who: str) -> dict[str, Any] | None:
    """domain.readers.may_read_case for the case's row; 403 for anyone else.
    Returns the account's row."""
    account = await account_views.account_record(ctx.pool, case["account_id"])
    roles = await ctx.directory.roles_of(case["municipality_id"], who)
    if not readers.may_read_case(account.state if account else None, who, roles,
                                 officer=case["officer"], approvers=approvers_of(case)):
        raise _refuse_reading(who)
    return account.row if account else None


def approvers_of(case: dict[str, Any]) -> set[str]:
    """R-39: crisis management, while a reply of the case waits for it."""
    pending = (case.get("state") or {}).get("pending_reply")
    return set(pending["approvers"]) if pending else set()


async def require_records_reader(ctx: AppContext, municipality_id: str, who: str) -> None:
    """domain.readers.may_read_records; 403 for anyone else."""
    if not readers.may_read_records(await ctx.directory.roles_of(municipality_id, who)):
        raise Refused(403, "records_readers", f"{who} is neither a registrar nor in the "
                      f"communications unit of {municipality_id}",
                      name=await _name(ctx, municipality_id, who))


async def _records_reader(ctx: AppContext, actor: Actor | None, municipality: str | None,
                          account_id: uuid.UUID | None, known_actor: Callable[..., Awaitable[str]]
                          ) -> str:
    """The municipality of a records search (the account's, the one named,
    or the actor's only one), once the actor is a registrar or in the
    communications unit there."""
    if account_id is not None:
        municipality = (await _account(ctx, account_id))["municipality_id"]
    elif municipality is None and actor and actor.municipality_id:
        municipality = actor.municipality_id
    elif municipality is None and actor:
        mine = await mq.municipalities_of(ctx.pool, actor.person_id)
        if len(mine) != 1:
            raise HTTPException(422, detail=[{
                "loc": ["query", "municipality"], "type": "missing",
                "msg": "say which municipality's records to search"}])
        municipality = mine[0]
    if municipality is None:
        raise HTTPException(401, detail="sign in first")
    who = await known_actor(ctx, municipality, actor)
    await require_records_reader(ctx, municipality, who)
    return municipality


# --------------------------------------------------------------------------- statistics


def response_times(account_id: str, cases: list[msg.MessageState], *, now: datetime
                   ) -> ResponseTimes:
    """R-42 for the account's citizen cases (domain.office_time.response_statistics)."""
    figures = response_statistics([msg.response_sample(case) for case in cases], now)
    return ResponseTimes(account_id=account_id, **dataclasses.asdict(figures))


# --------------------------------------------------------------------------- decisions

# A check beyond the body's own validation, before anything is sent: field
# name -> message for what is wrong (the API answers 422, a page shows it
# beside the field).
Check = Callable[["AppContext", str, Any], Awaitable[dict[str, str]]]


async def _officer_in_directory(ctx: AppContext, municipality_id: str, body: Any
                                ) -> dict[str, str]:
    if await ctx.directory.person(municipality_id, body.officer) is None:
        return {"officer": KeyedText("not_in_directory", f"{body.officer} is not in the "
                                     "directory", who=body.officer)}
    return {}


@dataclass(frozen=True)
class Decision:
    """One decision on a message: its Update, the request it sends, the body
    a caller gives (the API's JSON, a page's form) and a check before sending."""

    path: str
    update: Any
    build: Callable[[str, Any], BaseModel]
    body: type[BaseModel]
    summary: str
    check: Check | None = None


DECISIONS: dict[str, Decision] = {d.path: d for d in (
    Decision("acknowledge", W.acknowledge,
             lambda who, b: AcknowledgeRequest(actor=who, text=b.text),
             AcknowledgeBody, "A holding reply; the case stays open (R-23)"),
    Decision("respond", W.respond,
             lambda who, b: RespondRequest(actor=who, text=b.text, signed=b.signed,
                                           signature=b.signature, correction=b.correction()),
             RespondBody, "The answer, signed where the account says so (R-23, R-26, R-27)"),
    Decision("hide", W.hide,
             lambda who, b: msg.Hide(actor=who, reason=b.reason, preserved_copy=True,
                                     confidential=b.confidential),
             HideBody, "Hide pending a decision, a copy kept first (R-29, R-30); in a crisis "
             "where communication goes through crisis management it waits for its approval, "
             "unless it hides confidential data (R-31, R-39)"),
    Decision("forward", W.forward,
             lambda who, b: msg.Forward(actor=who, officer=b.officer, note=b.note),
             ForwardBody, "To a case officer, who drafts the answer (R-24, R-25)",
             check=_officer_in_directory),
    Decision("draft", W.submit_draft,
             lambda who, b: msg.SubmitDraft(actor=who, text=b.text),
             DraftBody, "The case officer's draft, for an admin to publish (R-24)"),
    Decision("register", W.register,
             lambda who, b: RegisterRequest(actor=who, record_class=b.record_class,
                                            confidential=b.confidential),
             RegisterBody, "Register in the diarium (R-28, R-31)"),
    Decision("redact", W.redact,
             lambda who, b: RedactRequest(actor=who, category=b.category, reason=b.reason,
                                          decision_id=b.decision_id, keep=b.keep),
             RedactBody, "Unpublish with a category and its law (R-29..R-34)"),
    Decision("dispose", W.dispose,
             lambda who, b: msg.Dispose(actor=who, decision_id=b.decision_id),
             DisposeBody, "Dispose of as trivial under a disposal decision (R-33, R-35)"),
    Decision("approve", W.approve_reply,
             lambda who, b: msg.ApproveReply(actor=who),
             ApproveBody, "Crisis management approves a waiting reply, which is then "
             "published (R-39)"),
    Decision("send-back", W.send_back_reply,
             lambda who, b: msg.SendBackReply(actor=who, comment=b.comment),
             SendBackBody, "Crisis management sends a waiting reply back with a comment "
             "(R-39)"),
    Decision("watch", W.watch,
             lambda who, b: msg.Watch(actor=who, reason=b.reason),
             WatchBody, "Watched, no reply needed, where the municipality allows it (R-46)"),
    Decision("close", W.close_case,
             lambda who, b: msg.CloseCase(actor=who, reason=b.reason),
             CloseBody, "The manager or the communications unit closes a case no one acted "
             "on, with a reason (R-22)"),
    Decision("confirm", W.confirm_manual_action,
             lambda who, b: msg.ConfirmManualAction(actor=who,
                                                    platform_object_id=b.platform_object_id),
             ConfirmBody, "An admin confirms the reply, hide or delete done by hand on a "
             "platform without an API"),
)}


async def take_decision(ctx: AppContext, case: dict[str, Any], who: str, decision: Decision,
                        body: BaseModel) -> DecisionResult:
    """Send one decision to the case's workflow, whose validator decides
    whether `who` may (a refusal records nothing; web.deps.send_update turns it
    into 403/409/422). The API and the case page both come here."""
    handle = ctx.client.get_workflow_handle(case["case_id"])
    result: DecisionResult = await send_update(handle, decision.update, decision.build(who, body))
    log.info("message decision", case_id=case["case_id"], decision=decision.path, actor=who,
             stage=result.state.stage.value)
    return result


# --------------------------------------------------------------------------- routes


def may_enter_by_hand(account: dict[str, Any], who: str) -> None:
    """R-21: only the account's admins enter its messages, while it is
    active: 403 (anyone else) or 409 (not active), nothing recorded."""
    if account["stage"] != acc.Stage.ACTIVE.value:
        raise Refused(409, "account_not_active",
                      f"the account is {account['stage']}, not active")
    if who not in _admins(account):
        raise Refused(403, "admins_enter", f"only the account's admins enter its "
                      f"messages; {who} is not one (R-13)")


async def enter_by_hand(ctx: AppContext, account: dict[str, Any], who: str,
                        body: ManualEntryBody) -> ManualEntryReceipt:
    """R-21: a message entered by one of the account's admins (the JSON API
    and the page /accounts/{id}/messages/new): 409 unless the account is
    active, 403 for anyone but its admins, 422 for an impossible date; the
    message goes into the same intake as a webhook's."""
    account_id = account["account_id"]
    may_enter_by_hand(account, who)
    now = datetime.now(UTC)
    if body.published_at > now:
        raise field_error(["published_at"], "a message cannot be published in the future",
                          "future")
    platform = acc.Platform(account["platform"])
    message = InboundMessage(
        platform=platform, external_id=body.external_id or f"manual-{uuid.uuid4().hex}",
        kind=body.kind, account_ref=str(account_id), thread_id=body.thread_id,
        author_name=body.author_name, from_staff=body.from_staff, text=body.text,
        published_at=body.published_at, permalink=body.permalink, source=Source.MANUAL)
    # Checked at the door, so the feeder never meets it (issue 9: a 1970
    # date once stopped the whole intake).
    impossible = impossible_date(message, now=now)
    if impossible:
        raise field_error(["published_at"], impossible, "impossible_date")
    receipt = await IntakeRepository(ctx.pool).accept([message], received_at=now)
    case_id = message_workflow_id(platform, message.external_id)
    log.info("message entered by hand", account_id=str(account_id), case_id=case_id,
             accepted=receipt.accepted, actor=who)
    return ManualEntryReceipt(case_id=case_id, accepted=receipt.accepted == 1)


def messages_router() -> APIRouter:
    router = APIRouter(tags=["messages"])
    _account_routes(router)
    _case_routes(router)
    _records_routes(router)
    return router


def _account_routes(router: APIRouter) -> None:
    """R-21, R-22, R-42: messages entered by hand, the inbox, the response times."""
    @router.post("/api/accounts/{account_id}/messages", status_code=202,
                 response_model=ManualEntryReceipt)
    async def enter_message(account_id: uuid.UUID, body: ManualEntryBody, ctx: Ctx,
                            actor: ApiActor) -> ManualEntryReceipt:
        """R-21: a message entered by one of the account's admins, received
        when it was published; its case starts from the intake like a webhook's."""
        account = await _account(ctx, account_id)
        who = await known_actor(ctx, account["municipality_id"], actor)
        return await enter_by_hand(ctx, account, who, body)

    @router.get("/api/accounts/{account_id}/inbox")
    async def inbox(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
                    include_closed: bool = False) -> list[dict[str, Any]]:
        """R-22, R-23: the cases waiting for a person, soonest deadline first."""
        account = await _account(ctx, account_id)
        who = await known_actor(ctx, account["municipality_id"], actor)
        await may_read_messages(ctx, account, account["municipality_id"], who)
        return await mq.inbox(ctx.pool, str(account_id), include_closed=include_closed,
                              data_keys=ctx.data_keys)

    @router.get("/api/accounts/{account_id}/response-times", response_model=ResponseTimes)
    async def account_response_times(account_id: uuid.UUID, ctx: Ctx, actor: ApiActor,
                                     received_from: From = None, received_to: To = None
                                     ) -> ResponseTimes:
        """R-42: how fast the account's messages got a response, in office hours."""
        account = await _account(ctx, account_id)
        who = await known_actor(ctx, account["municipality_id"], actor)
        await may_read_messages(ctx, account, account["municipality_id"], who)
        cases = await mq.citizen_cases(ctx.pool, str(account_id), received_from=received_from,
                                       received_to=received_to)
        return response_times(str(account_id), cases, now=datetime.now(UTC))


def _case_routes(router: APIRouter) -> None:
    """One case: read it (R-21) and decide on it (the DECISIONS)."""
    async def _case(ctx: AppContext, case_id: str) -> dict[str, Any]:
        # a preserved copy sealed under the case's data key is opened here
        keys = data_keys_of(ctx.client.data_converter.payload_codec)
        row = await mq.case(ctx.pool, case_id, keys)
        if row is None:
            raise Refused(404, "no_message", "no such message")
        return row

    @router.get("/api/messages/{case_id}")
    async def get_message(case_id: str, ctx: Ctx, actor: ApiActor) -> dict[str, Any]:
        """The case as recorded, its content (null once disposed), the
        preserved copy (R-30) and every event with who and when."""
        case = await _case(ctx, case_id)
        who = await known_actor(ctx, case["municipality_id"], actor)
        await may_read_case(ctx, case, who)
        return {**case, "timeline": await mq.timeline(ctx.pool, case_id)}

    def decision(d: Decision) -> None:
        async def endpoint(case_id: str, body: Any, ctx: Ctx,
                           actor: ApiActor) -> DecisionResult:
            case = await _case(ctx, case_id)
            who = await known_actor(ctx, case["municipality_id"], actor)
            # The read models first, as the case page does: an admin the
            # manager just removed is refused from the moment the removal is
            # recorded, before the case itself has been told.
            await may_read_case(ctx, case, who)
            if d.check is not None:
                for field, problem in (await d.check(ctx, case["municipality_id"], body)).items():
                    raise field_error([field], problem, "unknown")
            return await take_decision(ctx, case, who, d, body)

        # With postponed annotations the closure's `body_type` is only a name;
        # give FastAPI the class itself (as web.app does).
        endpoint.__annotations__["body"] = d.body
        endpoint.__name__ = f"message_{d.path.replace('-', '_')}"
        router.post(f"/api/messages/{{case_id}}/{d.path}", response_model=DecisionResult,
                    summary=d.summary)(endpoint)

    for d in DECISIONS.values():
        decision(d)


def _records_routes(router: APIRouter) -> None:
    """R-28, R-35: the diarium, the disposal and moderation logs."""
    @router.get("/api/diarium")
    async def diarium(ctx: Ctx, actor: ApiActor, q: str | None = Query(None, max_length=200),
                      account_id: uuid.UUID | None = None, registered_from: From = None,
                      registered_to: To = None, record_class: str | None = None,
                      municipality: str | None = None
                      ) -> list[dict[str, Any]]:
        """R-28: registered messages by diarium number or words of the text;
        a confidential registration shows no text (R-31)."""
        where = await _records_reader(ctx, actor, municipality, account_id, known_actor)
        return await mq.diarium(ctx.pool, where, q=q or None,
                                account_id=str(account_id) if account_id else None,
                                registered_from=registered_from, registered_to=registered_to,
                                record_class=record_class, data_keys=ctx.data_keys)

    @router.get("/api/disposal-log")
    async def disposal_log(ctx: Ctx, actor: ApiActor, account_id: uuid.UUID | None = None,
                           municipality: str | None = None
                           ) -> list[dict[str, Any]]:
        """R-35: what was disposed of, under which decision, when and by whom."""
        where = await _records_reader(ctx, actor, municipality, account_id, known_actor)
        return await mq.disposal_log(ctx.pool, where,
                                     account_id=str(account_id) if account_id else None)

    @router.get("/api/moderation-log")
    async def moderation_log(ctx: Ctx, actor: ApiActor, account_id: uuid.UUID | None = None,
                             occurred_from: From = None, occurred_to: To = None,
                             municipality: str | None = None
                             ) -> list[dict[str, Any]]:
        """Every decision on the municipality's messages, with who and when;
        removals with their category and law (R-29)."""
        where = await _records_reader(ctx, actor, municipality, account_id, known_actor)
        return await mq.moderation_log(ctx.pool, where,
                                       account_id=str(account_id) if account_id else None,
                                       occurred_from=occurred_from, occurred_to=occurred_to)
