"""`decide(state, command, now=...)`: the events a command causes, by the
rule of its kind (a dispatch; the rules are in domain.message.rules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.core import (
    WrongStage,
)
from domain.message.commands import (
    Acknowledge,
    ApplyCrisis,
    ApproveReply,
    AttachScreenshot,
    CloseCase,
    Command,
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
from domain.message.events import MessageEvent
from domain.message.rules import (
    acknowledge,
    apply_crisis,
    approve_reply,
    close_case,
    confirm_manual_action,
    dispose,
    fire_due,
    forward_to_officer,
    hide_message,
    receive_message,
    redact,
    register,
    request_manual_action,
    respond,
    send_back_reply,
    settle_records,
    submit_draft,
    update_absences,
    update_admins,
    watch,
)
from domain.message.screenshots import attach_screenshot
from domain.message.state import MessageState, awaits_records

Rule = Callable[[MessageState, Any, datetime], list[MessageEvent]]


# The rules that hold at any stage: the system's own commands and a platform
# action by hand (a closed case still fires its steps and follows the crisis).
ANY_STAGE: dict[type[Any], Rule] = {
    ApplyCrisis: apply_crisis,
    UpdateAdmins: update_admins,
    UpdateAbsences: update_absences,
    FireDue: fire_due,
    RequestManualAction: request_manual_action,
    ConfirmManualAction: confirm_manual_action,
    AttachScreenshot: attach_screenshot,  # R-30, R-45 (issue 14)
}


# One rule per command on a live case (domain.message.rules).
RULES: dict[type[Any], Rule] = {
    Hide: hide_message,
    Acknowledge: acknowledge,
    Respond: respond,
    Forward: forward_to_officer,
    SubmitDraft: submit_draft,
    Register: register,
    Redact: redact,
    Watch: watch,
    CloseCase: close_case,
    Dispose: dispose,
    ApproveReply: approve_reply,
    SendBackReply: send_back_reply,
}


def _rule_for(rules: dict[type[Any], Rule], command: Command) -> Rule | None:
    return next((rules[kind] for kind in type(command).__mro__ if kind in rules), None)


def decide(state: MessageState | None, command: Command, *, now: datetime
           ) -> list[MessageEvent]:
    """The events `command` causes at `now`, or a DomainError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(command, ReceiveMessage):
        return receive_message(state, command, now)
    if state is None:
        raise WrongStage("no message has been received", key="message.not_received")
    if (rule := _rule_for(ANY_STAGE, command)) is not None:
        return rule(state, command, now)
    if awaits_records(state) and isinstance(command, Register | Dispose | CloseCase):
        return settle_records(state, command, now)
    if state.stage.terminal:
        raise WrongStage(f"the message is {state.stage.value}; nothing more can be decided",
                         key="message.ended", params={"message_stage": state.stage.value})
    if (rule := _rule_for(RULES, command)) is None:
        raise TypeError(f"unknown command {type(command).__name__}")
    return rule(state, command, now)
