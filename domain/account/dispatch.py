"""`decide(state, command, now=...)`: the events a command causes, by the
rule of its kind (a dispatch, the rules are in rules and monitoring_rules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.account.absences import cancel_absence, record_absence
from domain.account.commands import (
    ActivateAccount,
    AddAdmin,
    AmendRequest,
    AppointPublisher,
    ApproveRequest,
    CancelAbsence,
    ChangeMessageSettings,
    ChangeMonitoringSettings,
    Command,
    ConfirmPost,
    ConfirmTwoFactor,
    FireDueDeadlines,
    KeepAccount,
    RecordAbsence,
    RecordCheckIn,
    RecordFinalSnapshot,
    RecordPost,
    RecordProfileChange,
    RecordRiskAssessment,
    RejectRequest,
    RemoveAdmin,
    RemovePublisher,
    ReportWatchItem,
    RequestAccount,
    RequestClosure,
    ResolveWatchItem,
    SendBackPost,
    SignOff,
    UpdateAuthorities,
    WithdrawConsent,
)
from domain.account.consents import withdraw_consent
from domain.account.deadlines import fire_due_deadlines
from domain.account.events import AccountEvent
from domain.account.monitoring_rules import (
    change_monitoring_settings,
    confirm_post,
    keep_account,
    record_check_in,
    record_post,
    report_watch_item,
    resolve_watch_item,
    send_back_post,
)
from domain.account.rules import (
    activate_account,
    add_admin,
    amend_request,
    appoint_publisher,
    approve_request,
    change_message_settings,
    confirm_two_factor,
    record_final_snapshot,
    record_profile_change,
    record_risk_assessment,
    reject_request,
    remove_admin,
    remove_publisher,
    request_account,
    request_closure,
    sign_off,
    update_authorities,
)
from domain.account.state import AccountState
from domain.core import (
    WrongStage,
)

# One rule per command (domain.account.rules, domain.account.monitoring_rules).
RULES: dict[type[Any], Callable[[AccountState, Any, datetime], list[AccountEvent]]] = {
    ApproveRequest: approve_request,
    RejectRequest: reject_request,
    RecordRiskAssessment: record_risk_assessment,
    SignOff: sign_off,
    AmendRequest: amend_request,
    ActivateAccount: activate_account,
    AddAdmin: add_admin,
    RemoveAdmin: remove_admin,
    ConfirmTwoFactor: confirm_two_factor,
    AppointPublisher: appoint_publisher,
    RemovePublisher: remove_publisher,
    ChangeMessageSettings: change_message_settings,
    RequestClosure: request_closure,
    UpdateAuthorities: update_authorities,
    FireDueDeadlines: fire_due_deadlines,
    RecordFinalSnapshot: record_final_snapshot,
    RecordCheckIn: record_check_in,
    RecordPost: record_post,
    ConfirmPost: confirm_post,
    SendBackPost: send_back_post,
    KeepAccount: keep_account,
    ReportWatchItem: report_watch_item,
    ResolveWatchItem: resolve_watch_item,
    ChangeMonitoringSettings: change_monitoring_settings,
    RecordProfileChange: record_profile_change,
    RecordAbsence: record_absence,
    CancelAbsence: cancel_absence,
    WithdrawConsent: withdraw_consent,
}


def decide(state: AccountState | None, command: Command, *, now: datetime) -> list[AccountEvent]:
    """The events `command` causes at `now`, or a DomainError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(command, RequestAccount):
        return request_account(state, command, now)
    if state is None:
        raise WrongStage("no account has been requested", key="account.not_requested")
    if state.stage.terminal and not isinstance(command, FireDueDeadlines):
        raise WrongStage(f"the account is {state.stage.value}; nothing more can be decided",
                         key="account.ended", params={"stage": state.stage.value})
    rule = next((RULES[kind] for kind in type(command).__mro__ if kind in RULES), None)
    if rule is None:
        raise TypeError(f"unknown command {type(command).__name__}")
    return rule(state, command, now)
