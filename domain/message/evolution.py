"""`evolve(state, event)`: one event folded into a case's state."""

from __future__ import annotations

from datetime import datetime

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
    ReplySubmittedForApproval,
    ScreenshotAttached,
    StaffPostRecorded,
)
from domain.message.state import AwaitedAction, MessageState, PendingReply
from domain.message.values import Stage


def _awaiting(action: AwaitedAction | None) -> dict[str, object]:
    """The state's fields for the action by hand now awaited (None: none)."""
    if action is None:
        return {"pending_action": None, "pending_instruction": None,
                "pending_instruction_key": None, "pending_instruction_params": {},
                "pending_since": None, "escalated": False, "pending_screenshot": None}
    return {"pending_action": action.action, "pending_instruction": action.instruction,
            "pending_instruction_key": action.instruction_key,
            "pending_instruction_params": action.instruction_params,
            "pending_since": action.since, "escalated": False, "pending_screenshot": None}


def _enter(stage: Stage, at: datetime) -> dict[str, object]:
    return {"stage": stage, "stage_entered_at": at, "escalated": False}


def evolve(state: MessageState | None, event: MessageEvent) -> MessageState:
    if isinstance(event, MessageReceived):
        return MessageState(
            case_id=event.case_id, account_id=event.account_id,
            municipality_id=event.municipality_id, country=event.country,
            timezone=event.timezone, message=event.message, policy=event.policy,
            authorities=event.authorities, stage=Stage.OPEN, stage_entered_at=event.at,
            received_at=event.at, version=1, flags=event.flags, mood=event.mood,
            auto_hide=event.auto_hide, crisis=event.crisis,
            crisis_since=event.at if event.crisis else None,
            crisis_id=event.crisis.crisis_id if event.crisis else None)
    if isinstance(event, StaffPostRecorded):
        return MessageState(
            case_id=event.case_id, account_id=event.account_id,
            municipality_id=event.municipality_id, message=event.message,
            country=event.country, timezone=event.timezone, stage=Stage.STAFF_POST,
            stage_entered_at=event.at, received_at=event.at,
            closed_at=event.at, version=1)
    if state is None:
        raise ValueError(f"{event.type} before the message was received")
    changes: dict[str, object] = {"version": state.version + 1}
    for changes_of in (_reply_changes, _records_changes, _chase_changes, _approval_changes):
        if changes_of(state, event, changes):
            break
    return state.model_copy(update=changes)


def _reply_changes(state: MessageState, event: MessageEvent, changes: dict[str, object]) -> bool:
    """Hidden, acknowledged, answered, forwarded, drafted (R-23..R-27, R-30)."""
    first = {"first_response_at": state.first_response_at or event.at}
    match event:
        case MessageHidden():
            changes["hidden"] = True
        case AcknowledgementSent() if state.stage in (Stage.FORWARDED, Stage.DRAFTED):
            # acknowledged while with the officer: the officer's
            # clock runs on; the citizen is now owed the final answer.
            changes |= first | {"citizen_stage": Stage.ACKNOWLEDGED, "citizen_since": event.at}
        case AcknowledgementSent():
            changes |= _enter(Stage.ACKNOWLEDGED, event.at) | first
        case MessageAnswered():
            changes |= _enter(Stage.ANSWERED, event.at) | first
            changes |= {"answer": event.text, "closed_at": event.at,
                        "correction": event.correction}
        case MessageForwarded():
            changes |= _enter(Stage.FORWARDED, event.at) | {"officer": event.officer,
                                                            "draft": None}
            if state.stage in (Stage.OPEN, Stage.ACKNOWLEDGED):
                # forwarding keeps the citizen's own deadline.
                changes |= {"citizen_stage": state.stage,
                            "citizen_since": state.stage_entered_at}
        case DraftSubmitted():
            changes |= _enter(Stage.DRAFTED, event.at) | {"draft": event.text}
        case _:
            return False
    return True


def _records_changes(state: MessageState, event: MessageEvent, changes: dict[str, object]) -> bool:
    """Registered, redacted, watched, closed, disposed of (R-22, R-28..R-35, R-46)."""
    first = {"first_response_at": state.first_response_at or event.at}
    match event:
        case MessageRegistered():
            changes |= {"diarium_number": event.diarium_number,
                        "confidential": event.confidential}
        case MessageRedacted():
            changes |= _enter(Stage.REDACTED, event.at) | first | {"pending_reply": None}
            changes |= {"redaction_category": event.category, "closed_at": event.at,
                        "removal_copy_kept": event.preserved_copy}
        case DisposalScheduled() if state.stage is Stage.ANSWERED:
            # the answered case's records fall due; it stays answered.
            changes |= {"disposal_decision": event.decision_id, "dispose_on": event.dispose_on,
                        "disposal_decided_by": event.actor}
        case CaseClosed() if state.stage is Stage.ANSWERED:
            changes |= {"closed_reason": event.reason}  # closed, still answered
        case DisposalScheduled():
            changes |= _enter(Stage.DISPOSAL_PENDING, event.at) | first
            changes |= {"disposal_decision": event.decision_id, "dispose_on": event.dispose_on,
                        "disposal_decided_by": event.actor}
        case MessageDisposed():
            changes |= _enter(Stage.DISPOSED, event.at) | {"closed_at": event.at}
        case MessageWatched():
            changes |= _enter(Stage.WATCHED, event.at) | first
            changes |= {"closed_at": event.at, "closed_reason": event.reason}
            if event.dispose_on is not None:  # the disposal falls due
                changes |= {"disposal_decision": event.decision_id,
                            "dispose_on": event.dispose_on,
                            "disposal_decided_by": event.actor}
        case CaseClosed():
            changes |= _enter(Stage.CLOSED, event.at) | {"pending_reply": None}
            changes |= {"closed_at": event.at, "closed_reason": event.reason}
        case _:
            return False
    return True


def _chase_changes(state: MessageState, event: MessageEvent, changes: dict[str, object]) -> bool:
    """Actions by hand on the platform, reminders and escalations (R-22, R-23)."""
    match event:
        case ManualActionRequested() if state.pending_action is not None:
            # Issue 9: awaited after the one a person is carrying out now.
            changes["queued_actions"] = [*state.queued_actions, AwaitedAction(
                action=event.action, instruction=event.instruction,
                instruction_key=event.instruction_key,
                instruction_params=event.instruction_params, since=event.at)]
        case ManualActionRequested():
            changes |= _awaiting(AwaitedAction(
                action=event.action, instruction=event.instruction,
                instruction_key=event.instruction_key,
                instruction_params=event.instruction_params, since=event.at))
        case ScreenshotAttached():
            changes["pending_screenshot"] = event.sha256
        case ManualActionConfirmed():
            queued = state.queued_actions
            changes |= _awaiting(queued[0] if queued else None)
            changes["queued_actions"] = queued[1:]
        case MessageReminderSent():
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case MessageEscalated():
            changes |= {"fired_steps": [*state.fired_steps, event.step], "escalated": True}
        case _:
            return False
    return True


def _approval_changes(state: MessageState, event: MessageEvent, changes: dict[str, object]) -> bool:
    """Replies held for approval, the crisis rules, the admins (R-13, R-39, R-44,
    R-47)."""
    match event:
        case ReplySubmittedForApproval():
            assert event.actor is not None
            changes |= {"stage": Stage.AWAITING_APPROVAL, "stage_entered_at": event.at,
                        "sent_back": None, "pending_reply": PendingReply(
                            kind=event.kind, text=event.text, signature=event.signature,
                            drafted_by=event.drafted_by, submitted_by=event.actor,
                            submitted_at=event.at, crisis_id=event.crisis_id,
                            approvers=frozenset(event.approvers), returns_to=state.stage,
                            returns_to_since=state.stage_entered_at, held_for=event.held_for,
                            removal=event.removal, forward=event.forward,
                            hide=event.hide, correction=event.correction)}
        case ReplyApproved() | ReplySentBack():
            # Back where the reply was written, deadlines as they were; an
            # approved reply's publication (recorded next) then moves it on.
            pending = state.pending_reply
            if pending is not None:
                changes |= {"stage": pending.returns_to,
                            "stage_entered_at": pending.returns_to_since, "pending_reply": None}
            if isinstance(event, ReplySentBack):
                changes["sent_back"] = event.comment
        case CrisisRulesApplied():
            # The same crisis with a changed scope keeps its start: no later deadline.
            same = state.crisis is not None and state.crisis.crisis_id == event.crisis.crisis_id
            changes |= {"crisis": event.crisis,
                        "crisis_since": state.crisis_since if same else event.at,
                        "crisis_id": event.crisis.crisis_id}
            # a reply waiting in this crisis waits for crisis management
            # as the directory names it now, not as it was when it was written.
            pending, crisis = state.pending_reply, event.crisis
            if (pending is not None and pending.crisis_id == crisis.crisis_id
                    and pending.held_for == "crisis"
                    and crisis.through_crisis_management and crisis.crisis_management):
                changes["pending_reply"] = pending.model_copy(
                    update={"approvers": crisis.crisis_management})
            if (pending is not None and pending.crisis_id == crisis.crisis_id
                    and pending.held_for == "communications" and crisis.communications):
                changes["pending_reply"] = pending.model_copy(
                    update={"approvers": crisis.communications})  # R-47, likewise
        case CrisisRulesLifted():
            changes |= {"crisis": None, "crisis_since": None}
        case AdminsUpdated() if state.authorities is not None:
            changes["authorities"] = state.authorities.model_copy(
                update={"admins": frozenset(event.admins)})
        case AbsencesUpdated() if state.authorities is not None:
            changes["authorities"] = state.authorities.model_copy(
                update={"absences": tuple(event.absences)})
        case _:
            return False
    return True
