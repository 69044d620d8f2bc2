"""The monitoring rules that decide an account's commands: check-ins (R-15),
posts and held posts (R-18, R-44, R-39, R-47), watch items (R-20), keeping
an account proposed for closure (R-19) and the monitoring settings (R-43).
The checks themselves are domain.monitoring's."""

from __future__ import annotations

from datetime import datetime

from domain import monitoring as mon
from domain.account.absences import covering_for
from domain.account.commands import (
    ChangeMonitoringSettings,
    ConfirmPost,
    KeepAccount,
    RecordCheckIn,
    RecordPost,
    ReportWatchItem,
    ResolveWatchItem,
    SendBackPost,
)
from domain.account.events import (
    AccountEvent,
    AccountKept,
    CheckInRecorded,
    MonitoringSettingsChanged,
    PostHeld,
    PostRecorded,
    PostSentBack,
    WatchItemReported,
    WatchItemResolved,
)
from domain.account.images import require_image_rights
from domain.account.rules import _require_manager, _require_stage
from domain.account.state import AccountState, HeldPost
from domain.account.values import Stage
from domain.core import (
    SYSTEM,
    NotAuthorised,
    RuleViolation,
)
from domain.screening import confidential_in_outgoing


def record_check_in(state: AccountState, command: RecordCheckIn,
                    now: datetime) -> list[AccountEvent]:
    """R-15: an admin checks the account (domain.monitoring says when a check-in counts);
    R-14: so does a colleague while covering for an absent admin."""
    actor = command.actor
    _require_stage(state, Stage.ACTIVE)
    if actor not in state.admins and not covering_for(state, actor, now):
        raise NotAuthorised(
            f"{actor} is not an admin of this account: its admins check it (R-15)",
            key="checkin.who")
    checked = mon.check_in_time(command.checked_at, now)
    return [CheckInRecorded(at=now, actor=actor, checked_at=checked,
                            source=command.source, case_id=command.case_id)]


def record_post(state: AccountState, command: RecordPost, now: datetime) -> list[AccountEvent]:
    """R-18, R-44, R-39, R-47: a post the admins, a publisher or the connector record; held if
    confidential."""
    actor = command.actor
    _require_stage(state, Stage.ACTIVE)
    crisis_publisher = _require_crisis_publishing(state, command)
    if (actor != SYSTEM and actor not in state.admins and actor not in state.publishers
            and not crisis_publisher):
        raise NotAuthorised(
            f"{actor} may not record a post: the account's admins or its platform "
            "connector do (R-18)", key="post.who")
    mon.require_published(command.published_at, now)
    require_image_rights(command.images)
    if mon.post_recorded(state.monitoring, command.post_id):
        return []  # reported again (a connector's retry): recorded once
    if any(h.post_id == command.post_id for h in state.held_posts):
        return []  # held; it waits for its decision
    if held := _held_for_confidential(state, command, now):
        return held
    return [PostRecorded(at=now, actor=actor, post_id=command.post_id,
                         published_at=command.published_at,
                         approved_by=command.approved_by, images=command.images)]


def _require_crisis_publishing(state: AccountState, command: RecordPost) -> bool:
    """R-39, R-47: while a crisis covers the account, a staff post recorded
    through Kanalvakt is published by the communications unit (R-47, where
    crisis mode says so) and approved by crisis management where all
    communication goes through it (R-39, Kristiansand). True: the actor
    publishes for the communications unit. A connector's report of what the
    platform shows is a fact, recorded as it is."""
    mode = state.crisis.mode if state.crisis is not None else None
    actor = command.actor
    if (state.legacy_rules or mode is None or actor == SYSTEM
            or not mode.covers(state.request.unit_id)):
        return False
    comms = state.authorities.is_communications(actor) or actor in mode.communications
    if mode.communications_publish and not comms:
        raise NotAuthorised(
            f"{actor} may not publish during the crisis: the communications unit publishes "
            "(R-47)", key="post.crisis_communications")
    if mode.through_crisis_management and not (
            actor in mode.crisis_management or command.approved_by in mode.crisis_management):
        raise NotAuthorised(
            "during the crisis all communication goes through crisis management: name the "
            "member who approved the post (R-39)", key="post.crisis_approval")
    return comms


def _held_for_confidential(state: AccountState, command: RecordPost, now: datetime
                           ) -> list[AccountEvent]:
    """R-44: a post recorded through Kanalvakt with its text is screened as a
    reply is (domain.screening.confidential_in_outgoing); an identity number
    or a confidential marker holds it for a person with the right."""
    if state.legacy_rules or command.text is None:
        return []
    found = confidential_in_outgoing(command.text)
    if not found:
        return []
    approvers = post_approvers(state, command.actor)
    if not approvers:
        raise RuleViolation("R-44: the post contains confidential information and no one else "
                            "may confirm it; change the text", key="outgoing.confidential")
    return [PostHeld(at=now, actor=command.actor, post_id=command.post_id,
                     published_at=command.published_at, approved_by=command.approved_by,
                     found=found, approvers=approvers, images=command.images)]


def post_approvers(state: AccountState, writer: str) -> list[str]:
    """R-44, R-53: who confirms a held post: the unit's manager and deputy
    and the communications unit, never the post's own writer."""
    a = state.authorities
    return sorted({x for x in (a.manager, a.deputy) if x} | set(a.communications) - {writer})


def _held_post_for(state: AccountState, command: ConfirmPost | SendBackPost) -> HeldPost:
    """R-44: the held post `command` decides on, when its actor is one of the
    post's approvers and not its writer."""
    _require_stage(state, Stage.ACTIVE, Stage.CLOSING)
    held = next((h for h in state.held_posts if h.post_id == command.post_id), None)
    if held is None:
        raise RuleViolation(f"no post {command.post_id} is held on this account (R-44)",
                            key="post.not_held", params={"post": command.post_id})
    if command.actor == held.written_by or command.actor not in post_approvers(
            state, held.written_by):
        raise NotAuthorised(
            f"R-44: only {', '.join(held.approvers)} may decide on a post held for "
            f"confidential information, never its writer; {command.actor} may not",
            key="post.confidential_who", params={"approvers": ", ".join(held.approvers)})
    return held


def confirm_post(state: AccountState, command: ConfirmPost, now: datetime
                 ) -> list[AccountEvent]:
    """R-44: a held post confirmed is recorded as published, with who confirmed it."""
    held = _held_post_for(state, command)
    return [PostRecorded(at=now, actor=held.written_by, post_id=held.post_id,
                         published_at=held.published_at, approved_by=held.approved_by,
                         confirmed_by=command.actor, images=held.images)]


def send_back_post(state: AccountState, command: SendBackPost, now: datetime
                   ) -> list[AccountEvent]:
    """R-44: a held post sent back to its writer."""
    held = _held_post_for(state, command)
    return [PostSentBack(at=now, actor=command.actor, post_id=held.post_id,
                         comment=command.comment, written_by=held.written_by)]


def keep_account(state: AccountState, command: KeepAccount, now: datetime) -> list[AccountEvent]:
    """R-19: the communications unit keeps an account proposed for closure, with a reason."""
    actor = command.actor
    a = state.authorities
    _require_stage(state, Stage.ACTIVE)
    if not a.is_communications(actor):
        raise NotAuthorised(
            f"{actor} may not keep the account: the communications unit decides on "
            "a closure proposal (R-19)", key="keep.who")
    mon.require_closure_proposed(state.monitoring,
                                 breach_proposed=state.breach_proposed_at is not None)
    return [AccountKept(at=now, actor=actor, reason=command.reason)]


def report_watch_item(state: AccountState, command: ReportWatchItem,
                      now: datetime) -> list[AccountEvent]:
    """R-20: an admin or the unit's staff raise criticism or an error with the manager."""
    actor = command.actor
    a = state.authorities
    _require_stage(state, Stage.ACTIVE)
    if not (actor in state.admins or a.is_manager(actor) or a.is_communications(actor)
            or command.in_unit):
        raise NotAuthorised(
            f"{actor} may not raise a watch item for this unit: the account's admins "
            "and the unit's staff do, for their manager (R-20)", key="watch.who")
    mon.require_seen(command.seen_at, now)
    return [WatchItemReported(at=now, actor=actor, item_id=mon.next_watch_id(state.monitoring),
                              summary=command.summary, link=command.link,
                              seen_at=command.seen_at)]


def resolve_watch_item(state: AccountState, command: ResolveWatchItem,
                       now: datetime) -> list[AccountEvent]:
    """R-20: the manager resolves an open watch item with a note."""
    actor = command.actor
    _require_stage(state, Stage.ACTIVE, Stage.CLOSING)
    _require_manager(state, actor, "resolve a watch item")
    mon.open_watch_item(state.monitoring, command.item_id)
    return [WatchItemResolved(at=now, actor=actor, item_id=command.item_id,
                              note=command.note)]


def change_monitoring_settings(state: AccountState, command: ChangeMonitoringSettings,
                               now: datetime) -> list[AccountEvent]:
    """R-43: the manager or the communications unit changes how the account is monitored."""
    actor = command.actor
    m = state.monitoring
    a = state.authorities
    _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
    if not (a.is_manager(actor) or a.is_communications(actor)):
        raise NotAuthorised(
            f"{actor} may not change how the account is monitored: the manager (R-13) "
            "or the communications unit may (R-43)", key="settings.monitoring_who")
    if command.policy == m.policy:
        return []
    return [MonitoringSettingsChanged(at=now, actor=actor, policy=command.policy)]
