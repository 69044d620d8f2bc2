"""Who may decide on a case, and what waits for someone else first: the
admins (R-13), crisis management (R-39), the communications unit (R-47),
a reply with confidential information (R-44)."""

from __future__ import annotations

from datetime import datetime

from domain.core import (
    SYSTEM,
    NotAuthorised,
    RuleViolation,
    WrongStage,
)
from domain.message.commands import Hide, Redact, Respond
from domain.message.events import MessageEvent, ReplySubmittedForApproval
from domain.message.state import MessageState, PendingReply
from domain.message.values import (
    Correction,
    HeldForward,
    HeldHide,
    HeldKind,
    HeldRemoval,
    ReplyKind,
    Stage,
)
from domain.message_policy import (
    SignatureRule,
)
from domain.screening import FlagKind, confidential_in_outgoing


def _require_admin(state: MessageState, actor: str, what: str) -> None:
    a = state.authorities
    if a is None or actor not in a.admins:
        raise NotAuthorised(f"only the account's admins may {what}; {actor} is not one",
                            key="message.admins_only")


def _require_stage(state: MessageState, *stages: Stage) -> None:
    if state.stage not in stages:
        raise WrongStage(f"the message is {state.stage.value}, not "
                         + " or ".join(s.value for s in stages),
                         key="message.wrong_stage", params={"message_stage": state.stage.value})


_OPEN = (Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED, Stage.DRAFTED)


# Hiding, registering and removing do not wait for a reply's approval (R-29: quickly).
_LIVE = (*_OPEN, Stage.AWAITING_APPROVAL)


def screening_found_confidential(state: MessageState) -> bool:
    """R-31: screening found an identity number in the message, whatever
    category a person later picks for it."""
    return state.fidelity_rules and any(f.kind is FlagKind.IDENTITY_NUMBER for f in state.flags)


def real_signature(signature: str | None) -> bool:
    """R-26, "Skriv under med navn": a signature names someone; "." or
    punctuation does not (at least two letters)."""
    return sum(ch.isalpha() for ch in signature or "") >= 2


def may_close(state: MessageState, actor: str) -> bool:
    """R-22: who may close a case no one acted on: the unit's manager or
    deputy, or the communications unit (never the admins who let it lie)."""
    a = state.authorities
    return a is not None and (actor in a.managers or actor in a.communications)


def _held_if_confidential(state: MessageState, actor: str, now: datetime, kind: ReplyKind,
                          text: str, signature: str | None = None,
                          drafted_by: str | None = None,
                          correction: Correction | None = None) -> list[MessageEvent]:
    """R-44: an outgoing text with an identity number or a confidential
    marker is not published; it waits for the unit's manager, deputy or the
    communications unit (never its own writer, R-53) to confirm it, or is
    sent back to be changed; both on the record."""
    if not state.fidelity_rules:
        return []
    found = confidential_in_outgoing(text + "\n" + (signature or ""))
    if not found:
        return []
    a = state.authorities
    assert a is not None
    approvers = sorted({*a.managers, *a.communications} - {actor})
    if not approvers:
        raise RuleViolation("R-44: the text contains confidential information and no one "
                            "else may confirm it; change the text",
                            key="outgoing.confidential")
    return [ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id="", approvers=approvers,
        held_for="confidential", correction=correction)]


def needs_crisis_approval(state: MessageState, actor: str) -> bool:
    """R-39 (Kristiansand, "all communication goes through crisis
    management"; R-43 a setting): while such a crisis covers the account, a
    reply by anyone outside crisis management waits for its approval. A
    member of crisis management who is also the account's admin publishes
    directly: the reply already went through crisis management."""
    c = state.crisis
    return (c is not None and c.through_crisis_management and bool(c.crisis_management)
            and actor not in c.crisis_management)


def removal_needs_crisis_approval(state: MessageState, command: Redact,
                                  confidential: bool) -> bool:
    """R-39, "skal all kommunikasjon gå via kriseledelsen" (Kristiansand): an
    admin's removal of a citizen's message speaks for the municipality as a
    reply does, so in such a crisis it waits for crisis management's approval.

    Not a removal for confidential data (R-31): "Sekretessbelagda uppgifter
    ska inte förekomma på sociala medier" and such a post is to be "raderas"
    once captured and registered (Mora). That protects the person whose data
    it is; it is not the municipality communicating, and it must never wait.
    The automatic hide of an identity number (Hide by Kanalvakt itself on
    receipt, R-31) never waits either (hide_needs_crisis_approval)."""
    return (state.crisis_covers_all and not confidential
            and needs_crisis_approval(state, command.actor))


def hide_needs_crisis_approval(state: MessageState, command: Hide) -> bool:
    """R-39, "skal all kommunikasjon gå via kriseledelsen": an admin's hide
    takes a citizen's message out of public view as a removal does, so in
    such a crisis it waits for crisis management's approval. Never
    Kanalvakt's own hide of an identity number on receipt, nor a hide of
    confidential data (R-31, said by the admin or found by screening): they
    protect the person and must not wait."""
    return (state.crisis_covers_all and command.actor != SYSTEM and not command.confidential
            and not screening_found_confidential(state)
            and needs_crisis_approval(state, command.actor))


def forward_needs_crisis_approval(state: MessageState, actor: str) -> bool:
    """R-39 (Kristiansand, "all kommunikasjon"): in such a crisis, handing a
    citizen's message to a case officer is decided by crisis management too."""
    return state.crisis_covers_all and needs_crisis_approval(state, actor)


def communications_publish(state: MessageState, publisher: str) -> frozenset[str]:
    """R-47, "I krisesituasjon har kommunikasjonsenheten ansvaret for å
    publisere aktuell informasjon i sosiale medier" (Kristiansand; a crisis
    setting): who must publish a reply that `publisher` would otherwise
    publish; empty when they may publish it themselves.

    The reply waits for the communications unit rather than being refused:
    the seed gives the unit the publishing, not the writing, so the admin's
    answer (often the one who knows the facts) is kept and the unit
    publishes it; the citizen's deadlines run on meanwhile and the unit
    hears of them. Where communication also goes through crisis management,
    crisis management approves first (R-39), then the unit publishes."""
    c = state.crisis
    if c is None or not c.communications_publish or not state.crisis_covers_all:
        return frozenset()
    unit = c.communications or (state.authorities.communications if state.authorities
                                else frozenset())
    return frozenset() if publisher in unit else unit


def may_approve(state: MessageState, actor: str) -> bool:
    """R-39: the reply's approvers (crisis management when it was written);
    once no crisis asks for approval any more, the account's admins too, so
    a reply written during the crisis is not stuck after it."""
    pending = state.pending_reply
    if pending is None:
        return False
    if pending.held_for == "confidential":  # not its own writer
        return actor in pending.approvers and actor != pending.submitted_by
    if actor in pending.approvers:
        return True
    still = state.crisis is not None and (
        state.crisis.communications_publish if pending.held_for == "communications"
        else state.crisis.through_crisis_management)
    return not still and state.authorities is not None and actor in state.authorities.admins


def _require_approver(state: MessageState, actor: str, what: str) -> PendingReply:
    _require_stage(state, Stage.AWAITING_APPROVAL)
    pending = state.pending_reply
    assert pending is not None  # the stage is entered only with a pending reply
    if not may_approve(state, actor) and pending.held_for == "confidential":
        raise NotAuthorised(f"R-44: only {', '.join(sorted(pending.approvers))} may {what} a "
                            f"text held for confidential information, never its writer",
                            key="approval.confidential",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    if not may_approve(state, actor) and pending.held_for == "communications":
        raise NotAuthorised(f"R-47: in the crisis the communications unit "
                            f"({', '.join(sorted(pending.approvers))}) publishes replies; "
                            f"{actor} may not {what} this one",
                            key="approval.communications_only",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    if not may_approve(state, actor):
        raise NotAuthorised(f"R-39: only crisis management ({', '.join(sorted(pending.approvers))})"
                            f" may {what} this reply; {actor} may not",
                            key="approval.crisis_only",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    return pending


def _submitted(state: MessageState, actor: str, now: datetime, kind: HeldKind, text: str,
               signature: str | None = None, drafted_by: str | None = None, *,
               removal: HeldRemoval | None = None, forward: HeldForward | None = None,
               hide: HeldHide | None = None, correction: Correction | None = None
               ) -> ReplySubmittedForApproval:
    assert state.crisis is not None
    return ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id=state.crisis.crisis_id, approvers=sorted(state.crisis.crisis_management),
        removal=removal, forward=forward, hide=hide, correction=correction)


def _for_communications(state: MessageState, actor: str, now: datetime,
                        publishers: frozenset[str], kind: HeldKind, text: str,
                        signature: str | None = None, drafted_by: str | None = None,
                        correction: Correction | None = None
                        ) -> ReplySubmittedForApproval:
    """R-47: the reply waits for a member of the communications unit to publish it."""
    assert state.crisis is not None
    return ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id=state.crisis.crisis_id, approvers=sorted(publishers),
        held_for="communications", correction=correction)


def _signature(state: MessageState, command: Respond) -> str | None:
    """R-26: replies are signed with name and unit where the account requires it."""
    rule = state.policy.signature
    if rule is SignatureRule.REQUIRED and not real_signature(command.signature):
        raise RuleViolation("R-26: this account's replies are signed with name and unit",
                            key="respond.signature")
    if (rule is SignatureRule.OPTIONAL and command.signed
            and not real_signature(command.signature)):
        raise RuleViolation("R-26: a signature names the writer and unit",
                            key="respond.signature")
    if rule is SignatureRule.OFF:
        return None
    return command.signature if (command.signed or rule is SignatureRule.REQUIRED) else None
