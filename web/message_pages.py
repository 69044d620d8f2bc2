"""The moderation pages: the inbox across my accounts and per account, and
the message case page with the decisions of the message path (R-22..R-35).

GET  /inbox                              open cases of the accounts I handle,
                                         and questions forwarded to me (R-24)
GET  /accounts/{account_id}/inbox        one account's open (or all) cases
GET  /messages/{case_id}                 the case: content, flags, deadline,
                                         timeline and the forms I may use
POST /messages/{case_id}/{decision}      acknowledge, respond, forward, draft,
                                         register, redact, dispose, confirm,
                                         approve, send-back (R-39: crisis
                                         management, on a reply waiting for it)

Who may read is web.messages_api's rule (may_read_messages, may_read_case:
the account's admins, the unit's manager and deputy, the communications
unit; a case also its officer and the registrars), checked here before
anything else, in the viewer's own municipality. Who may decide is the
message workflow's own rule: the decision goes through
web.messages_api.take_decision, the same path as the JSON API, and a refusal
(403) records nothing. The forms shown are those the domain offers the
viewer (domain.message.available_decisions: those `decide` would not refuse
them for who they are or the case's stage), so nobody is offered what they
may not do. After a decision the page redirects to the case with a result
notice (POST-redirect-GET).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from codec import data_keys_of
from domain import message as msg
from domain import office_time
from domain.calendar import OfficeHours
from domain.country import DEFAULT_COUNTRY, DEFAULT_TIMEZONE, Country
from domain.message_policy import SignatureRule
from domain.redaction import CATEGORIES, RemovalCategory, mask
from domain.saved_replies import ReplyLanguage, SavedReply, offered
from readviews import accounts as account_views
from readviews import messages as mq
from readviews import moderation as modq
from readviews import people as people_views
from store import record_uploads
from store.saved_replies import saved_replies
from web.deps import AppContext
from web.i18n import translator
from web.identity import Signed, Viewer
from web.messages_api import DECISIONS, Decision, may_read_case, may_read_messages, take_decision
from web.page_texts import Refused, findable_params, instruction_text, invalid_text, page_text
from web.rendering import language_of, render
from web.rule_texts import detail_text, flag_text


def require_municipality(viewer: Viewer, municipality_id: str) -> None:
    """Person ids are per municipality: someone from another one has no say here."""
    if viewer.municipality_id != municipality_id:
        raise Refused(403, "other_municipality", f"this belongs to {municipality_id}; "
                      f"{viewer.name} is signed in for {viewer.municipality_id}")


# --------------------------------------------------------------------------- deadlines


def countdown(row: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The time left to the case's next deadline (negative: past it), in the
    account's office hours (R-23), or around the clock while a crisis's
    deadline applies (R-39)."""
    due_text = row.get("next_deadline")
    if not due_text:
        return None
    left = office_time.countdown(
        datetime.fromisoformat(due_text), now,
        Country(row.get("country") or DEFAULT_COUNTRY), row.get("timezone") or DEFAULT_TIMEZONE,
        OfficeHours.model_validate(row.get("office_hours") or {}),
        around_the_clock=bool(row.get("in_crisis")))
    return dataclasses.asdict(left)


def _with_countdowns(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Each row's countdown; in a list, identity numbers are masked (the case
    page shows the text to whoever opens it to decide)."""
    for row in rows:
        row["countdown"] = countdown(row, now)
        row["overdue"] = bool(row["countdown"] and row["countdown"]["overdue"])
        spans = [tuple(f["span"]) for f in row.get("flags") or []
                 if f.get("kind") == "identity_number"]
        if row.get("text") and spans:
            row["text"] = mask(row["text"], spans)
    return rows


# --------------------------------------------------------------------------- decisions


def _category_label(category: RemovalCategory, lang: str) -> str:
    return translator(lang)(f"removal.{category.value}")


def _form_values(form: Any, d: Decision) -> dict[str, Any]:
    """The decision's fields from a posted form: text as typed (the body
    strips it), a checkbox as a bool, an empty optional field as None."""
    values: dict[str, Any] = {}
    for name, field in d.body.model_fields.items():
        raw = form.get(name)
        if field.annotation is bool:
            values[name] = raw is not None
        elif raw is None or (raw == "" and not field.is_required()):
            continue
        else:
            values[name] = str(raw)
    return values


_FIELD_ERRORS = {"missing": "form.err.required", "string_too_short": "form.err.required",
                 "enum": "form.err.choose", "literal_error": "form.err.choose",
                 "string_too_long": "form.err.too_long"}


def _errors_of(error: ValidationError, t: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in error.errors():
        name = str(e["loc"][0]) if e["loc"] else "text"
        key = _FIELD_ERRORS.get(e["type"])
        errors.setdefault(name, t(key) if key else invalid_text(t, e))
    return errors


# The field a refusal of the rules is shown beside.
_MAIN_FIELD = {"acknowledge": "text", "respond": "text", "forward": "officer", "draft": "text",
               "register": "record_class", "redact": "category", "dispose": "decision_id",
               "confirm": "platform_object_id", "approve": "reply", "send-back": "comment",
               "watch": "reason", "close": "reason"}  # R-46, R-22 (issue 16)


def _refusal_field(decision: str, key: str | None, message: str) -> str:
    if decision == "respond" and (key == "respond.signature" or "R-26" in message):
        return "signature"
    return _MAIN_FIELD.get(decision, "form")


# --------------------------------------------------------------------------- the case page


async def _case_or_404(ctx: AppContext, case_id: str) -> dict[str, Any]:
    case = await mq.case(ctx.pool, case_id, data_keys_of(ctx.client.data_converter.payload_codec))
    if case is None:
        raise Refused(404, "no_message", "no such message")
    return case


async def _case_page(request: Request, viewer: Viewer, case: dict[str, Any],
                     account: dict[str, Any] | None, *, failed: str | None = None,
                     errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                     status_code: int = 200) -> Response:
    ctx: AppContext = request.app.state.ctx
    now = datetime.now(UTC)
    state = mq.case_state_of(case)
    allowed = msg.available_decisions(state, viewer.person_id, now)
    names = await _names(ctx, viewer.municipality_id)
    units = {u.id: u.name for u in await ctx.directory.units(viewer.municipality_id)}
    lang = _lang(request, viewer)
    t = translator(lang)
    row = {**case, "office_hours": state.policy.office_hours.model_dump(mode="json"),
           "country": state.country.value, "timezone": state.timezone,
           "in_crisis": state.crisis is not None}
    proposed = next((f.category for f in state.flags), None)
    signature = f"{viewer.name}, {units.get(viewer.unit or '', viewer.municipality_name)}"
    defaults: dict[str, dict[str, Any]] = {
        "respond": {"text": state.draft or "", "signature": signature,
                    "signed": state.policy.signature is SignatureRule.REQUIRED},
        "redact": {"category": proposed.value if proposed else ""},
        "dispose": {"decision_id": ""},
    }
    # the saved replies offered; one chosen (?saved_reply=) fills the answer.
    replies = (await offered_replies(ctx, case["municipality_id"], case.get("account_id"),
                                     state.country.value)
               if "respond" in allowed else [])
    chosen = next((r for r in replies if r.id == request.query_params.get("saved_reply")),
                  None)
    if chosen is not None:
        defaults["respond"]["text"] = chosen.text
    if failed and values is not None:
        defaults[failed] = values
    timeline = await mq.timeline(ctx.pool, case["case_id"])
    return await render(request, "message_case.html", {
        "case": case, "state": state, "account": account, "allowed": allowed,
        "countdown": countdown(row, now), "names": names, "tz": state.timezone,
        "timeline": timeline, "failed": failed, "errors": errors or {},
        "values": defaults, "done": request.query_params.get("done"),
        "officers": [(p["id"], f"{p['name']} ({p['unit_name'] or '–'})")
                     for p in await modq.people(ctx.pool, viewer.municipality_id)],
        "categories": [(c.value, _category_label(c, lang)) for c in RemovalCategory],
        "laws": [(_category_label(c, lang), CATEGORIES[c].law(state.country))
                 for c in RemovalCategory],
        "disposals": [(d.id, f"{d.id} – {d.description}")
                      for d in state.policy.disposal_decisions],
        "signature_rule": state.policy.signature.value,
        "case_uploads": await record_uploads.of_cases(ctx.pool, [case["case_id"]]),
        "saved_replies": replies, "saved_reply": chosen,
        "saved_options": [(r.id, r.title) for r in replies],
        "via_crisis_management": msg.needs_crisis_approval(state, viewer.person_id),
        "category_label": lambda c: _category_label(RemovalCategory(c), lang),
        # A platform action by hand: the manual connector's instruction.
        # The account's @handle, the author, a quote and the link instead
        # of internal ids (issue 14); nothing of a confidential case's text.
        "instruction": lambda key, params, text: instruction_text(
            t, key, params, text, _findable(params or {}, case, account, state)),
        "flag_text": lambda f: flag_text(t, f.kind.value,
                                         f.identity.value if f.identity else None),
        # the system's own hide names the flags that hid it, in the
        # reader's language (the event's reason is the domain's English).
        "hidden_by": ", ".join(sorted({
            flag_text(t, f.kind.value, f.identity.value if f.identity else None)
            for f in state.flags if f.kind in state.policy.screening.auto_hide})),
    }, viewer=viewer, status_code=status_code)


def reply_language(country: str) -> ReplyLanguage:
    """R-27: a Norwegian municipality's replies are in bokmål, a Swedish one's in Swedish."""
    return "nb" if country == Country.NO.value else "sv"


async def offered_replies(ctx: AppContext, municipality_id: str, account_id: str | None,
                          country: str) -> list[SavedReply]:
    """R-27: the saved replies the case page offers for an account's case:
    the account's, the municipality's, the official recommendation."""
    return offered(municipality_id, reply_language(country),
                   await saved_replies(ctx.pool, municipality_id, account_id)
                   if account_id else [],
                   await saved_replies(ctx.pool, municipality_id))


def _findable(params: dict[str, str], case: dict[str, Any], account: dict[str, Any] | None,
              state: Any) -> dict[str, str]:
    """What a person needs to find the message on the platform."""
    content = case.get("content") or {}
    secret = bool(getattr(state, "confidential", False))
    text = content.get("text")
    if text:  # an identity number is never quoted
        text = mask(text, [f.span for f in state.flags if f.kind.value == "identity_number"])
    return findable_params(
        params, handle=(account or {}).get("handle"),
        author=None if secret else content.get("author_name"),
        text=None if secret else text,
        link=state.message.permalink)


def _lang(request: Request, viewer: Viewer) -> str:
    return language_of(request, viewer)


async def _names(ctx: AppContext, municipality_id: str) -> dict[str, str]:
    names = await people_views.person_names(ctx.pool, municipality_id)
    names[msg.SYSTEM] = "Kanalvakt"
    return names


def message_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    _inbox_routes(router)
    _case_routes(router)
    return router


def _inbox_routes(router: APIRouter) -> None:
    """R-22, R-23: my inbox and an account's."""
    @router.get("/inbox")
    async def my_inbox(request: Request, viewer: Signed) -> Response:
        """Across the accounts I handle (R-22, R-23), and what was forwarded to me (R-24)."""
        ctx: AppContext = request.app.state.ctx
        accounts = await modq.handled_accounts(
            ctx.pool, viewer.municipality_id, viewer.person_id, units=sorted(viewer.manages),
            everything=viewer.is_communications)
        now = datetime.now(UTC)
        cases = _with_countdowns(
            await modq.open_cases(ctx.pool, [a["account_id"] for a in accounts],
                                  data_keys=ctx.data_keys), now)
        forwarded = _with_countdowns(
            await modq.forwarded_to(ctx.pool, viewer.municipality_id, viewer.person_id,
                                    data_keys=ctx.data_keys), now)
        tz = (await ctx.directory.municipality(viewer.municipality_id))
        return await render(request, "inbox.html", {
            "accounts": accounts, "cases": cases, "forwarded": forwarded, "account": None,
            "tz": tz.timezone if tz else DEFAULT_TIMEZONE, "closed": False,
        }, viewer=viewer)

    @router.get("/accounts/{account_id}/inbox")
    async def account_inbox(account_id: str, request: Request, viewer: Signed) -> Response:
        ctx: AppContext = request.app.state.ctx
        account = await _account_or_404(ctx, account_id)
        require_municipality(viewer, account["municipality_id"])
        await may_read_messages(ctx, account, account["municipality_id"], viewer.person_id)
        closed = request.query_params.get("closed") == "1"
        cases = _with_countdowns(await modq.account_cases(ctx.pool, account_id, closed=closed,
                                                          data_keys=ctx.data_keys),
                                 datetime.now(UTC))
        tz = account_views.account_record_of(account).state.timezone or DEFAULT_TIMEZONE
        return await render(request, "inbox.html", {
            "accounts": [], "cases": cases, "forwarded": [], "account": account, "tz": tz,
            "closed": closed}, viewer=viewer)


def _case_routes(router: APIRouter) -> None:
    """One case's page and its decision forms."""
    @router.get("/messages/{case_id}")
    async def case_page(case_id: str, request: Request, viewer: Signed) -> Response:
        ctx: AppContext = request.app.state.ctx
        case = await _case_or_404(ctx, case_id)
        require_municipality(viewer, case["municipality_id"])
        account = await may_read_case(ctx, case, viewer.person_id)
        return await _case_page(request, viewer, case, account)

    @router.post("/messages/{case_id}/{decision}")
    async def decide(case_id: str, decision: str, request: Request, viewer: Signed) -> Response:
        ctx: AppContext = request.app.state.ctx
        d = DECISIONS.get(decision)
        if d is None:
            raise Refused(404, "no_decision", f"no decision {decision!r}", decision=decision)
        case = await _case_or_404(ctx, case_id)
        require_municipality(viewer, case["municipality_id"])
        account = await may_read_case(ctx, case, viewer.person_id)
        form = await request.form()
        values = _form_values(form, d)
        t = translator(_lang(request, viewer))
        try:
            body: BaseModel = d.body.model_validate(values)
        except ValidationError as invalid:
            return await _case_page(request, viewer, case, account, failed=decision,
                                    errors=_errors_of(invalid, t), values=values,
                                    status_code=422)
        if d.check is not None:
            problems = await d.check(ctx, case["municipality_id"], body)
            if problems:
                return await _case_page(request, viewer, case, account, failed=decision,
                                        errors={field: page_text(t, problem)
                                                for field, problem in problems.items()},
                                        values=values, status_code=422)
        try:
            await take_decision(ctx, case, viewer.person_id, d, body)
        except HTTPException as refused:
            detail = refused.detail
            if refused.status_code in (401, 403, 404):
                if isinstance(detail, dict):  # the rule's refusal, in the reader's language
                    raise HTTPException(refused.status_code,
                                        detail=detail_text(t, detail)) from None
                raise  # the error page; nothing was recorded
            message = detail_text(t, detail)
            field = _refusal_field(decision, detail.get("key") if isinstance(detail, dict)
                                   else None, message)
            return await _case_page(
                request, viewer, await _case_or_404(ctx, case_id), account, failed=decision,
                errors={field: message}, values=values, status_code=refused.status_code)
        return RedirectResponse(f"/messages/{quote(case_id, safe=':')}?done={decision}#result",
                                status_code=303)


async def _account_or_404(ctx: AppContext, account_id: str) -> dict[str, Any]:
    try:
        uuid.UUID(account_id)
    except ValueError:
        raise Refused(404, "no_account", "no such account") from None
    account = await account_views.account(ctx.pool, account_id)
    if account is None:
        raise Refused(404, "no_account", "no such account")
    return account
