"""Firing the deadlines that are due: one event per step, earliest first."""

from __future__ import annotations

from datetime import date, datetime

from domain import monitoring as mon
from domain.account.absences import ALL_AWAY, ALL_BACK, cover_recipients
from domain.account.commands import FireDueDeadlines
from domain.account.events import (
    AccountEvent,
    AdminBackFromAbsence,
    AllAdminsAwayEscalated,
    CheckInEscalated,
    CheckInReminderSent,
    ClosureProposed,
    ClosureProposedForBreach,
    DeadlineEscalated,
    DeadlineReminderSent,
    PostingRhythmWarned,
    RequestLapsed,
    WatchItemEscalated,
    WatchItemReminderSent,
)
from domain.account.evolution import evolve
from domain.account.plans import monitoring_duty, pending_steps
from domain.account.state import AccountState
from domain.core import (
    DeadlineStep,
)

# A worker that was down for weeks catches up in one batch, bounded.
_MAX_FIRED = 500


def _fire_due(state: AccountState, now: datetime, actor: str, *,
              skip_superseded: bool = False) -> list[AccountEvent]:
    """Every step due by `now`, earliest first. One at a time, because a
    monitoring step can reveal the next (a day's escalation settles the day,
    and the next working day's reminders come into the plan). With
    `skip_superseded`, a step another due step makes pointless is passed
    over (it leaves the plan when that one is recorded): after a long
    outage the people told get each missed day's escalation, not also the
    reminders for days long over."""
    events: list[AccountEvent] = []
    current = state
    for _ in range(_MAX_FIRED):
        due = [s for s in pending_steps(current) if s.due <= now]
        if skip_superseded:
            keys = {s.key for s in due}
            due = [s for s in due if mon.superseded_by(s.name, s.subject) not in keys]
        if not due:
            break
        step = min(due, key=lambda s: (s.due, s.key))
        event = _step_event(current, step, now, actor)
        events.append(event)
        if isinstance(event, RequestLapsed):
            break
        current = evolve(current, event)
    return events


def _step_event(state: AccountState, step: DeadlineStep, now: datetime,
                actor: str) -> AccountEvent:
    common = {"at": now, "actor": actor, "step": step.key, "stage": state.stage,
              "due": step.due}
    # the absent are not told; their covers are, for them.
    recipients, covering = cover_recipients(state, step.recipients, now)
    who: dict[str, object] = {"recipients": recipients}
    if covering:
        who["covering"] = covering
    subject = step.subject or ""
    if step.name == ALL_AWAY:
        return AllAdminsAwayEscalated(
            **common, **who, away=sorted(state.admins),
            until=min((a.ends_at for a in state.absences if a.away_at(step.due)),
                      default=step.due))
    if step.name == ALL_BACK:
        return AdminBackFromAbsence(at=now, actor=actor, step=step.key,
                                    since=datetime.fromisoformat(subject))
    match step.name:
        case "breach_closure":
            since = datetime.fromisoformat(step.key.split("@", 1)[1])
            return ClosureProposedForBreach(**common, **who, breach=subject, since=since)
        case mon.MIDDAY | mon.AFTERNOON:
            return CheckInReminderSent(**common, **who, day=date.fromisoformat(subject))
        case mon.DAY_MISSED:
            return CheckInEscalated(**common, **who, day=date.fromisoformat(subject))
        case mon.WEEKLY_FLOOR:
            return CheckInEscalated(**common, **who, since=datetime.fromisoformat(subject))
        case mon.POSTING_RHYTHM:
            monday = date.fromisoformat(subject)
            duty = monitoring_duty(state)
            return PostingRhythmWarned(**common, **who, week_starting=monday,
                                       posts=mon.posts_in_week(state.monitoring, monday, duty),
                                       expected=duty.policy.posts_per_week)
        case mon.INACTIVITY:
            return ClosureProposed(**common, **who, inactive_since=datetime.fromisoformat(subject))
        case mon.WATCH_REMINDER:
            return WatchItemReminderSent(**common, **who, item_id=subject)
        case mon.WATCH_ESCALATION:
            return WatchItemEscalated(**common, **who, item_id=subject)
        case mon.CRISIS_CHECK_IN if step.kind == "remind":
            return CheckInReminderSent(**common, **who, day=mon.local_day(
                step.due, monitoring_duty(state)))
        case mon.CRISIS_CHECK_IN:
            return CheckInEscalated(**common, **who, since=datetime.fromisoformat(subject))
    if step.kind == "remind":
        return DeadlineReminderSent(**common, **who)
    if step.kind == "escalate":
        return DeadlineEscalated(**common, **who)
    return RequestLapsed(**common)


def fire_due_deadlines(state: AccountState, command: FireDueDeadlines,
                       now: datetime) -> list[AccountEvent]:
    actor = command.actor
    return _fire_due(state, now, actor, skip_superseded=command.skip_superseded)
