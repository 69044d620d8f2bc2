"""The account's deadline plans: the lifecycle's reminders and escalations,
R-19's breach closure, and the monitoring plan (domain.monitoring)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from domain import monitoring as mon
from domain.account.absences import absence_plan
from domain.account.state import AccountState
from domain.account.values import Stage
from domain.calendar import OfficeHours, working_days_due
from domain.core import (
    DeadlineStep,
)
from domain.crisis_mode import checkin_interval


def deadline_office(state: AccountState) -> OfficeHours | None:
    """The office hours whose closing time ends a deadline of N working
    days (issue 14, item 8): the account's own message office hours if it
    has set them, else its published monitoring hours (R-17); None for a run
    recorded before, whose deadlines keep the clock time of their start."""
    if not state.end_of_day_deadlines:
        return None
    return (state.message_policy.office_hours if state.message_policy is not None
            else state.request.monitoring_hours)


def working_days_after(state: AccountState, start: datetime, days: int) -> datetime:
    """`days` working days of the account's country after `start`, at the
    end of the office day (`deadline_office`)."""
    return working_days_due(start, days, state.country, state.timezone, deadline_office(state))


def deadline_plan(state: AccountState) -> list[DeadlineStep]:
    """Every step that can fall due: the stage's own and, while the account
    is active, its monitoring duties."""
    return lifecycle_plan(state) + monitoring_plan(state)


def _steps(state: AccountState, start: datetime,
           *spec: tuple[str, Literal["remind", "escalate", "lapse"], int, tuple[str, ...]]
           ) -> list[DeadlineStep]:
    """The stage's steps, each `days` working days after `start`."""
    return [
        DeadlineStep(
            key=f"{state.stage.value}@{start.isoformat()}:{name}",
            name=name,
            kind=kind,
            due=working_days_after(state, start, days),
            recipients=recipients,
        )
        for name, kind, days, recipients in spec
    ]


def _chase(state: AccountState, start: datetime, name: str, after_days: int,
           recipients: tuple[str, ...]) -> list[DeadlineStep]:
    # Issue 16: the chain never goes silent. After its last escalation
    # the obligation is escalated again every `chase_every_days` working
    # days, one step at a time, until someone acts.
    if state.legacy_rules:
        return []
    prefix = f"{state.stage.value}@{start.isoformat()}:{name}:"
    n = sum(1 for key in state.fired_steps if key.startswith(prefix))
    return [DeadlineStep(
        key=f"{prefix}{n + 1}", name=name, kind="escalate",
        due=working_days_after(state, start,
                               after_days + state.policy.chase_every_days * (n + 1)),
        recipients=recipients)]


def lifecycle_plan(state: AccountState) -> list[DeadlineStep]:
    """The reminders, escalations and lapses that run in the current stage,
    counted in working days of the municipality's country from the moment
    the stage was entered (or the admin coverage was lost, R-12)."""
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    requester = (state.requester,)

    steps, chase = partial(_steps, state), partial(_chase, state)
    entered = state.stage_entered_at
    match state.stage:
        case Stage.AWAITING_MANAGER:
            return steps(
                entered,
                ("manager_reminder", "remind", p.manager_reminder_days, managers),
                ("manager_escalation", "escalate", p.manager_escalation_days, comms),
                ("manager_lapse", "lapse", p.manager_lapse_days, requester + managers),
            )
        case Stage.RISK_ASSESSMENT:
            return steps(
                entered,
                ("risk_reminder", "remind", p.risk_reminder_days, requester + managers),
                ("risk_escalation", "escalate", p.risk_escalation_days, managers + comms),
            ) + chase(entered, "risk_chase", p.risk_escalation_days, managers + comms)
        case Stage.AWAITING_SIGNOFF:
            return steps(
                entered,
                ("signoff_reminder", "remind", p.signoff_reminder_days, comms),
                ("signoff_escalation", "escalate", p.signoff_escalation_days, managers + comms),
            ) + chase(entered, "signoff_chase", p.signoff_escalation_days, managers + comms)
        case Stage.AMENDING:
            return steps(
                entered,
                ("amend_reminder", "remind", p.amend_reminder_days, requester),
                ("amend_lapse", "lapse", p.amend_lapse_days, requester + managers),
            )
        case Stage.AWAITING_ACTIVATION:
            return steps(
                entered,
                ("activation_reminder", "remind", p.activation_reminder_days,
                 requester + comms),
                ("activation_escalation", "escalate", p.activation_escalation_days,
                 managers + comms),
            ) + chase(entered, "activation_chase", p.activation_escalation_days,
                      managers + comms)
        case Stage.ACTIVE:
            return active_plan(state, steps, chase) + absence_plan(state)
        case Stage.CLOSING if not state.legacy_rules and not final_package_receivers(state):
            # no registrar to hand the final package to: the closure
            # waits, and the communications unit and the manager are told
            # until the directory names one (or a fallback is set).
            return chase(entered, "closure_no_registrar", 0, comms + managers)
        case _:
            return []


def active_plan(state: AccountState, steps: Any, chase: Any) -> list[DeadlineStep]:
    """R-12, R-13, R-19 on an active account: restoring two admins with 2FA,
    each admin's missing 2FA, and closure proposed for a lasting breach, all
    chased until someone acts."""
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    admins = tuple(sorted(state.admins))
    plan: list[DeadlineStep] = []
    if state.coverage_lost_at is not None:
        plan += steps(
            state.coverage_lost_at,
            ("admin_restore_reminder", "remind", p.admin_restore_reminder_days,
             admins + managers),
            ("admin_restore_deadline", "escalate", p.admin_restore_days, managers),
            ("admin_restore_escalation", "escalate", p.admin_restore_escalation_days,
             managers + comms),
        )
        plan += chase(state.coverage_lost_at, "admin_restore_chase",
                      p.admin_restore_escalation_days, managers + comms)
    if state.legacy_rules:
        return plan
    for person, since in sorted(state.admins_without_2fa.items()):
        if person not in state.admins or state.admins[person].two_factor:
            continue
        plan += [DeadlineStep(
            key=f"two_factor:{person}@{since.isoformat()}:remind", name="two_factor_reminder",
            kind="remind", due=working_days_after(state, since, p.admin_restore_reminder_days),
            recipients=(person, *managers), subject=person)]
        plan += chase(since, f"two_factor_chase:{person}", p.admin_restore_reminder_days,
                      (person, *managers, *comms))
    for held in state.held_posts:
        # R-44, chains that never go silent: a held post's approvers are
        # reminded, then the manager and the unit chased, until one decides.
        plan += [DeadlineStep(
            key=f"held_post:{held.post_id}@{held.since.isoformat()}:remind",
            name="held_post_reminder", kind="remind",
            due=working_days_after(state, held.since, p.chase_every_days),
            recipients=tuple(held.approvers), subject=held.post_id)]
        plan += chase(held.since, f"held_post_chase:{held.post_id}", p.chase_every_days,
                      tuple(dict.fromkeys((*held.approvers, *managers, *comms))))
    for consent in state.consents:
        # R-41 (issue 14): a consent withdrawn or disposed of: the admins are
        # told at once to take the post's image down.
        if consent.ended_at is not None:
            plan += [DeadlineStep(
                key=f"consent_take_down:{consent.upload_id}", name="consent_take_down",
                kind="remind", due=consent.ended_at, recipients=admins or managers + comms,
                subject=consent.post_id)]
    return plan


def breach_plan(state: AccountState) -> list[DeadlineStep]:
    """R-19: an account that keeps breaking the rules is proposed for
    closure, and a proposal nobody answers is raised again on the rhythm
    (`chase_every_days`) until the communications unit keeps the account
    or it is closed."""
    if state.stage is not Stage.ACTIVE or state.legacy_rules:
        return []
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    plan: list[DeadlineStep] = []
    breach = breach_since(state)
    if state.breach_proposed_at is None and breach is not None:
        kind, since, due = breach
        plan.append(DeadlineStep(
            key=f"breach:{kind}@{since.isoformat()}", name="breach_closure",
            kind="propose_breach", due=due, recipients=comms or managers, subject=kind))
    proposed = state.breach_proposed_at or state.monitoring.closure_proposed_at
    if proposed is not None:
        prefix = f"{state.stage.value}@{proposed.isoformat()}:closure_proposal_again:"
        n = sum(1 for key in state.fired_steps if key.startswith(prefix))
        plan.append(DeadlineStep(
            key=f"{prefix}{n + 1}", name="closure_proposal_again", kind="escalate",
            due=working_days_after(state, proposed, p.chase_every_days * (n + 1)),
            recipients=comms + managers))
    return plan


def breach_since(state: AccountState) -> tuple[str, datetime, datetime] | None:
    """R-19: the rule the account keeps breaking, since when, and when its
    closure is proposed: fewer than two admins with 2FA for
    `admin_closure_days` working days (R-12), or no check-in for
    `no_check_in_closure_days` days (R-15, R-16). A decision to keep the
    account starts the clock again."""
    p, m = state.policy, state.monitoring
    found: list[tuple[datetime, str, datetime]] = []
    if state.coverage_lost_at is not None:
        since = max(state.coverage_lost_at, state.breach_kept_at or state.coverage_lost_at)
        found.append((working_days_after(state, since, p.admin_closure_days), "admins", since))
    last = m.last_check_in or m.since
    if last is not None:
        since = max(last, state.breach_kept_at or last)
        found.append((since + timedelta(days=p.no_check_in_closure_days), "check_ins", since))
    if not found:
        return None
    due, kind, since = min(found)
    return kind, since, due


def final_package_receivers(state: AccountState) -> list[str]:
    """R-38: who receives a closing account's final package: the registrars,
    else the municipality's named fallback (a setting); none: it waits."""
    if state.authorities.registrars:
        return sorted(state.authorities.registrars)
    fallback = state.policy.registrar_fallback
    return [fallback] if fallback else []


def case_answerers(state: AccountState) -> list[str]:
    """R-13, R-22: who answers the account's open message cases: its admins;
    with none left, the manager (and deputy), who keeps the editorial
    responsibility, steps in."""
    if state.admins:
        return sorted(state.admins)
    a = state.authorities
    return [x for x in (a.manager, a.deputy) if x]


def monitoring_duty(state: AccountState) -> mon.Duty:
    """The calendar, office hours, settings and recipients of the account's
    monitoring duties: the account's own message office hours if it has set
    them, else its published monitoring hours (R-17); its own monitoring
    settings if set, else the municipality's (R-43)."""
    a = state.authorities
    office = (state.message_policy.office_hours if state.message_policy is not None
              else state.request.monitoring_hours)
    return mon.Duty(
        country=state.country, timezone=state.timezone, office=office,
        end_of_day=state.end_of_day_deadlines,  # issue 14: watch items
        policy=state.monitoring.policy or state.policy.monitoring,
        admins=tuple(sorted(state.admins)),
        managers=tuple(x for x in (a.manager, a.deputy) if x),
        communications=tuple(sorted(a.communications)),
    )


def monitoring_plan(state: AccountState) -> list[DeadlineStep]:
    """R-15, R-16, R-18, R-19, R-20: the monitoring steps not yet recorded;
    already filtered, so their keys never enter `fired_steps`."""
    if state.stage is not Stage.ACTIVE:
        return []
    return [DeadlineStep(key=s.key, name=s.name, kind=s.kind, due=s.due,
                         recipients=s.recipients, subject=s.subject)
            for s in mon.due_steps(state.monitoring, monitoring_duty(state),
                                   crisis_check_ins(state))] + breach_plan(state)


def crisis_check_ins(state: AccountState) -> mon.CrisisCheckIns | None:
    """R-39: the tighter check-in interval while a crisis covers the account."""
    every = checkin_interval(state.request.unit_id, state.crisis)
    if every is None or state.crisis is None or state.crisis.mode is None:
        return None
    return mon.CrisisCheckIns(every=every, declared_at=state.crisis.mode.declared_at)


def is_escalated(state: AccountState) -> bool:
    """Escalated in the current stage, or an active account's monitoring
    escalation is still open (check-ins, an inactivity proposal, a watch item)."""
    return state.escalated or (state.stage is Stage.ACTIVE
                               and (bool(state.monitoring.open_escalations)
                                    or state.all_away_since is not None))


def pending_steps(state: AccountState) -> list[DeadlineStep]:
    fired = set(state.fired_steps)
    return [s for s in deadline_plan(state) if s.key not in fired]


def next_deadline(state: AccountState) -> datetime | None:
    """When the next reminder, escalation or lapse falls due, if any."""
    pending = pending_steps(state)
    return min(s.due for s in pending) if pending else None
