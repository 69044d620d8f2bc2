"""A case's deadline plan: the answer deadline in office time (R-23), the
case officer's (R-24), the records (R-28, R-33), crisis approval (R-39)
and actions by hand, reminded, escalated and chased (R-22)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from domain.calendar import add_office_hours, next_working_day_close, working_days_due
from domain.core import (
    DeadlineStep,
)
from domain.message.state import MessageState, awaits_records
from domain.message.values import MessageAuthorities, Stage
from domain.message_policy import (
    AnswerRule,
)
from domain.office_time import ResponseSample


def answer_due(start: datetime, state: MessageState) -> datetime:
    """R-23: within the account's answer period in office time; R-39: while a
    crisis covers the account, within the crisis setting counted around the
    clock (outside office hours too) from when it began to apply, whichever
    comes first."""
    p = state.policy
    if p.answer_rule is AnswerRule.NEXT_WORKING_DAY:
        normal = next_working_day_close(start, state.country, state.timezone, p.office_hours)
    else:
        normal = add_office_hours(start, p.answer_office_hours, state.country, state.timezone,
                                  p.office_hours)
    crisis = crisis_answer_due(start, state)
    return normal if crisis is None else min(normal, crisis)


def working_days_after(state: MessageState, start: datetime, days: int) -> datetime:
    """`days` working days of the case's country after `start`, at the end
    of the office day (the account's office hours, issue 14 item 8); a run
    recorded before keeps the clock time of `start`."""
    office = state.policy.office_hours if state.end_of_day_deadlines else None
    return working_days_due(start, days, state.country, state.timezone, office)


def response_sample(state: MessageState) -> ResponseSample:
    """R-42: the case as one sample of the account's response times: from
    receipt (R-21) to its first response (an answer, an acknowledgement, a
    removal or a disposal decision), against its first answer deadline
    (R-23); an answered case disposed of as a minor record was answered (R-50)."""
    return ResponseSample(
        received_at=state.received_at, first_response_at=state.first_response_at,
        due=answer_due(state.received_at, state),
        answered=state.stage is Stage.ANSWERED or state.answer is not None,
        country=state.country, tz=state.timezone, office=state.policy.office_hours)


def crisis_answer_due(start: datetime, state: MessageState) -> datetime | None:
    """R-39: the crisis deadline, wall-clock time from the later of `start`
    and the moment the crisis rules reached the case; None outside a crisis."""
    if state.crisis is None:
        return None
    return max(start, state.crisis_since or start) + state.crisis.answer_within


def deadline_plan(state: MessageState, now: datetime | None = None) -> list[DeadlineStep]:
    """Reminders and escalations of the current stage: a reminder to the
    admins before the deadline, the unit's manager at the deadline, the
    communications unit after a second period; then (R-22) the chase, every
    `chase_every_working_days` working days, until someone acts or a person
    with the right closes the case. While forwarded (R-24) the citizen's own
    deadline runs beside the officer's."""
    a = state.authorities
    if a is None:
        return []
    admins = tuple(sorted(a.admins))
    comms = tuple(sorted(a.communications))
    if state.pending_action is not None and state.pending_since is not None:
        steps = _manual_action_plan(state, a, admins)
        return steps + _chase(state, steps, f"manual-{state.pending_action}@"
                              f"{state.pending_since.isoformat()}",
                              a.managers + admins + comms, now)
    if state.stage in (Stage.WATCHED, Stage.ANSWERED) and state.dispose_on is not None:
        return [DeadlineStep(key=f"{state.stage.value}@{state.stage_entered_at.isoformat()}"
                                 ":dispose",
                             name="dispose", kind="lapse", due=state.dispose_on,
                             recipients=())]
    if awaits_records(state):
        steps = _records_plan(state, a, admins)
        return steps + _chase(state, steps, f"records@{state.stage_entered_at.isoformat()}",
                              a.managers + admins + comms, now)
    if state.stage.terminal:
        return []
    if state.stage is Stage.AWAITING_APPROVAL and state.pending_reply is not None:
        return _approval_plan(state)
    steps = _stage_plan(state)
    if not state.fidelity_rules:
        return steps
    if (state.stage in (Stage.FORWARDED, Stage.DRAFTED) and state.citizen_stage is not None
            and state.citizen_since is not None):
        citizen = state.model_copy(update={"stage": state.citizen_stage,
                                           "stage_entered_at": state.citizen_since,
                                           "citizen_stage": None, "citizen_since": None})
        steps = steps + _stage_plan(citizen)
    if state.stage is Stage.DISPOSAL_PENDING:
        return steps
    officer = (state.officer,) if state.officer and state.stage is Stage.FORWARDED else ()
    return steps + _chase(state, steps, f"{state.stage.value}@{state.stage_entered_at.isoformat()}",
                          a.managers + admins + comms + officer, now)


def _chase(state: MessageState, steps: list[DeadlineStep], key: str,
           recipients: tuple[str, ...], now: datetime | None = None) -> list[DeadlineStep]:
    """R-22, "no message is left unanswered": once every step of the plan has
    fired, the k-th chase falls due k times `chase_every_working_days`
    working days after the plan's last step, to the manager, the admins and
    the communications unit, for as long as the case stays open. One step at
    a time, so the plan stays finite; a late wake-up (`now`) chases once,
    for the latest one due, not once for every one missed."""
    if not state.fidelity_rules or not steps:
        return []
    fired = set(state.fired_steps)
    if any(s.key not in fired for s in steps):
        return []
    prefix = f"{key}:chase-"
    done = max((int(k.removeprefix(prefix)) for k in fired if k.startswith(prefix)), default=0)
    every = state.policy.chase_every_working_days
    k = done + 1
    due = working_days_after(state, max(s.due for s in steps), k * every)
    while now is not None and k < done + 10_000:
        following = working_days_after(state, due, every)
        if following > now:
            break
        k, due = k + 1, following
    unique = tuple(dict.fromkeys(recipients))
    return [DeadlineStep(key=f"{prefix}{k}", name="chase", kind="escalate", due=due,
                         recipients=unique)]


def _records_plan(state: MessageState, a: MessageAuthorities,
                  admins: tuple[str, ...]) -> list[DeadlineStep]:
    """R-50: answered, neither registered nor disposed of: the admins are
    reminded to register it or dispose of it as a minor record after
    `records_within_working_days`, the manager hears after twice as many
    (the chase follows, R-22)."""
    days = state.policy.records_within_working_days
    start = state.stage_entered_at
    key = f"records@{start.isoformat()}"

    def working(n: int) -> datetime:
        return working_days_after(state, start, n)

    return [DeadlineStep(key=f"{key}:records_reminder", name="records_reminder", kind="remind",
                         due=working(days), recipients=admins),
            DeadlineStep(key=f"{key}:records_escalation", name="records_escalation",
                         kind="escalate", due=working(2 * days),
                         recipients=a.managers + admins)]


def _stage_plan(state: MessageState) -> list[DeadlineStep]:
    """The steps of the current stage alone (no chase)."""
    a = state.authorities
    assert a is not None
    admins = tuple(sorted(a.admins))
    comms = tuple(sorted(a.communications))
    p, start = state.policy, state.stage_entered_at

    def step(name: str, kind: Literal["remind", "escalate", "lapse"], due: datetime,
             recipients: tuple[str, ...]) -> DeadlineStep:
        return DeadlineStep(key=f"{state.stage.value}@{start.isoformat()}:{name}", name=name,
                            kind=kind, due=due, recipients=recipients)

    def office(hours: float) -> datetime:
        return add_office_hours(start, hours, state.country, state.timezone, p.office_hours)

    def working(days: int) -> datetime:
        return working_days_after(state, start, days)

    match state.stage:
        case Stage.OPEN | Stage.DRAFTED:
            due = answer_due(start, state)
            second = answer_due(due, state)
            reminder = min(office(p.reminder_after_office_hours), due)
            crisis_due = crisis_answer_due(start, state)
            if crisis_due is not None and state.crisis is not None:
                # around the clock, halfway through the crisis period.
                reminder = min(reminder, crisis_due - state.crisis.answer_within / 2)
            return [step("answer_reminder", "remind", reminder, admins),
                    step("answer_deadline", "escalate", due, a.managers),
                    step("answer_escalation", "escalate", second, a.managers + comms)]
        case Stage.ACKNOWLEDGED:
            days = p.answer_after_acknowledgement_days
            reminder, due, second = _crisis_tightened(
                state, start, working(max(days - 1, 0)), working(days), working(2 * days))
            return [step("final_answer_reminder", "remind", reminder, admins),
                    step("final_answer_deadline", "escalate", due, a.managers),
                    step("final_answer_escalation", "escalate", second, a.managers + comms)]
        case Stage.FORWARDED:
            officer = (state.officer,) if state.officer else ()
            reminder, due, second = _crisis_tightened(
                state, start, working(max(p.officer_days - 1, 0)), working(p.officer_days),
                working(2 * p.officer_days))
            steps = [step("officer_reminder", "remind", reminder, officer),
                     step("officer_deadline", "escalate", due, a.managers + admins)]
            if state.fidelity_rules:
                # an officer who never answers goes on to the communications unit.
                steps.append(step("officer_escalation", "escalate", second,
                                  a.managers + admins + comms + officer))
            return steps
        case Stage.DISPOSAL_PENDING if state.dispose_on is not None:
            return [step("dispose", "lapse", state.dispose_on, ())]
        case _:
            return []


def _crisis_tightened(state: MessageState, start: datetime, reminder: datetime,
                      due: datetime, second: datetime) -> tuple[datetime, datetime, datetime]:
    """R-39, stepped-up monitoring: while a crisis covers the account, an
    acknowledged or forwarded case is due like an open one, within the
    crisis setting counted around the clock (the reminder halfway, the second
    escalation a period later); never later than in working days."""
    crisis_due = crisis_answer_due(start, state)
    if crisis_due is None or state.crisis is None:
        return reminder, due, second
    within = state.crisis.answer_within
    return (min(reminder, crisis_due - within / 2), min(due, crisis_due),
            min(second, crisis_due + within))


def _approval_plan(state: MessageState) -> list[DeadlineStep]:
    """R-39: while a reply waits for crisis management, the citizen's
    deadlines run on as in the stage the reply was written in (the same
    steps, so none fires twice if it is sent back), and crisis management
    hears of each step too."""
    pending = state.pending_reply
    assert pending is not None
    underlying = state.model_copy(update={"stage": pending.returns_to,
                                          "stage_entered_at": pending.returns_to_since,
                                          "pending_reply": None})
    approvers = tuple(sorted(pending.approvers))
    return [s.model_copy(update={"recipients": s.recipients + tuple(
                x for x in approvers if x not in s.recipients)})
            for s in deadline_plan(underlying)]


def _manual_action_plan(state: MessageState, a: MessageAuthorities,
                        admins: tuple[str, ...]) -> list[DeadlineStep]:
    """Until a person confirms the hand-made platform action, the admins are
    reminded, and the manager hears at the answer deadline (R-22, R-23)."""
    since = state.pending_since
    assert since is not None
    p = state.policy
    key = f"manual-{state.pending_action}@{since.isoformat()}"
    reminder = add_office_hours(since, p.reminder_after_office_hours, state.country,
                                state.timezone, p.office_hours)
    return [
        DeadlineStep(key=f"{key}:reminder", name="manual_action_reminder", kind="remind",
                     due=reminder, recipients=admins),
        DeadlineStep(key=f"{key}:deadline", name="manual_action_deadline", kind="escalate",
                     due=answer_due(since, state), recipients=a.managers + admins),
    ]


def pending_steps(state: MessageState, now: datetime | None = None) -> list[DeadlineStep]:
    fired = set(state.fired_steps)
    return [s for s in deadline_plan(state, now) if s.key not in fired]


def next_deadline(state: MessageState) -> datetime | None:
    pending = pending_steps(state)
    return min(s.due for s in pending) if pending else None
