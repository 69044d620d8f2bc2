"""A case's rules, one function per command, as the guideline reads: receive
(R-21), hide (R-30, R-45), acknowledge and answer (R-23, R-26, R-27),
approval (R-39, R-44, R-47), forward and draft (R-24, R-25), register
(R-28, R-31), redact (R-29..R-34), watch, close (R-22) and dispose (R-33)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.core import (
    SYSTEM,
    NotAuthorised,
    RuleViolation,
    WrongStage,
)
from domain.cover import cover_recipients
from domain.message.commands import (
    Acknowledge,
    ApplyCrisis,
    ApproveReply,
    CloseCase,
    ConfirmManualAction,
    Dispose,
    FireDue,
    Forward,
    Hide,
    ReceiveMessage,
    Redact,
    Register,
    RequestManualAction,
    Respond,
    SendBackReply,
    SubmitDraft,
    UpdateAbsences,
    UpdateAdmins,
    Watch,
)
from domain.message.events import (
    AbsencesUpdated,
    AcknowledgementSent,
    AdminsUpdated,
    CaseClosed,
    CrisisRulesApplied,
    CrisisRulesLifted,
    DisposalScheduled,
    DraftSubmitted,
    ManualActionConfirmed,
    ManualActionRequested,
    MessageAnswered,
    MessageDisposed,
    MessageEscalated,
    MessageEvent,
    MessageForwarded,
    MessageHidden,
    MessageReceived,
    MessageRedacted,
    MessageRegistered,
    MessageReminderSent,
    MessageWatched,
    ReplyApproved,
    ReplySentBack,
    StaffPostRecorded,
)
from domain.message.evolution import evolve
from domain.message.guards import (
    _LIVE,
    _OPEN,
    _for_communications,
    _held_if_confidential,
    _require_admin,
    _require_approver,
    _require_stage,
    _signature,
    _submitted,
    communications_publish,
    forward_needs_crisis_approval,
    hide_needs_crisis_approval,
    may_close,
    needs_crisis_approval,
    removal_needs_crisis_approval,
    screening_found_confidential,
)
from domain.message.plans import pending_steps
from domain.message.screenshots import require_screenshot
from domain.message.state import MessageState
from domain.message.values import HeldForward, HeldHide, HeldRemoval, Stage
from domain.redaction import RemovalCategory
from domain.screening import auto_actions, screen


def receive_message(state: MessageState | None, command: ReceiveMessage,
                    now: datetime) -> list[MessageEvent]:
    """R-21: a message received becomes a case, screened (R-31, R-45); a
    staff post is recorded apart (R-21)."""
    actor = command.actor
    if state is not None:
        raise WrongStage("this message has already been received",
                         key="message.already_received")
    m = command.message
    if m.from_staff:
        return [StaffPostRecorded(at=m.published_at, actor=actor, case_id=command.case_id,
                                  account_id=command.account_id,
                                  municipality_id=command.municipality_id, message=m,
                                  country=command.country, timezone=command.timezone)]
    screening = screen(m.text, command.policy.screening)
    return [MessageReceived(
        at=m.published_at, actor=actor, case_id=command.case_id,
        account_id=command.account_id, municipality_id=command.municipality_id,
        country=command.country, timezone=command.timezone, message=m,
        policy=command.policy, authorities=command.authorities, flags=screening.flags,
        mood=screening.mood,
        auto_hide=auto_actions(screening, command.policy.screening).hide,
        crisis=command.crisis)]


def hide_message(state: MessageState, command: Hide, now: datetime) -> list[MessageEvent]:
    """R-30, R-45: an admin hides a message, a copy kept first; in a crisis it may wait (R-39)."""
    actor = command.actor
    authorities = state.authorities
    assert authorities is not None  # only staff posts lack them, and they are terminal
    _require_stage(state, *_LIVE)
    if state.hidden:
        raise RuleViolation("the message is already hidden", key="hide.already")
    if not command.preserved_copy and state.fidelity_rules:
        raise RuleViolation("R-30, R-45: a copy is kept before a message is hidden",
                            key="hide.copy_needed")
    if actor != SYSTEM and actor not in authorities.admins:
        raise NotAuthorised(f"only the account's admins may hide a message; {actor} "
                            "is not one", key="message.admins_only")
    if hide_needs_crisis_approval(state, command):
        if state.pending_reply is not None:
            raise RuleViolation("R-39: crisis management has a decision on this case "
                                "waiting; it approves or sends that back first",
                                key="approval.one_at_a_time")
        return [_submitted(state, actor, now, "hide", command.reason, hide=HeldHide(
            reason=command.reason, preserved_copy=command.preserved_copy))]
    return [MessageHidden(at=now, actor=actor, reason=command.reason,
                          preserved_copy=command.preserved_copy,
                          confidential=command.confidential)]


def acknowledge(state: MessageState, command: Acknowledge, now: datetime) -> list[MessageEvent]:
    """R-23, R-24: an admin acknowledges, once, where the answer takes longer."""
    actor = command.actor
    if state.fidelity_rules:
        # a forwarded case can be acknowledged too, once.
        _require_stage(state, Stage.OPEN, Stage.FORWARDED, Stage.DRAFTED)
        if state.citizen_stage is Stage.ACKNOWLEDGED:
            raise RuleViolation("the message has already been acknowledged",
                                key="acknowledge.already")
    else:
        _require_stage(state, Stage.OPEN)
    _require_admin(state, actor, "acknowledge a message")
    held = _held_if_confidential(state, actor, now, "acknowledgement", command.text)
    if held:
        return held
    if needs_crisis_approval(state, actor):
        return [_submitted(state, actor, now, "acknowledgement", command.text)]
    if publishers := communications_publish(state, actor):
        return [_for_communications(state, actor, now, publishers, "acknowledgement",
                                    command.text)]
    return [AcknowledgementSent(at=now, actor=actor, text=command.text,
                                reply_id=command.reply_id)]


def respond(state: MessageState, command: Respond, now: datetime) -> list[MessageEvent]:
    """R-23, R-26, R-27: an admin answers, signed; held if confidential (R-44), in a crisis
    approved (R-39, R-47)."""
    actor = command.actor
    _require_stage(state, *_OPEN)
    _require_admin(state, actor, "answer a message")
    signature = _signature(state, command)
    drafted_by = state.officer if state.draft else None
    correction = command.correction  # recorded with the answer, through any hold
    held = _held_if_confidential(state, actor, now, "answer", command.text, signature,
                                 drafted_by, correction)
    if held:
        return held
    if needs_crisis_approval(state, actor):
        return [_submitted(state, actor, now, "answer", command.text, signature,
                           drafted_by, correction=correction)]
    if publishers := communications_publish(state, actor):
        return [_for_communications(state, actor, now, publishers, "answer",
                                    command.text, signature, drafted_by, correction)]
    return [MessageAnswered(at=now, actor=actor, text=command.text, signature=signature,
                            reply_id=command.reply_id, drafted_by=drafted_by,
                            correction=correction)]


def approve_reply(state: MessageState, command: ApproveReply, now: datetime) -> list[MessageEvent]:
    """R-39, R-44, R-47: an approver lets what was held go out, or on to the next approver."""
    actor = command.actor
    pending = _require_approver(state, actor, "approve")
    approved = ReplyApproved(at=now, actor=actor, kind=pending.kind,
                             submitted_by=pending.submitted_by)
    if pending.removal is not None:  # the removal is carried out now
        return [approved, *redact(evolve(state, approved), Redact(
            actor=pending.submitted_by, **pending.removal.model_dump()), now,
            approved=True)]
    if pending.hide is not None:  # the hide is carried out now
        return [approved, MessageHidden(at=now, actor=pending.submitted_by,
                                        reason=pending.hide.reason,
                                        preserved_copy=pending.hide.preserved_copy)]
    if pending.forward is not None:  # the case goes to the officer now
        return [approved, *forward_to_officer(evolve(state, approved), Forward(
            actor=pending.submitted_by, **pending.forward.model_dump()), now,
            approved=True)]
    if (pending.held_for == "confidential"
            and needs_crisis_approval(state, pending.submitted_by)):
        # R-44 then R-39: confirmed, the text still goes through crisis
        # management before it is published.
        return [approved,
                _submitted(state, pending.submitted_by, now, pending.kind, pending.text,
                           pending.signature, pending.drafted_by,
                           correction=pending.correction)]
    if pending.held_for != "communications" and (
            publishers := communications_publish(state, actor)):
        # approved, the communications unit publishes it.
        return [approved,
                _for_communications(state, pending.submitted_by, now, publishers,
                                    pending.kind, pending.text, pending.signature,
                                    pending.drafted_by, pending.correction)]
    published: MessageEvent
    if pending.kind == "acknowledgement":
        published = AcknowledgementSent(at=now, actor=pending.submitted_by,
                                        text=pending.text, reply_id=command.reply_id)
    else:
        published = MessageAnswered(at=now, actor=pending.submitted_by,
                                    text=pending.text, signature=pending.signature,
                                    reply_id=command.reply_id,
                                    drafted_by=pending.drafted_by,
                                    correction=pending.correction)
    return [approved, published]


def send_back_reply(state: MessageState, command: SendBackReply,
                    now: datetime) -> list[MessageEvent]:
    """R-39, R-44, R-47: an approver sends what was held back to its writer."""
    actor = command.actor
    pending = _require_approver(state, actor, "send back")
    return [ReplySentBack(at=now, actor=actor, comment=command.comment,
                          submitted_by=pending.submitted_by)]


def forward_to_officer(state: MessageState, command: Forward, now: datetime, *,
                       approved: bool = False) -> list[MessageEvent]:
    """R-24, R-25: to a case officer, who drafts the answer; in a crisis
    where all communication goes through crisis management, only once it
    approves (R-39)."""
    if state.fidelity_rules:
        # handed to another officer when the first does not answer.
        _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED)
        if state.stage is Stage.FORWARDED and command.officer == state.officer:
            raise RuleViolation(f"the case is already with {state.officer}",
                                key="forward.same_officer",
                                params={"officer": state.officer or ""})
    else:
        _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
    if not (approved and state.approval_outlives_the_admin):
        _require_admin(state, command.actor, "forward a message")
    if not approved and forward_needs_crisis_approval(state, command.actor):
        return [_submitted(state, command.actor, now, "forward", command.note,
                           forward=HeldForward(officer=command.officer, note=command.note))]
    return [MessageForwarded(at=now, actor=command.actor, officer=command.officer,
                             note=command.note)]


def submit_draft(state: MessageState, command: SubmitDraft, now: datetime) -> list[MessageEvent]:
    """R-24: the case officer drafts the answer an admin publishes."""
    actor = command.actor
    _require_stage(state, Stage.FORWARDED)
    if actor != state.officer:
        raise NotAuthorised(f"only the case officer {state.officer} drafts the answer "
                            f"(R-24); {actor} is not", key="draft.officer_only",
                            params={"officer": state.officer or ""})
    return [DraftSubmitted(at=now, actor=actor, text=command.text)]


def register(state: MessageState, command: Register, now: datetime) -> list[MessageEvent]:
    """R-28, R-31: an admin or a registrar registers the message in the diarium, once."""
    actor = command.actor
    authorities = state.authorities
    assert authorities is not None  # only staff posts lack them, and they are terminal
    _require_stage(state, *_LIVE)
    if actor not in authorities.admins and actor not in authorities.registrars:
        raise NotAuthorised(f"{actor} may not register: the admins or a registrar may",
                            key="register.who")
    if state.diarium_number is not None:
        raise RuleViolation(f"already registered as {state.diarium_number}",
                            key="register.already",
                            params={"number": state.diarium_number})
    return [MessageRegistered(at=now, actor=actor, diarium_number=command.diarium_number,
                              record_class=command.record_class,
                              confidential=command.confidential)]


def _removal_allowed(state: MessageState, command: Redact) -> str | None:
    """R-30, R-32..R-34, R-45, R-50: what a removal keeps and under which
    disposal decision (returned: advertising's, where the rules name one)."""
    advertising = command.category is RemovalCategory.ADVERTISING
    if command.keep and advertising:
        raise RuleViolation("R-32: advertising is removed and not kept",
                            key="redact.advertising_kept")
    if command.keep and state.diarium_number is None:
        raise RuleViolation("R-50: removed content that is to be kept is registered and "
                            "filed with its case first", key="redact.register_first")
    copy_always = state.fidelity_rules and state.policy.copy_before_every_deletion
    if advertising and command.preserved_copy and not copy_always:
        raise RuleViolation("R-32: advertising is removed and not kept",
                            key="redact.advertising_kept")
    if not command.preserved_copy and (copy_always or not advertising):
        raise RuleViolation("R-30, R-45: a copy is kept before deletion; deleting without one "
                            "is only for what a disposal decision covers (R-33)",
                            key="redact.copy_needed")
    decision_id = None
    if advertising and state.fidelity_rules:
        known = {d.id for d in state.policy.disposal_decisions}
        if command.decision_id not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise RuleViolation(f"R-33: advertising is deleted under a disposal decision of the "
                                f"records-management plan (known: {listed})",
                                key="redact.disposal_decision", params={"known": listed})
        decision_id = command.decision_id
    if (command.category is RemovalCategory.DEFAMATION_OR_INSULT and state.fidelity_rules
            and state.mood == "critical"
            and not any(f.category is command.category for f in state.flags)):
        raise RuleViolation("R-34: criticism is answered, not deleted; screening found no "
                            "insult in it", key="redact.criticism")
    return decision_id


def redact(state: MessageState, command: Redact, now: datetime, *,
           approved: bool = False) -> list[MessageEvent]:
    """R-29..R-34, R-45: removal with its category and law, a copy first,
    registered first where the content is confidential by its category or
    by what screening found (R-31); advertising deleted under a named
    disposal decision (R-33); criticism answered, not deleted (R-34). In a
    crisis where all communication goes through crisis management, it waits
    for its approval (R-39), unless it removes confidential data."""
    actor = command.actor
    if not (approved and state.approval_outlives_the_admin):
        _require_admin(state, actor, "remove a message")
    _require_stage(state, *_LIVE)
    confidential = (command.category is RemovalCategory.CONFIDENTIAL_INFORMATION
                    or screening_found_confidential(state))
    if confidential and state.diarium_number is None:
        raise RuleViolation("R-31: confidential content is registered before deletion",
                            key="redact.register_first")
    decision_id = _removal_allowed(state, command)
    if not approved and removal_needs_crisis_approval(state, command, confidential):
        if state.pending_reply is not None:
            raise RuleViolation("R-39: crisis management has a decision on this case waiting; "
                                "it approves or sends that back first",
                                key="approval.one_at_a_time")
        return [_submitted(state, actor, now, "removal", command.reason, removal=HeldRemoval(
            category=command.category, law=command.law, reason=command.reason,
            preserved_copy=command.preserved_copy, action=command.action,
            decision_id=command.decision_id, keep=command.keep))]
    events: list[MessageEvent] = [MessageRedacted(
        at=now, actor=actor, category=command.category, law=command.law,
        reason=command.reason, preserved_copy=command.preserved_copy, action=command.action,
        decision_id=decision_id,
        filed_as=state.diarium_number if state.fidelity_rules and command.preserved_copy
        else None)]
    if (command.category is RemovalCategory.DEFAMATION_OR_INSULT and state.fidelity_rules
            and not any(f.category is command.category for f in state.flags)):
        # removal should be rare; one screening did not support goes
        # to the communications unit (and the manager) to look at.
        a = state.authorities
        assert a is not None
        recipients = list(dict.fromkeys((*a.managers, *sorted(a.communications))))
        events.append(MessageEscalated(
            at=now, actor=actor, step=f"removal_review@{now.isoformat()}", stage=state.stage,
            due=now, recipients=recipients))
    return events


def watch(state: MessageState, command: Watch, now: datetime) -> list[MessageEvent]:
    """R-46: "I vissa fall kan det räcka med att bara bevaka flödet" (Mora):
    only where the municipality allows it, only a comment screening found
    nothing in, by an admin who says why."""
    _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
    _require_admin(state, command.actor, "mark a message as watched")
    if not state.policy.watched_allowed:
        raise RuleViolation("R-46: this municipality answers every message; watching only "
                            "is not an outcome here", key="watch.not_allowed")
    if state.flags:
        raise RuleViolation("R-46: screening flagged the message; it is reviewed, not only "
                            "watched", key="watch.flagged")
    decision = next((d for d in state.policy.disposal_decisions
                     if d.id == state.policy.minor_records_decision), None)
    if decision is None or not state.fidelity_rules:
        return [MessageWatched(at=now, actor=command.actor, reason=command.reason)]
    return [MessageWatched(at=now, actor=command.actor, reason=command.reason,
                           decision_id=decision.id,
                           dispose_on=now + timedelta(days=decision.keep_days))]


def close_case(state: MessageState, command: CloseCase, now: datetime) -> list[MessageEvent]:
    """R-22: the unit's manager or the communications unit closes a case with a reason."""
    actor = command.actor
    _require_stage(state, *_LIVE)
    if not may_close(state, actor):
        raise NotAuthorised(f"R-22: only the unit's manager or the communications "
                            f"unit may close an unanswered case; {actor} may not",
                            key="close.who")
    return [CaseClosed(at=now, actor=actor, reason=command.reason)]


def dispose(state: MessageState, command: Dispose, now: datetime) -> list[MessageEvent]:
    """R-33, R-35: an admin disposes of a trivial message under a disposal decision; never a
    registered or confidential one."""
    actor = command.actor
    _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
    _require_admin(state, actor, "dispose of a message")
    if state.diarium_number is not None:
        raise RuleViolation("a registered message is kept by the diarium's rules, "
                            "not disposed of as trivial (R-28, R-33)",
                            key="dispose.registered")
    return [_disposal_scheduled(state, actor, command.decision_id, now)]


def _disposal_scheduled(state: MessageState, actor: str, decision_id: str,
                        now: datetime) -> DisposalScheduled:
    """R-31, R-33: never what screening found an identity number in; only
    under a decision of the records-management plan, due after its keep time."""
    if screening_found_confidential(state):
        raise RuleViolation("R-31, R-33: screening found an identity number; such a "
                            "message is registered, never disposed of as trivial",
                            key="dispose.confidential")
    decision = next((d for d in state.policy.disposal_decisions if d.id == decision_id), None)
    if decision is None:
        known = ", ".join(d.id for d in state.policy.disposal_decisions) or "none"
        raise RuleViolation(f"R-33: no disposal decision {decision_id!r} in the "
                            f"records-management plan (known: {known})",
                            key="dispose.unknown_decision",
                            params={"decision": decision_id, "known": known})
    return DisposalScheduled(at=now, actor=actor, decision_id=decision.id,
                             dispose_on=now + timedelta(days=decision.keep_days))


def settle_records(state: MessageState, command: Register | Dispose | CloseCase,
                   now: datetime) -> list[MessageEvent]:
    """R-50: an answered case is registered (by an admin or a registrar),
    disposed of as a minor record under a decision of the records-management
    plan (by an admin; never one screening found an identity number in,
    R-31), or closed with a reason by the manager, the deputy or the
    communications unit (R-22). The case stays answered."""
    a = state.authorities
    assert a is not None
    actor = command.actor
    match command:
        case Register():
            if actor not in a.admins and actor not in a.registrars:
                raise NotAuthorised(f"{actor} may not register: the admins or a registrar may",
                                    key="register.who")
            return [MessageRegistered(at=now, actor=actor, diarium_number=command.diarium_number,
                                      record_class=command.record_class,
                                      confidential=command.confidential)]
        case Dispose():
            _require_admin(state, actor, "dispose of a message")
            return [_disposal_scheduled(state, actor, command.decision_id, now)]
        case CloseCase():
            if not may_close(state, actor):
                raise NotAuthorised(f"R-22, R-50: only the unit's manager or the communications "
                                    f"unit may close a case left unregistered; {actor} may not",
                                    key="close.who")
            return [CaseClosed(at=now, actor=actor, reason=command.reason)]


def request_manual_action(state: MessageState, command: RequestManualAction,
                          now: datetime) -> list[MessageEvent]:
    """Issue 9: Kanalvakt asks the admins to do a platform action by hand."""
    actor = command.actor
    if actor != SYSTEM:
        raise NotAuthorised("a manual platform action is requested by Kanalvakt itself",
                            key="manual.system_only")
    # Issue 9: a second action by hand (the answer after the
    # acknowledgement, a deletion after a hide) waits behind the first;
    # refusing it here wedged the case, as the platform step had run.
    return [ManualActionRequested(at=now, actor=actor, action=command.action,
                                  instruction=command.instruction,
                                  instruction_key=command.instruction_key,
                                  instruction_params=command.instruction_params)]


def confirm_manual_action(state: MessageState, command: ConfirmManualAction,
                          now: datetime) -> list[MessageEvent]:
    """Issue 9: an admin confirms the platform action done by hand."""
    actor = command.actor
    if state.pending_action is None:
        raise WrongStage("no platform action by hand is awaited", key="manual.none_awaited")
    if state.authorities is None or actor not in state.authorities.admins:
        raise NotAuthorised(f"only the account's admins confirm what was done on the "
                            f"platform; {actor} is not one", key="manual.confirm_who")
    require_screenshot(state)  # R-30, R-45 (issue 14)
    return [ManualActionConfirmed(at=now, actor=actor, action=state.pending_action,
                                  platform_object_id=command.platform_object_id)]


def apply_crisis(state: MessageState, command: ApplyCrisis, now: datetime
                 ) -> list[MessageEvent]:
    """R-39: the crisis workflow tells every open case of the accounts in scope;
    telling it twice, or telling an ended case, changes nothing."""
    if command.actor != SYSTEM:
        raise NotAuthorised("crisis rules reach a case from Kanalvakt's crisis workflow",
                            key="crisis.system_only")
    if state.stage.terminal:
        return []
    new, old = command.crisis, state.crisis
    if new is None:
        return [] if old is None else [CrisisRulesLifted(at=now, actor=command.actor,
                                                         crisis_id=old.crisis_id)]
    if old == new:
        return []
    return [CrisisRulesApplied(at=now, actor=command.actor, crisis=new)]


def update_admins(state: MessageState, command: UpdateAdmins, now: datetime
                  ) -> list[MessageEvent]:
    """R-12, R-13, R-22: the account's current admins reach its open cases, so
    a new admin decides on them and a removed one no longer does. Told twice,
    told the same list, or told after the case is done: nothing is recorded."""
    if command.actor != SYSTEM:
        raise NotAuthorised("the admins reach a case from the account's workflow",
                            key="admins.system_only")
    a = state.authorities
    if a is None or state.done or a.admins == command.admins:
        return []
    return [AdminsUpdated(at=now, actor=command.actor, admins=sorted(command.admins))]


def update_absences(state: MessageState, command: UpdateAbsences, now: datetime
                    ) -> list[MessageEvent]:
    """R-14: the account's absences reach its open cases, so an absent
    admin's reminders go to their cover. The same list again, or a case
    already done: nothing is recorded."""
    if command.actor != SYSTEM:
        raise NotAuthorised("the absences reach a case from the account's workflow",
                            key="admins.system_only")
    a = state.authorities
    if a is None or state.done or list(a.absences) == list(command.absences):
        return []
    return [AbsencesUpdated(at=now, actor=command.actor, absences=list(command.absences))]


def _fire_due(state: MessageState, now: datetime, actor: str) -> list[MessageEvent]:
    events: list[MessageEvent] = []
    for step in sorted(pending_steps(state, now), key=lambda s: s.due):
        if step.due > now:
            break
        common: dict[str, Any] = {"at": now, "actor": actor, "step": step.key,
                                  "stage": state.stage, "due": step.due,
                                  "recipients": list(step.recipients)}
        a = state.authorities
        if a is not None and a.absences:  # R-14: the absent admins' covers are told
            common["recipients"], covering = cover_recipients(a.absences, step.recipients,
                                                              now, a.managers)
            if covering:
                common["covering"] = covering
        if step.kind == "remind":
            events.append(MessageReminderSent(**common))
        elif step.kind == "escalate":
            events.append(MessageEscalated(**common))
        else:  # the disposal date has come
            assert state.disposal_decision is not None
            events.append(MessageDisposed(at=now, actor=actor,
                                          decision_id=state.disposal_decision,
                                          decided_by=state.disposal_decided_by or actor))
            break
    return events


def fire_due(state: MessageState, command: FireDue, now: datetime) -> list[MessageEvent]:
    """R-22, R-23: the reminders and escalations due by now."""
    return _fire_due(state, now, command.actor)
