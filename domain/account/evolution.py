"""`evolve(state, event)`: one event folded into the account's state."""

from __future__ import annotations

from datetime import datetime

from domain import monitoring as mon
from domain.account.absences import with_absence, without_absence
from domain.account.events import (
    AbsenceCancelled,
    AbsenceRecorded,
    AccountActivated,
    AccountClosed,
    AccountEvent,
    AccountKept,
    AccountRequested,
    AdminAdded,
    AdminBackFromAbsence,
    AdminCoverageLost,
    AdminCoverageRestored,
    AdminRemoved,
    AdminTwoFactorConfirmed,
    AllAdminsAwayEscalated,
    AuthoritiesUpdated,
    CheckInEscalated,
    CheckInRecorded,
    CheckInReminderSent,
    ClosureProposed,
    ClosureProposedForBreach,
    ClosureRequested,
    ConsentWithdrawn,
    DeadlineEscalated,
    DeadlineReminderSent,
    FinalSnapshotArchived,
    ListedInRegister,
    ManagerApproved,
    MessageSettingsChanged,
    MonitoringSettingsChanged,
    PostHeld,
    PostingRhythmWarned,
    PostRecorded,
    PostSentBack,
    ProfileChanged,
    PublisherAppointed,
    PublisherRemoved,
    RemovedFromRegister,
    RequestAmended,
    RequestLapsed,
    RequestRejected,
    RiskAssessmentRecorded,
    SentBackForChanges,
    SignOffApproved,
    WatchItemEscalated,
    WatchItemReminderSent,
    WatchItemReported,
    WatchItemResolved,
)
from domain.account.images import consents_of_post
from domain.account.plans import monitoring_duty
from domain.account.state import AccountState, HeldPost
from domain.account.values import Admin, RiskAssessmentKind, Stage
from domain.core import (
    SYSTEM,
)


def _enter(state: AccountState, stage: Stage, at: datetime) -> dict[str, object]:
    return {"stage": stage, "stage_entered_at": at, "escalated": False}


def evolve(state: AccountState | None, event: AccountEvent) -> AccountState:
    """Fold one event into the state. Total: it never refuses an event that
    `decide` produced."""
    if isinstance(event, AccountRequested):
        return AccountState(
            account_id=event.account_id, municipality_id=event.municipality_id,
            slug=event.slug, country=event.country, timezone=event.timezone,
            policy=event.policy, authorities=event.authorities, request=event.request,
            requester=event.actor or "", requested_at=event.at, stage_entered_at=event.at,
            version=1,
        )
    if state is None:
        raise ValueError(f"{event.type} before AccountRequested")
    changes: dict[str, object] = {"version": state.version + 1}
    for changes_of in (_stage_changes, _people_changes, _duty_changes):
        if changes_of(state, event, changes):
            break
    else:  # the monitoring's events (R-15..R-20)
        if isinstance(event, PostRecorded) and state.held_posts:
            changes["held_posts"] = [h for h in state.held_posts
                                     if h.post_id != event.post_id]
        if isinstance(event, PostRecorded) and (
                added := consents_of_post(event.post_id, event.images, event.at)):
            known = {c.upload_id for c in state.consents}
            changes["consents"] = [*state.consents,
                                   *(c for c in added if c.upload_id not in known)]
        if isinstance(event, ConsentWithdrawn):
            changes["consents"] = [
                c.model_copy(update={"ended": event.end, "ended_at": event.at,
                                     "ended_by": event.actor, "reason": event.reason})
                if c.upload_id == event.upload_id else c for c in state.consents]
            return state.model_copy(update=changes)
        changes["monitoring"] = _evolve_monitoring(state, event)
    return state.model_copy(update=changes)


def _stage_changes(state: AccountState, event: AccountEvent, changes: dict[str, object]) -> bool:
    """The request's way to activation and the closure (R-01..R-13, R-19, R-38)."""
    match event:
        case ManagerApproved():
            changes |= _enter(state, Stage.RISK_ASSESSMENT, event.at)
            changes |= {"approved_by": event.actor, "approved_as": event.approved_as,
                        "terms_delegate": event.terms_delegate,
                        "approved_admins": list(event.admins or state.request.proposed_admins)}
        case RequestRejected():
            changes |= _enter(state, Stage.REJECTED, event.at)
            changes["rejection_reason"] = event.reason
        case RiskAssessmentRecorded():
            done = dict(state.risk_assessments)
            done[event.assessment.kind] = event.assessment
            changes["risk_assessments"] = done
            if set(done) == set(RiskAssessmentKind):
                changes |= _enter(state, Stage.AWAITING_SIGNOFF, event.at)
        case SignOffApproved():
            changes |= _enter(state, Stage.AWAITING_ACTIVATION, event.at)
            changes |= {"sign_off": event.checklist, "signed_off_by": event.actor}
        case SentBackForChanges():
            changes |= _enter(state, Stage.AMENDING, event.at)
            changes["times_sent_back"] = state.times_sent_back + 1
            changes["platform_may_change"] = event.platform_may_change
        case RequestAmended():
            changes |= _enter(state, Stage.AWAITING_SIGNOFF, event.at)
            changes |= {"request": event.request, "platform_may_change": False}
            if event.actor and state.authorities.is_manager(event.actor):
                # the manager's own amendment appoints its admins.
                changes["approved_admins"] = list(event.request.proposed_admins)
        case AccountActivated():
            changes |= _enter(state, Stage.ACTIVE, event.at)
            changes |= {"handle": event.handle, "url": event.url,
                        "platform_account_id": event.platform_account_id,
                        "admins": {a.person: a for a in event.admins},
                        # R-15..R-20: monitoring duties run from activation.
                        "monitoring": mon.started(event.at, monitoring_duty(state),
                                                  state.monitoring)}
        case ListedInRegister():
            changes["listed"] = True
        case ClosureRequested():
            changes |= _enter(state, Stage.CLOSING, event.at)
            changes |= {"closure_reason": event.reason, "closure_requested_by": event.actor,
                        "coverage_lost_at": None}
        case FinalSnapshotArchived():
            changes["final_package"] = event.package
        case RemovedFromRegister():
            changes["listed"] = False
        case AccountClosed():
            changes |= _enter(state, Stage.CLOSED, event.at)
            changes["closed_at"] = event.at
        case _:
            return False
    return True


def _people_changes(state: AccountState, event: AccountEvent, changes: dict[str, object]) -> bool:
    """Admins, publishers, the 2FA coverage and who decides (R-12, R-13, R-52)."""
    match event:
        case AdminAdded():
            changes["admins"] = {**state.admins, event.admin.person: event.admin}
            changes["approved_admins"] = sorted({*state.approved_admins, event.admin.person})
            if not event.admin.two_factor:  # a deficiency, chased until confirmed
                changes["admins_without_2fa"] = {**state.admins_without_2fa,
                                                 event.admin.person: event.at}
        case AdminRemoved():
            changes["admins"] = {k: v for k, v in state.admins.items() if k != event.person}
            if state.absences:  # the others may now be all away
                changes["absences_known_at"] = event.at
            changes["admins_without_2fa"] = {k: v for k, v in state.admins_without_2fa.items()
                                             if k != event.person}
        case AdminTwoFactorConfirmed():
            changes["admins"] = {**state.admins,
                                 event.person: Admin(person=event.person, two_factor=True)}
            changes["admins_without_2fa"] = {k: v for k, v in state.admins_without_2fa.items()
                                             if k != event.person}
        case PublisherAppointed():
            changes["publishers"] = sorted({*state.publishers, event.person})
        case PublisherRemoved():
            changes["publishers"] = [p for p in state.publishers if p != event.person]
        case AdminCoverageLost():
            changes |= {"coverage_lost_at": event.at, "escalated": False}
        case AdminCoverageRestored():
            changes |= {"coverage_lost_at": None, "escalated": False}
        case AuthoritiesUpdated():
            changes["authorities"] = event.authorities
        case MessageSettingsChanged():
            changes["message_policy"] = event.policy
        case AbsenceRecorded():
            changes |= {"absences": with_absence(state.absences, event.absence, event.at),
                        "absences_recorded": state.absences_recorded + 1,
                        "absences_known_at": event.at}
        case AbsenceCancelled():
            changes |= {"absences": without_absence(state.absences, event.absence_id,
                                                    event.at),
                        "absences_known_at": event.at}
        case _:
            return False
    return True


def _duty_changes(state: AccountState, event: AccountEvent, changes: dict[str, object]) -> bool:
    """Deadlines fired, a breach proposed or kept, the profile, held posts
    (R-12, R-19, R-37, R-44)."""
    match event:
        case ClosureProposedForBreach():
            changes |= {"breach_proposed_at": event.at, "breach": event.breach,
                        "fired_steps": [*state.fired_steps, event.step]}
        case AccountKept():
            changes |= {"breach_proposed_at": None, "breach": None, "breach_kept_at": event.at,
                        "monitoring": mon.with_kept(state.monitoring, event.at, event.reason)}
        case AllAdminsAwayEscalated():  # escalated until an admin is back
            changes |= {"fired_steps": [*state.fired_steps, event.step],
                        "all_away_since": event.due}
        case AdminBackFromAbsence():
            changes |= {"fired_steps": [*state.fired_steps, event.step],
                        "all_away_since": None}
        case DeadlineReminderSent():
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case DeadlineEscalated():
            changes |= {"fired_steps": [*state.fired_steps, event.step], "escalated": True}
        case RequestLapsed():
            changes |= _enter(state, Stage.LAPSED, event.at)
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case ProfileChanged():
            changes["profile_changed_at"] = event.at
            for field_name, value in (("profile_name", event.name), ("handle", event.handle),
                                      ("url", event.url), ("profile_about", event.about),
                                      ("platform_account_id", event.platform_account_id)):
                if value is not None:
                    changes[field_name] = value
        case PostHeld():
            changes["held_posts"] = [*state.held_posts, HeldPost(
                post_id=event.post_id, published_at=event.published_at,
                approved_by=event.approved_by, written_by=event.actor or SYSTEM,
                found=event.found, approvers=event.approvers, since=event.at,
                images=event.images)]
        case PostSentBack():
            changes["held_posts"] = [h for h in state.held_posts if h.post_id != event.post_id]
        case _:
            return False
    return True


def _evolve_monitoring(state: AccountState, event: AccountEvent) -> mon.MonitoringState:
    m, duty = state.monitoring, monitoring_duty(state)
    match event:
        case CheckInRecorded():
            return mon.with_check_in(m, mon.CheckIn(
                checked_at=event.checked_at, by=event.actor or SYSTEM, source=event.source,
                case_id=event.case_id), duty, event.at)
        case PostRecorded():
            return mon.with_post(m, mon.PublishedPost(
                post_id=event.post_id, published_at=event.published_at,
                recorded_by=event.actor or SYSTEM), duty, event.at)
        case WatchItemReported():
            return mon.with_watch_item(m, mon.WatchItem(
                item_id=event.item_id, summary=event.summary, link=event.link,
                seen_at=event.seen_at, reported_by=event.actor or SYSTEM,
                reported_at=event.at))
        case WatchItemResolved():
            return mon.with_watch_resolved(m, event.item_id, event.actor or SYSTEM, event.note,
                                           event.at)
        case MonitoringSettingsChanged():
            return m.model_copy(update={"policy": event.policy})
        case CheckInReminderSent() | CheckInEscalated() if _step_name(
                event.step) == mon.CRISIS_CHECK_IN:
            return mon.with_crisis_step_fired(m, event.step,
                                              isinstance(event, CheckInEscalated))
        case CheckInReminderSent():
            return mon.with_step_fired(m, _step_name(event.step), event.day.isoformat(), duty,
                                       event.at)
        case CheckInEscalated():
            subject = event.day.isoformat() if event.day else (
                event.since.isoformat() if event.since else "")
            return mon.with_step_fired(m, _step_name(event.step), subject, duty, event.at)
        case PostingRhythmWarned():
            return mon.with_step_fired(m, mon.POSTING_RHYTHM, event.week_starting.isoformat(),
                                       duty, event.at)
        case ClosureProposed():
            return mon.with_step_fired(m, mon.INACTIVITY, event.inactive_since.isoformat(),
                                       duty, event.at)
        case WatchItemReminderSent() | WatchItemEscalated():
            return mon.with_step_fired(m, _step_name(event.step), event.item_id, duty, event.at)
    raise TypeError(f"unknown event {event.type}")


def _step_name(key: str) -> str:
    return key.split("@", 1)[0]


def fold(events: list[AccountEvent]) -> AccountState:
    state: AccountState | None = None
    for event in events:
        state = evolve(state, event)
    if state is None:
        raise ValueError("no events")
    return state
